"""Stopping a background task: cancel it and wait until it has ended.

Standard library only and outside the layers (like ``jsondepth.py``): the generic Bayeux server and
the operations' background loops both stop their tasks this way, and neither may import the other
(``bayeux`` sits above ``operations``, and knows nothing of SMS).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def stop_task(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait for it to end, its cancellation being no error; None does nothing.
    Waiting matters: a task still running after its owner closed could touch what is gone."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
