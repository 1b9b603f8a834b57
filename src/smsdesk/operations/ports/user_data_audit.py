"""The user-data audit trail: every key of every session's user data, each change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class UserDataAuditEntry:
    """One user-data key changed: from ``old`` to ``new`` (JSON text; None = absent)."""

    tenant_id: str
    session_id: str
    version: int
    key: str
    operation: str
    user_id: str | None
    old_value: str | None
    new_value: str | None
    changed_ms: int


class UserDataAudit(Protocol):
    """Append-only; written in the transaction of the change it records."""

    async def append(self, entries: Sequence[UserDataAuditEntry]) -> None: ...
    async def of_session(self, session_id: str) -> list[UserDataAuditEntry]:
        """The session's entries in the order they were written."""
        ...
