"""The session state machine (spec §5, §7) driven through :class:`SmsSession`, one rule per test."""

from __future__ import annotations

import pytest
from builders import (
    CUSTOMER_NUMBER,
    OFFER_TIMEOUT_MS,
    QUEUE,
    World,
    conference,
    consultation,
    fresh,
    inbound,
    offered,
    owned_by,
    participant_of,
    pending,
    state_of,
)

from smsdesk.domain.capabilities import CANONICAL_ORDER
from smsdesk.domain.errors import DomainError, ErrorKind
from smsdesk.domain.model import (
    CustomerSmsRequested,
    HistoryDelivered,
    MessagesAdded,
    MessageType,
    OfferKind,
    OperationFailed,
    ParticipantsChanged,
    PartyState,
    Phase,
    PropertiesChanged,
    RoutingRequested,
    StatusChanged,
    Visibility,
)
from smsdesk.domain.session import SmsSession

# ----- opening and routing -----------------------------------------------------------------------------


def test_open_inbound_logs_customer_joined_then_text(world: World) -> None:
    session = inbound(world, text="Hi there")
    record = session.record
    assert [(m.index, m.type) for m in session.new_messages] == [
        (1, MessageType.PARTICIPANT_JOINED),
        (2, MessageType.TEXT),
    ]
    joined, text = session.new_messages
    assert joined.sender.participant_id == record.customer.participant_id
    assert text.sender.type == "Customer"
    assert text.text == "Hi there"
    assert {joined.visibility, text.visibility} == {Visibility.ALL}
    assert record.last_index == 2
    assert record.customer.nickname == CUSTOMER_NUMBER
    assert record.participants == [record.customer]


def test_open_inbound_waits_in_its_queue_and_requests_routing(world: World) -> None:
    session = inbound(world)
    assert session.effects == [RoutingRequested(QUEUE)]
    assert session.record.phase is Phase.WAITING
    assert session.record.owner is None
    assert session.record.user_data == {"Subject": "Customer support"}
    assert session.needs_agent()


def test_open_inbound_copies_the_user_data_it_is_given(world: World) -> None:
    given = {"Subject": "x"}
    session = inbound(world, user_data=given)
    given["Subject"] = "changed later"
    assert session.record.user_data == {"Subject": "x"}


def test_offer_invites_agent_with_deadline_after_offer_timeout(world: World) -> None:
    session = fresh(inbound(world))
    session.offer(world.ctx(), "alice", OfferKind.ROUTE)
    party = session.record.parties["alice"]
    assert party.state is PartyState.INVITED
    assert party.offer is OfferKind.ROUTE
    assert party.deadline_ms == world.now_ms + OFFER_TIMEOUT_MS
    assert session.next_deadline_ms() == world.now_ms + OFFER_TIMEOUT_MS
    assert session.effects == [StatusChanged("alice")]
    assert not session.needs_agent(), "a pending route offer means nobody else is needed"


def test_offer_to_agent_already_live_in_session_is_in_use(world: World) -> None:
    session = offered(world, "alice")
    with pytest.raises(DomainError) as raised:
        session.offer(world.ctx(), "alice", OfferKind.ROUTE)
    assert raised.value.kind is ErrorKind.IN_USE
    assert session.effects == []


def test_accept_routed_offer_makes_agent_sole_owner_chatting(world: World) -> None:
    session = offered(world, "alice")
    session.accept(world.ctx(), "alice", "Alice")
    record = session.record
    party = record.parties["alice"]
    assert party.state is PartyState.CHATTING
    assert party.deadline_ms is None and party.offer is None and not party.consultant
    assert record.owner == "alice"
    assert record.phase is Phase.ACTIVE
    participant = participant_of(record, "alice")
    assert (participant.type, participant.nickname, participant.user_id) == ("Agent", "Alice", "alice")
    assert participant.visibility is Visibility.ALL
    assert record.participants == [record.customer, participant]
    [joined_entry] = session.new_messages
    assert joined_entry.type is MessageType.PARTICIPANT_JOINED
    assert joined_entry.index == 3
    assert joined_entry.sender.participant_id == participant.participant_id
    assert joined_entry.visibility is Visibility.ALL
    assert session.next_deadline_ms() is None


