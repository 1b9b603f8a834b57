"""Warnings a client can trigger at will, logged at most once per interval each.

A limit that bites must say so in the log, but a client hammering it must not turn the log into
its own flood: each kind of warning is written at once, then at most once per ``interval_s``, with
how many were held back meanwhile.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class RateLimitedWarning:
    def __init__(
        self, logger: logging.Logger, interval_s: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self._clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def warn(self, kind: str, message: str, *args: object) -> None:
        """Log ``message % args`` now, unless a ``kind`` warning was logged within the interval."""
        now = self._clock()
        last = self._last.get(kind)
        if last is not None and now - last < self.interval_s:
            self._held[kind] = self._held.get(kind, 0) + 1
            return
        self._last[kind] = now
        held = self._held.pop(kind, 0)
        if held:
            message += f" ({held} more like it in the last {now - last:.0f} s)" if last is not None else ""
        self.logger.warning(message, *args)
