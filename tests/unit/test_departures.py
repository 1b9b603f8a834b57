"""Where each party's part ended is recorded the moment it ends, and what it may read is rebuilt from
that: the domain rules behind docs/gws-compatibility.md, "Former parties"."""

from __future__ import annotations

from builders import World, conference, fresh, offered, owned_by

from smsdesk.domain import need_to_know
from smsdesk.domain.model import Departure, MessageType, PartyState
from smsdesk.domain.userdata import UserDataLimits

LIMITS = UserDataLimits()


def test_a_rejected_offer_records_where_the_log_and_user_data_stood() -> None:
    world = World()
    session = offered(world, "alice")
    session.reject("alice")
    assert session.record.parties["alice"].departure == Departure(last_index=2, user_data_version=0)


def test_a_party_leaving_a_conference_may_read_its_own_participant_left() -> None:
    world = World()
    session = fresh(conference(world, "alice", "bob"))
    session.leave(world.ctx(), "bob")
    left = session.new_messages[0]
    assert left.type is MessageType.PARTICIPANT_LEFT
    assert session.record.parties["bob"].departure == Departure(left.index, session.record.user_data_version)


def test_wrap_up_is_not_a_departure_but_completing_it_is() -> None:
    world = World()
    session = owned_by(world, "alice")
    session.leave(world.ctx(), "alice")
    assert session.record.parties["alice"].state is PartyState.LEFT_CHAT
    assert session.record.parties["alice"].departure is None
    session = fresh(session)
    session.update_user_data({"Outcome": "sold"}, LIMITS, user_id="alice")
    session.complete(world.ctx(), "alice", None)
    assert session.record.parties["alice"].departure == Departure(session.record.last_index, 1)


def test_a_session_stored_without_departures_records_them_at_its_next_change() -> None:
    world = World()
    session = offered(world, "alice")
    session.reject("alice")
    record = session.record
    record.parties["alice"].departure = None  # as stored before departures were recorded
    later = fresh(session)
    later.update_user_data({"card": "4111"}, LIMITS, user_id=None)
    assert record.parties["alice"].departure == Departure(last_index=2, user_data_version=0)


def test_user_data_is_rewound_by_undoing_later_changes_newest_first() -> None:
    current = {"RTenant": "T1", "card": "4111", "topic": "refund"}
    # Later changes, newest first: card added (absent before), topic changed from "billing".
    before = need_to_know.user_data_before(current, [("card", None), ("topic", "billing")])
    assert before == {"RTenant": "T1", "topic": "billing"}
    assert current["card"] == "4111"  # today's user data is left as it is
