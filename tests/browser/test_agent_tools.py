"""What agents use every hour, in the desktop: the customer's history beside the conversation,
standard responses, starting a conversation, automatic replies (seen on the handset page), system
notifications for offers on a hidden tab, and user data that keeps the server's keys apart."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Page, expect

from support.agents import ContactCenter, create_supervisor
from support.server import RunningServer

from .desk import (
    Contexts,
    go_ready,
    open_handset,
    screenshot,
    serious_violations,
    sign_in,
    text_from_handset,
    transcript,
)

pytestmark = pytest.mark.slow
T = TypeVar("T")


def off_the_loop(work: Callable[[], T]) -> T:
    """Run ``work`` in a thread: sync Playwright keeps an event loop running on this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def queue_setup(cc: ContactCenter, work: Callable[[Any, str], Any]) -> None:
    """Change the contact center's queue as `smsdesk queues hours|replies` would (same database)."""
    from smsdesk.config import Settings
    from smsdesk.gws.representation import Urls
    from smsdesk.node import open_store, operation_settings
    from smsdesk.operations.services import Services

    def run() -> None:
        settings = Settings(database_url=cc.server.database_url)
        store = open_store(settings)
        services = Services(store, Urls(cc.server.base_url), operation_settings(settings))
        asyncio.run(work(services, cc.tenant))
        store.close()

    off_the_loop(run)


def accept_offer(page: Page, text: str) -> None:
    offer = page.get_by_role("region", name="Offers")
    expect(offer).to_contain_text(text)
    offer.get_by_role("button", name="Accept").click()
    expect(transcript(page).get_by_role("listitem").filter(has_text=text)).to_have_count(1)


def test_the_customer_history_is_beside_the_conversation(
    server: RunningServer, cc: ContactCenter, contexts: Contexts, tmp_path: Path
) -> None:
    customer = cc.customer_number()

    def earlier_conversation() -> None:
        bob = cc.agent(1).listen().log_in()
        cc.sms(customer, "My parcel never came")
        session_id = bob.wait_invited()["id"]
        bob.op(session_id, "Accept", nickname="Bob")
        bob.op(session_id, "SendMessage", text="A new one leaves today, sorry!")
        bob.op(session_id, "SetDisposition", disposition="Resolved")
        bob.op(session_id, "Complete")
        bob.post("/api/v2/me/channels/smssession", operationName="NotReady")

    off_the_loop(earlier_conversation)
    page = sign_in(contexts.page(bypass_csp=True), server, cc.agent_names[0])
    go_ready(page)
    cc.sms(customer, "Hello again, it is me")
    accept_offer(page, "Hello again, it is me")

    history = page.get_by_role("region", name="Customer history")
    earlier = history.get_by_role("button", name=re.compile("Resolved"))
    expect(earlier).to_have_count(1)
    expect(earlier).to_contain_text(cc.agent_names[1])
    expect(earlier).to_have_attribute("aria-expanded", "false")
    earlier.click()
    expect(earlier).to_have_attribute("aria-expanded", "true")
    old = history.get_by_role("list", name=re.compile("^Transcript of"))
    expect(old).to_contain_text("My parcel never came")
    expect(old).to_contain_text("A new one leaves today, sorry!")
    # The live conversation's transcript keeps its width beside the panel.
    width = transcript(page).evaluate("element => element.getBoundingClientRect().width")
    assert width > 560, width
    assert serious_violations(page) == []
    screenshot(page, "desktop-history", tmp_path)
    earlier.click()
    expect(old).to_have_count(0)


