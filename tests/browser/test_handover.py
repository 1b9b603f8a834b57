"""Hand-over beyond the main journey: a consult cancelled before it is answered, a conference
by invitation, a member leaving, and a transfer to a queue. Only offered actions are shown."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from support.agents import ContactCenter
from support.server import RunningServer

from .desk import Contexts, choose_target, go_ready, send, sign_in, transcript

pytestmark = pytest.mark.slow


def test_cancel_consult_invite_leave_and_transfer_to_a_queue(
    server: RunningServer, cc: ContactCenter, contexts: Contexts
) -> None:
    alice = sign_in(contexts.page(), server, cc.agent_names[0])
    bob = sign_in(contexts.page(), server, cc.agent_names[1])
    go_ready(alice)
    customer = cc.customer_number()
    cc.sms(customer, "I need help")
    alice.get_by_role("region", name="Offers").get_by_role("button", name="Accept").click()
    expect(transcript(alice).get_by_role("listitem").filter(has_text="I need help")).to_have_count(1)
    # Alone with the customer: no agents-only notes, no Cancel consult.
    expect(alice.get_by_role("checkbox", name="Agents only")).to_be_disabled()
    expect(alice.get_by_role("button", name="Cancel consult")).to_have_count(0)

    # Each colleague is listed with their current state.
    bob_option = alice.get_by_role("combobox", name="To").locator("option", has_text=f"({cc.agent_names[1]})")
    expect(bob_option).to_contain_text("Not Ready")
    choose_target(alice, cc.agent_names[1])
    alice.get_by_role("button", name="Consult").click()
    bob_offers = bob.get_by_role("region", name="Offers")
    expect(bob_offers).to_contain_text(customer)
    # While the consult is pending the owner cannot start another hand-over, only cancel it.
    expect(alice.get_by_role("button", name="Transfer")).to_have_count(0)
    alice.get_by_role("button", name="Cancel consult").click()
    expect(bob_offers).to_have_count(0)
    expect(bob.get_by_role("status").filter(has_text="withdrawn")).to_contain_text("taken back")
    expect(alice.get_by_role("button", name="Transfer")).to_be_visible()

    choose_target(alice, cc.agent_names[1])
    alice.get_by_role("button", name="Invite").click()
    bob_offers.get_by_role("button", name="Accept").click()
    expect(transcript(bob).get_by_role("listitem").filter(has_text="I need help")).to_have_count(1)
    # A conference member is not the owner: no Transfer, Consult, Invite or Complete.
    for owner_only in ["Transfer", "Consult", "Invite", "Complete"]:
        expect(bob.get_by_role("button", name=owner_only, exact=True)).to_have_count(0)
    send(bob, "Bob here, joining to help")
    expect(transcript(alice).get_by_role("listitem").filter(has_text="Bob here")).to_be_visible()
    bob.get_by_role("button", name="Leave").click()
    expect(bob.get_by_role("list", name="Conversations").get_by_role("listitem")).to_have_count(0)
    expect(transcript(alice).get_by_role("listitem").filter(has_text="left")).to_have_count(1)

    # To a queue: the conversation leaves Alice and is routed again (here to Bob, now Ready).
    go_ready(bob)
    target = alice.get_by_role("combobox", name="To")
    target.select_option(value="queue:sms-queue")
    expect(alice.get_by_role("button", name="Consult")).to_be_disabled()
    alice.get_by_role("button", name="Transfer").click()
    expect(alice.get_by_role("list", name="Conversations").get_by_role("listitem")).to_have_count(0)
    expect(bob.get_by_role("region", name="Offers")).to_contain_text(customer)
