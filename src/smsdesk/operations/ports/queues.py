"""Queues (their members and supervisors) and the service numbers routed to them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ServiceNumber:
    tenant_id: str
    number: str
    queue: str
    connector: str


class Queues(Protocol):
    """``queues``, ``queue_members`` and ``queue_supervisors``. Reads lock nothing; ``ensure`` and
    ``add_supervisor`` change nothing that exists already."""

    async def exists(self, tenant_id: str, name: str) -> bool: ...
    async def ensure(self, tenant_id: str, name: str, members: Sequence[str]) -> None:
        """The queue exists and has at least these members."""
        ...

    async def all(self) -> list[tuple[str, str]]:
        """``(tenant_id, queue)`` of every queue of every contact center."""
        ...

    async def members(self, tenant_id: str, queue: str) -> list[str]: ...
    async def of_member(self, tenant_id: str, user_id: str) -> list[str]: ...
    async def add_supervisor(self, tenant_id: str, queue: str, user_id: str) -> None: ...
    async def supervised_by(self, tenant_id: str, user_id: str) -> list[str]:
        """The queues this user supervises."""
        ...

    async def supervisors(self, tenant_id: str, queue: str) -> list[str]: ...
    async def supervises_agent(self, tenant_id: str, supervisor_id: str, agent_id: str) -> bool:
        """Whether the supervisor supervises a queue the agent is a member of."""
        ...


class ServiceNumbers(Protocol):
    """Which number belongs to which contact center and queue, through which connector."""

    async def get(self, number: str) -> ServiceNumber | None: ...
    async def ensure(self, number: ServiceNumber) -> None:
        """Add the number unless it exists (an existing one is left as it is)."""
        ...

    async def of_agent(self, tenant_id: str, user_id: str) -> list[ServiceNumber]:
        """The numbers routed to queues the agent serves: those the agent may text from."""
        ...