def test_picking_a_standard_response_fills_it_for_the_conversation(
    server: RunningServer, cc: ContactCenter, contexts: Contexts, tmp_path: Path
) -> None:
    def responses() -> None:
        boss = create_supervisor(cc)
        boss.post(
            "/api/v2/standard-responses",
            name="Order shipped",
            category="Orders",
            text="Hi, {{agent.nickname}} here: order {{userData.OrderNumber}} ships today.",
        )
        boss.post(
            "/api/v2/standard-responses", name="Greeting", category="General", text="Hello! How can I help?"
        )
        boss.post(
            "/api/v2/standard-responses", name="Goodbye", category="General", text="Thanks for texting us."
        )

    off_the_loop(responses)
    page = sign_in(contexts.page(bypass_csp=True), server, cc.agent_names[0])
    go_ready(page)
    customer = cc.customer_number()
    handset = open_handset(contexts.page({"width": 390, "height": 844}), cc, customer)
    text_from_handset(handset, "Has my order shipped?")
    accept_offer(page, "Has my order shipped?")

    # "/" in the empty Message box opens the search, focused.
    box = page.get_by_role("textbox", name="Message", exact=True)
    box.press("/")
    picker = page.get_by_role("dialog", name="Standard responses")
    search = picker.get_by_role("searchbox", name="Search standard responses")
    expect(search).to_be_focused()
    expect(picker.get_by_role("button")).to_have_count(3)
    search.fill("order")
    expect(picker.get_by_role("button")).to_have_count(1)
    picker.get_by_role("button", name=re.compile("Order shipped")).click()
    # No order number yet: the picker says which placeholder has no value, the box stays empty.
    expect(picker.get_by_role("alert")).to_contain_text("{{userData.OrderNumber}}")
    expect(box).to_have_value("")
    search.press("Escape")
    expect(picker).to_have_count(0)
    expect(box).to_be_focused()

    data = page.get_by_role("region", name="User data")
    data.get_by_role("textbox", name="New key").fill("OrderNumber")
    data.get_by_role("textbox", name="New value").fill("A-1234")
    data.get_by_role("button", name="Add key").click()
    expect(data.get_by_role("rowheader", name="OrderNumber", exact=True)).to_have_count(1)

    page.get_by_role("button", name="Standard responses").click()
    search.fill("ship")
    expect(picker.get_by_role("button", name=re.compile("order A-1234 ships today"))).to_have_count(1)
    screenshot(page, "desktop-standard-responses", tmp_path)
    assert serious_violations(page) == []
    search.press("Enter")  # takes the first match
    # The desktop accepts with the agent's first name as nickname (the user name, for these agents).
    expect(box).to_have_value(f"Hi, {cc.agent_names[0]} here: order A-1234 ships today.")
    box.press("End")
    box.type(" Tracking follows.")
    box.press("Enter")
    sent = f"Hi, {cc.agent_names[0]} here: order A-1234 ships today. Tracking follows."
    expect(transcript(page).get_by_role("listitem").filter(has_text=sent)).to_have_count(1)
    expect(handset.get_by_role("log", name="Messages")).to_contain_text(sent)


def test_the_server_keys_of_user_data_stand_apart_and_keys_never_break(
    server: RunningServer, cc: ContactCenter, contexts: Contexts
) -> None:
    page = sign_in(contexts.page(), server, cc.agent_names[0])
    go_ready(page)
    cc.sms(cc.customer_number(), "About my account")
    accept_offer(page, "About my account")
    data = page.get_by_role("region", name="User data")
    server_keys = data.get_by_role("table", name="Set by the server")
    for key in ("CustomerNumber", "MediaType", "Origination", "RTenant", "ServiceNumber"):
        expect(server_keys.get_by_role("rowheader", name=key, exact=True)).to_have_count(1)
    expect(data.get_by_role("button", name="Delete CustomerNumber")).to_have_count(0)
    expect(data.get_by_role("button", name="Edit CustomerNumber")).to_have_count(0)
    data.get_by_role("textbox", name="New key").fill("ServiceNumberOfTheCustomersPreferredStoreBranch")
    data.get_by_role("textbox", name="New value").fill("Lyon")
    data.get_by_role("button", name="Add key").click()
    long_key = data.get_by_role(
        "rowheader", name="ServiceNumberOfTheCustomersPreferredStoreBranch", exact=True
    )
    expect(long_key).to_have_count(1)
    # Every key is one line: the usual ones fit whole, a long one is cut (never broken inside a word).
    lines = data.locator(".key").evaluate_all(
        "keys => keys.map(k => [k.textContent, Math.round(k.getBoundingClientRect().height), k.scrollWidth <= k.clientWidth])"
    )
    heights = {height for _, height, _ in lines}
    assert len(heights) == 1, lines
    fits = {name: whole for name, _, whole in lines}
    assert fits["CustomerNumber"] and fits["ServiceNumber"] and fits["Origination"], lines
    assert not fits["ServiceNumberOfTheCustomersPreferredStoreBranch"], lines
    data.get_by_role("button", name="Edit server-set keys").click()
    expect(data.get_by_role("button", name="Delete CustomerNumber")).to_have_count(1)


