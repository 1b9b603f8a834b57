"""The `smsdesk` command line, run as a person would run it."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest

from support.server import RunningServer, database_url_for, free_port

pytestmark = pytest.mark.slow


def smsdesk(
    *args: str, stdin: str | None = None, env: dict[str, str | None] | None = None
) -> subprocess.CompletedProcess[str]:
    """``env``: variables to set on top of this process's environment (None: remove it)."""
    environment = dict(os.environ)
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return subprocess.run(
        [sys.executable, "-m", "smsdesk", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        env=environment,
    )


def where_serve_listens(**given: str) -> dict[str, str | None]:
    """An environment that says nothing about the server's address except ``given``."""
    unset: dict[str, str | None] = dict.fromkeys(
        ("HOST", "PORT", "SMSDESK_HOST", "SMSDESK_PORT", "SMSDESK_CONFIG")
    )
    return {**unset, **given}


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
        ["customers"],
        ["customers", "erase"],
        ["retention"],
        ["retention", "set"],
        ["retention", "run"],
        ["export"],
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
        "users", "add", "alice", "--password", "s3cret-pass", "--queue", "support", "--database", database
    )
    assert added.returncode == 0 and "added agent alice" in added.stdout
    duplicate = smsdesk("users", "add", "alice", "--password", "x" * 8, "--database", database)
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    prompted = smsdesk(
        "users", "add", "bob", "--role", "supervisor", "--database", database, stdin="piped-password\n"
    )
    assert prompted.returncode == 0, prompted.stderr
    listing = smsdesk("users", "list", "--database", database).stdout
    assert "alice" in listing and "bob" in listing and "ROLE_SUPERVISOR" in listing
    assert (
        smsdesk("users", "passwd", "alice", "--password", "n3w-pass", "--database", database).returncode == 0
    )
    assert smsdesk("users", "passwd", "nobody", "--password", "x" * 8, "--database", database).returncode == 1
    number = smsdesk("numbers", "add", "+15550199", "--queue", "support", "--database", database)
    assert number.returncode == 0 and "routes to queue support" in number.stdout
    supervise = smsdesk("queues", "supervise", "support", "bob", "--database", database)
    assert supervise.returncode == 0 and "bob now supervises queue support" in supervise.stdout
    not_a_supervisor = smsdesk("queues", "supervise", "support", "alice", "--database", database)
    assert not_a_supervisor.returncode == 1 and "not a supervisor" in not_a_supervisor.stderr
    no_queue = smsdesk("queues", "supervise", "nowhere", "bob", "--database", database)
    assert no_queue.returncode == 1 and "Queue not found" in no_queue.stderr
    assert (
        smsdesk(
            "users", "add", "x", "--role", "wizard", "--password", "x" * 8, "--database", database
        ).returncode
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


def test_the_handset_finds_the_server_where_make_run_started_it(tmp_path: Path) -> None:
    server = RunningServer(tmp_path / "port.db").start()
    port = str(server.port)
    try:
        # `PORT=N make run` in one terminal, the same PORT in the other: no --server needed.
        sent = smsdesk("sms", "send", "--from", "+15551230000", "hello", env=where_serve_listens(PORT=port))
        assert sent.returncode == 0, sent.stderr
        # A server listening on every interface (HOST=0.0.0.0) is reached on loopback.
        empty = smsdesk("sms", "inbox", "+15551239999", env=where_serve_listens(HOST="0.0.0.0", PORT=port))
        assert (empty.returncode, empty.stdout.strip()) == (0, "no messages for +15551239999"), empty.stderr
        # The port setting, from its environment variable or a settings file, as `serve` reads it.
        setting = smsdesk("sms", "inbox", "+15551239999", env=where_serve_listens(SMSDESK_PORT=port))
        assert setting.returncode == 0, setting.stderr
        config = tmp_path / "smsdesk.toml"
        config.write_text(f"port = {port}\n")
        from_file = smsdesk(
            "sms", "inbox", "+15551239999", "--config", str(config), env=where_serve_listens()
        )
        assert from_file.returncode == 0, from_file.stderr

        agent = httpx.Client(base_url=server.base_url, auth=("agent1", "password"), timeout=10)
        agent.post(
            "/api/v2/me", json={"operationName": "StartContactCenterSession", "channels": ["smssession"]}
        )
        created = agent.post(
            "/api/v2/me/smssessions",
            json={"operationName": "Create", "phoneNumber": "+15551239999", "text": "Your parcel is ready"},
        )
        assert created.json()["statusCode"] == 0, created.text
        agent.close()
        deadline = time.monotonic() + 15
        while True:
            inbox = smsdesk("sms", "inbox", "+15551239999", env=where_serve_listens(PORT=port))
            assert inbox.returncode == 0, inbox.stderr
            if "Your parcel is ready" in inbox.stdout or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert inbox.stdout.strip() == "+15550100 → +15551239999: Your parcel is ready"
    finally:
        server.stop()


def test_an_unreachable_server_is_named_with_where_its_address_came_from() -> None:
    port = str(free_port())  # nothing listens there
    result = smsdesk("sms", "inbox", "+15551230000", env=where_serve_listens(PORT=port))
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"error: cannot reach http://127.0.0.1:{port} (from $PORT)")
    assert "--server URL" in result.stderr
    not_a_port = smsdesk("sms", "inbox", "+15551230000", env=where_serve_listens(PORT="eighty"))
    assert not_a_port.returncode == 2
    assert not_a_port.stderr.strip() == "error: PORT must be a port number (1-65535), not 'eighty'"


