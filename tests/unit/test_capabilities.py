"""Capabilities per situation (spec §4.4 recommended table), exactly as ``capabilities.py`` defines them."""

from __future__ import annotations

import pytest
from builders import World, conference, consultation, offered, owned_by, pending

from smsdesk.domain.capabilities import (
    AGENT_SENDS,
    CANONICAL_ORDER,
    CUSTOMER_SENDS,
    OPERATION_ALIASES,
    USER_DATA_OPERATIONS,
    capabilities_for,
    capability_for_operation,
    pending_agent_offer,
)
from smsdesk.domain.model import OfferKind, PartyState

INVITED = ["Accept", "Reject", "SetInFocus", "AttachUserData", "DeleteUserData", "UpdateUserData"]
SOLE_OWNER = [
    "Transfer",
    "Leave",
    "LeaveAndComplete",
    "Invite",
    "Consult",
    "SetInFocus",
    "SetDisposition",
    "AddComment",
    "AttachUserData",
    "DeleteUserData",
    "UpdateUserData",
    "Complete",
    "SendMessage",
    "SendUrl",
    "SendCustomNotice",
    "SendStartTypingNotification",
    "SendStopTypingNotification",
]
TO_AGENTS = [
    "SendToAgents",
    "SendCustomNoticeToAgents",
    "SendStartTypingToAgentsNotification",
    "SendStopTypingToAgentsNotification",
]
MEMBER_BASE = [
    "Leave",
    "SetInFocus",
    "SetDisposition",
    "AddComment",
    "AttachUserData",
    "DeleteUserData",
    "UpdateUserData",
]
LEFT_CHAT = [
    "SetInFocus",
    "SetDisposition",
    "AddComment",
    "AttachUserData",
    "DeleteUserData",
    "UpdateUserData",
    "Complete",
]


def _without(names: list[str], *removed: str) -> list[str]:
    return [name for name in names if name not in removed]


def test_canonical_order_lists_each_capability_once() -> None:
    assert len(CANONICAL_ORDER) == len(set(CANONICAL_ORDER))
    for group in (USER_DATA_OPERATIONS, CUSTOMER_SENDS, AGENT_SENDS):
        assert set(group) <= set(CANONICAL_ORDER)
    assert set(OPERATION_ALIASES.values()) <= set(CANONICAL_ORDER)


def test_operation_aliases_map_to_their_capability() -> None:
    assert capability_for_operation("InFocus") == "SetInFocus"
    assert (
        capability_for_operation("SendStopTypingToAgentNotification") == "SendStopTypingToAgentsNotification"
    )
    assert capability_for_operation("Complete") == "Complete"


def test_invited_agent_may_accept_reject_focus_and_edit_user_data(world: World) -> None:
    assert offered(world, "alice").capabilities("alice") == INVITED


@pytest.mark.parametrize("kind", [OfferKind.TRANSFER, OfferKind.INVITE, OfferKind.CONSULT])
def test_agent_invited_by_a_colleague_has_the_invited_capabilities(world: World, kind: OfferKind) -> None:
    assert pending(world, kind, "alice", "bob").capabilities("bob") == INVITED


def test_sole_owner_chatting_has_the_full_single_agent_set(world: World) -> None:
    assert owned_by(world, "alice").capabilities("alice") == SOLE_OWNER


def test_owner_with_a_conference_member_also_gets_the_to_agents_sends(world: World) -> None:
    assert conference(world, "alice", "bob").capabilities("alice") == SOLE_OWNER + TO_AGENTS


def test_conference_member_can_talk_to_everyone_but_not_complete_or_transfer(world: World) -> None:
    caps = conference(world, "alice", "bob").capabilities("bob")
    assert caps == MEMBER_BASE + list(CUSTOMER_SENDS) + TO_AGENTS


def test_consultant_sends_everything_but_cannot_complete_or_transfer(world: World) -> None:
    caps = consultation(world, "alice", "bob").capabilities("bob")
    assert caps == MEMBER_BASE + list(CUSTOMER_SENDS) + TO_AGENTS


