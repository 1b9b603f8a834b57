"""The browser tier: Debian's Chromium driven by Playwright against a real server.

Never a Playwright browser download: the executable is the system's (``make browser-deps``
installs the ``chromium`` package when it is missing), started headless without sandbox or
background networking (these machines have no internet).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, expect, sync_playwright

from support.agents import ContactCenter, create_contact_center
from support.server import RunningServer

from .desk import BROWSER_TIMEOUTS, Contexts

expect.set_options(timeout=15_000)


def chromium_path() -> str:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError("Chromium is missing: run `make browser-deps` (apt-get install chromium)")


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = RunningServer(Path(tmp_path_factory.mktemp("browser")) / "smsdesk.db", BROWSER_TIMEOUTS).start()
    yield running
    running.stop()


# Package scope, not session: sync Playwright keeps an event loop running on this thread while it
# lives, and the tiers after this one call asyncio.run().
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(
        executable_path=chromium_path(),
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--autoplay-policy=no-user-gesture-required",
        ],
    )
    yield launched
    launched.close()


@pytest.fixture
def contexts(browser: Browser) -> Iterator[Contexts]:
    opened = Contexts(browser)
    yield opened
    opened.close()
    assert opened.errors == [], opened.errors


@pytest.fixture
def cc(server: RunningServer, playwright: Playwright) -> Iterator[ContactCenter]:
    # Provisioning runs its own event loop, which cannot nest in the one sync Playwright keeps
    # running on this thread: give it a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        center = pool.submit(create_contact_center, server).result()
    yield center
    center.close()