def test_version_and_usage_errors_are_one_line() -> None:
    shown = smsdesk("--version")
    assert (shown.returncode, shown.stdout.strip()) == (0, f"smsdesk {version('smsdesk')}")
    for command in (["--no-such-option"], ["users", "add"], ["serve", "--port", "eighty"]):
        refused = smsdesk(*command)
        assert refused.returncode == 2, (command, refused.stderr)
        assert len(refused.stderr.strip().splitlines()) == 1, (command, refused.stderr)
        assert refused.stderr.startswith("error:") and "--help" in refused.stderr, (command, refused.stderr)
        assert "╭" not in refused.stderr + refused.stdout


def test_empty_and_short_passwords_are_refused_with_one_line(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'pw.db'}"
    for password in ("", "short"):
        refused = smsdesk("users", "add", "bob", "--password", password, "--database", database)
        assert refused.returncode == 1
        assert refused.stderr.strip().count("\n") == 0 and "password" in refused.stderr
        assert "Traceback" not in refused.stderr
    piped_empty = smsdesk("users", "add", "bob", "--database", database, stdin="\n")
    assert piped_empty.returncode == 1 and "must not be empty" in piped_empty.stderr
    assert smsdesk("users", "add", "bob", "--password", "eight-ch", "--database", database).returncode == 0
    short = smsdesk("users", "passwd", "bob", "--password", "1234567", "--database", database)
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
    # The minimum is a setting.
    env_min = subprocess.run(
        [
            sys.executable,
            "-m",
            "smsdesk",
            "users",
            "add",
            "carol",
            "--password",
            "eight-ch",
            "--database",
            database,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SMSDESK_PASSWORD_MIN_LENGTH": "12"},
    )
    assert env_min.returncode == 1 and "at least 12 characters" in env_min.stderr


def at_a_terminal(*args: str, answers: list[str]) -> str:
    """Run smsdesk on a pseudo-terminal, as a person at a keyboard would: each answer is typed once
    its prompt (a line ending in ": ") shows (getpass flushes whatever was typed before it asked)."""
    main, secondary = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "smsdesk", *args],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        start_new_session=True,  # no controlling terminal: getpass uses the pty on stdin
    )
    os.close(secondary)
    output, pending = "", list(answers)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 1)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(main, 4096).decode(errors="replace")
            except OSError:  # the child closed its side
                break
            output += chunk
            if pending and output.rstrip(" ").endswith(":"):
                os.write(main, (pending.pop(0) + "\n").encode())
    finally:
        os.close(main)
        if process.poll() is None:
            process.kill()
        process.wait(10)
    return output


def test_a_terminal_is_asked_for_the_password_twice(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'tty.db'}"
    mismatch = at_a_terminal(
        "users", "add", "dora", "--database", database, answers=["first-password", "second-password"]
    )
    assert "The same password again" in mismatch and "the two passwords differ" in mismatch
    matched = at_a_terminal(
        "users", "add", "dora", "--database", database, answers=["same-pass", "same-pass"]
    )
    assert "added agent dora" in matched, matched
    assert "same-pass" not in matched  # not echoed


def test_commands_fail_with_one_clear_line_never_a_traceback(tmp_path: Path) -> None:
    down = "http://127.0.0.1:9"
    for command in (
        ["sms", "inbox", "+15551230000", "--server", down],
        ["sms", "send", "--from", "+1", "--to", "+2", "x", "--server", down],
        ["users", "list", "--database", f"sqlite:///{tmp_path}"],  # a directory, not a database file
        ["migrate", "--database", f"sqlite:///{tmp_path}"],
        [
            "numbers",
            "add",
            "+15550199",
            "--queue",
            "q",
            "--tenant",
            "nowhere",
            "--database",
            f"sqlite:///{tmp_path / 'n.db'}",
        ],
    ):
        result = smsdesk(*command)
        assert result.returncode != 0, command
        assert "Traceback" not in result.stderr + result.stdout, command
        assert len(result.stderr.strip().splitlines()) == 1, (command, result.stderr)
        assert result.stderr.startswith("error:"), (command, result.stderr)


def test_the_simulator_warns_who_can_reach_it(tmp_path: Path) -> None:
    server = RunningServer(tmp_path / "sim.db", demo=False, env={"SMSDESK_SIMULATOR": "true"}).start()
    try:
        assert "SMS simulator ON" in server.logs() and "127.0.0.1" in server.logs()
        assert "this machine only" in server.logs()
    finally:
        server.stop()
