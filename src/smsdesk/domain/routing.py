"""Choosing the agent an SMS session is offered to.

Eligible: logged in on the SMS channel, Ready, member of the session's queue, below capacity.
Among those, agents not yet tried for this session come first; then the least loaded; then the one
whose last offer is oldest (so work spreads evenly). When every eligible agent has been tried, the
round starts again rather than leaving the customer waiting.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AgentAvailability:
    user_id: str
    ready: bool
    load: int
    capacity: int
    last_offer_ms: int = 0


def choose_agent(candidates: Iterable[AgentAvailability], tried: Sequence[str]) -> str | None:
    eligible = [agent for agent in candidates if agent.ready and agent.load < agent.capacity]
    if not eligible:
        return None
    tried_set = set(tried)
    fresh = [agent for agent in eligible if agent.user_id not in tried_set] or eligible
    best = min(fresh, key=lambda agent: (agent.load, agent.last_offer_ms, agent.user_id))
    return best.user_id
