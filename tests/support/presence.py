"""Looking at presence from a test: offers and channel states read from the database (a request
would be a sign of life), and the offers a listener was told of."""

from __future__ import annotations

import asyncio
from typing import Any

from support.agents import Agent, ContactCenter


def _read(cc: ContactCenter, query: Any) -> Any:
    """Look into the database without a request (a request would be a sign of life)."""
    from smsdesk.config import Settings
    from smsdesk.node import open_store

    store = open_store(Settings(database_url=cc.server.database_url))

    async def run() -> Any:
        try:
            async with store.transaction() as tx:
                return await query(tx)
        finally:
            await store.aclose()

    return asyncio.run(run())


def offered_to(cc: ContactCenter, agent: Agent) -> list[str]:
    async def query(tx: Any) -> list[str]:
        records = await tx.sessions.of_user(cc.tenant, agent.id)
        return [r.id for r in records if r.parties[agent.id].state.value == "Invited"]

    result: list[str] = _read(cc, query)
    return result


def sms_channel(cc: ContactCenter, agent: Agent) -> tuple[str, str | None]:
    async def query(tx: Any) -> tuple[str, str | None]:
        channel = next(c for c in await tx.agents.channels(agent.id) if c.channel == "smssession")
        return channel.state.value, channel.reason

    result: tuple[str, str | None] = _read(cc, query)
    return result


def invited(listener: Any) -> list[str]:
    return [
        m["data"]["smssession"]["id"]
        for m in listener.received
        if m["channel"] == "/v2/me/smssessions"
        and m["data"].get("notificationType") == "StatusChange"
        and m["data"]["smssession"].get("state") == "Invited"
    ]