def test_accept_effects_are_status_participants_history_then_messages_excluding_acceptor(
    world: World,
) -> None:
    session = offered(world, "alice")
    session.accept(world.ctx(), "alice", "Alice")
    assert session.effects == [
        StatusChanged("alice"),
        ParticipantsChanged(),
        HistoryDelivered("alice"),
        MessagesAdded((session.new_messages[-1],), exclude="alice"),
    ]


def test_accept_clears_the_agents_tried_for_this_round(world: World) -> None:
    session = offered(world, "bob")
    session.reject("bob")
    session = fresh(session)
    session.offer(world.ctx(), "alice", OfferKind.ROUTE)
    session.accept(world.ctx(), "alice", "Alice")
    assert session.record.tried == []


def test_reject_completes_the_offer_marks_agent_tried_and_requests_routing(world: World) -> None:
    session = offered(world, "alice")
    session.reject("alice")
    assert state_of(session, "alice") is PartyState.COMPLETED
    assert session.record.tried == ["alice"]
    assert session.record.parties["alice"].deadline_ms is None
    assert session.effects == [StatusChanged("alice"), RoutingRequested(QUEUE)]
    assert session.record.phase is Phase.WAITING
    assert session.needs_agent()
    assert session.capabilities("alice") == []


def test_rejecting_twice_in_a_session_lists_the_agent_once_in_tried(world: World) -> None:
    session = offered(world, "alice")
    session.reject("alice")
    session = fresh(session)
    session.offer(world.ctx(), "alice", OfferKind.ROUTE)
    session.reject("alice")
    assert session.record.tried == ["alice"]


def test_expire_offers_revokes_offer_at_its_deadline_and_requests_routing(world: World) -> None:
    session = offered(world, "alice")
    world.advance(OFFER_TIMEOUT_MS)
    session.expire_offers(world.ctx())
    assert state_of(session, "alice") is PartyState.REVOKED
    assert session.record.tried == ["alice"]
    assert session.effects == [StatusChanged("alice"), RoutingRequested(QUEUE)]
    assert session.needs_agent()


def test_expire_offers_before_the_deadline_changes_nothing(world: World) -> None:
    session = offered(world, "alice")
    world.advance(OFFER_TIMEOUT_MS - 1)
    session.expire_offers(world.ctx())
    assert state_of(session, "alice") is PartyState.INVITED
    assert session.effects == []
    assert session.record.tried == []


# ----- complete -------------------------------------------------------------------------------------------


def test_complete_without_queue_ends_interaction_for_everyone(world: World) -> None:
    session = conference(world, "alice", "bob")
    session.offer_to_agent(world.ctx(), "alice", "carol", OfferKind.INVITE)
    session = fresh(session)
    session.complete(world.ctx(), "alice", None)
    record = session.record
    assert state_of(session, "alice") is PartyState.COMPLETED
    assert state_of(session, "bob") is PartyState.COMPLETED
    assert state_of(session, "carol") is PartyState.REVOKED
    assert record.parties["carol"].deadline_ms is None
    assert record.owner is None
    assert record.phase is Phase.DONE
    assert not record.customer_present
    assert record.participants == [record.customer]
    assert session.effects[0] == StatusChanged("alice")
    assert set(session.effects[1:]) == {StatusChanged("bob"), StatusChanged("carol")}
    assert [m.type for m in session.new_messages] == [MessageType.PARTICIPANT_LEFT] * 2
    assert all(session.capabilities(agent) == [] for agent in ("alice", "bob", "carol"))


