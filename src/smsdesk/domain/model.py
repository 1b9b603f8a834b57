"""The SMS session aggregate's data: states, participants, parties, message-log entries, effects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from smsdesk.domain.userdata import UserData, UserDataValue


class PartyState(StrEnum):
    """One agent's state in one session, as GWS shows it (``smssession.state``)."""

    INVITED = "Invited"
    CHATTING = "Chatting"
    LEFT_CHAT = "LeftChat"
    COMPLETED = "Completed"
    REVOKED = "Revoked"


FINAL_STATES = frozenset({PartyState.COMPLETED, PartyState.REVOKED})
LIVE_STATES = frozenset({PartyState.INVITED, PartyState.CHATTING, PartyState.LEFT_CHAT})


class OfferKind(StrEnum):
    """How an agent came to be invited: by routing, or by another agent."""

    ROUTE = "route"
    TRANSFER = "transfer"
    INVITE = "invite"
    CONSULT = "consult"
    SUPERVISE = "supervise"  # a supervisor's Intrude: the supervisor is invited into a live session


class Phase(StrEnum):
    """Where the interaction is, independent of any one agent."""

    WAITING = "waiting"  # in a queue, needs an agent
    ACTIVE = "active"  # an agent owns it
    DONE = "done"  # nobody works on it any more


class Visibility(StrEnum):
    ALL = "All"
    AGENTS = "Agents"
    SUPERVISORS = "Supervisors"


class SupervisionMode(StrEnum):
    """How a supervisor takes part in a session: GWS Monitor, Coach or BargeIn."""

    MONITOR = "Monitor"  # sees everything, seen by other supervisors only, cannot send
    COACH = "Coach"  # seen by the agents only; what they send reaches the agents only
    BARGE_IN = "BargeIn"  # seen by everyone; what they send reaches the customer's handset


# Who sees a supervisor in each mode (the participant's and its messages' visibility).
SUPERVISION_VISIBILITY = {
    SupervisionMode.MONITOR: Visibility.SUPERVISORS,
    SupervisionMode.COACH: Visibility.AGENTS,
    SupervisionMode.BARGE_IN: Visibility.ALL,
}


class MessageType(StrEnum):
    TEXT = "Text"
    PARTICIPANT_JOINED = "ParticipantJoined"
    PARTICIPANT_LEFT = "ParticipantLeft"
    PARTICIPANT_REJOINED = "ParticipantRejoined"
    TYPING_STARTED = "TypingStarted"
    TYPING_STOPPED = "TypingStopped"
    PUSH_URL = "PushUrl"
    NOTICE = "Notice"
    CUSTOM_NOTICE = "CustomNotice"
    COMMENT = "Comment"  # extension: an agent's AddComment, visible to agents only


@dataclass(slots=True)
class Participant:
    participant_id: str
    type: str  # "Customer" | "Agent" | "External"
    nickname: str
    user_id: str | None = None
    visibility: Visibility = Visibility.ALL


@dataclass(slots=True)
class Departure:
    """Where a party stood when its offer ended or it left (need-to-know): it may go on reading the
    log up to ``last_index`` and the user data as it was at ``user_data_version``, never what
    came after (docs/gws-compatibility.md, "Former parties")."""

    last_index: int
    user_data_version: int


@dataclass(slots=True)
class Party:
    """One agent's relationship with the session (offered, chatting, left, done)."""

    user_id: str
    state: PartyState
    offer: OfferKind | None = None
    offered_by: str | None = None
    deadline_ms: int | None = None
    participant_id: str | None = None
    consultant: bool = False
    supervision: SupervisionMode | None = None  # set for a supervisor (monitoring or intruding)
    departure: Departure | None = None  # set once the party is Completed or Revoked


