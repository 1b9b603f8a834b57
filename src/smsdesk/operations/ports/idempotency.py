"""Idempotency keys: what a request sent with an ``Idempotency-Key`` header did (an extension)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RememberedRequest:
    """A key already used: the request it came with (a digest), and its outcome once done."""

    request: str
    outcome: str | None


class IdempotencyKeys(Protocol):
    """``idempotency_keys``, one row per (user, key), written in the request's own transaction."""

    async def claim(
        self, tenant_id: str, user_id: str, key: str, request: str, now_ms: int
    ) -> RememberedRequest | None:
        """Take ``key`` for this request; None when it was free. A key taken by a transaction still
        running makes this wait until that one ends (PostgreSQL): then it is free again (rolled
        back) or remembered (committed), never both."""
        ...

    async def remember(self, user_id: str, key: str, outcome: str) -> None:
        """The outcome of the request that claimed ``key`` in this transaction."""
        ...

    async def prune(self, created_before_ms: int) -> int:
        """Forget keys older than this; how many."""
        ...
