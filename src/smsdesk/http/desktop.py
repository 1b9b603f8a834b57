"""Serves the agent desktop (``/desktop/``) and the customer handset page (``/simulator/``).

Both are static files built from ``web/`` and committed under ``smsdesk/web/static`` so that the
server and its wheel need no Node.js; the pages talk to the server only through the public API.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"

_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
# Built file names are stable (no content hash), so the browser must revalidate each load; the
# ETag FileResponse sends keeps that to a 304 when nothing changed.
_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; worker-src 'self' blob:",
    "Referrer-Policy": "no-referrer",
}


def _file(name: str) -> Response:
    path = STATIC / name
    if not path.is_file():
        return Response("Not found", status_code=404, media_type="text/plain")
    return FileResponse(path, media_type=_MEDIA_TYPES.get(path.suffix), headers=_HEADERS)


def desktop_routes(*, handset_page: bool) -> list[BaseRoute]:
    """The root redirects to the desktop; ``handset_page`` serves ``/simulator/`` too."""

    async def root(request: Request) -> Response:
        return RedirectResponse("/desktop/", status_code=302)

    async def desktop(request: Request) -> Response:
        return _file("desktop.html")

    async def handset(request: Request) -> Response:
        return _file("handset.html")

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        # Only the flat, built files: no path separators, nothing hidden.
        if "/" in name or name.startswith(".") or Path(name).suffix not in _MEDIA_TYPES:
            return Response("Not found", status_code=404, media_type="text/plain")
        return _file(name)

    routes: list[BaseRoute] = [
        Route("/", root, methods=["GET"]),
        Route("/desktop/", desktop, methods=["GET"]),
        Route("/desktop", root, methods=["GET"]),
        Route("/static/{name}", asset, methods=["GET"]),
    ]
    if handset_page:
        routes.append(Route("/simulator/", handset, methods=["GET"]))
    return routes
