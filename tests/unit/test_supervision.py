"""Supervisors in a session, at the domain level: exact capabilities per mode, visibility, Revoked."""

from __future__ import annotations

import pytest
from builders import World, fresh, owned_by, participant_of

from smsdesk.domain.capabilities import AGENT_SENDS, CUSTOMER_SENDS, USER_DATA_OPERATIONS, capabilities_for
from smsdesk.domain.errors import DomainError
from smsdesk.domain.model import CustomerSmsRequested, MessageType, PartyState, SupervisionMode, Visibility
from smsdesk.domain.session import SmsSession

EXPECTED = {
    SupervisionMode.MONITOR: ["Leave", "SetInFocus", "SwitchToCoach", "SwitchToBargeIn"],
    SupervisionMode.COACH: [
        "Leave",
        "SetInFocus",
        "SetDisposition",
        "AttachUserData",
        "DeleteUserData",
        "UpdateUserData",
        *CUSTOMER_SENDS,
        *AGENT_SENDS,
        "SwitchToMonitor",
        "SwitchToBargeIn",
    ],
    SupervisionMode.BARGE_IN: [
        "Leave",
        "SetInFocus",
        "SetDisposition",
        "AttachUserData",
        "DeleteUserData",
        "UpdateUserData",
        *CUSTOMER_SENDS,
        *AGENT_SENDS,
        "SwitchToMonitor",
        "SwitchToCoach",
    ],
}


def supervised(world: World, mode: SupervisionMode) -> SmsSession:
    session = owned_by(world)
    session.join_supervisor(world.ctx(), "boss", "Boss", mode)
    return fresh(session)


@pytest.mark.parametrize("mode", list(SupervisionMode))
def test_capabilities_per_mode(mode: SupervisionMode) -> None:
    session = supervised(World(), mode)
    assert capabilities_for(session.record, "boss") == EXPECTED[mode]
    assert set(USER_DATA_OPERATIONS) <= set(EXPECTED[mode]) or mode is SupervisionMode.MONITOR
    assert capabilities_for(session.record, "boss") != [] and "Complete" not in EXPECTED[mode]


def test_a_monitor_changes_nothing_for_the_agent_a_coach_adds_the_agents_only_sends() -> None:
    world = World()
    alone = owned_by(world)
    before = capabilities_for(alone.record, "alice")
    assert capabilities_for(supervised(world, SupervisionMode.MONITOR).record, "alice") == before
    coached = capabilities_for(supervised(world, SupervisionMode.COACH).record, "alice")
    assert set(coached) - set(before) == set(AGENT_SENDS)


@pytest.mark.parametrize(
    ("mode", "visibility"),
    [
        (SupervisionMode.MONITOR, Visibility.SUPERVISORS),
        (SupervisionMode.COACH, Visibility.AGENTS),
        (SupervisionMode.BARGE_IN, Visibility.ALL),
    ],
)
def test_participant_visibility_and_what_reaches_the_handset(
    mode: SupervisionMode, visibility: Visibility
) -> None:
    world = World()
    session = supervised(world, mode)
    assert participant_of(session.record, "boss").visibility is visibility
    if mode is SupervisionMode.MONITOR:
        with pytest.raises(DomainError):
            session.require("boss", "SendMessage")
        return
    session.require("boss", "SendMessage")
    entry = session.post(world.ctx(), "boss", MessageType.TEXT, agents_only=False, text="hello")
    sms = [e for e in session.effects if isinstance(e, CustomerSmsRequested)]
    assert (entry.visibility is Visibility.ALL) == (mode is SupervisionMode.BARGE_IN)
    assert bool(sms) == (mode is SupervisionMode.BARGE_IN)


def test_supervisors_are_revoked_when_the_session_completes_or_the_last_agent_leaves() -> None:
    world = World()
    session = supervised(world, SupervisionMode.COACH)
    session.complete(world.ctx(), "alice", None)
    assert session.record.parties["boss"].state is PartyState.REVOKED
    session = supervised(world, SupervisionMode.MONITOR)
    session.leave(world.ctx(), "alice")
    assert session.record.parties["alice"].state is PartyState.LEFT_CHAT
    assert session.record.parties["boss"].state is PartyState.REVOKED


def test_a_supervisor_leaving_changes_nothing_for_the_agent() -> None:
    world = World()
    session = supervised(world, SupervisionMode.BARGE_IN)
    session.leave(world.ctx(), "boss")
    assert session.record.parties["boss"].state is PartyState.COMPLETED
    assert session.record.parties["alice"].state is PartyState.CHATTING
    assert session.record.owner == "alice"


def test_switching_to_the_current_mode_is_refused() -> None:
    world = World()
    session = supervised(world, SupervisionMode.COACH)
    with pytest.raises(DomainError):
        session.require("boss", "SwitchToCoach")
    session.switch_supervision(world.ctx(), "boss", SupervisionMode.MONITOR)
    assert participant_of(session.record, "boss").visibility is Visibility.SUPERVISORS