def test_consult_originator_gets_cancel_consult_until_target_accepts(world: World) -> None:
    session = pending(world, OfferKind.CONSULT, "alice", "bob")
    expected = _without(SOLE_OWNER, "Transfer", "Invite", "Consult")
    expected.insert(expected.index("SetInFocus"), "CancelConsult")
    assert session.capabilities("alice") == expected + TO_AGENTS


@pytest.mark.parametrize("kind", [OfferKind.TRANSFER, OfferKind.INVITE])
def test_one_pending_agent_offer_at_a_time_and_no_cancel_for_non_consult(
    world: World, kind: OfferKind
) -> None:
    session = pending(world, kind, "alice", "bob")
    assert session.capabilities("alice") == _without(SOLE_OWNER, "Transfer", "Invite", "Consult") + TO_AGENTS
    assert pending_agent_offer(session.record) is session.record.parties["bob"]


def test_route_offers_are_not_pending_agent_offers(world: World) -> None:
    assert pending_agent_offer(offered(world, "alice").record) is None


def test_left_chat_keeps_wrap_up_operations_only(world: World) -> None:
    session = owned_by(world, "alice")
    session.leave(world.ctx(), "alice")
    assert session.capabilities("alice") == LEFT_CHAT


@pytest.mark.parametrize("final", [PartyState.COMPLETED, PartyState.REVOKED])
def test_final_states_have_no_capabilities(world: World, final: PartyState) -> None:
    session = owned_by(world, "alice")
    session.record.parties["alice"].state = final
    assert session.capabilities("alice") == []


def test_rejected_and_revoked_offers_have_no_capabilities(world: World) -> None:
    rejected = offered(world, "alice")
    rejected.reject("alice")
    assert rejected.capabilities("alice") == []
    consult = pending(world, OfferKind.CONSULT, "alice", "bob")
    consult.cancel_consult("alice")
    assert consult.capabilities("bob") == []


def test_agent_without_a_party_has_no_capabilities(world: World) -> None:
    assert capabilities_for(owned_by(world, "alice").record, "mallory") == []


def test_unreachable_customer_removes_customer_sends_from_owner(world: World) -> None:
    session = owned_by(world, "alice")
    session.set_customer_reachable(False)
    assert session.capabilities("alice") == _without(SOLE_OWNER, *CUSTOMER_SENDS)


def test_unreachable_customer_keeps_to_agents_sends_in_a_conference(world: World) -> None:
    session = conference(world, "alice", "bob")
    session.set_customer_reachable(False)
    assert session.capabilities("alice") == _without(SOLE_OWNER, *CUSTOMER_SENDS) + TO_AGENTS
    assert session.capabilities("bob") == MEMBER_BASE + TO_AGENTS


def test_consultant_keeps_customer_style_sends_when_customer_unreachable(world: World) -> None:
    session = consultation(world, "alice", "bob")
    session.set_customer_reachable(False)
    assert session.capabilities("bob") == MEMBER_BASE + list(CUSTOMER_SENDS) + TO_AGENTS
    assert not set(CUSTOMER_SENDS) & set(session.capabilities("alice"))


def test_requeued_session_leaves_the_consultant_nothing(world: World) -> None:
    session = consultation(world, "alice", "bob")
    session.complete(world.ctx(), "alice", "post-processing")
    assert session.capabilities("bob") == []


def test_customer_gone_removes_customer_sends(world: World) -> None:
    session = owned_by(world, "alice")
    session.record.customer_present = False
    assert session.capabilities("alice") == _without(SOLE_OWNER, *CUSTOMER_SENDS)


def test_every_capability_list_is_in_canonical_order(world: World) -> None:
    rank = {name: i for i, name in enumerate(CANONICAL_ORDER)}
    sessions = [
        (offered(world, "alice"), "alice"),
        (owned_by(world, "alice"), "alice"),
        (conference(world, "alice", "bob"), "alice"),
        (conference(world, "alice", "bob"), "bob"),
        (consultation(world, "alice", "bob"), "bob"),
        (pending(world, OfferKind.CONSULT, "alice", "bob"), "alice"),
    ]
    for session, user in sessions:
        caps = session.capabilities(user)
        assert caps == sorted(caps, key=rank.__getitem__)
        assert len(caps) == len(set(caps))