def test_complete_with_queue_requeues_without_any_agent(world: World) -> None:
    session = conference(world, "alice", "bob")
    session.record.tried.append("zed")
    session.complete(world.ctx(), "alice", "post-processing")
    record = session.record
    assert state_of(session, "alice") is PartyState.COMPLETED
    assert state_of(session, "bob") is PartyState.COMPLETED
    assert record.owner is None
    assert record.phase is Phase.WAITING
    assert record.queue == "post-processing"
    assert record.tried == []
    assert record.customer_present
    assert [p.type for p in record.participants] == ["Customer"]
    assert session.effects == [
        StatusChanged("alice"),
        StatusChanged("bob"),
        RoutingRequested("post-processing"),
    ]
    assert session.needs_agent()


def test_complete_with_queue_revokes_pending_offers(world: World) -> None:
    session = pending(world, OfferKind.CONSULT, "alice", "bob")
    session.complete(world.ctx(), "alice", "post-processing")
    assert state_of(session, "bob") is PartyState.REVOKED
    assert session.effects == [
        StatusChanged("alice"),
        StatusChanged("bob"),
        RoutingRequested("post-processing"),
    ]


def test_complete_after_leftchat_finishes_the_interaction(world: World) -> None:
    session = owned_by(world, "alice")
    session.leave(world.ctx(), "alice")
    session = fresh(session)
    session.complete(world.ctx(), "alice", None)
    assert state_of(session, "alice") is PartyState.COMPLETED
    assert session.record.phase is Phase.DONE
    assert session.record.owner is None
    assert session.effects == [StatusChanged("alice")]
    assert session.new_messages == [], "the agent already left the chat"


# ----- leave ----------------------------------------------------------------------------------------------


def test_leave_alone_goes_to_leftchat_and_ends_chat_for_customer(world: World) -> None:
    session = owned_by(world, "alice")
    session.leave(world.ctx(), "alice")
    record = session.record
    assert state_of(session, "alice") is PartyState.LEFT_CHAT
    assert record.owner == "alice", "the agent keeps the interaction for wrap-up"
    assert record.phase is Phase.ACTIVE
    assert not record.customer_present
    assert record.participants == [record.customer]
    [left] = session.new_messages
    assert left.type is MessageType.PARTICIPANT_LEFT
    assert left.sender.user_id == "alice"
    assert session.effects == [StatusChanged("alice")]


def test_leave_with_others_completes_leaver_and_hands_ownership_to_remaining_agent(world: World) -> None:
    session = conference(world, "alice", "bob")
    session.leave(world.ctx(), "alice")
    record = session.record
    assert state_of(session, "alice") is PartyState.COMPLETED
    assert state_of(session, "bob") is PartyState.CHATTING
    assert record.owner == "bob"
    assert record.customer_present
    [left] = session.new_messages
    assert left.type is MessageType.PARTICIPANT_LEFT
    assert session.effects == [StatusChanged("alice"), ParticipantsChanged(), MessagesAdded((left,))]


def test_leave_by_non_owner_keeps_the_owner(world: World) -> None:
    session = conference(world, "alice", "bob")
    session.leave(world.ctx(), "bob")
    assert state_of(session, "bob") is PartyState.COMPLETED
    assert session.record.owner == "alice"
    assert [p.user_id for p in session.record.participants] == [None, "alice"]


def test_owner_leaving_upgrades_consultant_when_only_consultant_remains(world: World) -> None:
    session = consultation(world, "alice", "bob")
    session.leave(world.ctx(), "alice")
    record = session.record
    assert record.owner == "bob"
    assert not record.parties["bob"].consultant
    assert participant_of(record, "bob").visibility is Visibility.ALL
    left, rejoined = session.new_messages
    assert left.type is MessageType.PARTICIPANT_LEFT
    assert (rejoined.type, rejoined.visibility, rejoined.sender.user_id) == (
        MessageType.PARTICIPANT_JOINED,
        Visibility.ALL,
        "bob",
    )
    assert "SendMessage" in session.capabilities("bob")


