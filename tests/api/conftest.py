from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.agents import ContactCenter, create_contact_center
from support.server import RunningServer

# Short timeouts keep the tests quick: offers time out after 2 s, long-polls are held 1 s.
TEST_ENV = {
    "SMSDESK_OFFER_TIMEOUT_MS": "2000",
    "SMSDESK_BAYEUX_TIMEOUT_MS": "1000",
    "SMSDESK_ROUTING_SWEEP_MS": "200",
}


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = RunningServer(Path(tmp_path_factory.mktemp("server")) / "smsdesk.db", TEST_ENV).start()
    yield running
    running.stop()


@pytest.fixture
def cc(server: RunningServer) -> Iterator[ContactCenter]:
    center = create_contact_center(server)
    yield center
    center.close()


TEST_ENV["SMSDESK_SMS_RETRY_INITIAL_MS"] = "100"
TEST_ENV["SMSDESK_SMS_MAX_ATTEMPTS"] = "4"
