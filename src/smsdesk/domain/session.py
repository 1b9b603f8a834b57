"""The SMS session aggregate's behaviour: one method per thing that can happen to a session.

Methods validate first and raise :class:`DomainError` before touching anything, then change the
record and append effects. The operations layer persists the record and turns effects into
notifications and SMS in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from smsdesk.domain import userdata
from smsdesk.domain.capabilities import (
    CUSTOMER_SENDS,
    capabilities_for,
    capability_for_operation,
    pending_agent_offer,
)
from smsdesk.domain.errors import DomainError, ErrorKind, invalid_state, invalid_value
from smsdesk.domain.model import (
    FINAL_STATES,
    LIVE_STATES,
    SUPERVISION_VISIBILITY,
    CustomerSmsRequested,
    Departure,
    DomainContext,
    Effect,
    HistoryDelivered,
    Message,
    MessagesAdded,
    MessageType,
    OfferKind,
    OperationFailed,
    Participant,
    ParticipantsChanged,
    Party,
    PartyState,
    Phase,
    PropertiesChanged,
    RoutingRequested,
    SessionRecord,
    StatusChanged,
    SupervisionMode,
    UserDataChanged,
    UserDataKeyChange,
    Visibility,
)
from smsdesk.domain.statistics import SessionSnapshot

DEFAULT_DISPOSITION_KEY = "DispositionCode"
SYSTEM_PARTICIPANT = Participant("0000000000000000", "External", "smsdesk", visibility=Visibility.AGENTS)
# The sender of automatic replies: the system, speaking to the customer (visible to all).
AUTO_REPLY_SENDER = Participant("0000000000000000", "External", "smsdesk", visibility=Visibility.ALL)

# Message types that reach the customer's handset when visible to all.
_CUSTOMER_VISIBLE_TYPES = frozenset({MessageType.TEXT, MessageType.PUSH_URL, MessageType.CUSTOM_NOTICE})

_OFFER_FAILURE = {
    OfferKind.TRANSFER: "Transfer",
    OfferKind.INVITE: "Invite",
    OfferKind.CONSULT: "Consult",
}

# How many kinds of people see a participant: used to tell a supervisor's switch of mode apart as
# "joining" (seen by more) or "leaving" (seen by fewer).
_REACH = {Visibility.SUPERVISORS: 0, Visibility.AGENTS: 1, Visibility.ALL: 2}


def _reach(visibility: Visibility) -> int:
    return _REACH[visibility]


class SmsSession:
    def __init__(self, record: SessionRecord) -> None:
        self.record = record
        self.effects: list[Effect] = []
        self.new_messages: list[Message] = []
        self._loaded_party_states = {uid: party.state for uid, party in record.parties.items()}
        self.loaded: SessionSnapshot | None = SessionSnapshot.of(record)  # None: created by this change
        for party in record.parties.values():
            if party.state in FINAL_STATES and party.departure is None:
                # Stored before departures were recorded: it has seen at most what is here now.
                party.departure = self._departure_now()

    def parties_changed(self) -> bool:
        """Whether any agent joined the session or changed state since it was loaded."""
        return {uid: party.state for uid, party in self.record.parties.items()} != self._loaded_party_states

    # ----- creation and customer side -------------------------------------------------------------

    @classmethod
    def open_inbound(
        cls,
        ctx: DomainContext,
        *,
        session_id: str,
        tenant_id: str,
        queue: str,
        service_number: str,
        customer_number: str,
        text: str,
        user_data: userdata.UserData,
    ) -> SmsSession:
        customer = Participant(ctx.new_participant_id(), "Customer", customer_number)
        record = SessionRecord(
            id=session_id,
            tenant_id=tenant_id,
            queue=queue,
            service_number=service_number,
            customer_number=customer_number,
            received_ms=ctx.now_ms,
            phase=Phase.WAITING,
            customer=customer,
            participants=[customer],
            user_data=dict(user_data),
            waiting_since_ms=ctx.now_ms,
        )
        session = cls(record)
        session.loaded = None
        session._loaded_party_states = {"": PartyState.INVITED}  # new: its (empty) party list must be written
        session._log(ctx, MessageType.PARTICIPANT_JOINED, customer, Visibility.ALL)
        session._log(ctx, MessageType.TEXT, customer, Visibility.ALL, text=text)
        session.effects.append(RoutingRequested(queue))
        return session

    @classmethod
    def open_outbound(
        cls,
        ctx: DomainContext,
        *,
        session_id: str,
        tenant_id: str,
        queue: str,
        service_number: str,
        customer_number: str,
        agent_id: str,
        nickname: str,
        text: str,
        user_data: userdata.UserData,
        customer_reachable: bool = True,
    ) -> SmsSession:
        """**Extension** (Create): an agent starts a conversation. The agent owns it and is Chatting at
        once; the first message goes to the handset; the customer's reply joins this session."""
        if not customer_reachable:
            raise DomainError(
                ErrorKind.FORBIDDEN,
                "The customer opted out of SMS from this number (STOP): nothing can be sent until they text START",
            )
        customer = Participant(ctx.new_participant_id(), "Customer", customer_number)
        agent = Participant(ctx.new_participant_id(), "Agent", nickname, user_id=agent_id)
        record = SessionRecord(
            id=session_id,
            tenant_id=tenant_id,
            queue=queue,
            service_number=service_number,
            customer_number=customer_number,
            received_ms=ctx.now_ms,
            phase=Phase.ACTIVE,
            customer=customer,
            participants=[customer, agent],
            parties={
                agent_id: Party(agent_id, PartyState.CHATTING, participant_id=agent.participant_id),
            },
            user_data=dict(user_data),
            owner=agent_id,
            chat_type="Outbound",
            answered_ms=ctx.now_ms,
        )
        session = cls(record)
        session.loaded = None
        session._loaded_party_states = {}  # new: its party rows must be written
        joined = session._log(ctx, MessageType.PARTICIPANT_JOINED, agent, Visibility.ALL)
        session.effects.append(StatusChanged(agent_id))
        session.effects.append(MessagesAdded((joined,)))
        session.post(ctx, agent_id, MessageType.TEXT, agents_only=False, text=text)
        return session

    def customer_message(self, ctx: DomainContext, text: str) -> None:
        entry = self._log(ctx, MessageType.TEXT, self.record.customer, Visibility.ALL, text=text)
        self.effects.append(MessagesAdded((entry,)))

    def abandon(self, ctx: DomainContext | None = None) -> bool:
        """The customer gave up (opted out) while the session waited, unanswered: it ends, and a
        pending offer is withdrawn. Returns whether it did."""
        if self.record.phase is not Phase.WAITING:
            return False
        for party in self.live_parties():
            self._end(party, PartyState.REVOKED)
            self.effects.append(StatusChanged(party.user_id))
        self._close(ctx.now_ms if ctx is not None else None)
        return True

    def auto_reply(self, ctx: DomainContext, kind: str, text: str) -> Message | None:
        """**Extension**: an automatic reply to the customer (the queue is closed, or the wait is
        long), logged as a message from the system and sent as SMS like an agent's. Each kind goes
        out once per conversation, and never to a customer who cannot be texted (opted out)."""
        record = self.record
        if kind in record.auto_replies or not record.customer_reachable or not record.customer_present:
            return None
        record.auto_replies.append(kind)
        entry = self._log(
            ctx, MessageType.TEXT, AUTO_REPLY_SENDER, Visibility.ALL, text=text, auto_reply=kind
        )
        self.effects.append(MessagesAdded((entry,)))
        self.effects.append(CustomerSmsRequested(entry.index, text))
        return entry

    def close_unanswered(self, ctx: DomainContext) -> None:
        """The queue is closed and set to end what arrives meanwhile: the session ends unanswered (the
        customer's next text opens a new one)."""
        if self.record.phase is not Phase.WAITING:
            return
        for party in self.live_parties():
            self._end(party, PartyState.REVOKED)
            self.effects.append(StatusChanged(party.user_id))
        self._close(ctx.now_ms)

    def _close(self, now_ms: int | None) -> None:
        """The interaction is over: nobody works on it, the customer's next text opens a new one."""
        self.record.phase = Phase.DONE
        self.record.customer_present = False
        self.record.owner = None
        if now_ms is not None:
            self.record.completed_ms = now_ms

    def set_customer_reachable(self, reachable: bool) -> None:
        """Opt-out (or back in): the customer-facing sends leave (or rejoin) every agent's capabilities."""
        if self.record.customer_reachable != reachable:
            self.record.customer_reachable = reachable
            self.effects.append(PropertiesChanged())

    def notice(self, ctx: DomainContext, text: str) -> None:
        """A system notice for the agents (never sent to the customer)."""
        entry = self._log(ctx, MessageType.NOTICE, SYSTEM_PARTICIPANT, Visibility.AGENTS, text=text)
        self.effects.append(MessagesAdded((entry,)))

    # ----- capabilities ---------------------------------------------------------------------------

    def capabilities(self, user_id: str) -> list[str]:
        return capabilities_for(self.record, user_id)

    def require(self, user_id: str, operation_name: str) -> None:
        capability = capability_for_operation(operation_name)
        if capability not in self.capabilities(user_id):
            party = self.record.parties.get(user_id)
            if (
                capability in CUSTOMER_SENDS
                and not self.record.customer_reachable
                and party is not None
                and party.state is PartyState.CHATTING
                and not party.consultant
            ):
                raise DomainError(
                    ErrorKind.FORBIDDEN,
                    "The customer opted out of SMS from this number (STOP): nothing can be sent until they text START",
                )
            party = self.record.parties.get(user_id)
            state = party.state.value if party else "none"
            raise invalid_state(f"Operation {operation_name} is not valid for the current state ({state})")

    def party(self, user_id: str) -> Party:
        party = self.record.parties.get(user_id)
        if party is None:
            raise DomainError(ErrorKind.NOT_FOUND, "SMS session not found")
        return party

    def live_parties(self) -> list[Party]:
        return [p for p in self.record.parties.values() if p.state in LIVE_STATES]

    def chatting_user_ids(self) -> list[str]:
        return [p.user_id for p in self.record.parties.values() if p.state is PartyState.CHATTING]

    def chatting_agent_ids(self) -> list[str]:
        """Chatting parties who are not supervisors (the people the conversation depends on)."""
        return [
            p.user_id
            for p in self.record.parties.values()
            if p.state is PartyState.CHATTING and p.supervision is None
        ]

    # ----- supervisors ----------------------------------------------------------------------------

    def join_supervisor(self, ctx: DomainContext, user_id: str, nickname: str, mode: SupervisionMode) -> None:
        """A supervisor joins, Chatting at once, with the history (monitoring an agent who accepted,
        or accepting an Intrude)."""
        existing = self.record.parties.get(user_id)
        if existing is not None and existing.state is PartyState.CHATTING:
            raise DomainError(ErrorKind.IN_USE, "The supervisor is already in this SMS session")
        visibility = SUPERVISION_VISIBILITY[mode]
        participant = Participant(ctx.new_participant_id(), "Agent", nickname, user_id, visibility)
        self.record.participants.append(participant)
        self.record.parties[user_id] = Party(
            user_id=user_id,
            state=PartyState.CHATTING,
            participant_id=participant.participant_id,
            supervision=mode,
        )
        joined = self._log(ctx, MessageType.PARTICIPANT_JOINED, participant, visibility)
        self.effects.append(StatusChanged(user_id))
        self.effects.append(ParticipantsChanged(supervisors_only=visibility is Visibility.SUPERVISORS))
        self.effects.append(HistoryDelivered(user_id))
        self.effects.append(MessagesAdded((joined,), exclude=user_id))

    def invite_supervisor(self, ctx: DomainContext, user_id: str, mode: SupervisionMode) -> None:
        """Intrude: the supervisor is offered the session (Invited) and joins in ``mode`` on Accept."""
        if self.record.phase is not Phase.ACTIVE or not self.chatting_agent_ids():
            raise invalid_state("The SMS session has no agent chatting in it")
        self.offer(ctx, user_id, OfferKind.SUPERVISE)
        self.record.parties[user_id].supervision = mode

    def switch_supervision(self, ctx: DomainContext, user_id: str, mode: SupervisionMode) -> None:
        """SwitchToMonitor / SwitchToCoach / SwitchToBargeIn: the supervisor's visibility changes.
        Becoming visible to more people reads as joining to them; fewer, as leaving."""
        party = self.party(user_id)
        if party.supervision is None or party.supervision is mode:
            raise invalid_state(f"Cannot switch to {mode.value} from the current mode")
        participant = self._participant(party)
        before, after = participant.visibility, SUPERVISION_VISIBILITY[mode]
        party.supervision = mode
        participant.visibility = after
        if _reach(after) > _reach(before):
            entry = self._log(ctx, MessageType.PARTICIPANT_JOINED, participant, after)
        else:
            entry = self._log(ctx, MessageType.PARTICIPANT_LEFT, participant, before)
        hidden = before is Visibility.SUPERVISORS and after is Visibility.SUPERVISORS
        self.effects.append(ParticipantsChanged(supervisors_only=hidden))
        self.effects.append(MessagesAdded((entry,)))

    def _supervisor_leaves(self, ctx: DomainContext, party: Party) -> None:
        hidden = self._participant(party).visibility is Visibility.SUPERVISORS
        left = self._remove_agent(ctx, party, PartyState.COMPLETED)
        self.effects.insert(0, StatusChanged(party.user_id))
        self.effects.append(ParticipantsChanged(supervisors_only=hidden))
        self.effects.append(MessagesAdded((left,)))

    def _revoke_supervisors(self, ctx: DomainContext) -> None:
        for party in self.live_parties():
            if party.supervision is not None:
                self._finish_party(ctx, party)
                self.effects.append(StatusChanged(party.user_id))

    # ----- routing and offers ---------------------------------------------------------------------

    def needs_agent(self) -> bool:
        return self.record.phase is Phase.WAITING and not any(
            p.state is PartyState.INVITED and p.offer is OfferKind.ROUTE for p in self.record.parties.values()
        )

    def offer(self, ctx: DomainContext, user_id: str, kind: OfferKind, offered_by: str | None = None) -> None:
        existing = self.record.parties.get(user_id)
        if existing is not None and existing.state in LIVE_STATES:
            raise DomainError(ErrorKind.IN_USE, "The target agent is already in this SMS session")
        self.record.parties[user_id] = Party(
            user_id=user_id,
            state=PartyState.INVITED,
            offer=kind,
            offered_by=offered_by,
            deadline_ms=ctx.now_ms + ctx.offer_timeout_ms,
        )
        self.effects.append(StatusChanged(user_id))

    def next_deadline_ms(self) -> int | None:
        deadlines = [
            p.deadline_ms
            for p in self.record.parties.values()
            if p.state is PartyState.INVITED and p.deadline_ms is not None
        ]
        return min(deadlines) if deadlines else None

    def expire_offers(self, ctx: DomainContext) -> None:
        for party in list(self.record.parties.values()):
            expired = party.deadline_ms is not None and party.deadline_ms <= ctx.now_ms
            if party.state is PartyState.INVITED and expired:
                self._withdraw_offer(party, PartyState.REVOKED, "did not answer")

    def _withdraw_offer(self, party: Party, final_state: PartyState, why: str) -> None:
        kind = party.offer
        self._end(party, final_state)
        self.effects.append(StatusChanged(party.user_id))
        if kind is OfferKind.ROUTE:
            if party.user_id not in self.record.tried:
                self.record.tried.append(party.user_id)
            self.effects.append(RoutingRequested(self.record.queue))
        elif kind is not None and party.offered_by is not None:
            originator = self.record.parties.get(party.offered_by)
            if originator is not None and originator.state in LIVE_STATES:
                self.effects.append(
                    OperationFailed(
                        party.offered_by, f"{_OFFER_FAILURE[kind]} failed: the target agent {why}"
                    )
                )

    def accept(self, ctx: DomainContext, user_id: str, nickname: str) -> None:
        party = self.party(user_id)
        kind = party.offer
        if kind is OfferKind.SUPERVISE and party.supervision is not None:
            party.offer = None
            party.deadline_ms = None
            self.join_supervisor(ctx, user_id, nickname, party.supervision)
            return
        consultant = kind is OfferKind.CONSULT
        participant = Participant(
            ctx.new_participant_id(),
            "Agent",
            nickname,
            user_id=user_id,
            visibility=Visibility.AGENTS if consultant else Visibility.ALL,
        )
        party.state = PartyState.CHATTING
        party.offer = None
        party.deadline_ms = None
        party.participant_id = participant.participant_id
        party.consultant = consultant
        self.record.participants.append(participant)
        self.effects.append(StatusChanged(user_id))

        left: Message | None = None
        if kind is OfferKind.ROUTE or (self.record.owner is None and not consultant):
            self.record.owner = user_id
            self.record.phase = Phase.ACTIVE
            self.record.answered_ms = ctx.now_ms
            self.record.tried.clear()
        if kind is OfferKind.TRANSFER and party.offered_by is not None:
            previous = self.record.parties.get(party.offered_by)
            self.record.owner = user_id
            self.record.phase = Phase.ACTIVE
            if previous is not None and previous.state is PartyState.CHATTING:
                left = self._remove_agent(ctx, previous, PartyState.COMPLETED)
                self.effects.append(StatusChanged(previous.user_id))
        joined = self._log(ctx, MessageType.PARTICIPANT_JOINED, participant, participant.visibility)
        self.effects.append(ParticipantsChanged())
        self.effects.append(HistoryDelivered(user_id))
        news = (left, joined) if left else (joined,)
        self.effects.append(MessagesAdded(news, exclude=user_id))

    def withdraw_from_absent(self, user_id: str) -> None:
        """Nobody is behind ``user_id`` any more (no request, no live notification client): an offer
        waiting for them goes back now, as if it had timed out, rather than at its deadline."""
        party = self.record.parties.get(user_id)
        if party is not None and party.state is PartyState.INVITED:
            self._withdraw_offer(party, PartyState.REVOKED, "is not at the desk")

    def reject(self, user_id: str) -> None:
        self._withdraw_offer(self.party(user_id), PartyState.COMPLETED, "rejected it")

    # ----- agent operations -----------------------------------------------------------------------

    def complete(self, ctx: DomainContext, user_id: str, queue: str | None) -> None:
        """The interaction leaves every agent: it ends, or (with ``queue``) waits there for routing."""
        actor = self.party(user_id)
        self._finish_party(ctx, actor)
        self.effects.insert(0, StatusChanged(user_id))
        self._release_everyone_else(ctx, user_id)
        self.record.owner = None
        if queue is None:
            self._close(ctx.now_ms)
        else:
            self._requeue(ctx, queue)

    def leave(self, ctx: DomainContext, user_id: str, *, and_complete: bool = False) -> None:
        actor = self.party(user_id)
        if actor.supervision is not None:
            self._supervisor_leaves(ctx, actor)
            return
        others = [uid for uid in self.chatting_agent_ids() if uid != user_id]
        self._revoke_offers_from(user_id)
        if others:
            news = [self._remove_agent(ctx, actor, PartyState.COMPLETED)]
            self.effects.insert(0, StatusChanged(user_id))
            if self.record.owner == user_id:
                promoted = self._hand_over_ownership(ctx, others)
                if promoted is not None:
                    news.append(promoted)
            self.effects.append(ParticipantsChanged())
            self.effects.append(MessagesAdded(tuple(news)))
            return
        self._remove_agent(ctx, actor, PartyState.COMPLETED if and_complete else PartyState.LEFT_CHAT)
        # The last agent left: the conversation is over for the supervisors watching it.
        self._revoke_supervisors(ctx)
        self.record.customer_present = False
        if and_complete:
            self._close(ctx.now_ms)
        self.effects.insert(0, StatusChanged(user_id))

    def transfer_to_queue(self, ctx: DomainContext, user_id: str, queue: str) -> None:
        """Like Complete with a queue: the interaction leaves every agent and waits for routing."""
        self.complete(ctx, user_id, queue)

    def offer_to_agent(self, ctx: DomainContext, user_id: str, target: str, kind: OfferKind) -> None:
        if target == user_id:
            raise invalid_value("The target of the operation is the requesting agent")
        existing = self.record.parties.get(target)
        in_session = existing is not None and existing.state is PartyState.CHATTING
        if existing is not None and in_session and kind is OfferKind.INVITE and existing.consultant:
            # "Conference with the consultant": the consultation becomes a conference.
            joined = self._upgrade_consultant(ctx, existing)
            self.effects.append(ParticipantsChanged())
            self.effects.append(MessagesAdded((joined,)))
            return
        if existing is not None and existing.supervision is not None and existing.state in LIVE_STATES:
            raise invalid_value("The target is supervising this SMS session")
        if existing is not None and in_session and kind is OfferKind.TRANSFER:
            self._hand_over_to_present_agent(ctx, user_id, existing)
            return
        self.offer(ctx, target, kind, offered_by=user_id)

    def _hand_over_to_present_agent(self, ctx: DomainContext, user_id: str, target: Party) -> None:
        """Transfer to an agent already chatting here (the consultant, or a conference member) is
        immediate: they own the session and the transferring agent leaves."""
        news: list[Message] = []
        if target.consultant:
            news.append(self._upgrade_consultant(ctx, target))
        self.record.owner = target.user_id
        news.append(self._remove_agent(ctx, self.party(user_id), PartyState.COMPLETED))
        self.effects.insert(0, StatusChanged(user_id))
        self.effects.append(ParticipantsChanged())
        self.effects.append(MessagesAdded(tuple(news)))

    def cancel_consult(self, user_id: str) -> None:
        pending = pending_agent_offer(self.record)
        if pending is None or pending.offer is not OfferKind.CONSULT or pending.offered_by != user_id:
            raise invalid_state("There is no pending consultation to cancel")
        self._end(pending, PartyState.REVOKED)
        self.effects.append(PropertiesChanged(only=user_id))
        self.effects.append(StatusChanged(pending.user_id))

    def set_disposition(
        self,
        user_id: str,
        disposition: str,
        key: str | None,
        limits: userdata.UserDataLimits,
        expected_version: int | None = None,
    ) -> None:
        if not disposition:
            raise DomainError(ErrorKind.MISSING_PARAMETER, "Missing required parameter: disposition")
        data: dict[str, object] = {key or DEFAULT_DISPOSITION_KEY: disposition}
        self._merge_user_data(user_id, "SetDisposition", userdata.update, data, limits, expected_version)

    def attach_user_data(
        self,
        data: dict[str, object],
        limits: userdata.UserDataLimits,
        user_id: str | None = None,
        expected_version: int | None = None,
    ) -> None:
        self._merge_user_data(user_id, "AttachUserData", userdata.attach, data, limits, expected_version)

    def update_user_data(
        self,
        data: dict[str, object],
        limits: userdata.UserDataLimits,
        user_id: str | None = None,
        expected_version: int | None = None,
    ) -> None:
        self._merge_user_data(user_id, "UpdateUserData", userdata.update, data, limits, expected_version)

    def _merge_user_data(
        self,
        user_id: str | None,
        operation: str,
        merge: Callable[[userdata.UserData, userdata.UserData, userdata.UserDataLimits], userdata.UserData],
        data: dict[str, object],
        limits: userdata.UserDataLimits,
        expected_version: int | None,
    ) -> None:
        """The one path of the writes that add or replace keys (Attach, Update, SetDisposition, each
        merging by its own rule): the data is checked first, then the expected version, then the
        merged result is written."""
        checked = userdata.validate_user_data(data, limits)
        self._check_version(expected_version)
        self._write_user_data(user_id, operation, merge(self.record.user_data, checked, limits))

    def delete_user_data(
        self, keys: list[str], user_id: str | None = None, expected_version: int | None = None
    ) -> None:
        doomed = userdata.validate_keys(keys)
        self._check_version(expected_version)
        self._write_user_data(user_id, "DeleteUserData", userdata.delete(self.record.user_data, doomed))

    def _check_version(self, expected: int | None) -> None:
        """A conditional write (``userDataVersion`` given) only applies to the version it read."""
        current = self.record.user_data_version
        if expected is not None and expected != current:
            raise DomainError(
                ErrorKind.STALE_VERSION,
                f"userData changed since version {expected}: it is now at version {current}; read it again",
            )

    def _write_user_data(self, user_id: str | None, operation: str, result: userdata.UserData) -> None:
        """Replace userData with ``result``; when a key changed, the version moves on and every
        changed key is recorded (the audit trail)."""
        before = self.record.user_data
        changes = tuple(
            UserDataKeyChange(key, before.get(key), result.get(key))
            for key in [*before, *(k for k in result if k not in before)]
            if before.get(key) != result.get(key)
        )
        self.record.user_data = result
        if changes:
            self.record.user_data_version += 1
            self.effects.append(UserDataChanged(user_id, operation, self.record.user_data_version, changes))
        self.effects.append(PropertiesChanged())

    def add_comment(self, ctx: DomainContext, user_id: str, comment: str, author_nickname: str) -> None:
        """Set the session's comment (replacing any earlier one) and keep it in the transcript, for
        agents only: a comment is the contact center's note, never the customer's to see."""
        if not comment:
            raise DomainError(ErrorKind.MISSING_PARAMETER, "Missing required parameter: comment")
        party = self.party(user_id)
        self.record.comment = comment
        # In wrap-up (LeftChat) the agent is no longer a participant; the entry still names them.
        author = next(
            (p for p in self.record.participants if p.participant_id == party.participant_id),
            Participant(party.participant_id or "", "Agent", author_nickname, user_id=user_id),
        )
        # PropertiesUpdated first: the requester's referenceId goes on it, as in the GWS sample.
        self.effects.append(PropertiesChanged())
        entry = self._log(ctx, MessageType.COMMENT, author, Visibility.AGENTS, text=comment)
        self.effects.append(MessagesAdded((entry,)))

    def post(
        self,
        ctx: DomainContext,
        user_id: str,
        message_type: MessageType,
        *,
        agents_only: bool,
        text: str | None = None,
        url: str | None = None,
        notice_text: str | None = None,
    ) -> Message:
        """An agent adds an entry to the log (message, URL, notice, typing)."""
        party = self.party(user_id)
        sender = self._participant(party)
        coaching = party.supervision is SupervisionMode.COACH
        visibility = Visibility.AGENTS if agents_only or party.consultant or coaching else Visibility.ALL
        entry = self._log(ctx, message_type, sender, visibility, text=text, url=url, notice_text=notice_text)
        self.effects.append(MessagesAdded((entry,)))
        if visibility is Visibility.ALL and message_type in _CUSTOMER_VISIBLE_TYPES:
            body = text if message_type is MessageType.TEXT else url or notice_text
            if body:
                self.effects.append(CustomerSmsRequested(entry.index, body))
        return entry

    # ----- internals ------------------------------------------------------------------------------

    def _participant(self, party: Party) -> Participant:
        for participant in self.record.participants:
            if participant.participant_id == party.participant_id:
                return participant
        raise invalid_state("The agent is not a participant of this SMS session")

    def _remove_agent(self, ctx: DomainContext, party: Party, final_state: PartyState) -> Message:
        participant = self._participant(party)
        self.record.participants.remove(participant)
        left = self._log(ctx, MessageType.PARTICIPANT_LEFT, participant, participant.visibility)
        self._end(party, final_state)  # after its own ParticipantLeft: the party may read that one
        return left

    def _end(self, party: Party, state: PartyState) -> None:
        """``party`` moves to ``state``; leaving the live states fixes what it may still read."""
        party.state = state
        if state in FINAL_STATES:
            party.deadline_ms = None
            party.departure = self._departure_now()

    def _departure_now(self) -> Departure:
        return Departure(self.record.last_index, self.record.user_data_version)

    def _revoke_offers_from(self, user_id: str) -> None:
        for party in self.record.parties.values():
            if party.state is PartyState.INVITED and party.offered_by == user_id:
                self._end(party, PartyState.REVOKED)
                self.effects.append(StatusChanged(party.user_id))

    def _hand_over_ownership(self, ctx: DomainContext, others: list[str]) -> Message | None:
        """The earliest remaining full participant owns the session; a lone consultant is promoted
        (returns the promotion's log entry)."""
        parties = [self.record.parties[uid] for uid in others]
        heir = next((p for p in parties if not p.consultant), parties[0])
        self.record.owner = heir.user_id
        return self._upgrade_consultant(ctx, heir) if heir.consultant else None

    def _upgrade_consultant(self, ctx: DomainContext, party: Party) -> Message:
        participant = self._participant(party)
        participant.visibility = Visibility.ALL
        party.consultant = False
        return self._log(ctx, MessageType.PARTICIPANT_JOINED, participant, Visibility.ALL)

    def _finish_party(self, ctx: DomainContext, party: Party) -> None:
        """The interaction leaves this party: GWS tells a supervisor Revoked, an agent Completed."""
        if party.state is PartyState.CHATTING:
            self._remove_agent(ctx, party, PartyState.REVOKED if party.supervision else PartyState.COMPLETED)
        elif party.state is PartyState.INVITED:
            self._end(party, PartyState.REVOKED)
        else:
            self._end(party, PartyState.COMPLETED)

    def _release_everyone_else(self, ctx: DomainContext, user_id: str) -> None:
        for other in self.live_parties():
            if other.user_id != user_id:
                self._finish_party(ctx, other)
                self.effects.append(StatusChanged(other.user_id))

    def _requeue(self, ctx: DomainContext, queue: str) -> None:
        self.record.queue = queue
        self.record.phase = Phase.WAITING
        self.record.waiting_since_ms = ctx.now_ms
        self.record.tried.clear()
        self.effects.append(RoutingRequested(queue))

    def _log(
        self,
        ctx: DomainContext,
        message_type: MessageType,
        sender: Participant,
        visibility: Visibility,
        *,
        text: str | None = None,
        url: str | None = None,
        notice_text: str | None = None,
        auto_reply: str | None = None,
    ) -> Message:
        self.record.last_index += 1
        entry = Message(
            index=self.record.last_index,
            type=message_type,
            sender=Participant(
                sender.participant_id, sender.type, sender.nickname, sender.user_id, sender.visibility
            ),
            visibility=visibility,
            timestamp_ms=ctx.now_ms,
            text=text,
            url=url,
            notice_text=notice_text,
            auto_reply=auto_reply,
        )
        self.new_messages.append(entry)
        return entry
