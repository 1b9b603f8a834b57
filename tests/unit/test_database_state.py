"""The database state (``operations/availability.py``): an outage is logged once when it begins and
once when it ends, with its length, however many failures meet it; waiters resume when it ends."""

from __future__ import annotations

import asyncio
import logging

import pytest

from smsdesk.operations.availability import DatabaseState


def test_an_outage_is_logged_once_away_and_once_back(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        state = DatabaseState()
        assert state.available and await state.wait_back(0)
        assert state.away_since is None
        for _ in range(50):  # fifty requests meet the outage
            state.away("ConnectionRefusedError: [Errno 111] Connect call failed")
        assert not state.available
        assert state.away_since is not None
        state.back(asked_at=state.away_since - 1)  # an answer to a request sent before the outage
        assert not state.available
        waiter = asyncio.create_task(state.wait_back(5))
        assert not await state.wait_back(0.01)
        for _ in range(50):
            state.back()
        assert await waiter
        assert state.available and state.outages == 1 and state.last_outage_s >= 0

    with caplog.at_level(logging.WARNING, logger="smsdesk.storage"):
        asyncio.run(scenario())
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith("the database is unavailable (ConnectionRefusedError")
    assert lines[1].startswith("the database is back after ")
