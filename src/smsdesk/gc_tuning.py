"""The garbage collector tuned for a server holding thousands of long-lived client objects.

With CPython's defaults a young collection runs every 700 allocations and, every so often, a full
one walks every tracked object. A node holding 10,000 Bayeux clients (sessions, queues, held
connects) has hundreds of thousands of them, so full collections paused the event loop for
hundreds of milliseconds: measured in ``bench/notifications.py`` S2, the notification p99 went
from seconds to ~40 ms with the settings below (docs/performance.md, "Where the time goes").

- Young collections run every 50,000 allocations instead of 700: reference counting frees almost
  everything a request allocates, cycles are rare, so collecting less often costs a few MB at most.
- Whatever exists once the server has started (modules, settings, the app) is frozen: moved out of
  the collector's sight for good, since it lives as long as the process. Only in a process that
  serves (``tune_for_serving`` was called): an application built inside a test process is not the
  whole process, and freezing there would keep earlier tests' garbage forever.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000
MIDDLE_THRESHOLD = 20
OLD_THRESHOLD = 100


_serving = False


def tune_for_serving() -> None:
    global _serving
    _serving = True
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)


def freeze_startup_objects() -> None:
    if _serving:
        gc.collect()
        gc.freeze()
