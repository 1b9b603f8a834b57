"""``smsdesk serve --workers N``: N processes on one port sharing one PostgreSQL database; refused,
with the reason and the remedy, on SQLite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.agents import create_contact_center
from support.server import QUICK_TIMEOUTS, RunningServer

pytestmark = pytest.mark.slow


def answering_pid(base_url: str) -> int:
    """The worker that answers a request on a fresh connection (the kernel spreads those)."""
    with httpx.Client(base_url=base_url, timeout=5) as fresh:
        pid: int = fresh.get("/healthz").json()["pid"]
    return pid


def worker_pids(base_url: str, expected: int, within_s: float = 30.0) -> set[int]:
    seen: set[int] = set()
    deadline = time.monotonic() + within_s
    while len(seen) < expected and time.monotonic() < deadline:
        try:
            seen.add(answering_pid(base_url))
        except httpx.HTTPError:
            time.sleep(0.1)
    return seen


@pytest.fixture
def two_workers(tmp_path: Path, backend: str) -> Iterator[RunningServer]:
    running = RunningServer(tmp_path / "workers.db", QUICK_TIMEOUTS, extra_args=("--workers", "2")).start()
    yield running
    running.stop()


@pytest.mark.postgres_only  # --workers needs PostgreSQL; the refusal on SQLite is tested below
def test_two_workers_serve_one_journey_and_survive_the_loss_of_one(two_workers: RunningServer) -> None:
    server = two_workers
    pids = worker_pids(server.base_url, 2)
    assert len(pids) == 2, f"only {pids} answered: the second worker never served a request"
    assert server.process is not None and server.process.pid not in pids  # the parent only supervises

    cc = create_contact_center(server)
    try:
        agent = cc.agent(0).listen().log_in()
        customer = cc.customer_number()
        assert cc.sms(customer, "Hello").json()["statusCode"] == 0
        session_id = agent.wait_invited()["id"]
        assert agent.op(session_id, "Accept")["statusCode"] == 0
        agent.take(3)  # StatusChange, ParticipantsUpdated, MessageLogUpdated

        # One worker dies without a word; the other keeps serving the same agent, cookie and
        # Bayeux client (all kept in the database), and the parent starts a replacement.
        victim = min(pids)
        os.kill(victim, signal.SIGKILL)
        assert answering_pid(server.base_url) != victim  # the survivor, or already its replacement

        reply = agent.op(session_id, "SendMessage", text="Still here")
        (log,) = agent.take(1)
        assert log["referenceId"] == reply["referenceId"]
        deadline = time.monotonic() + 10
        while [m["text"] for m in cc.handset(customer)] != ["Still here"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [m["text"] for m in cc.handset(customer)] == ["Still here"]
        reply = agent.op(session_id, "Complete")
        (done,) = agent.take(1)
        assert done["smssession"]["state"] == "Completed" and done["referenceId"] == reply["referenceId"]

        replaced = worker_pids(server.base_url, 2)
        assert len(replaced) == 2 and victim not in replaced, replaced
    finally:
        cc.close()


def test_workers_on_sqlite_are_refused_with_the_reason(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "smsdesk",
            "serve",
            "--workers",
            "2",
            "--database",
            f"sqlite:///{tmp_path}/x.db",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "40"},
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "needs PostgreSQL" in lines[0] and "postgresql://" in lines[0]
