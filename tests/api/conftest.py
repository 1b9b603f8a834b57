from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.server import QUICK_TIMEOUTS, RunningServer


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[RunningServer]:
    running = RunningServer(Path(tmp_path_factory.mktemp("server")) / "smsdesk.db", QUICK_TIMEOUTS).start()
    yield running
    running.stop()