def test_an_agent_starts_a_conversation_from_the_desktop(
    server: RunningServer, cc: ContactCenter, contexts: Contexts, tmp_path: Path
) -> None:
    page = sign_in(contexts.page(bypass_csp=True), server, cc.agent_names[0])
    customer = cc.customer_number()
    page.get_by_role("button", name="New conversation").click()
    form = page.get_by_role("form", name="New conversation")
    expect(form.get_by_role("textbox", name="Phone number")).to_be_focused()
    form.get_by_role("textbox", name="Phone number").fill("555")
    form.get_by_role("textbox", name="First message").fill("Your parcel is ready")
    form.get_by_role("button", name="Start conversation").click()
    expect(form.get_by_role("alert")).to_contain_text("E.164")
    # Written as people write numbers: spaces and dashes are fine.
    spaced = f"{customer[:2]} {customer[2:5]}-{customer[5:8]} {customer[8:]}"
    form.get_by_role("textbox", name="Phone number").fill(spaced)
    screenshot(page, "desktop-new-conversation", tmp_path)
    assert serious_violations(page) == []
    form.get_by_role("button", name="Start conversation").click()
    expect(form).to_have_count(0)
    conversations = page.get_by_role("list", name="Conversations")
    expect(conversations.get_by_role("listitem")).to_contain_text(customer)
    expect(transcript(page).get_by_role("listitem").filter(has_text="Your parcel is ready")).to_contain_text(
        "Delivered"
    )
    expect(page.get_by_role("textbox", name="Message", exact=True)).to_be_focused()
    handset = open_handset(contexts.page({"width": 390, "height": 844}), cc, customer)
    expect(handset.get_by_role("log", name="Messages")).to_contain_text("Your parcel is ready")
    text_from_handset(handset, "Great, on my way")
    expect(transcript(page).get_by_role("listitem").filter(has_text="Great, on my way")).to_have_count(1)


def test_an_automatic_reply_reaches_the_handset_and_the_transcript(
    server: RunningServer, cc: ContactCenter, contexts: Contexts, tmp_path: Path
) -> None:
    from smsdesk.operations import opening_hours

    today = datetime.now(UTC).date()

    async def close_queue(services: Any, tenant: str) -> None:
        await opening_hours.set_hours(
            services,
            tenant,
            cc.queue,
            "UTC",
            "daily 00:00-24:00",
            [today.isoformat(), (today + timedelta(days=1)).isoformat()],
        )
        await opening_hours.set_replies(
            services, tenant, cc.queue, "We are closed. We open {{queue.opensAt}} (UTC).", None, None
        )

    queue_setup(cc, close_queue)
    page = sign_in(contexts.page(), server, cc.agent_names[0])
    go_ready(page)
    customer = cc.customer_number()
    handset = open_handset(contexts.page({"width": 390, "height": 844}, bypass_csp=True), cc, customer)
    text_from_handset(handset, "Are you open at this hour?")
    reply = f"We are closed. We open on {(today + timedelta(days=2)).strftime('%A')} at 00:00 (UTC)."
    messages = handset.get_by_role("log", name="Messages")
    expect(messages).to_contain_text(reply)
    # In the order they happened: the customer's text, then the reply to it.
    expect(messages.get_by_role("listitem")).to_have_text(
        [re.compile("Are you open at this hour"), re.compile("We are closed")]
    )
    assert serious_violations(handset) == []
    screenshot(handset, "handset-automatic-reply", tmp_path)
    expect(page.get_by_role("region", name="Offers")).to_have_count(0)

    async def open_queue(services: Any, tenant: str) -> None:
        await opening_hours.clear_hours(services, tenant, cc.queue)

    queue_setup(cc, open_queue)  # a running server follows within seconds
    accept_offer(page, "Are you open at this hour?")
    automatic = transcript(page).get_by_role("listitem").filter(has_text=reply)
    expect(automatic).to_contain_text("Automatic reply (closed)")
    expect(automatic).to_contain_text("Delivered")


def test_an_offer_on_a_hidden_tab_raises_a_system_notification(
    server: RunningServer, cc: ContactCenter, contexts: Contexts
) -> None:
    page = contexts.page()
    # A stand-in for the browser's Notification API that records what the desktop shows, and a
    # tab the desktop believes hidden (headless Chromium has neither a notification centre nor tabs).
    page.add_init_script(
        """
        window.shown = [];
        window.asked = 0;
        class FakeNotification {
            static permission = "default";
            static async requestPermission() { window.asked += 1; FakeNotification.permission = "granted"; return "granted"; }
            constructor(title, options) { window.shown.push({title, body: options?.body}); }
            close() {}
        }
        window.Notification = FakeNotification;
        """
    )
    sign_in(page, server, cc.agent_names[0])
    go_ready(page)
    assert page.evaluate("window.asked") == 0  # never asked at load
    page.get_by_role("button", name="Enable notifications").click()
    expect(page.get_by_role("button", name="Enable notifications")).to_have_count(0)
    assert page.evaluate("window.asked") == 1
    page.evaluate(
        "Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    customer = cc.customer_number()
    cc.sms(customer, "Is anybody there?")
    for _ in range(300):  # (wait_for_function evaluates a string: the desktop's CSP forbids that)
        if page.evaluate("window.shown.length") > 0:
            break
        page.wait_for_timeout(50)
    shown = page.evaluate("window.shown")
    assert shown == [{"title": f"Incoming SMS from {customer}", "body": "Is anybody there?"}]
    expect(page).to_have_title(re.compile(r"^\(1 offer\) smsdesk"))
