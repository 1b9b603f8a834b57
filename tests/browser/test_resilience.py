"""The server restarts mid-conversation: the desktop says so, comes back by itself, and its
transcript has every message, once, in order."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from support.agents import ContactCenter
from support.server import RunningServer

from .desk import (
    BROWSER_TIMEOUTS,
    Contexts,
    go_ready,
    open_handset,
    send,
    sign_in,
    text_from_handset,
    transcript,
)

pytestmark = pytest.mark.slow


# Notifications are kept one second only, and a silent Bayeux client is dropped after 1.5 s: a
# short network drop is then enough for the missed notifications to be gone (a NotificationGap).
FORGETFUL = {
    "SMSDESK_NOTIFICATION_RETENTION_S": "1",
    "SMSDESK_NOTIFICATION_PRUNE_INTERVAL_S": "1",
    "SMSDESK_BAYEUX_MAX_INTERVAL_MS": "1500",
}


@pytest.fixture(params=["restart", "gap"])
def own_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    """A server of this test's own, since the test restarts it or makes it forget."""
    env = {**BROWSER_TIMEOUTS, **(FORGETFUL if request.param == "gap" else {})}
    running = RunningServer(tmp_path / "smsdesk.db", env).start()
    running.scenario = request.param  # type: ignore[attr-defined]
    yield running
    running.stop()


@pytest.fixture
def own_cc(own_server: RunningServer, playwright: object) -> Iterator[ContactCenter]:
    from concurrent.futures import ThreadPoolExecutor

    from support.agents import create_contact_center

    with ThreadPoolExecutor(max_workers=1) as pool:
        center = pool.submit(create_contact_center, own_server).result()
    yield center
    center.close()


def test_a_restart_or_a_gap_mid_conversation_loses_nothing(
    own_server: RunningServer, own_cc: ContactCenter, contexts: Contexts
) -> None:
    """``restart``: the server is killed and restarted; the desktop resumes from its last position.
    ``gap``: the missed notifications were pruned; the desktop is told so and re-reads its state."""
    cc = own_cc
    page = sign_in(contexts.page(), own_server, cc.agent_names[0])
    customer = cc.customer_number()
    handset = open_handset(contexts.page(), cc, customer)
    go_ready(page)
    text_from_handset(handset, "before the restart")
    page.get_by_role("region", name="Offers").get_by_role("button", name="Accept").click()
    send(page, "reply before")
    expect(handset.get_by_role("log", name="Messages")).to_contain_text("reply before")

    if own_server.scenario == "restart":  # type: ignore[attr-defined]
        own_server.restart(kill=True)
        # Committed while the desktop is still finding its way back: the resume extension replays them.
        text_from_handset(handset, "while you were away 1")
        text_from_handset(handset, "while you were away 2")
    else:
        page.context.set_offline(True)
        expect(page.get_by_role("status").filter(has_text="reconnecting")).to_be_visible()
        text_from_handset(handset, "while you were away 1")
        text_from_handset(handset, "while you were away 2")
        time.sleep(4)  # the Bayeux session expires and the notifications are pruned
        page.context.set_offline(False)
    expect(page.get_by_role("status").filter(has_text="reconnecting")).to_have_count(0, timeout=30_000)
    items = transcript(page).get_by_role("listitem")
    expect(items.filter(has_text="while you were away 2")).to_have_count(1)
    if own_server.scenario == "gap":  # type: ignore[attr-defined]
        expect(page.get_by_role("status").filter(has_text="re-read everything")).to_be_visible()

    # The desktop opened a new HTTP session by itself and works as before.
    send(page, "reply after")
    expect(handset.get_by_role("log", name="Messages")).to_contain_text("reply after")
    expect(items.filter(has_text="reply after")).to_contain_text("Delivered")
    texts = [t for t in items.all_inner_texts() if "joined" not in t]
    order = [
        "before the restart",
        "reply before",
        "while you were away 1",
        "while you were away 2",
        "reply after",
    ]
    assert [next(o for o in order if o in t) for t in texts] == order, texts
    # A reload keeps the conversation (the cookie carries on; nothing was kept but it).
    page.reload()
    expect(transcript(page).get_by_role("listitem").filter(has_text="reply after")).to_have_count(1)


def test_a_network_drop_shows_a_banner_and_catches_up(
    server: RunningServer, cc: ContactCenter, contexts: Contexts
) -> None:
    page = sign_in(contexts.page(), server, cc.agent_names[0])
    customer = cc.customer_number()
    go_ready(page)
    cc.sms(customer, "hello")
    page.get_by_role("region", name="Offers").get_by_role("button", name="Accept").click()
    items = transcript(page).get_by_role("listitem")
    expect(items.filter(has_text="hello")).to_have_count(1)

    page.context.set_offline(True)
    banner = page.get_by_role("status").filter(has_text="reconnecting")
    expect(banner).to_be_visible()
    for n in range(3):
        cc.sms(customer, f"sent while offline {n}")
    page.context.set_offline(False)
    expect(banner).to_have_count(0, timeout=30_000)
    for n in range(3):
        expect(items.filter(has_text=f"sent while offline {n}")).to_have_count(1)
    expect(page.get_by_role("list", name="Conversations")).to_contain_text("chatting")
