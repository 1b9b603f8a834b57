from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.server import QUICK_TIMEOUTS, RunningServer

ENV = QUICK_TIMEOUTS


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[RunningServer]:
    """One server per test module: the kill tests own theirs, so they never disturb the others."""
    running = RunningServer(Path(tmp_path_factory.mktemp("reliability")) / "smsdesk.db", ENV).start()
    yield running
    running.stop()
