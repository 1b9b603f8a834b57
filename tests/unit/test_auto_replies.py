"""The session's side of automatic replies and standard responses: once per conversation, never to
an opted-out customer, sent like an agent's message, counted; SendStandardResponse needs SendMessage."""

from __future__ import annotations

from builders import World, fresh, inbound

from smsdesk.domain.capabilities import capability_for_operation
from smsdesk.domain.model import CustomerSmsRequested, MessagesAdded, Phase, Visibility
from smsdesk.domain.statistics import FactKind, session_facts


def test_an_automatic_reply_goes_once_per_conversation_and_is_a_fact() -> None:
    world = World()
    session = fresh(inbound(world))
    entry = session.auto_reply(world.ctx(), "closed", "We are closed.")
    assert entry is not None and entry.auto_reply == "closed"
    assert entry.sender.type == "External" and entry.visibility is Visibility.ALL
    assert [type(e) for e in session.effects] == [MessagesAdded, CustomerSmsRequested]
    assert session.effects[1] == CustomerSmsRequested(entry.index, "We are closed.")
    facts = session_facts(session.loaded, session.record, world.now_ms)
    assert [f.kind for f in facts] == [FactKind.CLOSED_REPLY]

    again = fresh(session)
    assert again.auto_reply(world.ctx(), "closed", "We are closed.") is None
    assert again.effects == [] and session_facts(again.loaded, again.record, world.now_ms) == []
    assert again.auto_reply(world.ctx(), "waiting", "Thanks for waiting.") is not None


def test_no_automatic_reply_to_a_customer_who_opted_out() -> None:
    world = World()
    session = fresh(inbound(world))
    session.set_customer_reachable(False)
    session = fresh(session)
    assert session.auto_reply(world.ctx(), "closed", "We are closed.") is None
    assert session.effects == [] and session.record.auto_replies == []


def test_ending_a_session_records_when() -> None:
    world = World()
    session = fresh(inbound(world))
    world.advance(5_000)
    session.close_unanswered(world.ctx())
    assert session.record.phase is Phase.DONE and session.record.completed_ms == world.now_ms
    assert not session.record.customer_present


def test_send_standard_response_is_allowed_exactly_with_send_message() -> None:
    assert capability_for_operation("SendStandardResponse") == "SendMessage"
    assert capability_for_operation("SendMessage") == "SendMessage"
    assert capability_for_operation("InFocus") == "SetInFocus"
