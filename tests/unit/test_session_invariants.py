"""Random walks through the session state machine never break its invariants.

Agents only perform operations listed in their current capabilities (as the server enforces),
routing offers the session only when it needs an agent, and the clock, customer and opt-out
change in between. After every step the record must still be coherent.
"""

from __future__ import annotations

import copy
import os

from builders import QUEUE, World, fresh, inbound
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from smsdesk.domain.capabilities import CANONICAL_ORDER, CUSTOMER_SENDS, OPERATION_ALIASES
from smsdesk.domain.errors import DomainError, ErrorKind
from smsdesk.domain.model import (
    FINAL_STATES,
    CustomerSmsRequested,
    Message,
    MessageType,
    OfferKind,
    PartyState,
    Phase,
    Visibility,
)
from smsdesk.domain.session import SmsSession
from smsdesk.domain.userdata import UserDataLimits

AGENTS = ("alice", "bob", "carol", "dave")
QUEUES = (None, QUEUE, "billing")
LIMITS = UserDataLimits()

_SENDS: dict[str, tuple[MessageType, bool, dict[str, str]]] = {
    "SendMessage": (MessageType.TEXT, False, {"text": "hello"}),
    "SendUrl": (MessageType.PUSH_URL, False, {"url": "https://example.com"}),
    "SendCustomNotice": (MessageType.CUSTOM_NOTICE, False, {"notice_text": "notice"}),
    "SendStartTypingNotification": (MessageType.TYPING_STARTED, False, {}),
    "SendStopTypingNotification": (MessageType.TYPING_STOPPED, False, {}),
    "SendToAgents": (MessageType.TEXT, True, {"text": "between us"}),
    "SendCustomNoticeToAgents": (MessageType.CUSTOM_NOTICE, True, {"notice_text": "fyi"}),
    "SendStartTypingToAgentsNotification": (MessageType.TYPING_STARTED, True, {}),
    "SendStopTypingToAgentsNotification": (MessageType.TYPING_STOPPED, True, {}),
}
_CUSTOMER_TYPES = {MessageType.TEXT, MessageType.PUSH_URL, MessageType.CUSTOM_NOTICE}


