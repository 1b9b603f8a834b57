"""Whether this process's database answers: one owner per process, told by the storage adapter.

The storage reports every failure to reach the database (or to write to it: a read-only standby, a
server shutting down) with :meth:`DatabaseState.away`, and every success after one with
:meth:`DatabaseState.back`. The state logs **once** that the database is away and **once** that it
is back, with how long it was away, however many requests met the outage meanwhile (each of them is
answered 503 by ``http/responses.error_for``, without a traceback). ``/readyz`` reads it, and what
waits for the database to come back (a held Bayeux connect, an in-doubt commit being checked) waits
on :meth:`DatabaseState.wait_back`. On SQLite it never changes: the database is a file of this
process.
"""

from __future__ import annotations

import asyncio
import logging
import time

log = logging.getLogger("smsdesk.storage")


class DatabaseState:
    def __init__(self) -> None:
        self.away_since: float | None = None
        """``time.monotonic()`` when the outage began; None while the database answers."""
        self.reason = ""
        """What the first failure of the outage said."""
        self.outages = 0
        """How many outages this process saw (metrics, tests)."""
        self.last_outage_s = 0.0
        """How long the last finished outage lasted."""
        self.last_back_wall_s = 0.0
        """``time.time()`` when the database last came back (0: never away)."""
        self._back = asyncio.Event()
        self._back.set()

    @property
    def available(self) -> bool:
        return self.away_since is None

    def away(self, reason: str) -> None:
        """The database did not answer, or refused a write because it cannot write now."""
        if self.away_since is not None:
            return
        self.away_since = time.monotonic()
        self.reason = reason
        self.outages += 1
        self._back.clear()
        log.warning(
            "the database is unavailable (%s): requests are answered 503 with Retry-After, and every "
            "part of this node reconnects by itself once a writable primary answers",
            reason,
        )

    def back(self, asked_at: float | None = None) -> None:
        """A writable database answered (a request sent at ``asked_at``, ``time.monotonic()``): an
        answer to a request sent before the outage began says nothing of the database now."""
        if self.away_since is None or (asked_at is not None and asked_at < self.away_since):
            return
        self.last_outage_s = time.monotonic() - self.away_since
        self.last_back_wall_s = time.time()
        self.away_since = None
        self._back.set()
        log.warning("the database is back after %.1f s unavailable", self.last_outage_s)

    def away_for_s(self) -> float:
        """How long the current outage has lasted (0 while the database answers)."""
        return 0.0 if self.away_since is None else time.monotonic() - self.away_since

    async def wait_back(self, timeout_s: float) -> bool:
        """Wait until the database is back, at most ``timeout_s``; whether it is."""
        if self.away_since is None:
            return True
        try:
            await asyncio.wait_for(self._back.wait(), timeout_s)
        except TimeoutError:
            return False
        return True
