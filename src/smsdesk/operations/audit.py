"""The audit log of administrative changes: who, what, when, before and after (never a password).

Every change an administrator makes, from the API, the pages or the command line, is written here
in the transaction of the change itself, so the log and the data never disagree.
"""

from __future__ import annotations

from typing import Any

import msgspec

from smsdesk.domain.clock import now_ms
from smsdesk.operations.ports import AuditEntry, Transaction, User

COMMAND_LINE = "command line"
"""Who changed something when nobody signed in did: an operator at the server's shell."""


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else msgspec.json.encode(value).decode()


async def record_change(
    tx: Transaction,
    tenant_id: str,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: str | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    await tx.admin_audit.record(
        AuditEntry(
            tenant_id=tenant_id,
            at_ms=now_ms(),
            actor_id=actor.id if actor is not None else None,
            actor_name=actor.user_name if actor is not None else COMMAND_LINE,
            action=action,
            target_type=target_type,
            target_id=target_id,
            before=_json(before),
            after=_json(after),
        )
    )
