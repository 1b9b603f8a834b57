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

    async def of_tenant(self, tenant_id: str) -> list[str]:
        """The contact center's queue names, sorted."""
        ...

    async def delete(self, tenant_id: str, name: str) -> None:
        """The queue with its memberships, supervisions, opening hours and automatic replies."""
        ...

    async def set_members(self, tenant_id: str, name: str, user_ids: Sequence[str]) -> None:
        """Exactly these members (the others leave the queue)."""
        ...

    async def set_supervisors(self, tenant_id: str, name: str, user_ids: Sequence[str]) -> None: ...
    async def set_queues_of_member(self, tenant_id: str, user_id: str, queues: Sequence[str]) -> None:
        """The user serves exactly these queues."""
        ...

    async def set_supervised_by(self, tenant_id: str, user_id: str, queues: Sequence[str]) -> None:
        """The user supervises exactly these queues."""
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

    async def of_tenant(self, tenant_id: str) -> list[ServiceNumber]: ...
    async def update(self, number: ServiceNumber) -> None:
        """Route an existing number to another queue or connector."""
        ...

    async def delete(self, number: str) -> None: ...