class SessionMachine(RuleBasedStateMachine):
    world: World
    session: SmsSession
    log: list[Message]

    @initialize()
    def open(self) -> None:
        self.world = World()
        self.session = inbound(self.world)
        self.log = list(self.session.new_messages)

    # ----- steps ----------------------------------------------------------------------------------------

    def _step(self, action) -> None:
        """Run one change on a freshly loaded session; a refusal must leave everything untouched."""
        session = fresh(self.session)
        before = copy.deepcopy(session.record)
        try:
            action(session)
        except DomainError as error:
            assert session.record == before, f"{error.kind}: refused after changing the record"
            assert session.effects == [] and session.new_messages == []
            assert error.kind in (ErrorKind.IN_USE, ErrorKind.INVALID_VALUE), error.message
        self._check_customer_sms(session)
        self.log.extend(session.new_messages)
        self.session = session

    def _check_customer_sms(self, session: SmsSession) -> None:
        entries = {entry.index: entry for entry in session.new_messages}
        for effect in session.effects:
            if isinstance(effect, CustomerSmsRequested):
                entry = entries[effect.message_index]
                assert entry.visibility is Visibility.ALL
                assert entry.type in _CUSTOMER_TYPES
                assert entry.sender.visibility is Visibility.ALL, "a consultant never reaches the customer"
                assert entry.sender.type == "Customer" or (
                    session.record.customer_reachable and session.record.customer_present
                )

    @precondition(lambda self: self.session.needs_agent())
    @rule(agent=st.sampled_from(AGENTS))
    def route_offer(self, agent: str) -> None:
        live = {party.user_id for party in self.session.live_parties()}
        if agent not in live:
            self._step(lambda s: s.offer(self.world.ctx(), agent, OfferKind.ROUTE))

    @rule(ms=st.sampled_from([0, 1_000, 29_999, 30_000, 60_000]))
    def time_passes(self, ms: int) -> None:
        self.world.advance(ms)
        self._step(lambda s: s.expire_offers(self.world.ctx()))

    @precondition(
        lambda self: self.session.record.customer_present and self.session.record.phase is not Phase.DONE
    )
    @rule()
    def customer_writes(self) -> None:
        self._step(lambda s: s.customer_message(self.world.ctx(), "from the handset"))

    @rule(reachable=st.booleans())
    def customer_opts_out_or_in(self, reachable: bool) -> None:
        self._step(lambda s: s.set_customer_reachable(reachable))

    @precondition(lambda self: any(self.session.capabilities(agent) for agent in AGENTS))
    @rule(
        pick=st.integers(0, 30),
        choice=st.integers(0, 30),
        other=st.sampled_from(AGENTS),
        queue=st.sampled_from(QUEUES),
    )
    def agent_acts(self, pick: int, choice: int, other: str, queue: str | None) -> None:
        able = [agent for agent in AGENTS if self.session.capabilities(agent)]
        agent = able[pick % len(able)]
        caps = self.session.capabilities(agent)
        operation = caps[choice % len(caps)]
        event(f"{self.session.record.parties[agent].state.value}: {operation}")
        self.session.require(agent, operation)
        self._step(lambda s: self._perform(s, agent, operation, other, queue))

    # Agents act far more often than anything else happens, so walks reach conferences and consults.
    @precondition(lambda self: any(self.session.capabilities(agent) for agent in AGENTS))
    @rule(pick=st.integers(0, 30), choice=st.integers(0, 30), other=st.sampled_from(AGENTS))
    def agent_acts_again(self, pick: int, choice: int, other: str) -> None:
        self.agent_acts(pick, choice, other, None)

    @precondition(lambda self: any(self.session.capabilities(agent) for agent in AGENTS))
    @rule(pick=st.integers(0, 30), choice=st.integers(0, 30), other=st.sampled_from(AGENTS))
    def agent_acts_once_more(self, pick: int, choice: int, other: str) -> None:
        self.agent_acts(pick, choice, other, QUEUE)

    def _perform(self, s: SmsSession, agent: str, operation: str, target: str, queue: str | None) -> None:
        ctx = self.world.ctx()
        match operation:
            case "Accept":
                s.accept(ctx, agent, agent.title())
            case "Reject":
                s.reject(agent)
            case "Complete":
                s.complete(ctx, agent, queue)
            case "Leave":
                s.leave(ctx, agent)
            case "LeaveAndComplete":
                s.leave(ctx, agent, and_complete=True)
            case "Transfer" if queue is not None:
                s.transfer_to_queue(ctx, agent, queue)
            case "Transfer":
                s.offer_to_agent(ctx, agent, target, OfferKind.TRANSFER)
            case "Invite":
                s.offer_to_agent(ctx, agent, target, OfferKind.INVITE)
            case "Consult":
                s.offer_to_agent(ctx, agent, target, OfferKind.CONSULT)
            case "CancelConsult":
                s.cancel_consult(agent)
            case "SetInFocus":
                pass
            case "SetDisposition":
                s.set_disposition(agent, "Resolved", None, LIMITS)
            case "AddComment":
                s.add_comment(ctx, agent, f"note by {agent}", agent.title())
            case "AttachUserData":
                s.attach_user_data({f"{agent}-attached": len(self.log)}, LIMITS)
            case "UpdateUserData":
                s.update_user_data({"Subject": f"updated by {agent}"}, LIMITS)
            case "DeleteUserData":
                s.delete_user_data(["Subject"])
            case _:
                message_type, agents_only, fields = _SENDS[operation]
                entry = s.post(ctx, agent, message_type, agents_only=agents_only, **fields)
                if agents_only or s.record.parties[agent].consultant:
                    assert entry.visibility is Visibility.AGENTS

    # ----- invariants -----------------------------------------------------------------------------------

    @invariant()
    def message_indexes_increase_by_one_without_gaps(self) -> None:
        assert [entry.index for entry in self.log] == list(range(1, len(self.log) + 1))
        assert self.session.record.last_index == len(self.log)

    @invariant()
    def owner_is_live_and_unique(self) -> None:
        record = self.session.record
        if record.owner is not None:
            assert record.parties[record.owner].state in (PartyState.CHATTING, PartyState.LEFT_CHAT)
            assert not record.parties[record.owner].consultant
        assert (record.owner is not None) == (record.phase is Phase.ACTIVE)

    @invariant()
    def chatting_parties_have_exactly_one_participant(self) -> None:
        record = self.session.record
        for party in record.parties.values():
            matches = [p for p in record.participants if p.participant_id == party.participant_id]
            if party.state is PartyState.CHATTING:
                assert len(matches) == 1
                assert matches[0].user_id == party.user_id
                expected = Visibility.AGENTS if party.consultant else Visibility.ALL
                assert matches[0].visibility is expected

    @invariant()
    def every_participant_but_the_customer_is_a_chatting_party(self) -> None:
        record = self.session.record
        assert record.participants[0] is record.customer
        chatting = {
            party.participant_id: party.user_id
            for party in record.parties.values()
            if party.state is PartyState.CHATTING
        }
        for participant in record.participants[1:]:
            assert chatting.get(participant.participant_id) == participant.user_id
        assert len(record.participants) == 1 + len(chatting)

    @invariant()
    def final_states_have_no_capabilities(self) -> None:
        for party in self.session.record.parties.values():
            if party.state in FINAL_STATES:
                assert self.session.capabilities(party.user_id) == []
                assert party.deadline_ms is None

    @invariant()
    def at_most_one_pending_offer_of_each_origin(self) -> None:
        invited = [p for p in self.session.record.parties.values() if p.state is PartyState.INVITED]
        assert sum(p.offer is OfferKind.ROUTE for p in invited) <= 1
        assert sum(p.offer is not OfferKind.ROUTE for p in invited) <= 1
        assert all(p.deadline_ms is not None for p in invited)

    @invariant()
    def finished_sessions_have_no_live_parties(self) -> None:
        if self.session.record.phase is Phase.DONE:
            assert self.session.live_parties() == []

    @invariant()
    def tried_agents_are_listed_once(self) -> None:
        tried = self.session.record.tried
        assert len(tried) == len(set(tried))

    @invariant()
    def require_agrees_with_capabilities(self) -> None:
        for agent in AGENTS:
            allowed = set(self.session.capabilities(agent))
            for operation in (*CANONICAL_ORDER, *OPERATION_ALIASES):
                permitted = OPERATION_ALIASES.get(operation, operation) in allowed
                try:
                    self.session.require(agent, operation)
                except DomainError as error:
                    # A customer send to a customer who opted out is forbidden (with its reason);
                    # anything else outside the capabilities is invalid for the state.
                    opted_out_send = (
                        OPERATION_ALIASES.get(operation, operation) in CUSTOMER_SENDS
                        and not self.session.record.customer_reachable
                    )
                    expected = ErrorKind.FORBIDDEN if opted_out_send else ErrorKind.INVALID_STATE
                    if error.kind is not expected:
                        assert opted_out_send and error.kind is ErrorKind.INVALID_STATE
                    assert not permitted, f"{agent} refused {operation} although it is a capability"
                else:
                    assert permitted, f"{agent} allowed {operation} without the capability"


SessionMachine.TestCase.settings = settings(
    # Raise SMSDESK_STATEFUL_EXAMPLES (e.g. to 3000) for a deeper local hunt; 200 keeps the suite fast.
    max_examples=int(os.environ.get("SMSDESK_STATEFUL_EXAMPLES", "200")),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestSessionStateMachine = SessionMachine.TestCase
