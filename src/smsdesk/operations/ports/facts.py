"""Facts: what happened in a contact center, from which the live statistics are computed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from smsdesk.domain.statistics import FactTotal


@dataclass(frozen=True, slots=True)
class Fact:
    """Something that happened in a contact center, stored with the change that made it happen;
    the live statistics are computed from these."""

    tenant_id: str
    queue: str
    kind: str
    at_ms: int
    session_id: str | None = None
    user_id: str | None = None
    detail: str | None = None
    duration_ms: int | None = None


class Facts(Protocol):
    """Append-only; written in the transaction of the change they describe, so every node computes
    the same numbers from the same rows (docs/architecture.md §5a)."""

    async def append(self, facts: Sequence[Fact]) -> None: ...
    async def queue_totals(
        self, tenant_id: str, queue: str, since_ms: int, threshold_ms: int
    ) -> list[FactTotal]:
        """Per kind, the queue's facts since ``since_ms``: count, summed duration, and how many
        lasted at most ``threshold_ms``."""
        ...

    async def completed_counts(self, tenant_id: str, since_ms: int) -> dict[str, int]:
        """Sessions each agent completed (as owner) since ``since_ms``."""
        ...

    async def last_agent_states(self, tenant_id: str, user_ids: Sequence[str]) -> list[Fact]:
        """Each agent's latest ``agent_state`` fact (whenever it was written: state outlives days)."""
        ...
