"""Choosing the agent a waiting session is offered to (``routing.choose_agent``)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from smsdesk.domain.routing import AgentAvailability, choose_agent


def agent(
    user_id: str, *, ready: bool = True, load: int = 0, capacity: int = 3, last: int = 0
) -> AgentAvailability:
    return AgentAvailability(user_id=user_id, ready=ready, load=load, capacity=capacity, last_offer_ms=last)


def test_nobody_to_choose_from_gives_none() -> None:
    assert choose_agent([], []) is None


def test_not_ready_agents_are_never_chosen() -> None:
    assert choose_agent([agent("alice", ready=False)], []) is None
    assert choose_agent([agent("alice", ready=False), agent("bob", load=2)], []) == "bob"


def test_agents_at_or_over_capacity_are_never_chosen() -> None:
    assert choose_agent([agent("alice", load=3, capacity=3), agent("bob", load=4, capacity=3)], []) is None
    assert choose_agent([agent("alice", load=0, capacity=0)], []) is None
    assert choose_agent([agent("alice", load=3, capacity=3), agent("bob", load=2, capacity=3)], []) == "bob"


def test_untried_agents_come_before_less_loaded_tried_ones() -> None:
    candidates = [agent("alice", load=0), agent("bob", load=2)]
    assert choose_agent(candidates, ["alice"]) == "bob"


def test_least_loaded_agent_is_chosen() -> None:
    candidates = [agent("alice", load=2, last=0), agent("bob", load=1, last=999), agent("carol", load=2)]
    assert choose_agent(candidates, []) == "bob"


def test_equal_load_chooses_the_oldest_last_offer() -> None:
    candidates = [
        agent("alice", load=1, last=500),
        agent("bob", load=1, last=100),
        agent("carol", load=1, last=300),
    ]
    assert choose_agent(candidates, []) == "bob"


def test_full_tie_is_broken_by_user_id_so_the_choice_is_deterministic() -> None:
    assert choose_agent([agent("bob"), agent("alice")], []) == "alice"


def test_round_restarts_when_every_eligible_agent_was_tried() -> None:
    candidates = [agent("alice", load=1), agent("bob", load=0)]
    assert choose_agent(candidates, ["alice", "bob"]) == "bob"


def test_tried_agents_that_are_no_longer_eligible_do_not_block_the_round() -> None:
    candidates = [agent("alice", ready=False), agent("bob", load=1)]
    assert choose_agent(candidates, ["bob", "alice"]) == "bob"


def test_candidates_may_be_any_iterable() -> None:
    assert choose_agent(iter([agent("alice")]), ()) == "alice"


availabilities = st.lists(
    st.builds(
        AgentAvailability,
        user_id=st.sampled_from(["a", "b", "c", "d", "e", "f"]),
        ready=st.booleans(),
        load=st.integers(0, 4),
        capacity=st.integers(0, 4),
        last_offer_ms=st.integers(0, 10),
    ),
    max_size=6,
    unique_by=lambda a: a.user_id,
)


@settings(max_examples=150, deadline=None)
@given(candidates=availabilities, tried=st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f"]), max_size=6))
def test_choice_is_the_best_eligible_agent_preferring_untried(candidates, tried) -> None:
    chosen = choose_agent(candidates, tried)
    eligible = [a for a in candidates if a.ready and a.load < a.capacity]
    if not eligible:
        assert chosen is None
        return
    by_id = {a.user_id: a for a in eligible}
    assert chosen in by_id
    untried = [a for a in eligible if a.user_id not in tried]
    pool = untried or eligible
    assert by_id[chosen] in pool
    best = min((a.load, a.last_offer_ms) for a in pool)
    assert (by_id[chosen].load, by_id[chosen].last_offer_ms) == best
