"""Interoperability with a real third-party client: aiocometd-ng (PyPI), over both transports."""

from __future__ import annotations

import asyncio

import pytest
from aiocometd_ng import Client, ConnectionType
from aiocometd_ng.exceptions import ServerError

from .harness import PASSWORD, Harness, wait_until

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # aiohttp, as called by the client

TRANSPORTS = [ConnectionType.LONG_POLLING, ConnectionType.WEBSOCKET]


def url(harness: Harness) -> str:
    return f"http://alice:{PASSWORD}@127.0.0.1:{harness.port}/api/v2/notifications"


@pytest.mark.parametrize("transport", TRANSPORTS, ids=lambda t: t.value)
def test_subscribe_publish_and_server_delivery(bayeux: Harness, transport: ConnectionType) -> None:
    async def scenario() -> list[dict]:
        received = []
        async with Client(url(bayeux), connection_types=transport) as client:
            assert client.connection_type == transport
            await client.subscribe("/chat/**")
            await client.publish("/chat/room", {"text": "hello"})
            received.append(await asyncio.wait_for(client.receive(), 5))
            [session] = bayeux.server.sessions()
            await asyncio.to_thread(bayeux.deliver, session.id, "/chat/room/sub", {"from": "server"})
            received.append(await asyncio.wait_for(client.receive(), 5))
            await client.unsubscribe("/chat/**")
            with pytest.raises(ServerError):
                await client.publish("/denied/x", {})
        return received

    assert asyncio.run(scenario()) == [
        {"channel": "/chat/room", "data": {"text": "hello"}},
        {"channel": "/chat/room/sub", "data": {"from": "server"}},
    ]
    wait_until(lambda: not list(bayeux.server.sessions()))  # the client disconnected on exit
    assert bayeux.listener.events[-1][0] == "removed"


@pytest.mark.parametrize("transport", TRANSPORTS, ids=lambda t: t.value)
def test_many_messages_arrive_in_order(bayeux: Harness, transport: ConnectionType) -> None:
    async def scenario() -> list[int]:
        async with Client(url(bayeux), connection_types=transport) as client:
            await client.subscribe("/n")
            [session] = bayeux.server.sessions()

            def burst() -> None:
                for n in range(200):
                    bayeux.server.deliver(session, "/n", {"n": n})

            await asyncio.to_thread(bayeux.call, burst)
            return [(await asyncio.wait_for(client.receive(), 5))["data"]["n"] for _ in range(200)]

    assert asyncio.run(scenario()) == list(range(200))