def test_owner_leaving_prefers_a_conference_member_over_a_consultant(world: World) -> None:
    session = consultation(world, "alice", "bob")
    session = fresh(session)
    session.offer_to_agent(world.ctx(), "alice", "carol", OfferKind.INVITE)
    session.accept(world.ctx(), "carol", "Carol")
    session = fresh(session)
    session.leave(world.ctx(), "alice")
    assert session.record.owner == "carol"
    assert session.record.parties["bob"].consultant
    assert participant_of(session.record, "bob").visibility is Visibility.AGENTS


def test_leave_revokes_the_leavers_pending_offers(world: World) -> None:
    session = pending(world, OfferKind.INVITE, "alice", "bob")
    session.leave(world.ctx(), "alice")
    assert state_of(session, "bob") is PartyState.REVOKED
    assert state_of(session, "alice") is PartyState.LEFT_CHAT
    assert session.effects == [StatusChanged("alice"), StatusChanged("bob")]


def test_leave_and_complete_alone_ends_the_interaction(world: World) -> None:
    session = owned_by(world, "alice")
    session.leave(world.ctx(), "alice", and_complete=True)
    record = session.record
    assert state_of(session, "alice") is PartyState.COMPLETED
    assert record.owner is None
    assert record.phase is Phase.DONE
    assert not record.customer_present
    assert session.effects == [StatusChanged("alice")]
    assert session.capabilities("alice") == []


# ----- transfer -------------------------------------------------------------------------------------------


def test_transfer_to_queue_completes_agent_and_requeues(world: World) -> None:
    session = owned_by(world, "alice")
    session.transfer_to_queue(world.ctx(), "alice", "billing")
    record = session.record
    assert state_of(session, "alice") is PartyState.COMPLETED
    assert record.owner is None
    assert record.phase is Phase.WAITING
    assert record.queue == "billing"
    assert record.customer_present
    assert session.effects == [StatusChanged("alice"), RoutingRequested("billing")]
    assert session.needs_agent()


def test_transfer_to_agent_keeps_originator_owner_until_target_accepts(world: World) -> None:
    session = pending(world, OfferKind.TRANSFER, "alice", "bob")
    assert session.record.owner == "alice"
    assert state_of(session, "alice") is PartyState.CHATTING
    assert state_of(session, "bob") is PartyState.INVITED
    assert session.record.parties["bob"].offered_by == "alice"


def test_accepted_transfer_completes_originator_and_makes_target_owner(world: World) -> None:
    session = pending(world, OfferKind.TRANSFER, "alice", "bob")
    session.accept(world.ctx(), "bob", "Bob")
    record = session.record
    assert state_of(session, "alice") is PartyState.COMPLETED
    assert state_of(session, "bob") is PartyState.CHATTING
    assert record.owner == "bob"
    assert participant_of(record, "bob").visibility is Visibility.ALL
    assert [p.user_id for p in record.participants] == [None, "bob"]
    left, joined = session.new_messages
    assert (left.type, left.sender.user_id) == (MessageType.PARTICIPANT_LEFT, "alice")
    assert (joined.type, joined.sender.user_id) == (MessageType.PARTICIPANT_JOINED, "bob")
    assert joined.index == left.index + 1
    assert session.effects == [
        StatusChanged("bob"),
        StatusChanged("alice"),
        ParticipantsChanged(),
        HistoryDelivered("bob"),
        MessagesAdded((left, joined), exclude="bob"),
    ]


@pytest.mark.parametrize("kind", [OfferKind.TRANSFER, OfferKind.INVITE, OfferKind.CONSULT])
def test_rejected_agent_offer_tells_originator_and_keeps_the_session(world: World, kind: OfferKind) -> None:
    session = pending(world, kind, "alice", "bob")
    session.reject("bob")
    assert state_of(session, "bob") is PartyState.COMPLETED
    assert state_of(session, "alice") is PartyState.CHATTING
    assert session.record.owner == "alice"
    assert session.record.tried == [], "only routed offers count as tried"
    [status, failed] = session.effects
    assert status == StatusChanged("bob")
    assert isinstance(failed, OperationFailed) and failed.user_id == "alice"
    assert "rejected" in failed.error_message
    assert "Transfer" in session.capabilities("alice")


