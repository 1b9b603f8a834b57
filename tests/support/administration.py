"""An administrator of a test contact center, speaking the administration API over HTTP."""

from __future__ import annotations

import asyncio
import itertools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from support.agents import PASSWORD, Agent, ContactCenter

_admins = itertools.count(1)


def create_admin(cc: ContactCenter, tenant: str | None = None) -> Administrator:
    """A ROLE_ADMIN user of ``tenant`` (default: the contact center's own), as `smsdesk users add
    --role admin` would make one."""
    from smsdesk.config import Settings
    from smsdesk.gws.representation import Urls
    from smsdesk.node import open_store, operation_settings
    from smsdesk.operations import admin
    from smsdesk.operations.services import Services

    tenant = tenant or cc.tenant
    name = f"{tenant}-admin{next(_admins)}"
    settings = Settings(database_url=cc.server.database_url)
    store = open_store(settings)
    services = Services(store, Urls(cc.server.base_url), operation_settings(settings))

    async def provision() -> None:
        async with services.work() as work:
            await work.tx.tenants.ensure(tenant, tenant)
        await admin.add_user(services, name, PASSWORD, role="admin", tenant=tenant)

    # In a thread of its own: a caller may have an event loop running (sync Playwright).
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, provision()).result()
    store.close()
    administrator = Administrator(cc, name)
    cc.supervisors.append(administrator)  # closed with the contact center
    return administrator


class Administrator(Agent):
    def request(self, method: str, path: str, expect: int = 200, **body: Any) -> dict[str, Any]:
        response = self.http.request(method, path, json=body if body else None)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        answer: dict[str, Any] = response.json()
        return answer

    def put(self, path: str, expect: int = 200, **body: Any) -> dict[str, Any]:
        return self.request("PUT", path, expect, **body)

    def delete(self, path: str, expect: int = 200) -> dict[str, Any]:
        return self.request("DELETE", path, expect)

    def add_user(
        self, user_name: str, roles: list[str] | None = None, expect: int = 200, **fields: Any
    ) -> dict[str, Any]:
        return self.post(
            "/api/v2/users",
            {"userName": user_name, "password": PASSWORD, "roles": roles or ["ROLE_AGENT"], **fields},
            expect,
        )

    def user(self, user_id: str) -> dict[str, Any]:
        user: dict[str, Any] = self.get(f"/api/v2/users/{user_id}")["user"]
        return user

    def audit(self, count: int = 50) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.get("/api/v2/audit", count=count)["entries"]
        return entries

    def __init__(self, cc: ContactCenter, user_name: str) -> None:
        super().__init__(cc.server, user_name)


def refused(response: httpx.Response, http_status: int, status_code: int) -> str:
    """The envelope of a refusal, checked; returns its message."""
    assert response.status_code == http_status, response.text
    body = response.json()
    assert set(body) == {"statusCode", "statusMessage"} and body["statusCode"] == status_code, body
    message: str = body["statusMessage"]
    return message
