"""The customer's data: erasure on request (API and command line) leaving no readable trace in the
database, the opt-out surviving it as a keyed digest, retention per contact center, and export."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec

import support.server
from support.administration import create_admin, refused
from support.agents import Agent, ContactCenter
from support.server import RunningServer

T = TypeVar("T")
DAY_MS = 86_400_000


def with_store(server: RunningServer, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work(services)`` on smsdesk's own store over the server's database."""
    from smsdesk.config import Settings
    from smsdesk.gws.representation import Urls
    from smsdesk.node import open_store, operation_settings
    from smsdesk.operations.services import Services

    settings = Settings(database_url=server.database_url)
    store = open_store(settings)
    services = Services(store, Urls(server.base_url), operation_settings(settings))

    async def run() -> T:
        try:
            return await work(services)
        finally:
            await store.aclose()

    return asyncio.run(run())


def finished_conversation(cc: ContactCenter, agent: Agent, customer: str, text: str) -> str:
    cc.sms(customer, text)
    session_id: str = agent.wait_invited()["id"]
    agent.op(session_id, "Accept", nickname="Ann")
    agent.op(session_id, "SendMessage", text=f"Answer to {text}")
    agent.op(session_id, "SetDisposition", disposition="Resolved")
    agent.op(session_id, "Complete")
    cc.wait_handset(customer, [f"Answer to {text}"])
    return session_id


def smsdesk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smsdesk", *args], capture_output=True, text=True, timeout=120, check=False
    )


def no_trace_in_database(server: RunningServer, needles: list[str]) -> None:
    """Nothing of ``needles`` readable in the database: on SQLite in the files themselves (the
    database, its write-ahead log and index), on PostgreSQL in any table that held them."""
    if support.server.backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            path = Path(str(server.database) + suffix)
            if path.exists():
                data = path.read_bytes()
                for needle in needles:
                    assert needle.encode() not in data, f"{needle!r} is still in {path.name}"
        return

    async def rows_with(services: Any) -> list[tuple[str, str]]:
        found = []
        async with services.store.transaction() as tx:
            for table in (
                "sms_sessions",
                "messages",
                "outbox",
                "sms_outbound",
                "sms_consent",
                "simulator_handsets",
                "user_data_audit",
            ):
                for needle in needles:
                    row = await tx.db.fetchone(
                        f"SELECT COUNT(*) FROM {table} t WHERE position(convert_to(?, 'UTF8') in convert_to(t::text, 'UTF8')) > 0"
                        + (
                            " OR position(convert_to(?, 'UTF8') in t.body) > 0"
                            if table in ("messages", "sms_sessions")
                            else ""
                        )
                        + (
                            " OR position(convert_to(?, 'UTF8') in t.payload) > 0"
                            if table == "outbox"
                            else ""
                        ),
                        (needle, needle) if table in ("messages", "sms_sessions", "outbox") else (needle,),
                    )
                    if row[0]:
                        found.append((table, needle))
        return found

    assert with_store(server, rows_with) == []


def test_erasing_a_customer_removes_every_trace_and_keeps_the_opt_out(
    cc: ContactCenter, server: RunningServer
) -> None:
    admin = create_admin(cc)
    agent = cc.agent(0).listen().log_in()
    customer = cc.customer_number()
    secret = f"my card is 4111-{customer[-6:]}"
    first = finished_conversation(cc, agent, customer, secret)
    cc.sms(customer, "second question")
    second = agent.wait_invited()["id"]
    agent.op(second, "Accept", nickname="Ann")
    cc.sms(customer, "STOP")  # opts out of this service number, in the open conversation
    deadline = time.monotonic() + 10
    while not any(
        m.get("text") == "STOP" for m in agent.get(f"/api/v2/me/smssessions/{second}/messages")["messages"]
    ):
        assert time.monotonic() < deadline, "the STOP never reached the conversation"
        time.sleep(0.05)
    agent.op(second, "Complete")

    answer = admin.delete(f"/api/v2/customers/{customer}")
    assert answer["erased"]["sessions"] == 2 and answer["erased"]["messages"] >= 6
    assert answer["optOutKept"] is True
    for session_id in (first, second):
        refused(agent.http.get(f"/api/v2/me/smssessions/{session_id}"), 404, 6)
    assert cc.handset(customer) == []
    no_trace_in_database(server, [customer, secret, "second question"])

    # The opt-out survives: nobody can text the customer from this number.
    refused(
        agent.http.post(
            "/api/v2/me/smssessions",
            json={"operationName": "Create", "phoneNumber": customer, "text": "Hi again"},
        ),
        403,
        3,
    )
    # The audit log says an erasure happened, and how much it removed, not whose data it was.
    entry = admin.audit()[0]
    assert entry["action"] == "customer.erase" and entry["target"] == {"type": "customer", "id": None}
    assert entry["after"]["sessions"] == 2 and customer not in json.dumps(entry)


