"""The `smsdesk` command line, run as a person would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from support.server import RunningServer, database_url_for

pytestmark = pytest.mark.slow


def smsdesk(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smsdesk", *args], capture_output=True, text=True, input=stdin, timeout=60
    )


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["migrate"],
        ["users"],
        ["users", "add"],
        ["users", "list"],
        ["users", "passwd"],
        ["numbers", "add"],
        ["queues", "supervise"],
        ["sms"],
        ["sms", "send"],
        ["sms", "inbox"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = smsdesk(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_migrate_users_and_numbers(tmp_path: Path) -> None:
    database = database_url_for(tmp_path / "cc.db")
    assert "applied migration 0001_initial" in smsdesk("migrate", "--database", database).stdout
    assert "up to date" in smsdesk("migrate", "--database", database).stdout
    added = smsdesk(
        "users", "add", "alice", "--password", "s3cret", "--queue", "support", "--database", database
    )
    assert added.returncode == 0 and "added agent alice" in added.stdout
    duplicate = smsdesk("users", "add", "alice", "--password", "x", "--database", database)
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    prompted = smsdesk("users", "add", "bob", "--role", "supervisor", "--database", database, stdin="pw\n")
    assert prompted.returncode == 0, prompted.stderr
    listing = smsdesk("users", "list", "--database", database).stdout
    assert "alice" in listing and "bob" in listing and "ROLE_SUPERVISOR" in listing
    assert smsdesk("users", "passwd", "alice", "--password", "n3w", "--database", database).returncode == 0
    assert smsdesk("users", "passwd", "nobody", "--password", "x", "--database", database).returncode == 1
    number = smsdesk("numbers", "add", "+15550199", "--queue", "support", "--database", database)
    assert number.returncode == 0 and "routes to queue support" in number.stdout
    supervise = smsdesk("queues", "supervise", "support", "bob", "--database", database)
    assert supervise.returncode == 0 and "bob now supervises queue support" in supervise.stdout
    not_a_supervisor = smsdesk("queues", "supervise", "support", "alice", "--database", database)
    assert not_a_supervisor.returncode == 1 and "not a supervisor" in not_a_supervisor.stderr
    no_queue = smsdesk("queues", "supervise", "nowhere", "bob", "--database", database)
    assert no_queue.returncode == 1 and "Queue not found" in no_queue.stderr
    assert (
        smsdesk("users", "add", "x", "--role", "wizard", "--password", "x", "--database", database).returncode
        == 1
    )


def test_demo_server_seeds_once_warns_and_sms_send_works(tmp_path: Path) -> None:
    server = RunningServer(tmp_path / "demo.db").start()
    try:
        assert "DEMO contact center" in server.logs() and "'password'" in server.logs()
        me = httpx.get(server.base_url + "/api/v2/me", auth=("agent1", "password"))
        assert me.json()["user"]["userName"] == "agent1"
        # The demo supervisor supervises the demo queue: monitoring agent1 is allowed at once.
        monitored = httpx.post(
            f"{server.base_url}/api/v2/users/{me.json()['user']['id']}/channels/smssession",
            json={"operationName": "Monitor"},
            auth=("supervisor1", "password"),
        )
        assert monitored.json()["statusCode"] == 0, monitored.text
        sent = smsdesk(
            "sms", "send", "--from", "+15551230000", "--to", "+15550100", "hello", "--server", server.base_url
        )
        assert sent.returncode == 0, sent.stderr
        unknown = smsdesk("sms", "send", "--from", "+1555", "--to", "+1000", "x", "--server", server.base_url)
        assert unknown.returncode == 1 and "Not a service number" in unknown.stderr
    finally:
        server.stop()
    again = RunningServer(tmp_path / "demo.db").start()  # idempotent seed: same users, no error
    try:
        users = smsdesk("users", "list", "--database", again.database_url).stdout
        assert users.count("agent1") == 1 and "supervisor1" in users
    finally:
        again.stop()


def test_without_demo_there_are_no_default_credentials_and_no_simulator(tmp_path: Path) -> None:
    server = RunningServer(tmp_path / "plain.db", demo=False).start()
    try:
        assert httpx.get(server.base_url + "/api/v2/me", auth=("agent1", "password")).status_code == 401
        assert httpx.post(server.base_url + "/simulator/sms", json={}).status_code == 404
        result = smsdesk("sms", "send", "--from", "+1", "--to", "+2", "x", "--server", server.base_url)
        assert result.returncode == 1 and "no simulator" in result.stderr
    finally:
        server.stop()


def test_unreachable_server_is_a_clear_error() -> None:
    result = smsdesk("sms", "send", "--from", "+1", "--to", "+2", "x", "--server", "http://127.0.0.1:9")
    assert result.returncode == 1 and "cannot reach" in result.stderr
