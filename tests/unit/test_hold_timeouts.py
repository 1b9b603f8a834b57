"""The held-connect timeouts of the Bayeux server: one loop timer for every held long-poll, firing
up to ``HoldTimeouts.SLACK_S`` late so that connects falling due together are answered together."""

from __future__ import annotations

import asyncio

from smsdesk.bayeux.session import LONG_POLLING, Connect, HoldTimeouts, ServerSession


def _connect() -> Connect:
    session = ServerSession("client", object(), ack=False, now=0.0)
    return Connect(session, {"channel": "/meta/connect"}, LONG_POLLING, None, None)


def test_each_held_connect_is_woken_once_its_time_is_up_in_the_order_held() -> None:
    async def scenario() -> list[tuple[int, str | None]]:
        timeouts = HoldTimeouts(0.05)
        woken: list[tuple[int, str | None]] = []
        connects = [_connect() for _ in range(3)]
        for index, connect in enumerate(connects):
            connect.start(lambda index=index, connect=connect: woken.append((index, connect.reason)))
            timeouts.add(connect)
            await asyncio.sleep(0.01)
        assert woken == []  # none is due yet
        await asyncio.sleep(0.05 + HoldTimeouts.SLACK_S + 0.1)
        return woken

    assert asyncio.run(scenario()) == [(0, "timeout"), (1, "timeout"), (2, "timeout")]


def test_an_answered_connect_is_not_woken_by_its_timeout() -> None:
    async def scenario() -> tuple[str | None, str | None]:
        timeouts = HoldTimeouts(0.03)
        answered, held = _connect(), _connect()
        for connect in (answered, held):
            connect.start(lambda: None)
            timeouts.add(connect)
        answered.wake("message")
        timeouts.discard(answered)
        await asyncio.sleep(0.03 + HoldTimeouts.SLACK_S + 0.1)
        return answered.reason, held.reason

    assert asyncio.run(scenario()) == ("message", "timeout")


def test_close_cancels_what_is_pending() -> None:
    async def scenario() -> str | None:
        timeouts = HoldTimeouts(0.02)
        connect = _connect()
        connect.start(lambda: None)
        timeouts.add(connect)
        timeouts.close()
        await asyncio.sleep(0.02 + HoldTimeouts.SLACK_S + 0.1)
        return connect.reason

    assert asyncio.run(scenario()) is None
