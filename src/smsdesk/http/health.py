"""``GET /healthz`` and ``GET /readyz`` for load balancers and orchestrators.

Both are unauthenticated and cheap, and answer in the GWS envelope so one parser reads everything:

- ``/healthz``: the process answers (liveness). It touches nothing, so a slow database never makes
  an orchestrator restart healthy processes. The body names the answering process (``pid``), which
  tells apart the workers of ``serve --workers N`` behind one port.
- ``/readyz``: this process can serve operations: its database is reachable and carries every
  migration this version knows (readiness). 503 with ``statusCode`` 4 and the reason otherwise,
  so a balancer sends traffic elsewhere until the node can do its work.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from smsdesk.gws.envelope import StatusCode
from smsdesk.http.responses import JsonResponse, ok

PendingMigrations = Callable[[], Awaitable[int]]
"""How many migrations the database lacks; raises when the database cannot be reached."""

READINESS_TIMEOUT_S = 2.0
"""A database that takes longer than this to answer one query is not ready: balancers probe every
few seconds and must not pile up waiting requests on a stalled database."""


def health_routes(pending_migrations: PendingMigrations) -> list[BaseRoute]:
    pid = os.getpid()

    async def healthz(request: Request) -> Response:
        return ok({"status": "alive", "pid": pid})

    async def readyz(request: Request) -> Response:
        try:
            pending = await asyncio.wait_for(pending_migrations(), READINESS_TIMEOUT_S)
        except TimeoutError:
            return not_ready(f"the database did not answer within {READINESS_TIMEOUT_S:g} s")
        except Exception as error:  # any failure to reach the database: the balancer needs a no
            return not_ready(f"the database is unreachable: {type(error).__name__}: {error}")
        if pending:
            return not_ready(f"the database lacks {pending} migration(s): run `smsdesk migrate`")
        return ok({"status": "ready", "pid": pid})

    return [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
    ]


def not_ready(reason: str) -> JsonResponse:
    return JsonResponse(
        {"statusCode": int(StatusCode.INTERNAL_ERROR), "statusMessage": reason, "status": "not ready"},
        status_code=503,
    )
