"""Test actors that speak the API the way a GWS desktop does: REST plus Bayeux notifications."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from support.bayeux_client import BayeuxClient, Message
from support.server import RunningServer

PASSWORD = "secret-pass"
_numbers = itertools.count(1000)


class Agent:
    def __init__(self, server: RunningServer, user_name: str, password: str = PASSWORD) -> None:
        self.server = server
        self.user_name = user_name
        self.http = httpx.Client(base_url=server.base_url, auth=(user_name, password), timeout=30)
        self.bayeux = BayeuxClient(server.base_url, (user_name, password))
        me = self.get("/api/v2/me")
        self.id: str = me["user"]["id"]
        self.uri: str = me["user"]["uri"]

    def get(self, path: str, expect: int = 200, **params: Any) -> dict[str, Any]:
        response = self.http.get(path, params=params)
        assert response.status_code == expect, response.text
        body: dict[str, Any] = response.json()
        return body

    def post(
        self, path: str, body: dict[str, Any] | None = None, expect: int = 200, **fields: Any
    ) -> dict[str, Any]:
        response = self.http.post(path, json=body if body is not None else fields)
        assert response.status_code == expect, f"{response.status_code} {response.text}"
        result: dict[str, Any] = response.json()
        return result

    def op(self, session_id: str, operation: str, expect: int = 200, **params: Any) -> dict[str, Any]:
        return self.post(
            f"/api/v2/me/smssessions/{session_id}", {"operationName": operation, **params}, expect
        )

    def listen(self) -> Agent:
        self.bayeux.handshake()
        replies = self.bayeux.subscribe("/v2/me/**")
        assert replies[0]["successful"], replies
        return self

    def log_in(self, ready: bool = True) -> Agent:
        self.post("/api/v2/me", operationName="StartContactCenterSession", channels=["smssession"])
        if ready:
            self.post("/api/v2/me/channels/smssession", operationName="Ready")
        return self

    def session_messages(self) -> list[Message]:
        return [m for m in self.bayeux.received if m["channel"] == "/v2/me/smssessions"]

    def wait_invited(self, timeout: float = 10.0) -> dict[str, Any]:
        def invited(received: list[Message]) -> bool:
            return any(_is_state(m, "Invited") for m in received)

        self.bayeux.wait_for(invited, timeout)
        for index, message in enumerate(self.bayeux.received):
            if _is_state(message, "Invited"):
                del self.bayeux.received[index]
                session: dict[str, Any] = message["data"]["smssession"]
                return session
        raise AssertionError("unreachable")

    def take(self, count: int, timeout: float = 10.0, delivery: bool = False) -> list[dict[str, Any]]:
        """The ``data`` of the next ``count`` SMS-session notifications. Channel-state ones are dropped,
        and so are delivery-status ones (an extension) unless ``delivery`` asks for exactly those."""

        def wanted(message: Message) -> bool:
            if message["channel"] != "/v2/me/smssessions":
                return False
            return (message["data"].get("messageType") == "MessageDeliveryUpdated") == delivery

        self.bayeux.wait_for(lambda received: len([m for m in received if wanted(m)]) >= count, timeout)
        taken = [m for m in self.bayeux.received if wanted(m)][:count]
        taken_ids = {id(m) for m in taken}
        self.bayeux.received = [
            m for m in self.bayeux.received if id(m) not in taken_ids and m["channel"] != "/v2/me/channels"
        ]
        return [m["data"] for m in taken]

    def quiet(self) -> list[dict[str, Any]]:
        """Whatever SMS-session notifications are already queued, delivery status aside (asserting
        'nothing more' reads this)."""
        return [
            m["data"]
            for m in self.bayeux.drain()
            if m["channel"] == "/v2/me/smssessions"
            and m["data"].get("messageType") != "MessageDeliveryUpdated"
        ]

    def close(self) -> None:
        self.bayeux.disconnect()
        self.http.close()


def _is_state(message: Message, state: str) -> bool:
    data = message.get("data", {})
    return (
        message.get("channel") == "/v2/me/smssessions"
        and data.get("notificationType") == "StatusChange"
        and data.get("smssession", {}).get("state") == state
    )


@dataclass
class ContactCenter:
    """A fresh tenant on the shared server: its own agents, queue and service number."""

    server: RunningServer
    tenant: str
    service_number: str
    queue: str
    agent_names: list[str]
    agents: list[Agent] = field(default_factory=list)
    supervisors: list[Agent] = field(default_factory=list)

    def agent(self, index: int) -> Agent:
        while len(self.agents) <= index:
            self.agents.append(Agent(self.server, self.agent_names[len(self.agents)]))
        return self.agents[index]

    def customer_number(self) -> str:
        return f"+1555{next(_numbers):07d}"

    def sms(self, sender: str, text: str, message_id: str | None = None) -> httpx.Response:
        body = {"from": sender, "to": self.service_number, "text": text}
        if message_id:
            body["id"] = message_id
        return httpx.post(self.server.base_url + "/simulator/sms", json=body, timeout=10)

    def handset(self, number: str) -> list[dict[str, Any]]:
        response = httpx.get(self.server.base_url + "/simulator/sms", params={"number": number}, timeout=10)
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    def wait_handset(self, number: str, texts: list[str], timeout: float = 10.0) -> None:
        """Until the handset holds exactly ``texts``: sending is background work (on a cluster's
        leader, woken across nodes), so it lands a little after the operation is answered."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if [m["text"] for m in self.handset(number)] == texts:
                return
            time.sleep(0.05)
        raise AssertionError(f"handset {number} has {self.handset(number)}, expected {texts}")

    def close(self) -> None:
        for agent in [*self.agents, *self.supervisors]:
            # A test may have restarted or stopped the server under the agents' Bayeux sessions.
            with contextlib.suppress(httpx.HTTPError):
                agent.close()


