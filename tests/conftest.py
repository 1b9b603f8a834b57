"""Fixtures shared by the end-to-end tiers. Each tier's conftest provides ``server`` (with the
scope that suits it); ``cc`` gives every test a fresh contact center on that server.

Every test of the tiers that run smsdesk on a database (``DATABASE_TIERS``) runs once per backend:
the session-scoped ``backend`` parameter sets the database that servers started by the test use
(SQLite files, or databases in a throwaway PostgreSQL cluster). ``SMSDESK_TEST_BACKENDS=sqlite``
narrows the run, e.g. for a quick loop.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import support.server
from support import server_logs
from support.agents import ContactCenter, create_contact_center
from support.server import BACKENDS, RunningServer

DATABASE_TIERS = frozenset({"api", "reliability", "sms_e2e", "cli", "oidc"})


def _backends() -> tuple[str, ...]:
    wanted = os.environ.get("SMSDESK_TEST_BACKENDS")
    if not wanted:
        return BACKENDS
    chosen = tuple(name.strip() for name in wanted.split(",") if name.strip())
    unknown = set(chosen) - set(BACKENDS)
    if unknown:
        raise pytest.UsageError(f"SMSDESK_TEST_BACKENDS: unknown backend(s) {sorted(unknown)}")
    return chosen


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every test gets the parameter (one value outside the database tiers): a session fixture that
    # is parametrized for some tests and not for others confuses pytest's fixture teardown.
    if "backend" not in metafunc.fixturenames:
        return
    in_tier = Path(str(metafunc.definition.path)).parent.name in DATABASE_TIERS
    backends = _backends() if in_tier else ("sqlite",)
    if metafunc.definition.get_closest_marker("postgres_only") is not None:
        backends = ("postgres",)  # a PostgreSQL-only feature (serve --workers): no skip on SQLite
    metafunc.parametrize("backend", backends, indirect=True, scope="session")


@pytest.fixture(scope="session", autouse=True)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = getattr(request, "param", "sqlite")
    support.server.backend = name
    return name


@pytest.fixture
def cc(server: RunningServer) -> Iterator[ContactCenter]:
    center = create_contact_center(server)
    yield center
    center.close()


@pytest.fixture(scope="session", autouse=True)
def no_client_caused_traceback_in_any_server_log() -> Iterator[None]:
    """After every server of the session has stopped: no traceback a client could have caused
    (issue 11; the allowed, server-side faults are listed in ``support/server_logs.py``)."""
    yield
    found = server_logs.client_caused(server_logs.started)
    if found:
        pytest.fail(
            f"{len(found)} traceback(s) in server logs that no server-side fault explains:\n"
            + "\n".join(str(f) for f in found[:5]),
            pytrace=False,
        )
