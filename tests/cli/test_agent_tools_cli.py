"""`smsdesk responses` and `smsdesk queues hours|replies`, and the settings file's [queues.<name>]
tables: run as an operator runs them, acting on a running server through the same database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from support.server import QUICK_TIMEOUTS, RunningServer

pytestmark = pytest.mark.slow

DEMO_NUMBER = "+15550100"


def smsdesk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smsdesk", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )


@pytest.mark.parametrize(
    "command",
    [
        ["responses"],
        ["responses", "add"],
        ["responses", "list"],
        ["responses", "remove"],
        ["queues", "hours"],
        ["queues", "replies"],
    ],
)
def test_every_new_command_has_help(command: list[str]) -> None:
    result = smsdesk(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def handset(server: RunningServer, number: str, count: int) -> list[str]:
    deadline = time.monotonic() + 15
    texts: list[str] = []
    while time.monotonic() < deadline:
        texts = [
            m["text"]
            for m in httpx.get(f"{server.base_url}/simulator/sms", params={"number": number}).json()[
                "messages"
            ]
        ]
        if len(texts) >= count:
            break
        time.sleep(0.05)
    time.sleep(0.5)
    return [
        m["text"]
        for m in httpx.get(f"{server.base_url}/simulator/sms", params={"number": number}).json()["messages"]
    ]


def test_hours_and_replies_set_with_the_cli_act_on_a_running_server(tmp_path: Path) -> None:
    server = RunningServer(tmp_path / "hours.db", QUICK_TIMEOUTS).start()
    database = ("--database", server.database_url)
    try:
        today = datetime.now(UTC).date()
        closed = smsdesk(
            "queues", "hours", "sms-default", "--timezone", "UTC", "--weekly", "daily 00:00-24:00",
            "--closed-date", today.isoformat(), "--closed-date", (today + timedelta(days=1)).isoformat(), *database,
        )  # fmt: skip
        assert closed.returncode == 0, closed.stderr
        assert "queue sms-default: open daily 00:00-24:00 (UTC); closed on" in closed.stdout
        replies = smsdesk(
            "queues", "replies", "sms-default", "--closed", "Closed until {{queue.opensAt}}.", *database
        )
        assert replies.returncode == 0 and "closed reply: Closed until {{queue.opensAt}}." in replies.stdout

        customer = "+15551239876"
        httpx.post(
            f"{server.base_url}/simulator/sms", json={"from": customer, "to": DEMO_NUMBER, "text": "Hi"}
        )
        weekday = (today + timedelta(days=2)).strftime("%A")
        assert handset(server, customer, 1) == [f"Closed until on {weekday} at 00:00."]

        shown = smsdesk("queues", "hours", "sms-default", *database)
        assert shown.returncode == 0 and "daily 00:00-24:00" in shown.stdout
        assert smsdesk("queues", "hours", "sms-default", "--always-open", *database).returncode == 0
        # The waiting session is offered once the queue is open: agent1 goes Ready and gets it.
        agent = httpx.Client(base_url=server.base_url, auth=("agent1", "password"))
        agent.post(
            "/api/v2/me", json={"operationName": "StartContactCenterSession", "channels": ["smssession"]}
        )
        agent.post("/api/v2/me/channels/smssession", json={"operationName": "Ready"})
        deadline = time.monotonic() + 15
        offered: list[dict[str, object]] = []
        while time.monotonic() < deadline and not offered:
            offered = agent.get("/api/v2/me/smssessions", params={"fields": "*"}).json()["smssessions"]
            time.sleep(0.1)
        assert [s["state"] for s in offered] == ["Invited"]
        agent.close()
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (
            ["--timezone", "UTC", "--weekly", "mon-fry 09:00-17:00"],
            "In 'mon-fry 09:00-17:00': 'fry' is not a day",
        ),
        (
            ["--timezone", "UTC", "--weekly", "mon-fri 09:00-17:00; sat 10-14"],
            "In 'sat 10-14': '10' is not a time",
        ),
        (
            ["--timezone", "Europe/Pariss", "--weekly", "mon-fri 09:00-17:00"],
            "Unknown time zone: 'Europe/Pariss'",
        ),
        (
            ["--timezone", "UTC", "--weekly", "daily 09:00-17:00", "--closed-date", "2026-02-30"],
            "'2026-02-30' is not a date",
        ),
        (["--timezone", "UTC"], "give both --timezone and --weekly"),
    ],
)
def test_hours_that_do_not_parse_say_which_part(tmp_path: Path, arguments: list[str], says: str) -> None:
    database = f"sqlite:///{tmp_path / 'hours.db'}"
    assert (
        smsdesk(
            "users", "add", "ann", "--password", "s3cret-pass", "--queue", "support", "--database", database
        ).returncode
        == 0
    )
    result = smsdesk("queues", "hours", "support", *arguments, "--database", database)
    assert result.returncode != 0
    assert result.stderr.startswith("error:") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert says in result.stderr, result.stderr
    unknown = smsdesk(
        "queues",
        "hours",
        "nowhere",
        "--timezone",
        "UTC",
        "--weekly",
        "daily 09:00-17:00",
        "--database",
        database,
    )
    assert unknown.returncode == 1 and "Queue not found" in unknown.stderr


def test_standard_responses_from_the_command_line(tmp_path: Path) -> None:
    database = ("--database", f"sqlite:///{tmp_path / 'responses.db'}")
    assert smsdesk("users", "add", "ann", "--password", "s3cret-pass", *database).returncode == 0
    added = smsdesk(
        "responses",
        "add",
        "Greeting",
        "--text",
        "Hello, {{agent.firstName}} here.",
        "--category",
        "General",
        *database,
    )
    assert added.returncode == 0 and "added standard response Greeting" in added.stdout, added.stderr
    again = smsdesk("responses", "add", "Greeting", "--text", "Hi", *database)
    assert again.returncode == 1 and "already exists" in again.stderr
    bad = smsdesk("responses", "add", "Bad", "--text", "Hi {{customer.firstName}}", *database)
    assert (
        bad.returncode == 1 and "{{customer.firstName}}" in bad.stderr and len(bad.stderr.splitlines()) == 1
    )
    listed = smsdesk("responses", "list", *database)
    assert "Greeting" in listed.stdout and "{{agent.firstName}}" in listed.stdout
    assert smsdesk("responses", "list", "--tenant", "nowhere", *database).returncode == 1
    removed = smsdesk("responses", "remove", "Greeting", *database)
    assert removed.returncode == 0 and "removed standard response Greeting" in removed.stdout
    assert "no standard responses" in smsdesk("responses", "list", *database).stdout
    gone = smsdesk("responses", "remove", "Greeting", *database)
    assert gone.returncode == 1 and "Standard response not found: Greeting" in gone.stderr


def test_the_settings_file_sets_hours_and_replies_at_start(tmp_path: Path) -> None:
    config = tmp_path / "smsdesk.toml"
    config.write_text(
        "[queues.sms-default]\n"
        'timezone = "Europe/Paris"\n'
        'weekly = "mon-fri 09:00-17:00"\n'
        'closed_dates = ["2026-12-25"]\n'
        'closed_reply = "Closed: we open {{queue.opensAt}}."\n'
        'waiting_reply = "You are number {{queue.position}}."\n'
        "waiting_after_s = 120\n"
    )
    server = RunningServer(tmp_path / "settings.db", config=config).start()
    try:
        queue = httpx.get(
            f"{server.base_url}/api/v2/queues/sms-default", auth=("supervisor1", "password")
        ).json()["queue"]
        assert queue["openingHours"] == {
            "timezone": "Europe/Paris",
            "weekly": "mon-fri 09:00-17:00",
            "closedDates": ["2026-12-25"],
            "whenClosed": "queue",
        }
        assert queue["automaticReplies"]["waitingAfterSeconds"] == 120
    finally:
        server.stop()
    config.write_text('[queues.sms-default]\ntimezone = "Mars/Olympus"\nweekly = "mon 9-5"\n')
    refused = smsdesk("serve", "--config", str(config), "--database", f"sqlite:///{tmp_path / 'x.db'}")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "[queues.sms-default]" in refused.stderr and "Unknown time zone" in refused.stderr