def test_expired_transfer_is_revoked_and_reported_to_originator(world: World) -> None:
    session = pending(world, OfferKind.TRANSFER, "alice", "bob")
    world.advance(OFFER_TIMEOUT_MS)
    session.expire_offers(world.ctx())
    assert state_of(session, "bob") is PartyState.REVOKED
    assert session.effects == [
        StatusChanged("bob"),
        OperationFailed("alice", "Transfer failed: the target agent did not answer"),
    ]


def test_offering_the_session_to_oneself_is_an_invalid_value(world: World) -> None:
    session = owned_by(world, "alice")
    with pytest.raises(DomainError) as raised:
        session.offer_to_agent(world.ctx(), "alice", "alice", OfferKind.TRANSFER)
    assert raised.value.kind is ErrorKind.INVALID_VALUE
    assert session.effects == []


def test_originator_can_transfer_to_the_current_consultant(world: World) -> None:
    session = consultation(world, "alice", "bob")
    session.require("alice", "Transfer")
    session.offer_to_agent(world.ctx(), "alice", "bob", OfferKind.TRANSFER)
    assert session.record.owner == "bob"
    assert state_of(session, "alice") is PartyState.COMPLETED
    assert participant_of(session.record, "bob").visibility is Visibility.ALL


# ----- invite, consult, cancel ----------------------------------------------------------------------------


def test_accepted_invite_adds_visible_member_without_changing_owner(world: World) -> None:
    session = pending(world, OfferKind.INVITE, "alice", "bob")
    session.accept(world.ctx(), "bob", "Bob")
    record = session.record
    assert record.owner == "alice"
    assert state_of(session, "alice") is PartyState.CHATTING
    assert state_of(session, "bob") is PartyState.CHATTING
    assert not record.parties["bob"].consultant
    assert participant_of(record, "bob").visibility is Visibility.ALL
    [joined] = session.new_messages
    assert joined.visibility is Visibility.ALL
    assert session.effects[-1] == MessagesAdded((joined,), exclude="bob")


def test_accepted_consult_adds_consultant_visible_to_agents_only(world: World) -> None:
    session = pending(world, OfferKind.CONSULT, "alice", "bob")
    session.accept(world.ctx(), "bob", "Bob")
    record = session.record
    assert record.owner == "alice"
    assert record.parties["bob"].consultant
    assert participant_of(record, "bob").visibility is Visibility.AGENTS
    [joined] = session.new_messages
    assert joined.visibility is Visibility.AGENTS


@pytest.mark.parametrize(
    ("message_type", "fields"),
    [
        (MessageType.TEXT, {"text": "psst"}),
        (MessageType.PUSH_URL, {"url": "https://example.com"}),
        (MessageType.CUSTOM_NOTICE, {"notice_text": "note"}),
        (MessageType.TYPING_STARTED, {}),
    ],
)
def test_consultant_customer_sends_are_agents_only_and_never_reach_the_customer(
    world: World, message_type: MessageType, fields: dict[str, str]
) -> None:
    session = consultation(world, "alice", "bob")
    entry = session.post(world.ctx(), "bob", message_type, agents_only=False, **fields)
    assert entry.visibility is Visibility.AGENTS
    assert not any(isinstance(effect, CustomerSmsRequested) for effect in session.effects)


