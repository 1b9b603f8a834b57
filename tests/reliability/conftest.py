from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.agents import ContactCenter, create_contact_center
from support.server import QUICK_TIMEOUTS, RunningServer

ENV = QUICK_TIMEOUTS


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server per test module: the kill tests own theirs, so they never disturb the others."""
    running = RunningServer(Path(tmp_path_factory.mktemp("reliability")) / "smsdesk.db", ENV).start()
    yield running
    running.stop()


@pytest.fixture
def cc(server: RunningServer) -> Iterator[ContactCenter]:
    center = create_contact_center(server)
    yield center
    # A test may have restarted the server under the agents' Bayeux sessions.
    with contextlib.suppress(Exception):
        center.close()
