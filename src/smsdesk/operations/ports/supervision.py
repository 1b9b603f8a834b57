"""Supervisors monitoring agents (GWS Monitor, Coach and BargeIn on an agent's smssession channel)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from smsdesk.domain.model import SupervisionMode


@dataclass(frozen=True, slots=True)
class Monitoring:
    """A supervisor watching an agent (GWS Monitor / Coach / BargeIn on the agent's smssession channel)."""

    tenant_id: str
    agent_id: str
    supervisor_id: str
    mode: SupervisionMode
    next_chat_only: bool  # supervisorMonitoringMode NextChat: stops after the agent's next session
    created_ms: int
    nickname: str | None = None  # how the supervisor appears in the sessions they join


class Supervision(Protocol):
    """``supervisor_monitoring``: one row per (agent, supervisor); saving again replaces it."""

    async def save(self, monitoring: Monitoring) -> None: ...
    async def of_agent(self, agent_id: str) -> list[Monitoring]:
        """The agent's monitorings, oldest first."""
        ...

    async def delete(self, agent_id: str, supervisor_id: str) -> bool:
        """Whether there was one to delete."""
        ...