_tenants = itertools.count(1)


def create_contact_center(server: RunningServer, agents: int = 3) -> ContactCenter:
    """Provision a tenant directly in the server's database (as `smsdesk users add` would)."""
    from smsdesk.config import Settings
    from smsdesk.gws.representation import Urls
    from smsdesk.node import open_store, operation_settings
    from smsdesk.operations import admin
    from smsdesk.operations.services import Services

    tenant = f"cc{next(_tenants)}x{server.port}"
    settings = Settings(database_url=server.database_url)
    store = open_store(settings)
    services = Services(store, Urls(server.base_url), operation_settings(settings))
    queue = "sms-queue"
    number = f"+1888{server.port:05d}{next(_numbers):04d}"
    names = [f"{tenant}-agent{i + 1}" for i in range(agents)]

    async def provision() -> None:
        async with services.work() as work:
            await work.tx.tenants.ensure(tenant, tenant)
        for name in names:
            await admin.add_user(services, name, PASSWORD, tenant=tenant, queues=(queue,))
        await admin.add_service_number(services, number, queue=queue, tenant=tenant)

    asyncio.run(provision())
    store.close()
    return ContactCenter(server, tenant, number, queue, names)


_supervisors = itertools.count(1)


def create_supervisor(cc: ContactCenter, queue: str | None = None, tenant: str | None = None) -> Agent:
    """A supervisor in ``tenant`` (default: the contact center's own) who supervises ``queue`` (default:
    the contact center's queue; a queue of that name is created when missing)."""
    from smsdesk.config import Settings
    from smsdesk.gws.representation import Urls
    from smsdesk.node import open_store, operation_settings
    from smsdesk.operations import admin
    from smsdesk.operations.services import Services

    server = cc.server
    settings = Settings(database_url=server.database_url)
    store = open_store(settings)
    services = Services(store, Urls(server.base_url), operation_settings(settings))
    tenant = tenant or cc.tenant
    queue = queue or cc.queue
    name = f"{tenant}-supervisor{next(_supervisors)}"

    async def provision() -> None:
        async with services.work() as work:
            await work.tx.tenants.ensure(tenant, tenant)
            await work.tx.queues.ensure(tenant, queue, [])
        await admin.add_user(services, name, PASSWORD, role="supervisor", tenant=tenant)
        await admin.supervise_queue(services, queue, name)

    asyncio.run(provision())
    store.close()
    supervisor = Agent(server, name)
    cc.supervisors.append(supervisor)  # closed with the contact center
    return supervisor


_admins = itertools.count(1)


def create_admin(cc: ContactCenter) -> Agent:
    """An administrator (``users add --role admin``) of the contact center: not an agent."""
    from smsdesk.config import Settings
    from smsdesk.gws.representation import Urls
    from smsdesk.node import open_store, operation_settings
    from smsdesk.operations import admin
    from smsdesk.operations.services import Services

    settings = Settings(database_url=cc.server.database_url)
    store = open_store(settings)
    services = Services(store, Urls(cc.server.base_url), operation_settings(settings))
    name = f"{cc.tenant}-admin{next(_admins)}"
    asyncio.run(admin.add_user(services, name, PASSWORD, role="admin", tenant=cc.tenant))
    store.close()
    administrator = Agent(cc.server, name)
    cc.supervisors.append(administrator)  # closed with the contact center
    return administrator