def test_cancel_consult_revokes_the_pending_consult(world: World) -> None:
    session = pending(world, OfferKind.CONSULT, "alice", "bob")
    session.require("alice", "CancelConsult")
    session.cancel_consult("alice")
    assert state_of(session, "bob") is PartyState.REVOKED
    assert session.record.parties["bob"].deadline_ms is None
    assert session.effects == [PropertiesChanged(only="alice"), StatusChanged("bob")]
    assert "Consult" in session.capabilities("alice")
    assert session.capabilities("bob") == []


@pytest.mark.parametrize("kind", [OfferKind.INVITE, OfferKind.TRANSFER])
def test_cancel_consult_without_pending_consult_is_invalid_state(world: World, kind: OfferKind) -> None:
    session = pending(world, kind, "alice", "bob")
    with pytest.raises(DomainError) as raised:
        session.cancel_consult("alice")
    assert raised.value.kind is ErrorKind.INVALID_STATE
    assert state_of(session, "bob") is PartyState.INVITED


def test_cancel_consult_after_consultant_accepted_is_invalid_state(world: World) -> None:
    session = consultation(world, "alice", "bob")
    with pytest.raises(DomainError) as raised:
        session.require("alice", "CancelConsult")
    assert raised.value.kind is ErrorKind.INVALID_STATE
    with pytest.raises(DomainError):
        session.cancel_consult("alice")


def test_invite_of_current_consultant_upgrades_them_to_visible_member(world: World) -> None:
    session = consultation(world, "alice", "bob")
    party_before = session.record.parties["bob"]
    session.offer_to_agent(world.ctx(), "alice", "bob", OfferKind.INVITE)
    record = session.record
    assert record.parties["bob"] is party_before
    assert state_of(session, "bob") is PartyState.CHATTING
    assert not record.parties["bob"].consultant
    assert participant_of(record, "bob").visibility is Visibility.ALL
    [rejoined] = session.new_messages
    assert (rejoined.type, rejoined.visibility) == (MessageType.PARTICIPANT_JOINED, Visibility.ALL)
    assert session.effects == [ParticipantsChanged(), MessagesAdded((rejoined,))]
    entry = session.post(world.ctx(), "bob", MessageType.TEXT, agents_only=False, text="hello")
    assert entry.visibility is Visibility.ALL


def test_consult_to_agent_already_in_the_session_is_in_use(world: World) -> None:
    session = conference(world, "alice", "bob")
    with pytest.raises(DomainError) as raised:
        session.offer_to_agent(world.ctx(), "alice", "bob", OfferKind.CONSULT)
    assert raised.value.kind is ErrorKind.IN_USE


# ----- posting --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message_type", "fields", "sms_body"),
    [
        (MessageType.TEXT, {"text": "How can I help?"}, "How can I help?"),
        (MessageType.PUSH_URL, {"url": "https://example.com/faq"}, "https://example.com/faq"),
        (MessageType.CUSTOM_NOTICE, {"notice_text": "Closing soon"}, "Closing soon"),
        (MessageType.TYPING_STARTED, {}, None),
        (MessageType.TYPING_STOPPED, {}, None),
    ],
)
def test_post_to_all_sends_sms_only_for_text_url_and_custom_notice(
    world: World, message_type: MessageType, fields: dict[str, str], sms_body: str | None
) -> None:
    session = owned_by(world, "alice")
    entry = session.post(world.ctx(), "alice", message_type, agents_only=False, **fields)
    assert entry.index == 4
    assert entry.type is message_type
    assert entry.visibility is Visibility.ALL
    assert entry.sender.user_id == "alice"
    assert entry.timestamp_ms == world.now_ms
    assert session.new_messages == [entry]
    expected = [MessagesAdded((entry,))]
    if sms_body is not None:
        expected.append(CustomerSmsRequested(entry.index, sms_body))
    assert session.effects == expected


