"""The websocket transport, driven with the ``websockets`` package."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from .harness import PASSWORD, Harness, data_of, is_held, meta_of, wait_until


def open_socket(harness: Harness, user: str = "alice", password: str = PASSWORD) -> ClientConnection:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return connect(harness.ws_url, additional_headers={"Authorization": f"Basic {token}"}, legacy=True)


class WsClient:
    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.client_id: str | None = None

    def send(self, *messages: dict[str, Any]) -> None:
        self.socket.send(json.dumps(list(messages)))

    def recv(self, timeout: float = 5) -> list[dict[str, Any]]:
        frame: list[dict[str, Any]] = json.loads(self.socket.recv(timeout))
        return frame

    def handshake(self, ext: dict[str, Any] | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {
            "channel": "/meta/handshake",
            "version": "1.0",
            "supportedConnectionTypes": ["websocket"],
        }
        if ext:
            message["ext"] = ext
        self.send(message)
        [reply] = self.recv()
        self.client_id = reply["clientId"]
        return reply

    def connect(self, ext: dict[str, Any] | None = None, id: str = "c") -> None:
        message: dict[str, Any] = {
            "channel": "/meta/connect",
            "clientId": self.client_id,
            "connectionType": "websocket",
            "id": id,
        }
        if ext is not None:
            message["ext"] = ext
        self.send(message)

    def subscribe(self, channel: str) -> dict[str, Any]:
        self.send({"channel": "/meta/subscribe", "clientId": self.client_id, "subscription": channel})
        [reply] = self.recv()
        return reply


def ready(harness: Harness, *channels: str, ext: dict[str, Any] | None = None) -> WsClient:
    client = WsClient(open_socket(harness))
    client.handshake(ext)
    client.connect(ext={"ack": 0} if ext else None, id="first")
    assert meta_of(client.recv(), "/meta/connect")["successful"]
    for channel in channels:
        assert client.subscribe(channel)["successful"]
    return client


def test_messages_are_pushed_while_the_connect_is_held(bayeux: Harness) -> None:
    client = ready(bayeux, "/a/**")
    client.connect(id="held")
    wait_until(lambda: is_held(bayeux, client.client_id))
    for n in range(20):
        assert bayeux.deliver(client.client_id, f"/a/{n}", {"n": n})
    received: list[dict[str, Any]] = []
    while len(received) < 20:
        received += client.recv()
    assert received == [{"channel": f"/a/{n}", "data": {"n": n}} for n in range(20)]
    assert is_held(bayeux, client.client_id)
    client.socket.close()


@pytest.mark.slow
def test_held_connect_is_answered_on_the_socket_at_timeout(bayeux: Harness) -> None:
    client = ready(bayeux)
    client.connect(id="held")
    assert client.recv() == [
        {"channel": "/meta/connect", "successful": True, "clientId": client.client_id, "id": "held"}
    ]
    client.socket.close()


def test_ack_delivers_with_connect_replies_and_redelivers_after_a_dropped_socket(bayeux: Harness) -> None:
    client = ready(bayeux, "/a", ext={"ack": True})
    client.connect(ext={"ack": 0}, id="held")
    wait_until(lambda: is_held(bayeux, client.client_id))
    bayeux.deliver(client.client_id, "/a", 1)
    frame = client.recv()
    assert data_of(frame) == [{"channel": "/a", "data": 1}]
    assert meta_of(frame, "/meta/connect")["ext"] == {"ack": 1}
    client.socket.close()  # before the client could acknowledge batch 1
    wait_until(lambda: not is_held(bayeux, client.client_id))
    bayeux.deliver(client.client_id, "/a", 2)

    again = WsClient(open_socket(bayeux))
    again.client_id = client.client_id
    again.connect(ext={"ack": 0}, id="resumed")
    frame = again.recv()
    assert data_of(frame) == [{"channel": "/a", "data": 1}, {"channel": "/a", "data": 2}]
    assert meta_of(frame, "/meta/connect")["ext"] == {"ack": 2}
    again.connect(ext={"ack": 2}, id="next")
    wait_until(lambda: is_held(bayeux, client.client_id))
    bayeux.deliver(client.client_id, "/a", 3)
    frame = again.recv()
    assert data_of(frame) == [{"channel": "/a", "data": 3}]
    assert meta_of(frame, "/meta/connect") == {
        "channel": "/meta/connect",
        "successful": True,
        "clientId": client.client_id,
        "id": "next",
        "ext": {"ack": 3},
    }
    again.socket.close()


def test_new_connect_on_the_socket_supersedes_the_held_one(bayeux: Harness) -> None:
    client = ready(bayeux, "/a")
    client.connect(id="one")
    wait_until(lambda: is_held(bayeux, client.client_id))
    client.connect(id="two")
    assert client.recv() == [
        {"channel": "/meta/connect", "successful": True, "clientId": client.client_id, "id": "one"}
    ]
    wait_until(lambda: is_held(bayeux, client.client_id))
    client.socket.close()


def test_disconnect_over_websocket(bayeux: Harness) -> None:
    client = ready(bayeux, "/a")
    client.send({"channel": "/meta/disconnect", "clientId": client.client_id, "id": "d"})
    assert client.recv() == [
        {"channel": "/meta/disconnect", "successful": True, "clientId": client.client_id, "id": "d"}
    ]
    assert not bayeux.has_session(client.client_id)
    client.socket.close()


def test_malformed_frame_gets_an_error_and_the_socket_stays_open(bayeux: Harness) -> None:
    client = WsClient(open_socket(bayeux))
    client.socket.send("nope")
    assert client.recv() == [{"successful": False, "error": "400::invalid_json"}]
    assert client.handshake()["successful"]
    client.socket.close()


def test_oversized_frame_closes_the_socket(start_server) -> None:
    harness = start_server(max_request_bytes=1_000)
    client = WsClient(open_socket(harness))
    client.socket.send(json.dumps([{"channel": "/meta/handshake", "pad": "x" * 2_000}]))
    with pytest.raises(ConnectionClosed) as closed:
        client.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_rejected_upgrade(bayeux: Harness) -> None:
    with pytest.raises(InvalidStatus) as refused:
        open_socket(bayeux, password="wrong")
    assert refused.value.response.status_code == 401
