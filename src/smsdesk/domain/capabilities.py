"""Which operations an agent may perform on a session right now.

This is the one source of truth: the server refuses any operation not listed here, and every
resource it sends carries exactly this list, so a desktop's buttons never lie.
"""

from __future__ import annotations

from smsdesk.domain.model import OfferKind, Party, PartyState, SessionRecord, SupervisionMode

# Canonical order of the capability list in resources (the order GWS samples use).
CANONICAL_ORDER: tuple[str, ...] = (
    "Accept",
    "Reject",
    "Transfer",
    "Leave",
    "LeaveAndComplete",
    "Invite",
    "Consult",
    "CancelConsult",
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
    "SendToAgents",
    "SendCustomNoticeToAgents",
    "SendStartTypingToAgentsNotification",
    "SendStopTypingToAgentsNotification",
    "SwitchToMonitor",
    "SwitchToCoach",
    "SwitchToBargeIn",
)
_RANK = {name: rank for rank, name in enumerate(CANONICAL_ORDER)}

# The operation names GWS documents besides the canonical ones (docs/gws-compatibility.md), each
# with the operation it stands for: the one table of them, read by the capability check here and
# by the request decoding (``gws/requests.py``).
OPERATION_ALIASES: dict[str, str] = {
    "InFocus": "SetInFocus",
    "SendStopTypingToAgentNotification": "SendStopTypingToAgentsNotification",
    "SwitchBargeIn": "SwitchToBargeIn",  # spelled so once in the GWS samples
}

# Operations of ours that are allowed exactly when a GWS capability is listed, and are not listed
# themselves (GWS clients compare the list with the operations they know): SendStandardResponse
# sends a prepared text as SendMessage sends a typed one.
REQUIRED_CAPABILITY: dict[str, str] = {"SendStandardResponse": "SendMessage"}

USER_DATA_OPERATIONS = ("AttachUserData", "UpdateUserData", "DeleteUserData")
CUSTOMER_SENDS = (
    "SendMessage",
    "SendUrl",
    "SendCustomNotice",
    "SendStartTypingNotification",
    "SendStopTypingNotification",
)
AGENT_SENDS = (
    "SendToAgents",
    "SendCustomNoticeToAgents",
    "SendStartTypingToAgentsNotification",
    "SendStopTypingToAgentsNotification",
)
# The switch a supervisor in each mode can make (never to the mode they are in).
SWITCH_TO = {
    SupervisionMode.MONITOR: "SwitchToMonitor",
    SupervisionMode.COACH: "SwitchToCoach",
    SupervisionMode.BARGE_IN: "SwitchToBargeIn",
}


def capability_for_operation(operation_name: str) -> str:
    canonical = OPERATION_ALIASES.get(operation_name, operation_name)
    return REQUIRED_CAPABILITY.get(canonical, canonical)


def capabilities_for(session: SessionRecord, user_id: str) -> list[str]:
    party = session.parties.get(user_id)
    if party is None:
        return []
    if party.supervision is not None:
        return _supervisor_capabilities(session, party)
    if party.state is PartyState.INVITED:
        return _ordered({"Accept", "Reject", "SetInFocus", *USER_DATA_OPERATIONS})
    if party.state is PartyState.LEFT_CHAT:
        return _ordered({"Complete", "SetInFocus", "SetDisposition", "AddComment", *USER_DATA_OPERATIONS})
    if party.state is not PartyState.CHATTING:
        return []

    # A comment is the agents' note about the interaction: whoever works on it (or wraps it up) may
    # write it; an agent who has only been offered the session has not seen it yet.
    caps = {"Leave", "SetInFocus", "SetDisposition", "AddComment", *USER_DATA_OPERATIONS}
    is_owner = session.owner == user_id
    pending = pending_agent_offer(session)
    if is_owner:
        caps |= {"Complete", "LeaveAndComplete"}
        if pending is None:
            caps |= {"Transfer", "Invite", "Consult"}
        elif pending.offer is OfferKind.CONSULT and pending.offered_by == user_id:
            caps.add("CancelConsult")
    # A monitoring supervisor is invisible to agents: their presence must not change an agent's buttons.
    others_chatting = any(
        other.state is PartyState.CHATTING
        and other.user_id != user_id
        and other.supervision is not SupervisionMode.MONITOR
        for other in session.parties.values()
    )
    # A consultant's customer-style sends are shown to agents only, so they need no reachable customer.
    if party.consultant:
        if others_chatting:
            caps |= set(CUSTOMER_SENDS)
    elif session.customer_present and session.customer_reachable:
        caps |= set(CUSTOMER_SENDS)
    if others_chatting or pending is not None:
        caps |= set(AGENT_SENDS)
    return _ordered(caps)


def _supervisor_capabilities(session: SessionRecord, party: Party) -> list[str]:
    """Monitor only watches; Coach talks to the agents; BargeIn talks to everyone. None of them
    owns the interaction, so none may Complete, Transfer, Invite or Consult."""
    if party.state is PartyState.INVITED:
        return _ordered({"Accept", "Reject", "SetInFocus"})
    if party.state is not PartyState.CHATTING or party.supervision is None:
        return []
    mode = party.supervision
    caps = {"Leave", "SetInFocus", *(switch for m, switch in SWITCH_TO.items() if m is not mode)}
    if mode is SupervisionMode.MONITOR:
        return _ordered(caps)
    caps |= {"SetDisposition", *USER_DATA_OPERATIONS}
    others_chatting = any(
        other.state is PartyState.CHATTING and other.user_id != party.user_id
        for other in session.parties.values()
    )
    if others_chatting:
        caps |= set(AGENT_SENDS)
    if mode is SupervisionMode.COACH:
        # A coach's customer-style sends are shown to the agents only, like a consultant's.
        if others_chatting:
            caps |= set(CUSTOMER_SENDS)
    elif session.customer_present and session.customer_reachable:
        caps |= set(CUSTOMER_SENDS)
    return _ordered(caps)


def is_supervisor(party: Party) -> bool:
    return party.supervision is not None


def pending_agent_offer(session: SessionRecord) -> Party | None:
    """The one outstanding transfer/invite/consult offer, if any (only one at a time per session)."""
    for party in session.parties.values():
        if party.state is PartyState.INVITED and party.offer in (
            OfferKind.TRANSFER,
            OfferKind.INVITE,
            OfferKind.CONSULT,
        ):
            return party
    return None


def _ordered(names: set[str]) -> list[str]:
    return sorted(names, key=_RANK.__getitem__)