@pytest.mark.parametrize(
    ("message_type", "fields"),
    [
        (MessageType.TEXT, {"text": "between us"}),
        (MessageType.CUSTOM_NOTICE, {"notice_text": "fyi"}),
        (MessageType.TYPING_STARTED, {}),
        (MessageType.TYPING_STOPPED, {}),
    ],
)
def test_post_to_agents_is_agents_only_and_sends_no_sms(
    world: World, message_type: MessageType, fields: dict[str, str]
) -> None:
    session = conference(world, "alice", "bob")
    entry = session.post(world.ctx(), "alice", message_type, agents_only=True, **fields)
    assert entry.visibility is Visibility.AGENTS
    assert session.effects == [MessagesAdded((entry,))]


def test_post_by_agent_who_left_the_chat_is_invalid_state(world: World) -> None:
    session = owned_by(world, "alice")
    session.leave(world.ctx(), "alice")
    session = fresh(session)
    with pytest.raises(DomainError) as raised:
        session.post(world.ctx(), "alice", MessageType.TEXT, agents_only=False, text="late")
    assert raised.value.kind is ErrorKind.INVALID_STATE
    assert session.effects == [] and session.new_messages == []


def test_customer_message_is_logged_as_text_visible_to_all(world: World) -> None:
    session = owned_by(world, "alice")
    session.customer_message(world.ctx(), "Still there?")
    [entry] = session.new_messages
    assert entry.index == 4
    assert (entry.type, entry.text, entry.visibility) == (MessageType.TEXT, "Still there?", Visibility.ALL)
    assert entry.sender.participant_id == session.record.customer.participant_id
    assert session.effects == [MessagesAdded((entry,))]


def test_logged_sender_is_a_snapshot_not_the_live_participant(world: World) -> None:
    session = consultation(world, "alice", "bob")
    entry = session.post(world.ctx(), "bob", MessageType.TEXT, agents_only=True, text="x")
    session.offer_to_agent(world.ctx(), "alice", "bob", OfferKind.INVITE)
    assert entry.sender.visibility is Visibility.AGENTS


def test_set_customer_reachable_changes_capabilities_and_notifies_only_on_change(world: World) -> None:
    session = owned_by(world, "alice")
    session.set_customer_reachable(True)
    assert session.effects == []
    session.set_customer_reachable(False)
    assert session.effects == [PropertiesChanged()]
    assert "SendMessage" not in session.capabilities("alice")
    session.set_customer_reachable(False)
    assert session.effects == [PropertiesChanged()]
    session.set_customer_reachable(True)
    assert session.effects == [PropertiesChanged(), PropertiesChanged()]
    assert "SendMessage" in session.capabilities("alice")


# ----- require --------------------------------------------------------------------------------------------


def _situations(world: World) -> dict[str, tuple[SmsSession, str]]:
    left = owned_by(world, "alice")
    left.leave(world.ctx(), "alice")
    rejected = offered(world, "alice")
    rejected.reject("alice")
    return {
        "invited": (offered(world, "alice"), "alice"),
        "owner": (owned_by(world, "alice"), "alice"),
        "conference member": (conference(world, "alice", "bob"), "bob"),
        "consultant": (consultation(world, "alice", "bob"), "bob"),
        "consult originator": (pending(world, OfferKind.CONSULT, "alice", "bob"), "alice"),
        "left chat": (left, "alice"),
        "completed": (rejected, "alice"),
        "stranger": (owned_by(world, "alice"), "mallory"),
    }


@pytest.mark.parametrize(
    "situation",
    [
        "invited",
        "owner",
        "conference member",
        "consultant",
        "consult originator",
        "left chat",
        "completed",
        "stranger",
    ],
)
def test_require_refuses_exactly_the_operations_outside_capabilities(world: World, situation: str) -> None:
    session, user = _situations(world)[situation]
    allowed = session.capabilities(user)
    for operation in CANONICAL_ORDER:
        if operation in allowed:
            session.require(user, operation)
        else:
            with pytest.raises(DomainError) as raised:
                session.require(user, operation)
            assert raised.value.kind is ErrorKind.INVALID_STATE
            assert operation in raised.value.message


