"""A supervisor's desktop: the team board's live numbers, then Monitor, Coach and Barge in from an
agent's row, seen from the supervisor's, the agent's and the customer's side."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from smsdesk.operations.admin import DEMO_AGENTS, DEMO_PASSWORD, DEMO_QUEUE, DEMO_SUPERVISOR
from support.agents import Agent, ContactCenter, create_supervisor
from support.server import RunningServer

from .desk import (
    PHONE_SIZE,
    Contexts,
    go_ready,
    open_handset,
    screenshot,
    send,
    serious_violations,
    sign_in,
    text_from_handset,
    transcript,
)

pytestmark = pytest.mark.slow

# The columns of an agent's row after its header (the user name).
STATE, TIME_IN_STATE, LIVE_SESSIONS, HANDLED_TODAY, SUPERVISION = range(5)


def new_supervisor(cc: ContactCenter) -> Agent:
    # Provisioning runs its own event loop: not on this thread, where sync Playwright keeps one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(create_supervisor, cc).result()


def number(page: Page, queue: str, label: str) -> Locator:
    stat = page.get_by_role("region", name=f"Queue {queue} · today").locator("div.stat")
    return stat.filter(has=page.locator("dt", has_text=re.compile(f"^{re.escape(label)}$"))).locator("dd")


def agent_cell(page: Page, user_name: str, column: int) -> Locator:
    row = (
        page.get_by_role("region", name="Team board")
        .get_by_role("row")
        .filter(has=page.get_by_role("rowheader", name=user_name, exact=True))
    )
    return row.get_by_role("cell").nth(column)


def view(page: Page, name: str) -> None:
    button = page.get_by_role("group", name="View").get_by_role("button", name=re.compile(f"^{name}"))
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")


def switch_to(page: Page, mode: str) -> None:
    button = page.get_by_role("group", name="Supervision mode").get_by_role("button", name=mode, exact=True)
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")


def test_a_supervisor_watches_the_board_then_monitors_coaches_and_barges_in(
    server: RunningServer, cc: ContactCenter, contexts: Contexts, tmp_path: Path
) -> None:
    alice_name = cc.agent_names[0]
    boss_api = new_supervisor(cc)  # the same supervisor, from another client
    boss_name = boss_api.user_name
    boss = sign_in(contexts.page(bypass_csp=True), server, boss_name)  # CSP: for axe-core
    expect(boss.get_by_role("region", name="Team board")).to_be_visible()
    expect(agent_cell(boss, alice_name, STATE)).to_have_text("Logged out")
    expect(agent_cell(boss, cc.agent_names[1], STATE)).to_have_text("Logged out")

    # The agent's state reaches the board as it changes, and its time keeps counting.
    alice = sign_in(contexts.page(), server, alice_name)
    expect(agent_cell(boss, alice_name, STATE)).to_have_text("Not Ready")
    go_ready(alice)
    expect(agent_cell(boss, alice_name, STATE)).to_have_text("Ready")
    ticking = agent_cell(boss, alice_name, TIME_IN_STATE)
    expect(ticking).to_have_text(re.compile(r"^0:0\d$"))
    expect(ticking).not_to_have_text(ticking.inner_text())

    boss.get_by_role("button", name=f"Monitor {alice_name}").click()
    expect(agent_cell(boss, alice_name, SUPERVISION)).to_have_text("Monitor")
    expect(boss.get_by_role("button", name=f"Monitor {alice_name}")).to_have_attribute("aria-pressed", "true")
    assert serious_violations(boss) == []

    # A customer texts; the numbers move without a reload as routing offers and the agent accepts.
    customer = cc.customer_number()
    handset = open_handset(contexts.page(PHONE_SIZE), cc, customer)
    text_from_handset(handset, "Hi, my parcel is late")
    expect(number(boss, cc.queue, "Offered")).to_have_text("1")
    alice.get_by_role("region", name="Offers").get_by_role("button", name="Accept").click()
    expect(number(boss, cc.queue, "Accepted")).to_have_text("1")
    expect(number(boss, cc.queue, "Waiting")).to_have_text("0")
    expect(number(boss, cc.queue, "Service level (60 s)")).to_have_text("100 %")
    expect(agent_cell(boss, alice_name, LIVE_SESSIONS)).to_have_text("1")
    screenshot(boss, "supervisor-board", tmp_path)

    # Monitoring joined the accepted session: its history, unseen by anyone, nothing to write with.
    view(boss, "Conversations")
    conversations = boss.get_by_role("list", name="Conversations")
    expect(conversations.get_by_role("listitem")).to_contain_text(customer)
    expect(conversations.get_by_role("listitem")).to_contain_text("monitoring")
    expect(transcript(boss).get_by_role("listitem").filter(has_text="parcel is late")).to_have_count(1)
    expect(boss.get_by_role("region", name="Supervision")).to_contain_text(
        "nobody in the conversation sees you"
    )
    expect(boss.get_by_role("textbox", name="Message", exact=True)).to_be_disabled()
    send(alice, "Let me check that for you.")
    expect(transcript(boss).get_by_role("listitem").filter(has_text="Let me check")).to_have_count(1)
    expect(transcript(alice).get_by_role("listitem").filter(has_text=f"{boss_name} joined")).to_have_count(0)

    # Coach: the agent sees the coach and their words; the customer sees neither.
    switch_to(boss, "Coach")
    send(boss, "Offer a refund")
    expect(transcript(alice).get_by_role("listitem").filter(has_text="Offer a refund")).to_contain_text(
        "agents only"
    )
    assert serious_violations(boss) == []
    screenshot(boss, "supervisor-coaching", tmp_path)

    # Barge in: the supervisor's words reach the handset.
    switch_to(boss, "Barge in")
    send(boss, "Hello, I am the manager")
    messages = handset.get_by_role("log", name="Messages")
    expect(messages).to_contain_text("Hello, I am the manager")
    expect(transcript(alice).get_by_role("listitem").filter(has_text="I am the manager")).to_have_count(1)
    assert [m["text"] for m in cc.handset(customer)] == [
        "Let me check that for you.",
        "Hello, I am the manager",
    ]

    # Stop from the row: no more sessions joined; the one in progress goes on until the agent ends it.
    view(boss, "Team board")
    boss.get_by_role("button", name=f"Stop supervising {alice_name}").click()
    expect(agent_cell(boss, alice_name, SUPERVISION)).to_have_text("None")
    alice.get_by_role("button", name="Complete").click()
    expect(number(boss, cc.queue, "Completed")).to_have_text("1")
    expect(agent_cell(boss, alice_name, HANDLED_TODAY)).to_have_text("1")
    expect(agent_cell(boss, alice_name, LIVE_SESSIONS)).to_have_text("0")
    view(boss, "Conversations")
    expect(conversations.get_by_role("listitem")).to_have_count(0)
    expect(boss.get_by_role("status").filter(has_text="ended for you")).to_contain_text(customer)

    # Coach the next session only, then Leave it: the agent carries on alone.
    view(boss, "Team board")
    boss.get_by_role("combobox", name="Monitoring lasts").select_option("NextChat")
    boss.get_by_role("button", name=f"Coach {alice_name}").click()
    expect(agent_cell(boss, alice_name, SUPERVISION)).to_have_text("Coach (next session)")
    second = cc.customer_number()
    cc.sms(second, "Is the shop open on Sunday?")
    alice.get_by_role("region", name="Offers").get_by_role("button", name="Accept").click()
    expect(agent_cell(boss, alice_name, SUPERVISION)).to_have_text("None")  # used up by this session
    view(boss, "Conversations")
    expect(conversations.get_by_role("listitem")).to_contain_text("coaching")
    expect(transcript(boss).get_by_role("listitem").filter(has_text="open on Sunday")).to_have_count(1)
    boss.get_by_role("button", name="Leave").click()
    expect(conversations.get_by_role("listitem")).to_have_count(0)
    expect(transcript(alice).get_by_role("listitem").filter(has_text=f"{boss_name} left")).to_have_count(1)
    send(alice, "Yes, from 10 to 4.")

    # Join the conversation in progress from the agent's row (Intrude), as a monitor: offered, accepted.
    view(boss, "Team board")
    boss.get_by_role("button", name=f"Join a conversation of {alice_name}").click()
    boss.get_by_role("list", name=f"Conversations of {alice_name}").get_by_role(
        "button", name=f"Join {second} as Monitor"
    ).click()
    offer = boss.get_by_role("region", name="Offers")
    expect(offer).to_contain_text(f"You asked to join the conversation with {second}")
    offer.get_by_role("button", name="Accept").click()
    expect(
        boss.get_by_role("group", name="View").get_by_role("button", name=re.compile("^Conversations"))
    ).to_have_attribute("aria-pressed", "true")
    expect(transcript(boss).get_by_role("listitem").filter(has_text="from 10 to 4")).to_have_count(1)
    expect(boss.get_by_role("region", name="Supervision")).to_contain_text(
        "nobody in the conversation sees you"
    )

    # Stopped from another client meanwhile: Stop here shows the server's refusal, and the row the truth.
    view(boss, "Team board")
    boss.get_by_role("button", name=f"Barge in {alice_name}").click()
    expect(agent_cell(boss, alice_name, SUPERVISION)).to_have_text("Barge in")
    channel = f"/api/v2/users/{cc.agent(0).id}/channels/smssession"
    boss_api.post(channel, {"operationName": "CancelSupervisorMonitoring"})
    boss.get_by_role("button", name=f"Stop supervising {alice_name}").click()
    expect(boss.get_by_role("status").filter(has_text="is not monitoring")).to_contain_text(alice_name)
    expect(agent_cell(boss, alice_name, SUPERVISION)).to_have_text("None")

    boss.set_viewport_size(PHONE_SIZE)
    assert serious_violations(boss) == []


def test_the_demo_supervisor_sees_the_demo_queue_and_an_agent_who_supervises_none_no_board(
    server: RunningServer, cc: ContactCenter, contexts: Contexts
) -> None:
    demo = sign_in(contexts.page(), server, DEMO_SUPERVISOR, DEMO_PASSWORD)
    expect(demo.get_by_role("region", name=f"Queue {DEMO_QUEUE} · today")).to_be_visible()
    for name in DEMO_AGENTS:
        expect(demo.get_by_role("button", name=f"Monitor {name}")).to_be_visible()

    page = sign_in(contexts.page(), server, cc.agent_names[1])
    expect(page.get_by_role("list", name="Conversations")).to_be_attached()
    expect(page.get_by_role("region", name="Team board")).to_have_count(0)
    expect(page.get_by_role("group", name="View")).to_have_count(0)
