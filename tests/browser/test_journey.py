"""Two agents in two browsers and a customer on the handset page, through a whole conversation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, Route, expect

from support.agents import PASSWORD, ContactCenter
from support.server import RunningServer

from .desk import (
    Contexts,
    add_user,
    choose_target,
    go_ready,
    open_handset,
    screenshot,
    send,
    sign_in,
    text_from_handset,
    transcript,
)

pytestmark = pytest.mark.slow


def user_data_row(page: Page, key: str) -> Locator:
    return (
        page.get_by_role("region", name="User data")
        .get_by_role("row")
        .filter(has=page.get_by_role("rowheader", name=key, exact=True))
    )


def test_sign_in_refuses_a_wrong_password_and_a_non_agent(
    server: RunningServer, cc: ContactCenter, contexts: Contexts
) -> None:
    page = contexts.page()
    page.goto(server.base_url + "/")
    assert page.url.endswith("/desktop/")
    page.get_by_role("textbox", name="User name").fill(cc.agent_names[0])
    page.get_by_role("textbox", name="Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong user name or password.")

    add_user(server, f"{cc.tenant}-admin", "admin", cc.tenant)
    sign_in_attempt = page.get_by_role("textbox", name="User name")
    sign_in_attempt.fill(f"{cc.tenant}-admin")
    page.get_by_role("textbox", name="Password").fill("secret-pass")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("is not an agent")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

    sign_in(page, server, cc.agent_names[0])
    # The password is never kept in the browser's storage.
    stored = page.evaluate("JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage})")
    assert "secret-pass" not in stored
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_the_state_buttons_wait_until_the_channel_state_is_read(
    server: RunningServer, cc: ContactCenter, contexts: Contexts
) -> None:
    # A Ready clicked before the desktop's own StartContactCenterSession would be refused (or undone
    # by it): hold the desktop's first read of the channels and the buttons must not be usable yet.
    page = contexts.page()
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route("**/api/v2/me/channels", hold)
    page.goto(server.base_url + "/")
    page.get_by_role("textbox", name="User name").fill(cc.agent_names[1])
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    with page.expect_request("**/api/v2/me/channels"):
        page.get_by_role("button", name="Sign in").click()
    for _ in range(100):  # the route handler runs while Playwright waits on this thread
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the desktop reads its channels after sign-in"
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_role("button", name="Ready", exact=True)).to_be_disabled()
    expect(page.get_by_role("button", name="Not Ready", exact=True)).to_be_disabled()
    for route in held:
        route.continue_()
    page.unroute("**/api/v2/me/channels")
    go_ready(page)
    expect(page.get_by_role("button", name="Not Ready", exact=True)).to_be_enabled()
    page.get_by_role("button", name="Not Ready", exact=True).click()
    expect(page.get_by_role("button", name="Not Ready", exact=True)).to_have_attribute("aria-pressed", "true")


def test_the_whole_journey_with_two_agents_and_a_customer(
    server: RunningServer, cc: ContactCenter, contexts: Contexts, tmp_path: Path
) -> None:
    alice = sign_in(contexts.page(), server, cc.agent_names[0])
    bob = sign_in(contexts.page(), server, cc.agent_names[1])
    customer = cc.customer_number()
    handset = open_handset(contexts.page({"width": 390, "height": 844}), cc, customer)
    # Both start Not Ready (nothing is offered before the agent says so); only Alice takes work.
    expect(bob.get_by_role("button", name="Not Ready")).to_have_attribute("aria-pressed", "true")
    go_ready(alice)
    mute = alice.get_by_role("button", name="Mute ringing")
    mute.click()
    expect(mute).to_have_attribute("aria-pressed", "true")
    mute.click()
    expect(mute).to_have_attribute("aria-pressed", "false")

    # The offer rings with the customer's number, first message and a countdown.
    text_from_handset(handset, "Hi, my parcel has not arrived")
    offer = alice.get_by_role("region", name="Offers")
    expect(offer).to_contain_text(customer)
    expect(offer).to_contain_text("Hi, my parcel has not arrived")
    expect(offer).to_contain_text(re.compile(r"\d+ s to answer"))
    offer.get_by_role("button", name="Accept").click()
    expect(offer).to_have_count(0)
    conversations = alice.get_by_role("list", name="Conversations")
    expect(conversations.get_by_role("listitem")).to_have_count(1)
    expect(conversations.get_by_role("listitem")).to_contain_text(customer)
    expect(
        transcript(alice).get_by_role("listitem").filter(has_text="Hi, my parcel has not arrived")
    ).to_have_count(1)

    # Chat both ways; the agent sees the delivery status of what they sent.
    send(alice, "Hello! Let me check your order.")
    messages = handset.get_by_role("log", name="Messages")
    expect(messages).to_contain_text("Hello! Let me check your order.")
    expect(transcript(alice).get_by_role("listitem").filter(has_text="Let me check")).to_contain_text(
        "Delivered"
    )
    text_from_handset(handset, "Order 1234")
    expect(transcript(alice).get_by_role("listitem").filter(has_text="Order 1234")).to_have_count(1)
    alice.get_by_role("textbox", name="Link to send").fill("https://example.com/track/1234")
    alice.get_by_role("button", name="Send link").click()
    expect(messages).to_contain_text("https://example.com/track/1234")

    # User data: a number stays a number.
    data = alice.get_by_role("region", name="User data")
    data.get_by_role("textbox", name="New key").fill("OrderNumber")
    data.get_by_role("textbox", name="New value").fill("1234")
    data.get_by_role("combobox", name="New value type").select_option("number")
    data.get_by_role("button", name="Add key").click()
    expect(user_data_row(alice, "OrderNumber")).to_contain_text("number")

    # Consult Bob: he sees the conversation and the user data; then an edit by Alice reaches him live.
    choose_target(alice, cc.agent_names[1])
    alice.get_by_role("button", name="Consult").click()
    bob_offer = bob.get_by_role("region", name="Offers")
    expect(bob_offer).to_contain_text(f"asks to consult you about {customer}")
    bob_offer.get_by_role("button", name="Accept").click()
    expect(transcript(bob).get_by_role("listitem").filter(has_text="Order 1234")).to_have_count(1)
    expect(user_data_row(bob, "OrderNumber")).to_contain_text("1234")
    user_data_row(alice, "OrderNumber").get_by_role("button", name="Edit OrderNumber").click()
    alice.get_by_role("textbox", name="Value of OrderNumber").fill("5678")
    alice.get_by_role("button", name="Save").click()
    expect(user_data_row(bob, "OrderNumber")).to_contain_text("5678")
    expect(user_data_row(bob, "OrderNumber")).to_contain_text("number")

    # Deleting a key is seen live too.
    data.get_by_role("textbox", name="New key").fill("Scratch")
    data.get_by_role("textbox", name="New value").fill("to be removed")
    data.get_by_role("button", name="Add key").click()
    expect(user_data_row(bob, "Scratch")).to_contain_text("string")
    user_data_row(bob, "Scratch").get_by_role("button", name="Delete Scratch").click()
    expect(user_data_row(alice, "Scratch")).to_have_count(0)

    # Agents-only notes: Alice's (in agents-only mode) and Bob's (a consultant never reaches the customer).
    alice.get_by_role("checkbox", name="Agents only").check()
    send(alice, "Note: VIP customer, refund allowed")
    expect(transcript(bob).get_by_role("listitem").filter(has_text="VIP customer")).to_contain_text(
        "agents only"
    )
    bob.get_by_role("textbox", name="Message", exact=True).fill("Refund")
    expect(alice.get_by_text(f"{cc.agent_names[1]} is typing")).to_be_visible()
    send(bob, "Refund approved from my side")
    expect(alice.get_by_text(f"{cc.agent_names[1]} is typing")).to_have_count(0)
    expect(transcript(alice).get_by_role("listitem").filter(has_text="Refund approved")).to_contain_text(
        "agents only"
    )
    alice.get_by_role("checkbox", name="Agents only").uncheck()
    screenshot(alice, "desktop-conversation", tmp_path)

    # Transfer to the consultant: Bob owns the conversation, Alice's ends.
    choose_target(alice, cc.agent_names[1])
    alice.get_by_role("button", name="Transfer").click()
    expect(alice.get_by_role("list", name="Conversations").get_by_role("listitem")).to_have_count(0)
    expect(alice.get_by_role("status").filter(has_text="was transferred")).to_contain_text(customer)
    expect(bob.get_by_role("button", name="Complete")).to_be_visible()
    send(bob, "Your refund is on its way.")
    expect(messages).to_contain_text("Your refund is on its way.")
    bob.get_by_role("combobox", name="Disposition").select_option("Resolved")
    bob.get_by_role("button", name="Set disposition").click()
    expect(user_data_row(bob, "DispositionCode")).to_contain_text("Resolved")
    screenshot(handset, "handset", tmp_path)
    bob.get_by_role("button", name="Complete").click()
    expect(bob.get_by_role("list", name="Conversations").get_by_role("listitem")).to_have_count(0)

    # The customer's phone got exactly what was meant for it, never the agents' notes.
    received = [m["text"] for m in cc.handset(customer)]
    assert received == [
        "Hello! Let me check your order.",
        "https://example.com/track/1234",
        "Your refund is on its way.",
    ]
    expect(messages.get_by_role("listitem")).to_have_count(5)


def test_an_unanswered_offer_is_withdrawn_with_a_reason(
    server: RunningServer, cc: ContactCenter, contexts: Contexts
) -> None:
    alice = sign_in(contexts.page(), server, cc.agent_names[0])
    go_ready(alice)
    customer = cc.customer_number()
    cc.sms(customer, "anyone there?")
    offer = alice.get_by_role("region", name="Offers")
    expect(offer).to_contain_text("anyone there?")
    # The countdown runs on the server's clock (timesync), from the 8 s offer timeout down.
    expect(offer).to_contain_text(re.compile(r"\b[1-8] s to answer"))
    # Not Ready now: once revoked, the offer is not routed back to this desktop.
    alice.get_by_role("button", name="Not Ready").click()
    expect(alice.get_by_role("status").filter(has_text="withdrawn")).to_contain_text(
        f"The offer from {customer} was withdrawn: it was not answered in time", timeout=20_000
    )
    expect(offer).to_have_count(0)
    expect(alice.get_by_role("list", name="Conversations").get_by_role("listitem")).to_have_count(0)