def test_erasure_is_refused_while_a_conversation_goes_on_and_for_bad_numbers(cc: ContactCenter) -> None:
    admin = create_admin(cc)
    agent = cc.agent(0).listen().log_in()
    customer = cc.customer_number()
    cc.sms(customer, "still talking")
    session_id = agent.wait_invited()["id"]
    agent.op(session_id, "Accept", nickname="Ann")
    message = refused(admin.http.delete(f"/api/v2/customers/{customer}"), 409, 19)
    assert session_id in message and "nothing was erased" in message
    assert agent.get(f"/api/v2/me/smssessions/{session_id}")["smssession"]["id"] == session_id
    refused(admin.http.delete("/api/v2/customers/not-a-number"), 400, 10)
    # A number never seen: nothing to erase, and that is no error.
    assert admin.delete(f"/api/v2/customers/{cc.customer_number()}")["erased"]["sessions"] == 0


def test_the_command_line_erases_a_customer(cc: ContactCenter, server: RunningServer) -> None:
    agent = cc.agent(0).listen().log_in()
    customer = cc.customer_number()
    finished_conversation(cc, agent, customer, "erase me from the shell")
    done = smsdesk(
        "customers", "erase", customer, "--tenant", cc.tenant, "--yes", "--database", server.database_url
    )
    assert done.returncode == 0, done.stderr
    assert "erased 1 conversation(s)" in done.stdout
    no_trace_in_database(server, [customer, "erase me from the shell"])
    refused_run = smsdesk(
        "customers", "erase", "+1", "--tenant", cc.tenant, "--yes", "--database", server.database_url
    )
    assert (
        refused_run.returncode == 1
        and refused_run.stderr.startswith("error:")
        and "Traceback" not in refused_run.stderr
    )


def test_retention_deletes_finished_conversations_older_than_the_contact_centers_period(
    cc: ContactCenter, server: RunningServer
) -> None:
    admin = create_admin(cc)
    agent = cc.agent(0).listen().log_in()
    old_customer, recent_customer = cc.customer_number(), cc.customer_number()
    old = finished_conversation(cc, agent, old_customer, "an old question")
    recent = finished_conversation(cc, agent, recent_customer, "a recent question")

    async def age(services: Any) -> None:
        """Make ``old`` a conversation of three days ago (received and every entry)."""
        from smsdesk.domain.model import Message

        decode = msgspec.json.Decoder(Message).decode
        async with services.store.transaction() as tx:
            rows = await tx.db.fetchall("SELECT idx, body FROM messages WHERE session_id = ?", (old,))
            for idx, body in rows:
                message = decode(bytes(body))
                message.timestamp_ms -= 3 * DAY_MS
                await tx.db.execute(
                    "UPDATE messages SET body = ? WHERE session_id = ? AND idx = ?",
                    (msgspec.json.encode(message), old, idx),
                )
            await tx.db.execute(
                "UPDATE sms_sessions SET received_ms = received_ms - ? WHERE id = ?", (3 * DAY_MS, old)
            )
            await tx.db.execute(
                "UPDATE simulator_handsets SET received_ms = received_ms - ? WHERE recipient = ? OR sender = ?",
                (3 * DAY_MS, old_customer, old_customer),
            )

    with_store(server, age)
    # Nothing happens while the contact center keeps everything.
    done = smsdesk("retention", "run", "--database", server.database_url)
    assert done.returncode == 0, done.stderr
    agent.get(f"/api/v2/me/smssessions/{old}")

    admin.put("/api/v2/contact-center", retentionDays=2)
    done = smsdesk("retention", "run", "--database", server.database_url)
    assert done.returncode == 0 and "deleted 1 finished conversation(s)" in done.stdout, (
        done.stdout + done.stderr
    )
    refused(agent.http.get(f"/api/v2/me/smssessions/{old}"), 404, 6)
    assert agent.get(f"/api/v2/me/smssessions/{recent}")["smssession"]["id"] == recent
    no_trace_in_database(server, ["an old question"])


def test_export_streams_transcripts_with_user_data_and_dispositions(
    cc: ContactCenter, server: RunningServer
) -> None:
    agent = cc.agent(0).listen().log_in()
    customer = cc.customer_number()
    session_id = finished_conversation(cc, agent, customer, "export this")
    today = time.strftime("%Y-%m-%d")
    done = smsdesk(
        "export", "--from", today, "--to", today, "--tenant", cc.tenant, "--database", server.database_url
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    (exported,) = [t for t in lines if t["id"] == session_id]
    assert exported["customerNumber"] == customer and exported["disposition"] == "Resolved"
    assert exported["userData"]["DispositionCode"] == "Resolved"
    assert [m["text"] for m in exported["messages"] if m["type"] == "Text"] == [
        "export this",
        "Answer to export this",
    ]
    assert all(t["contactCenter"] == cc.tenant for t in lines)

    done = smsdesk(
        "export",
        "--from",
        today,
        "--to",
        today,
        "--format",
        "csv",
        "--tenant",
        cc.tenant,
        "--database",
        server.database_url,
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    texts = [r["text"] for r in rows if r["session_id"] == session_id and r["type"] == "Text"]
    assert texts == ["export this", "Answer to export this"]
    assert "exported" in done.stderr

    bad = smsdesk("export", "--from", "yesterday", "--to", today, "--database", server.database_url)
    assert bad.returncode == 2 and "--from must be a date" in bad.stderr
