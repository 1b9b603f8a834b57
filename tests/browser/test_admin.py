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
