"""A database whose outbox head went back below what a node delivered (an asynchronous standby
promoted without the last commits; docs/scaling.md §5): the node notices when its LISTEN connection
comes back, drops its Bayeux clients (``402::session_unknown``) instead of reusing positions, and a
desktop resuming with a position the database no longer has is told to re-read (``NotificationGap``,
``unknown_position``). Made here by removing the outbox's last rows and moving its head back, then
cutting the node's LISTEN connection, as a failover does."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from reliability.listener import chatting
from support.agents import ContactCenter
from support.server import RunningServer

pytestmark = [pytest.mark.slow, pytest.mark.postgres_only]


async def _lose_the_last_commits(url: str, rows: int) -> int:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            head = int(await conn.fetchval("SELECT position FROM outbox_head WHERE id = 1 FOR UPDATE"))
            await conn.execute("DELETE FROM outbox WHERE position > $1", head - rows)
            await conn.execute("UPDATE outbox_head SET position = $1 WHERE id = 1", head - rows)
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name LIKE 'smsdesk-node %'"
        )
        return head - rows
    finally:
        await conn.close()


def test_a_head_gone_back_drops_the_clients_and_a_resume_beyond_it_is_told_to_re_read(
    server: RunningServer, cc: ContactCenter
) -> None:
    agent = cc.agent(0).listen().log_in()
    session_id = chatting(agent, cc.sms, cc.customer_number())
    for n in range(5):
        agent.op(session_id, "UpdateUserData", userData={"n": n})
    agent.take(5)
    head = asyncio.run(_lose_the_last_commits(server.database_url, 3))

    deadline = time.monotonic() + 20
    dropped = False
    while time.monotonic() < deadline and not dropped:
        replies = agent.bayeux.connect()
        dropped = any(r.get("error") == "402::session_unknown" for r in replies)
    assert dropped, "the client was not dropped"
    assert "already delivered up to" in server.logs()

    token = head + 3  # the last position the desktop saw: the database no longer has it
    reply = agent.bayeux.handshake(ext={"smsdesk": {"resume": token}})
    assert reply["successful"], reply
    agent.bayeux.subscribe("/v2/me/**")
    gaps = agent.bayeux.wait_for(
        lambda received: any(m.get("data", {}).get("messageType") == "NotificationGap" for m in received)
    )
    gap = next(m["data"] for m in gaps if m.get("data", {}).get("messageType") == "NotificationGap")
    assert gap["reason"] == "unknown_position" and gap["resumeFrom"] == token, gap
