"""Helpers for the real-SMS end-to-end tests: a server started with a settings file, a fake Twilio
Messages API, and agents' waits for the notifications these tests care about."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from smsdesk.config import Settings
from smsdesk.node import open_store
from support.agents import Agent, ContactCenter, create_contact_center
from support.server import QUICK_TIMEOUTS, RunningServer, free_port

# As in tests/api, but offers wait longer: a real connector's round trip comes first.
TEST_ENV = {**QUICK_TIMEOUTS, "SMSDESK_OFFER_TIMEOUT_MS": "5000"}
_numbers = iter(range(100, 10_000))


def service_number(port: int) -> str:
    """A number no other server of the run uses (the port is unique while the server runs)."""
    return f"+1777{port:05d}{next(_numbers):03d}"


@contextmanager
def configured_server(
    directory: Path, config: Callable[[RunningServer, ContactCenter], str], env: dict[str, str] | None = None
) -> Iterator[tuple[RunningServer, ContactCenter]]:
    """A server whose settings file ``config(server, cc)`` writes, for a contact center provisioned in
    its database before it starts (the configured numbers' tenant must exist at startup)."""
    server = RunningServer(directory / "smsdesk.db", {**TEST_ENV, **(env or {})}, demo=False)
    store = open_store(Settings(database_url=server.database_url))
    store.migrate()  # the server has not run yet: give the provisioning below a schema
    store.close()
    cc = create_contact_center(server, agents=1)
    server.config = directory / "smsdesk.toml"
    server.config.write_text(config(server, cc))
    server.start()
    try:
        yield server, cc
    finally:
        cc.close()
        server.stop()


def ready_agent(cc: ContactCenter) -> Agent:
    return cc.agent(0).listen().log_in()


def wait_for(
    agent: Agent, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0
) -> dict[str, Any]:
    """The ``data`` of the first notification matching ``predicate``, removed from the agent's buffer."""

    def matching(received: list[dict[str, Any]]) -> int | None:
        return next((i for i, m in enumerate(received) if predicate(m.get("data", {}))), None)

    agent.bayeux.wait_for(lambda received: matching(received) is not None, timeout)
    index = matching(agent.bayeux.received)
    assert index is not None
    data: dict[str, Any] = agent.bayeux.received.pop(index)["data"]
    return data


def accept_and_reply(agent: Agent, text: str) -> tuple[str, int]:
    """Take the offer, accept it, send ``text``; the session id and the index of the agent's message."""
    session = agent.wait_invited()
    session_id: str = session["id"]
    agent.op(session_id, "Accept", nickname="Alice")
    agent.op(session_id, "SendMessage", text=text)
    log = wait_for(agent, lambda d: any(m.get("text") == text for m in d.get("messages", [])))
    [entry] = [m for m in log["messages"] if m.get("text") == text]
    return session_id, int(entry["index"])


def wait_delivery(agent: Agent, index: int, status: str, timeout: float = 10.0) -> dict[str, Any]:
    """The MessageDeliveryUpdated notification that says message ``index`` reached ``status``."""
    return wait_for(
        agent,
        lambda d: (
            d.get("messageType") == "MessageDeliveryUpdated"
            and any(m["index"] == index and m["delivery"]["status"] == status for m in d["messages"])
        ),
        timeout,
    )


def messages(agent: Agent, session_id: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = agent.get(f"/api/v2/me/smssessions/{session_id}/messages")["messages"]
    return result


def poll_until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# ---------------------------------------------------------------------------------------------
# A fake Twilio Messages API


@dataclass
class FakeTwilioApi:
    """Answers ``POST /2010-04-01/Accounts/{sid}/Messages.json`` as Twilio does (201, a ``sid``) and
    records each request's form and Basic credentials."""

    port: int = field(default_factory=free_port)
    fail_every: int = 0
    """When set, every ``fail_every``-th request is answered 503 (a transient failure, retried)."""
    hold: threading.Event | None = None
    """When set, an accepted message's answer waits for it (at most 30 s): what the provider does
    meanwhile (a status callback sent before its API's answer arrives) can be played."""
    requests: list[dict[str, str]] = field(default_factory=list)
    refused: int = 0
    paths: list[str] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    sids: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _seen: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeTwilioApi:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                if not self.path.endswith("/Messages.json"):
                    self._answer(404, {"code": 20404, "message": "not found"})
                    return
                with api._lock:
                    api._seen += 1
                    refuse = api.fail_every > 0 and api._seen % api.fail_every == 0
                    if refuse:
                        api.refused += 1
                if refuse:
                    self._answer(503, {"code": 20503, "message": "Service unavailable"})
                    return
                sid = "SM" + uuid.uuid4().hex
                api.paths.append(self.path)
                api.authorizations.append(self.headers.get("Authorization", ""))
                api.requests.append(form)
                api.sids.append(sid)
                if api.hold is not None:
                    api.hold.wait(30)
                self._answer(
                    201, {"sid": sid, "status": "queued", "to": form.get("To"), "body": form.get("Body")}
                )

            def _answer(self, status: int, body: dict[str, object]) -> None:
                encoded = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(encoded)))
                self.end_headers()
                self.wfile.write(encoded)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, name="fake-twilio", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
