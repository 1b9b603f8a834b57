"""Keyboard only, two screen sizes, and axe-core: no serious or critical violations."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from support.agents import ContactCenter
from support.server import RunningServer

from .desk import (
    AXE,
    PHONE_SIZE,
    Contexts,
    go_ready,
    open_handset,
    screenshot,
    send,
    serious_violations,
    sign_in,
    transcript,
)

pytestmark = pytest.mark.slow


def tab_to(page: Page, target: Locator, limit: int = 80) -> None:
    """Press Tab (only Tab) until ``target`` has the focus."""
    expect(target).to_be_visible()
    for _ in range(limit):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{target} never got the focus with Tab")


def test_a_whole_conversation_with_the_keyboard_only(
    server: RunningServer, cc: ContactCenter, contexts: Contexts
) -> None:
    page = contexts.page()
    page.goto(server.base_url + "/")
    tab_to(page, page.get_by_role("textbox", name="User name"))
    page.keyboard.type(cc.agent_names[0])
    page.keyboard.press("Tab")
    page.keyboard.type("secret-pass")
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    tab_to(page, page.get_by_role("button", name="Ready", exact=True))
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Ready", exact=True)).to_have_attribute("aria-pressed", "true")
    customer = cc.customer_number()
    cc.sms(customer, "typing with keys only")
    tab_to(page, page.get_by_role("button", name="Accept"))
    page.keyboard.press("Enter")
    expect(transcript(page).get_by_role("listitem").filter(has_text="typing with keys only")).to_have_count(1)

    # Accepting puts the focus in the composer.
    expect(page.get_by_role("textbox", name="Message", exact=True)).to_be_focused()
    page.keyboard.type("Answered without a mouse")
    page.keyboard.press("Enter")
    expect(transcript(page).get_by_role("listitem").filter(has_text="without a mouse")).to_have_count(1)
    assert [m["text"] for m in cc.handset(customer)] in ([], ["Answered without a mouse"])

    tab_to(page, page.get_by_role("combobox", name="Disposition"))
    page.keyboard.press("ArrowDown")  # the next disposition
    tab_to(page, page.get_by_role("button", name="Set disposition"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("region", name="User data")).to_contain_text("Follow-up needed")
    tab_to(page, page.get_by_role("button", name="Complete"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("list", name="Conversations").get_by_role("listitem")).to_have_count(0)
    tab_to(page, page.get_by_role("button", name="Sign out"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_no_serious_accessibility_violations(
    server: RunningServer, cc: ContactCenter, contexts: Contexts, size: str, tmp_path: Path
) -> None:
    assert AXE.exists(), "run `make browser-deps` (npm ci in web/)"
    viewport = PHONE_SIZE if size == "phone" else None
    page = contexts.page(viewport, bypass_csp=True)  # only so that axe-core can be injected
    page.goto(server.base_url + "/")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert serious_violations(page) == []

    sign_in(page, server, cc.agent_names[0])
    go_ready(page)
    first, second = cc.customer_number(), cc.customer_number()
    cc.sms(first, "Where is my order 1234?")
    page.get_by_role("region", name="Offers").get_by_role("button", name="Accept").click()
    send(page, "Let me look it up.")
    cc.sms(first, "Thanks!")
    cc.sms(second, "Hello?")  # a second conversation rings while the first is open
    expect(page.get_by_role("region", name="Offers")).to_contain_text("Hello?")
    expect(transcript(page).get_by_role("listitem").filter(has_text="Thanks!")).to_have_count(1)
    assert serious_violations(page) == []
    screenshot(page, "desktop-phone" if size == "phone" else "desktop-offer", tmp_path)

    handset = open_handset(contexts.page(viewport or PHONE_SIZE, bypass_csp=True), cc, first)
    expect(handset.get_by_role("log", name="Messages")).to_contain_text("Let me look it up.")
    assert serious_violations(handset) == []