def visible_to(visibility: Visibility, viewer: Party | None) -> bool:
    """Whether a participant or log entry with ``visibility`` is shown to ``viewer`` (an agent or a
    supervisor; the customer's handset gets only what is visible to All, as SMS)."""
    return visibility is not Visibility.SUPERVISORS or (viewer is not None and viewer.supervision is not None)


@dataclass(slots=True)
class Message:
    index: int
    type: MessageType
    sender: Participant
    visibility: Visibility
    timestamp_ms: int
    text: str | None = None
    url: str | None = None
    notice_text: str | None = None
    # Extension: an automatic reply's kind ("closed", "waiting"), sent by the system, not an agent.
    auto_reply: str | None = None


@dataclass(frozen=True, slots=True)
class DomainContext:
    """What the domain needs from outside: the time, and fresh participant ids."""

    now_ms: int
    new_participant_id: Callable[[], str]
    offer_timeout_ms: int = 30_000


# Effects: what a change means for the people around it. The operations layer turns each into
# notifications (in this order) and outbound SMS, in the same transaction as the change.


@dataclass(frozen=True, slots=True)
class StatusChanged:
    user_id: str


@dataclass(frozen=True, slots=True)
class ParticipantsChanged:
    """Every agent chatting in the session gets ParticipantsUpdated (only the supervisors, when
    the change concerns a participant only supervisors can see)."""

    supervisors_only: bool = False


@dataclass(frozen=True, slots=True)
class PropertiesChanged:
    """userData (or capabilities) changed: live parties get PropertiesUpdated; ``only`` narrows it."""

    only: str | None = None


@dataclass(frozen=True, slots=True)
class MessagesAdded:
    messages: tuple[Message, ...]
    exclude: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryDelivered:
    user_id: str


@dataclass(frozen=True, slots=True)
class OperationFailed:
    user_id: str
    error_message: str


@dataclass(frozen=True, slots=True)
class UserDataKeyChange:
    """One key of userData: ``old`` → ``new`` (None: absent before / removed)."""

    key: str
    old: UserDataValue | None
    new: UserDataValue | None


@dataclass(frozen=True, slots=True)
class UserDataChanged:
    """userData changed to ``version`` by ``user_id`` through ``operation``: one audit entry per key."""

    user_id: str | None
    operation: str
    version: int
    changes: tuple[UserDataKeyChange, ...]


@dataclass(frozen=True, slots=True)
class CustomerSmsRequested:
    message_index: int
    text: str


@dataclass(frozen=True, slots=True)
class RoutingRequested:
    queue: str


Effect = (
    StatusChanged
    | ParticipantsChanged
    | PropertiesChanged
    | MessagesAdded
    | HistoryDelivered
    | OperationFailed
    | CustomerSmsRequested
    | RoutingRequested
    | UserDataChanged
)


@dataclass(slots=True)
class SessionRecord:
    """The persistent fields of a session (what storage saves and loads)."""

    id: str
    tenant_id: str
    queue: str
    service_number: str
    customer_number: str
    received_ms: int
    phase: Phase
    customer: Participant
    participants: list[Participant] = field(default_factory=list)
    parties: dict[str, Party] = field(default_factory=dict)
    user_data: UserData = field(default_factory=dict)
    owner: str | None = None
    last_index: int = 0
    tried: list[str] = field(default_factory=list)
    customer_present: bool = True
    customer_reachable: bool = True
    chat_type: str = "Inbound"
    user_data_version: int = 0  # +1 whenever userData changes; the precondition of conditional writes
    waiting_since_ms: int | None = None  # when it last started waiting in a queue (statistics)
    answered_ms: int | None = None  # when an agent last took it on (routing accept or Create): handle time
    # The agents' note about the interaction (AddComment); the latest one wins, each is also logged.
    comment: str | None = None
    completed_ms: int | None = None  # when the interaction ended (phase done): customer history
    # The automatic replies this conversation got ("closed", "waiting"): each is sent once at most.
    auto_replies: list[str] = field(default_factory=list)
