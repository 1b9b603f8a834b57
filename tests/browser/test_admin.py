"""The administration pages at /admin/, as an administrator uses them: by role and accessible name,
with the keyboard alone, and axe-clean."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from support.administration import create_admin
from support.agents import PASSWORD, ContactCenter
from support.server import RunningServer

from .desk import Contexts, screenshot, serious_violations
from .test_accessibility import tab_to

pytestmark = pytest.mark.slow


def sign_in_admin(page: Page, server: RunningServer, user_name: str) -> None:
    page.goto(server.base_url + "/admin/")
    page.get_by_role("textbox", name="User name").fill(user_name)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()


def users_table(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("table")


def test_an_administrator_manages_users_queues_numbers_and_reads_the_audit_log(
    server: RunningServer, cc: ContactCenter, contexts: Contexts, tmp_path: Path
) -> None:
    admin = create_admin(cc)
    page = contexts.page(bypass_csp=True)  # only so that axe-core can be injected
    page.goto(server.base_url + "/admin/")
    expect(page.get_by_role("heading", name="smsdesk administration")).to_be_visible()
    assert serious_violations(page) == []
    sign_in_admin(page, server, admin.user_name)
    expect(page.get_by_role("row", name=cc.agent_names[0])).to_be_visible()
    assert serious_violations(page) == []

    # A queue first, then a user who serves it.
    page.get_by_role("button", name="Queues").click()
    page.get_by_role("textbox", name="New queue").fill("returns")
    page.get_by_role("button", name="Add queue").click()
    expect(page.get_by_role("status")).to_have_text("Queue returns added.")
    expect(page.get_by_role("row", name="returns")).to_be_visible()
    assert serious_violations(page) == []

    page.get_by_role("button", name="Users").click()
    page.get_by_role("button", name="Add user").click()
    new = f"{cc.tenant}-dana"
    page.get_by_role("textbox", name="User name").fill(new)
    page.get_by_role("textbox", name="First name").fill("Dana")
    page.get_by_role("textbox", name="Password", exact=True).fill("dana-password")
    page.get_by_role("group", name="Queues served").get_by_role("checkbox", name="returns").check()
    assert serious_violations(page) == []
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("status")).to_have_text(f"User {new} added.")
    row = page.get_by_role("row", name=new)
    expect(row).to_contain_text("Agent")
    expect(row).to_contain_text("returns")

    # Make Dana a supervisor, reset her password, then disable her.
    page.get_by_role("button", name=f"Edit {new}").click()
    page.get_by_role("group", name="Roles").get_by_role("checkbox", name="Supervisor").check()
    page.get_by_role("textbox", name="New password (leave empty to keep the current one)").fill(
        "another-password"
    )
    page.get_by_role("checkbox", name="Enabled (a disabled user is signed out everywhere)").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text(f"User {new} saved.")
    expect(row).to_contain_text("Agent, Supervisor")
    expect(row).to_contain_text("Disabled")

    # A refusal is shown as the server said it.
    page.get_by_role("button", name="Add user").click()
    page.get_by_role("textbox", name="User name").fill(new)
    page.get_by_role("textbox", name="Password", exact=True).fill("short")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("alert")).to_contain_text("at least 8 characters")
    page.get_by_role("button", name="Cancel").click()

    # Delete, with a confirmation in the page.
    page.get_by_role("button", name=f"Edit {new}").click()
    page.get_by_role("button", name="Delete user").click()
    page.get_by_role("group", name="Confirm deletion").get_by_role("button", name=f"Delete {new}").click()
    expect(page.get_by_role("status")).to_have_text(f"User {new} deleted.")
    expect(page.get_by_role("row", name=new)).to_have_count(0)

    # A service number routed to the new queue.
    page.get_by_role("button", name="Service numbers").click()
    number = f"+1666{server.port:05d}77"
    page.get_by_role("textbox", name="New number").fill(number)
    page.get_by_role("combobox", name="Queue", exact=True).select_option("returns")
    page.get_by_role("button", name="Add number").click()
    expect(page.get_by_role("status")).to_have_text(f"Service number {number} added.")
    expect(page.get_by_role("combobox", name=f"Queue of {number}")).to_have_value("returns")
    assert serious_violations(page) == []

    # The contact center's retention.
    page.get_by_role("button", name="Customer data").click()
    page.get_by_role("checkbox", name="Keep them for ever").uncheck()
    page.get_by_role("spinbutton", name="Keep finished conversations (days)").fill("90")
    page.get_by_role("button", name="Save retention").click()
    expect(page.get_by_role("status")).to_have_text("Finished conversations are kept 90 days.")
    assert serious_violations(page) == []

    # Everything above, in the audit log, newest first.
    page.get_by_role("button", name="Audit log").click()
    actions = page.get_by_role("table").get_by_role("rowheader")
    expect(actions.first).to_have_text("contactCenter.update")
    expect(page.get_by_role("table")).to_contain_text("user.delete")
    expect(page.get_by_role("table")).to_contain_text("user.disable")
    expect(page.get_by_role("table")).not_to_contain_text("another-password")
    assert serious_violations(page) == []
    screenshot(page, "admin-audit", tmp_path)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_an_administrator_adds_edits_and_deletes_standard_responses(
    server: RunningServer, cc: ContactCenter, contexts: Contexts
) -> None:
    admin = create_admin(cc)
    page = contexts.page(bypass_csp=True)  # only so that axe-core can be injected
    sign_in_admin(page, server, admin.user_name)
    page.get_by_role("button", name="Standard responses").click()
    expect(page.get_by_role("heading", name="Standard responses")).to_be_visible()
    assert serious_violations(page) == []

    # Added with the keyboard alone.
    tab_to(page, page.get_by_role("button", name="Add standard response"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("textbox", name="Name")).to_be_focused()
    page.keyboard.type("Greeting")
    tab_to(page, page.get_by_role("combobox", name="Category"))
    page.keyboard.type("Openers")
    tab_to(page, page.get_by_role("textbox", name="Text"))
    page.keyboard.type("Hello, this is {{agent.firstName}}. How can I help?")
    assert serious_violations(page) == []
    tab_to(page, page.get_by_role("button", name="Add standard response"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Standard response Greeting added.")
    row = page.get_by_role("row", name="Greeting")
    expect(row).to_contain_text("Openers")
    expect(row).to_contain_text("Hello, this is {{agent.firstName}}. How can I help?")

    # A placeholder the server does not know is refused, shown as it said, and nothing is changed.
    page.get_by_role("button", name="Edit standard response Greeting").click()
    expect(page.get_by_role("textbox", name="Name")).to_have_value("Greeting")
    expect(page.get_by_role("combobox", name="Category")).to_have_value("Openers")
    page.get_by_role("textbox", name="Text").fill("Hi {{customer.name}}")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("{{customer.name}}")
    assert serious_violations(page) == []
    assert admin.get("/api/v2/standard-responses")["standardResponses"][0]["text"].startswith("Hello")

    # Corrected in the same form: renamed, recategorised, rewritten.
    page.get_by_role("textbox", name="Name").fill("Order shipped")
    page.get_by_role("combobox", name="Category").fill("Orders")
    page.get_by_role("textbox", name="Text").fill("Your order {{userData.OrderNumber}} left today.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Standard response Order shipped saved.")
    expect(page.get_by_role("alert")).to_have_count(0)
    row = page.get_by_role("row", name="Order shipped")
    expect(row).to_contain_text("Orders")
    expect(row).to_contain_text("Your order {{userData.OrderNumber}} left today.")
    stored = admin.get("/api/v2/standard-responses")["standardResponses"]
    assert [(r["name"], r["category"], r["text"]) for r in stored] == [
        ("Order shipped", "Orders", "Your order {{userData.OrderNumber}} left today.")
    ]

    # A second one of the same name is refused.
    page.get_by_role("button", name="Add standard response").click()
    page.get_by_role("textbox", name="Name").fill("Order shipped")
    page.get_by_role("textbox", name="Text").fill("Again")
    page.get_by_role("button", name="Add standard response").click()
    expect(page.get_by_role("alert")).to_have_text("A standard response named 'Order shipped' already exists")
    page.get_by_role("button", name="Cancel").click()

    # Deleted, after a confirmation in the page.
    page.get_by_role("button", name="Edit standard response Order shipped").click()
    page.get_by_role("button", name="Delete standard response").click()
    confirm = page.get_by_role("group", name="Confirm deletion")
    assert serious_violations(page) == []
    confirm.get_by_role("button", name="Delete Order shipped").click()
    expect(page.get_by_role("status")).to_have_text("Standard response Order shipped deleted.")
    expect(page.get_by_role("row", name="Order shipped")).to_have_count(0)
    assert admin.get("/api/v2/standard-responses")["standardResponses"] == []


def test_an_administrator_sets_a_queues_opening_hours_and_automatic_replies(
    server: RunningServer, cc: ContactCenter, contexts: Contexts
) -> None:
    admin = create_admin(cc)
    page = contexts.page(bypass_csp=True)  # only so that axe-core can be injected
    sign_in_admin(page, server, admin.user_name)
    page.get_by_role("button", name="Queues").click()
    expect(page.get_by_role("heading", name="Queues")).to_be_visible()
    expect(page.get_by_role("row", name=cc.queue)).to_contain_text("Always open")
    page.get_by_role("button", name=f"Edit queue {cc.queue}").click()
    hours = page.get_by_role("form", name="Opening hours")
    replies = page.get_by_role("form", name="Automatic replies")
    expect(hours).to_contain_text("Always open: this queue has no opening hours.")
    expect(hours.get_by_role("button", name="Always open")).to_be_disabled()
    assert serious_violations(page) == []

    # A clause the server cannot read is refused naming it; then the hours as meant.
    hours.get_by_role("combobox", name="Time zone").fill("Europe/Paris")
    weekly = hours.get_by_role("textbox", name="Weekly hours")
    weekly.fill("mon-fry 09:00-17:00")
    hours.get_by_role("button", name="Save opening hours").click()
    expect(page.get_by_role("alert")).to_contain_text("'fry' is not a day")
    weekly.fill("mon-fri 09:00-17:00\nsat 10:00-14:00")
    hours.get_by_role("textbox", name="Closed dates").fill("2026-12-25\n2026-01-01")
    hours.get_by_role("radio", name="New conversations end after the closed reply").check()
    hours.get_by_role("button", name="Save opening hours").click()
    expect(page.get_by_role("status")).to_have_text(f"Opening hours of {cc.queue} saved.")
    expect(page.get_by_role("alert")).to_have_count(0)

    # Automatic replies: a placeholder a waiting reply cannot have is refused, then saved.
    replies.get_by_role("textbox", name="Closed reply").fill("We are closed; we open {{queue.opensAt}}.")
    replies.get_by_role("textbox", name="Waiting reply").fill("Still waiting until {{queue.opensAt}}")
    replies.get_by_role("spinbutton", name="Send the waiting reply after (seconds)").fill("300")
    replies.get_by_role("button", name="Save automatic replies").click()
    expect(page.get_by_role("alert")).to_contain_text("{{queue.opensAt}}")
    replies.get_by_role("textbox", name="Waiting reply").fill("You are number {{queue.position}} in line.")
    replies.get_by_role("button", name="Save automatic replies").click()
    expect(page.get_by_role("status")).to_have_text(f"Automatic replies of {cc.queue} saved.")
    assert serious_violations(page) == []

    # Kept: after a reload, the queue's row and its editor show what was stored.
    page.reload()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    page.get_by_role("button", name="Queues").click()
    expect(page.get_by_role("heading", name="Queues")).to_be_visible()
    expect(page.get_by_role("row", name=cc.queue)).to_contain_text(
        "mon-fri 09:00-17:00; sat 10:00-14:00 (Europe/Paris)"
    )
    page.get_by_role("button", name=f"Edit queue {cc.queue}").click()
    expect(hours.get_by_role("combobox", name="Time zone")).to_have_value("Europe/Paris")
    expect(weekly).to_have_value("mon-fri 09:00-17:00\nsat 10:00-14:00")
    expect(hours.get_by_role("textbox", name="Closed dates")).to_have_value("2026-01-01\n2026-12-25")
    expect(hours.get_by_role("radio", name="New conversations end after the closed reply")).to_be_checked()
    expect(replies.get_by_role("textbox", name="Closed reply")).to_have_value(
        "We are closed; we open {{queue.opensAt}}."
    )
    expect(replies.get_by_role("textbox", name="Waiting reply")).to_have_value(
        "You are number {{queue.position}} in line."
    )
    expect(replies.get_by_role("spinbutton", name="Send the waiting reply after (seconds)")).to_have_value(
        "300"
    )
    queue = admin.get(f"/api/v2/queues/{cc.queue}")["queue"]
    assert queue["openingHours"] == {
        "timezone": "Europe/Paris",
        "weekly": "mon-fri 09:00-17:00; sat 10:00-14:00",
        "closedDates": ["2026-01-01", "2026-12-25"],
        "whenClosed": "complete",
    }
    assert queue["automaticReplies"] == {
        "closed": "We are closed; we open {{queue.opensAt}}.",
        "waiting": "You are number {{queue.position}} in line.",
        "waitingAfterSeconds": 300,
    }

    # Always open again: the hours go, the replies stay.
    hours.get_by_role("button", name="Always open").click()
    expect(page.get_by_role("status")).to_have_text(f"Queue {cc.queue} is always open.")
    expect(hours).to_contain_text("Always open: this queue has no opening hours.")
    expect(weekly).to_have_value("")
    queue = admin.get(f"/api/v2/queues/{cc.queue}")["queue"]
    assert queue["openingHours"] is None and queue["open"] is True
    assert queue["automaticReplies"]["waitingAfterSeconds"] == 300
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("row", name=cc.queue)).to_contain_text("Always open")


def test_an_agent_is_not_let_into_the_administration_pages(
    server: RunningServer, cc: ContactCenter, contexts: Contexts
) -> None:
    page = contexts.page()
    page.goto(server.base_url + "/admin/")
    page.get_by_role("textbox", name="User name").fill(cc.agent_names[0])
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("is not an administrator")


def test_adding_a_user_with_the_keyboard_only(
    server: RunningServer, cc: ContactCenter, contexts: Contexts
) -> None:
    admin = create_admin(cc)
    page = contexts.page()
    page.goto(server.base_url + "/admin/")
    tab_to(page, page.get_by_role("textbox", name="User name"))
    page.keyboard.type(admin.user_name)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()

    tab_to(page, page.get_by_role("button", name="Add user"))
    page.keyboard.press("Enter")
    name = f"{cc.tenant}-keys"
    tab_to(page, page.get_by_role("textbox", name="User name"))
    page.keyboard.type(name)
    tab_to(page, page.get_by_role("textbox", name="Password", exact=True))
    page.keyboard.type("keyboard-pass")
    tab_to(page, page.get_by_role("checkbox", name="Supervisor"))
    page.keyboard.press("Space")
    tab_to(page, page.get_by_role("button", name="Add user"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text(f"User {name} added.")
    expect(page.get_by_role("row", name=name)).to_contain_text("Agent, Supervisor")


def test_the_desktop_offers_sign_in_with_the_provider(tmp_path: Path, contexts: Contexts) -> None:
    """Chromium through the whole code flow: the desktop's link, the provider's own login form, and
    back to the desktop signed in; a refused sign-in comes back as a message beside the password form."""
    from oidc.provider import Provider
    from support.agents import create_contact_center

    from .desk import BROWSER_TIMEOUTS

    server = RunningServer(tmp_path / "sso.db", BROWSER_TIMEOUTS)
    provider = Provider([server.base_url + "/auth/oidc/callback"], tmp_path / "provider.log").start()
    server.env.update(provider.env())
    server.start()
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            cc = pool.submit(create_contact_center, server, 1).result()
        page = contexts.page(bypass_csp=True)
        page.goto(server.base_url + "/desktop/")
        link = page.get_by_role("link", name="Sign in with Test ID")
        expect(link).to_be_visible()
        assert serious_violations(page) == []
        link.click()
        page.get_by_placeholder("Enter any login").fill(cc.agent_names[0])
        page.get_by_placeholder("and password").fill("anything")
        page.get_by_role("button", name="Sign-in").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        expect(page.get_by_text(cc.agent_names[0]).first).to_be_visible()

        provider.mode("expired")
        other = contexts.page()
        other.goto(server.base_url + "/admin/")
        other.get_by_role("link", name="Sign in with Test ID").click()
        other.get_by_placeholder("Enter any login").fill(cc.agent_names[0])
        other.get_by_placeholder("and password").fill("anything")
        other.get_by_role("button", name="Sign-in").click()
        expect(other.get_by_role("alert")).to_contain_text("The ID token has expired")
        expect(other.get_by_role("textbox", name="Password")).to_be_visible()  # password sign-in stays
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(cc.close).result()
    finally:
        server.stop()
        provider.stop()