def test_require_refuses_unknown_operation_names(world: World) -> None:
    session = owned_by(world, "alice")
    for operation in ("Frobnicate", "SwitchToMonitor", "setinfocus", ""):
        with pytest.raises(DomainError) as raised:
            session.require("alice", operation)
        assert raised.value.kind is ErrorKind.INVALID_STATE


def test_require_accepts_the_alias_in_focus(world: World) -> None:
    session = offered(world, "alice")
    session.require("alice", "InFocus")
    session.require("alice", "SetInFocus")


def test_require_accepts_the_singular_stop_typing_to_agent_spelling(world: World) -> None:
    session = conference(world, "alice", "bob")
    session.require("alice", "SendStopTypingToAgentNotification")
    session.require("alice", "SendStopTypingToAgentsNotification")


def test_require_refuses_aliases_when_their_capability_is_missing(world: World) -> None:
    session = owned_by(world, "alice")
    with pytest.raises(DomainError) as raised:
        session.require("alice", "SendStopTypingToAgentNotification")
    assert raised.value.kind is ErrorKind.INVALID_STATE
    rejected = offered(world, "alice")
    rejected.reject("alice")
    with pytest.raises(DomainError):
        rejected.require("alice", "InFocus")


def test_require_message_names_the_current_state(world: World) -> None:
    session = offered(world, "alice")
    with pytest.raises(DomainError) as raised:
        session.require("alice", "SendMessage")
    assert "Invited" in raised.value.message
    with pytest.raises(DomainError) as raised:
        session.require("mallory", "Accept")
    assert "none" in raised.value.message


def test_party_of_a_stranger_is_not_found(world: World) -> None:
    session = owned_by(world, "alice")
    with pytest.raises(DomainError) as raised:
        session.party("mallory")
    assert raised.value.kind is ErrorKind.NOT_FOUND


# ----- notification completeness and order (bugs found) -------------------------------------------------


def _delivered_indexes(session: SmsSession) -> list[int]:
    return [
        m.index for effect in session.effects if isinstance(effect, MessagesAdded) for m in effect.messages
    ]


def test_leave_handing_over_to_consultant_delivers_entries_in_index_order(world: World) -> None:
    session = consultation(world, "alice", "bob")
    session.leave(world.ctx(), "alice")
    delivered = _delivered_indexes(session)
    assert delivered == sorted(delivered)
    assert session.effects.count(ParticipantsChanged()) == 1


def test_complete_with_queue_completes_the_remaining_agents_too(world: World) -> None:
    session = conference(world, "alice", "bob")
    session.complete(world.ctx(), "alice", "post-processing")
    assert StatusChanged("bob") in session.effects
    assert [m.type for m in session.new_messages] == [
        MessageType.PARTICIPANT_LEFT,
        MessageType.PARTICIPANT_LEFT,
    ]


def test_leave_with_a_conference_member_delivers_entries_in_index_order(world: World) -> None:
    session = conference(world, "alice", "bob")
    session.leave(world.ctx(), "alice")
    assert _delivered_indexes(session) == [m.index for m in session.new_messages]


def test_a_comment_is_kept_with_the_stored_session_and_logged_for_agents_only(world: World) -> None:
    import msgspec

    from smsdesk.domain.model import SessionRecord

    session = owned_by(world, "alice")
    session.add_comment(world.ctx(), "alice", "VIP customer", "Alice")
    (entry,) = session.new_messages[-1:]
    assert (entry.type.value, entry.text, entry.visibility.value) == ("Comment", "VIP customer", "Agents")
    # The aggregate is stored whole as JSON: the comment survives a save and a load, and rows
    # written before comments existed load with none.
    stored = msgspec.json.decode(msgspec.json.encode(session.record), type=SessionRecord)
    assert stored.comment == "VIP customer"
    old_row = msgspec.json.encode(session.record).replace(b',"comment":"VIP customer"', b"")
    assert msgspec.json.decode(old_row, type=SessionRecord).comment is None
