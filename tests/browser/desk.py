"""Driving the desktop and the handset page the way a person does: by role and accessible name."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from support.agents import PASSWORD, ContactCenter
from support.server import QUICK_TIMEOUTS, RunningServer

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP_SIZE = {"width": 1280, "height": 800}
PHONE_SIZE = {"width": 390, "height": 844}
# Offers wait long enough for a loaded 2-core machine to click Accept, short enough to test expiry.
BROWSER_TIMEOUTS = {**QUICK_TIMEOUTS, "SMSDESK_OFFER_TIMEOUT_MS": "8000"}


class Contexts:
    """Browser contexts (separate cookie jars: separate people) closed after the test."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.opened: list[BrowserContext] = []
        self.errors: list[str] = []

    def page(self, viewport: dict[str, int] | None = None, bypass_csp: bool = False) -> Page:
        context = self.browser.new_context(viewport=viewport or DESKTOP_SIZE, bypass_csp=bypass_csp)  # type: ignore[arg-type]
        self.opened.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        return page

    def close(self) -> None:
        for context in self.opened:
            context.close()


def sign_in(page: Page, server: RunningServer, user_name: str, password: str = PASSWORD) -> Page:
    page.goto(server.base_url + "/")
    page.get_by_role("textbox", name="User name").fill(user_name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return page


def go_ready(page: Page) -> None:
    page.get_by_role("button", name="Ready", exact=True).click()
    expect(page.get_by_role("button", name="Ready", exact=True)).to_have_attribute("aria-pressed", "true")


def open_handset(page: Page, cc: ContactCenter, number: str) -> Page:
    page.goto(
        f"{cc.server.base_url}/simulator/?number={number.replace('+', '%2B')}&to={cc.service_number.replace('+', '%2B')}"
    )
    expect(page.get_by_role("textbox", name="Phone number")).to_have_value(number)
    return page


def text_from_handset(handset: Page, text: str) -> None:
    box = handset.get_by_role("textbox", name="Message", exact=True)
    box.fill(text)
    handset.get_by_role("button", name="Send", exact=True).click()
    expect(box).to_have_value("")


def transcript(page: Page) -> Locator:
    return page.get_by_role("log", name="Transcript")


def send(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message", exact=True)
    box.fill(text)
    box.press("Enter")
    expect(transcript(page).get_by_role("listitem").filter(has_text=text)).to_have_count(1)


def add_user(server: RunningServer, user_name: str, role: str, tenant: str) -> None:
    """A user of another role in an existing contact center, as `smsdesk users add` would."""
    from smsdesk.config import Settings
    from smsdesk.gws.representation import Urls
    from smsdesk.node import open_store, operation_settings
    from smsdesk.operations import admin
    from smsdesk.operations.services import Services

    settings = Settings(database_url=server.database_url)
    store = open_store(settings)
    services = Services(store, Urls(server.base_url), operation_settings(settings))
    # In a thread: sync Playwright keeps an event loop running on this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(
            asyncio.run, admin.add_user(services, user_name, PASSWORD, role=role, tenant=tenant)
        ).result()
    store.close()


def screenshot(page: Page, name: str, tmp_path: Path) -> None:
    """Into docs/screenshots when SMSDESK_SCREENSHOTS says so (`make screenshots`), else a temp dir."""
    target = Path(os.environ.get("SMSDESK_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / f"{name}.png"))


def choose_target(page: Page, user_name: str) -> None:
    """Pick a colleague as the hand-over target (each option shows their current state)."""
    target = page.get_by_role("combobox", name="To")
    option = target.locator("option", has_text=f"({user_name})")
    expect(option).to_have_count(1)
    target.select_option(value=option.get_attribute("value"))


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page (opened with ``bypass_csp``)."""
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
