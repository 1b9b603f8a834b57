"""Stopping a background task: cancelled, waited for, and its cancellation no error."""

from __future__ import annotations

import asyncio

from smsdesk.tasks import stop_task


def test_a_running_task_is_cancelled_and_has_ended_when_stop_returns() -> None:
    async def scenario() -> None:
        cleaned_up = asyncio.Event()

        async def forever() -> None:
            try:
                await asyncio.Event().wait()
            finally:
                cleaned_up.set()

        task = asyncio.create_task(forever())
        await asyncio.sleep(0)  # let it start
        await stop_task(task)
        assert task.cancelled()
        assert cleaned_up.is_set()

    asyncio.run(scenario())


def test_a_finished_task_or_none_is_nothing_to_stop() -> None:
    async def scenario() -> None:
        async def quick() -> int:
            return 1

        task = asyncio.create_task(quick())
        await task
        await stop_task(task)
        assert task.result() == 1
        await stop_task(None)

    asyncio.run(scenario())
