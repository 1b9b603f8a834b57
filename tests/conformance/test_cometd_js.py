"""Conformance: the official CometD JavaScript client (npm ``cometd`` 9 with ``cometd-nodejs-client``),
run by Node against the server this test starts, over both transports, with and without the ack
extension. The Node side reports exactly what it received; this side delivers and asserts."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import msgspec
import pytest

from bayeux.harness import PASSWORD, Harness, wait_until

HERE = Path(__file__).parent
NODE = shutil.which("node")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(NODE is None, reason="node is not installed")]


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """``npm ci`` on a clean checkout, so ``make test`` needs nothing but node and npm."""
    if not (HERE / "node_modules" / "cometd").exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True, timeout=300)
    return HERE / "node_modules"


class NodeClient:
    def __init__(self, harness: Harness, transport: str, ack: bool, expected: int) -> None:
        url = f"http://alice:{PASSWORD}@127.0.0.1:{harness.port}/api/v2/notifications"
        assert NODE is not None
        self.process = subprocess.Popen(
            [NODE, str(HERE / "client.mjs"), url, transport, json.dumps(ack), str(expected)],
            cwd=HERE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.watchdog = threading.Timer(30, self.process.kill)
        self.watchdog.start()

    def event(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, f"node exited with {self.process.wait()}"
        event: dict[str, Any] = json.loads(line)
        return event

    def publish(self, channel: str, data: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"channel": channel, "data": data}) + "\n")
        self.process.stdin.flush()

    def close(self) -> None:
        self.watchdog.cancel()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


@pytest.mark.parametrize("ack", [False, True], ids=["plain", "ack"])
@pytest.mark.parametrize("transport", ["long-polling", "websocket"])
def test_official_cometd_client(node_modules: Path, start_server, transport: str, ack: bool) -> None:
    harness: Harness = start_server()
    client = NodeClient(harness, transport, ack, expected=7)
    try:
        subscribed = client.event()
        assert subscribed["event"] == "subscribed", subscribed
        assert subscribed["transport"] == transport
        client_id = subscribed["clientId"]
        session = harness.server.session(client_id)
        assert session is not None and session.principal == "alice"

        for n in range(5):
            assert harness.deliver(client_id, f"/conformance/{n % 2}/x", {"n": n})
        assert harness.deliver(client_id, "/conformance/raw", msgspec.Raw(b'{"raw": true}'), {"position": 9})
        assert not harness.deliver(client_id, "/elsewhere", {"n": -1})
        client.publish("/denied/x", {"no": 1})
        assert client.event() == {"event": "published", "successful": False, "error": "403::publish_denied"}
        client.publish("/conformance/echo", {"from": "client"})
        assert client.event() == {"event": "published", "successful": True}

        done = client.event()
        assert done["event"] == "done"
        assert done["received"] == [
            *({"channel": f"/conformance/{n % 2}/x", "data": {"n": n}} for n in range(5)),
            {"channel": "/conformance/raw", "data": {"raw": True}, "ext": {"position": 9}},
            {"channel": "/conformance/echo", "data": {"from": "client"}},
        ]
        assert done["timesyncOffsetIsNumber"]
        if ack:
            assert done["handshakeExt"]["ack"] is True
            acks = done["connectAcks"]
            assert acks == sorted(acks) and acks[-1] >= 1
        else:
            assert "ack" not in (done["handshakeExt"] or {})
            assert done["connectAcks"] == []
        assert client.process.wait(10) == 0
        wait_until(lambda: not harness.has_session(client_id))
        assert harness.listener.events[-1] == ("removed", client_id, False)
    finally:
        client.close()


@pytest.mark.parametrize("transport", ["long-polling", "websocket"])
def test_official_client_handshakes_again_when_its_session_is_dropped(
    node_modules: Path, start_server, transport: str
) -> None:
    harness: Harness = start_server(max_queue=2)
    client = NodeClient(harness, transport, ack=True, expected=1_000)
    try:
        subscribed = client.event()
        assert subscribed["event"] == "subscribed", subscribed
        old = subscribed["clientId"]

        def overflow() -> list[bool]:
            session = harness.server.session(old)
            assert session is not None
            return [harness.server.deliver(session, "/conformance/x", n) for n in range(3)]

        assert harness.call(overflow) == [True, True, False]
        again = client.event()
        assert again["event"] == "rehandshake"
        assert again["clientId"] != old
        assert harness.has_session(again["clientId"])
        assert not harness.has_session(old)
    finally:
        client.close()
