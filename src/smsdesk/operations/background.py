"""A background loop: runs a step when woken, or at the latest every ``interval_s``, or sooner
when the step says when it is next due (it returns the seconds until then).

A failing step is logged and retried on the next wake, so one bad row never stops the loop. A step
that failed because the database is unavailable (``StorageUnavailable``: the database state has said
so once, for the whole process) is retried every ``UNAVAILABLE_RETRY_S`` without a traceback, so the
work resumes within that once the database is back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from smsdesk.operations.ports import StorageUnavailable
from smsdesk.tasks import stop_task

UNAVAILABLE_RETRY_S = 1.0


class BackgroundLoop:
    def __init__(
        self,
        name: str,
        step: Callable[[], Awaitable[float | None]],
        interval_s: float | None,
        log: logging.Logger,
    ) -> None:
        self.name = name
        self.step = step
        self.interval_s = interval_s
        self.log = log
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due_s = self.interval_s
        while True:
            if not self._wake.is_set():
                # A timer that sets the event, not asyncio.wait_for: wait_for wraps the wait in a task
                # of its own, and a wake then takes three loop turns to reach the step instead of one
                # (the fan-out is woken by every commit, and each turn is latency for a notification).
                timer = loop.call_later(due_s, self._wake.set) if due_s is not None else None
                try:
                    await self._wake.wait()
                finally:
                    if timer is not None:
                        timer.cancel()
            self._wake.clear()
            due_s = self.interval_s
            try:
                next_s = await self.step()
            except StorageUnavailable as error:
                self.log.debug("%s: %s; retrying in %.1f s", self.name, error, UNAVAILABLE_RETRY_S)
                due_s = UNAVAILABLE_RETRY_S if due_s is None else min(due_s, UNAVAILABLE_RETRY_S)
            except Exception:
                self.log.exception("%s failed; retrying on the next wake", self.name)
            else:
                if next_s is not None and (due_s is None or next_s < due_s):
                    due_s = max(0.0, next_s)
