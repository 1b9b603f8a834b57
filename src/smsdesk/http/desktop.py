"""Serves the agent desktop (``/desktop/``), the administration pages (``/admin/``) and the customer
handset page (``/simulator/``).

Both are static files built from ``web/`` and committed under ``smsdesk/web/static`` so that the
server and its wheel need no Node.js; the pages talk to the server only through the public API.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"

_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
_HEADERS = {
    # Built file names are stable (no content hash), so browsers revalidate on each load; the
    # ETag turns that into a 304 when nothing changed.
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    # Nothing from elsewhere and no inline script; CometD's timer worker is a blob: URL.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; worker-src 'self' blob:",
    "Referrer-Policy": "no-referrer",
    "Vary": "Accept-Encoding",
}


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    gzipped: bytes
    media_type: str
    etag: str


@cache
def _load(name: str) -> StaticFile | None:
    """Read and compress once per process: the files only change with a new release."""
    path = STATIC / name
    media_type = _MEDIA_TYPES.get(path.suffix)
    if media_type is None or not path.is_file():
        return None
    body = path.read_bytes()
    gzipped = gzip.compress(body, compresslevel=9, mtime=0)
    return StaticFile(body, gzipped, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def _serve(request: Request, name: str) -> Response:
    # Only the flat, built files: no path separators, nothing hidden.
    found = None if "/" in name or name.startswith(".") else _load(name)
    if found is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    headers = {**_HEADERS, "ETag": found.etag}
    if request.headers.get("if-none-match") == found.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(found.gzipped, media_type=found.media_type, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)


def desktop_routes(*, handset_page: bool) -> list[BaseRoute]:
    """The root redirects to the desktop; ``handset_page`` serves ``/simulator/`` too."""

    async def root(request: Request) -> Response:
        return RedirectResponse("/desktop/", status_code=302)

    async def desktop(request: Request) -> Response:
        return _serve(request, "desktop.html")

    async def handset(request: Request) -> Response:
        return _serve(request, "handset.html")

    async def admin(request: Request) -> Response:
        return _serve(request, "admin.html")

    async def admin_root(request: Request) -> Response:
        return RedirectResponse("/admin/", status_code=302)

    async def asset(request: Request) -> Response:
        return _serve(request, request.path_params["name"])

    routes: list[BaseRoute] = [
        Route("/", root, methods=["GET"]),
        Route("/desktop", root, methods=["GET"]),
        Route("/desktop/", desktop, methods=["GET"]),
        Route("/admin", admin_root, methods=["GET"]),
        Route("/admin/", admin, methods=["GET"]),
        Route("/static/{name}", asset, methods=["GET"]),
    ]
    if handset_page:
        routes.append(Route("/simulator/", handset, methods=["GET"]))
    return routes
