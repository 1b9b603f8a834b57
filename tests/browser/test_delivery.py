"""What the agent sees of the SMS itself: segments before sending, a failed delivery with the
carrier's reason, and a customer who opted out."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from support.agents import ContactCenter
from support.server import RunningServer

from .desk import Contexts, go_ready, send, sign_in, transcript

pytestmark = pytest.mark.slow


def chatting(page: Page, cc: ContactCenter, customer: str, first: str) -> None:
    go_ready(page)
    cc.sms(customer, first)
    offer = page.get_by_role("region", name="Offers")
    offer.get_by_role("button", name="Accept").click()
    expect(transcript(page).get_by_role("listitem").filter(has_text=first)).to_have_count(1)


def test_the_composer_counts_segments_like_the_server(
    server: RunningServer, cc: ContactCenter, contexts: Contexts
) -> None:
    page = sign_in(contexts.page(), server, cc.agent_names[0])
    chatting(page, cc, cc.customer_number(), "hello")
    box = page.get_by_role("textbox", name="Message", exact=True)
    for text in ["a" * 160, "a" * 161, "€" * 80, "é" * 71, "Merci 🙂", "你好" * 40]:
        box.fill(text)
        preview = httpx.get(
            server.base_url + "/api/v2/sms/preview",
            params={"text": text},
            auth=(cc.agent_names[0], "secret-pass"),
        ).json()
        expect(page.locator(".counter")).to_contain_text(
            f"{preview['encoding']} · {preview['segments']} SMS · {preview['units']}"
        )
    box.fill("It\u2019s on its way 🙂")  # a curly quote: the classic surprise
    expect(page.get_by_text("Sent as Unicode")).to_contain_text("because of: \u2019 🙂")
    # Shift+Enter is a new line, Enter sends.
    box.fill("first line")
    box.press("Shift+Enter")
    box.type("second line")
    expect(box).to_have_value("first line\nsecond line")
    box.press("Enter")
    expect(transcript(page).get_by_role("listitem").filter(has_text="second line")).to_have_count(1)


def test_a_failed_delivery_and_an_opt_out_are_shown_to_the_agent(
    server: RunningServer, cc: ContactCenter, contexts: Contexts
) -> None:
    page = sign_in(contexts.page(), server, cc.agent_names[0])
    customer = cc.customer_number()
    chatting(page, cc, customer, "my phone is flaky")
    httpx.post(server.base_url + "/simulator/handsets", json={"number": customer, "failure": "permanent"})
    send(page, "Can you read this?")
    sent = transcript(page).get_by_role("listitem").filter(has_text="Can you read this?")
    expect(sent).to_contain_text("Failed: simulated unreachable handset (code 30003)")
    httpx.post(server.base_url + "/simulator/handsets", json={"number": customer, "failure": "none"})

    cc.sms(customer, "STOP")
    box = page.get_by_role("textbox", name="Message", exact=True)
    expect(box).to_be_disabled()
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_disabled()
    expect(page.get_by_role("status").filter(has_text="opted out")).to_contain_text("START")
    expect(page.get_by_role("list", name="Conversations")).to_contain_text("no SMS")

    cc.sms(customer, "START")
    expect(box).to_be_enabled()
    send(page, "Welcome back")
    expect(transcript(page).get_by_role("listitem").filter(has_text="Welcome back")).to_contain_text(
        "Delivered"
    )


def test_several_conversations_with_unread_counts(
    server: RunningServer, cc: ContactCenter, contexts: Contexts
) -> None:
    page = sign_in(contexts.page(), server, cc.agent_names[0])
    first, second = cc.customer_number(), cc.customer_number()
    chatting(page, cc, first, "first customer here")
    cc.sms(second, "second customer here")
    page.get_by_role("region", name="Offers").get_by_role("button", name="Accept").click()
    expect(transcript(page).get_by_role("listitem").filter(has_text="second customer here")).to_have_count(1)
    conversations = page.get_by_role("list", name="Conversations").get_by_role("listitem")
    expect(conversations).to_have_count(2)
    cc.sms(first, "are you still there?")
    cc.sms(first, "hello??")
    expect(conversations.filter(has_text=first)).to_contain_text("2 unread")
    expect(conversations.filter(has_text=second)).not_to_contain_text("unread")
    conversations.filter(has_text=first).get_by_role("button").click()
    expect(transcript(page).get_by_role("listitem").filter(has_text="hello??")).to_have_count(1)
    expect(conversations.filter(has_text=first)).not_to_contain_text("unread")
