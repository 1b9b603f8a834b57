"""Fixtures shared by the end-to-end tiers. Each tier's conftest provides ``server`` (with the
scope that suits it); ``cc`` gives every test a fresh contact center on that server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.agents import ContactCenter, create_contact_center
from support.server import RunningServer


@pytest.fixture
def cc(server: RunningServer) -> Iterator[ContactCenter]:
    center = create_contact_center(server)
    yield center
    center.close()
