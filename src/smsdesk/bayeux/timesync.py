"""Server side of the CometD timesync extension (``ext.timesync``)."""

from __future__ import annotations

import time
from typing import Any


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def received(ext: object, ts: int) -> tuple[int, int, int, int] | None:
    """The client's ``(tc, l, o)`` with the receive time ``ts``, if the message asks for timesync."""
    if not isinstance(ext, dict):
        return None
    sync = ext.get("timesync")
    if not isinstance(sync, dict):
        return None
    values = (sync.get("tc"), sync.get("l", 0), sync.get("o", 0))
    numbers = [int(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) != 3:
        return None
    return numbers[0], numbers[1], numbers[2], ts


def reply(sync: tuple[int, int, int, int]) -> dict[str, Any]:
    """``p`` is the time the server spent on the message (a held connect included) and ``a`` the
    accuracy of the client's estimate, ``tc + o + l - ts``, as the CometD clients expect."""
    tc, lag, offset, ts = sync
    return {"tc": tc, "ts": ts, "p": now_ms() - ts, "a": tc + offset + lag - ts}
