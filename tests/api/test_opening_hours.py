"""**Extension** opening hours and automatic replies per queue (/api/v2/queues/...): a closed queue
answers once per conversation and keeps the session for its opening; a long wait gets the waiting
reply once; replies travel the outbound path, respect STOP, and are counted."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from support.agents import Agent, ContactCenter, create_admin, create_contact_center, create_supervisor

pytestmark = pytest.mark.slow


def put(user: Agent, path: str, body: Any, expect: int = 200) -> dict[str, Any]:
    response = user.http.put(path, json=body)
    assert response.status_code == expect, response.text
    answer: dict[str, Any] = response.json()
    return answer


def closed_today() -> dict[str, Any]:
    """Open every day around the clock, except today and tomorrow (UTC): closed now, whatever the hour."""
    today = datetime.now(UTC).date()
    return {
        "timezone": "UTC",
        "weekly": "daily 00:00-24:00",
        "closedDates": [today.isoformat(), (today + timedelta(days=1)).isoformat()],
    }


def handset_after(cc: ContactCenter, number: str, count: int, settle_s: float = 0.8) -> list[str]:
    """The handset's texts once ``count`` arrived, and a little longer (one too many would show)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(cc.handset(number)) < count:
        time.sleep(0.05)
    time.sleep(settle_s)
    return [m["text"] for m in cc.handset(number)]


def test_a_closed_queue_answers_once_and_offers_the_session_when_it_opens(cc: ContactCenter) -> None:
    boss = create_supervisor(cc)
    agent = cc.agent(0).listen().log_in()
    hours = put(boss, f"/api/v2/queues/{cc.queue}/opening-hours", closed_today())["queue"]
    assert hours["open"] is False and hours["openingHours"]["weekly"] == "daily 00:00-24:00"
    day_after = datetime.now(UTC).date() + timedelta(days=2)
    assert hours["opensAt"] == f"{day_after.isoformat()}T00:00:00.000Z"
    replies = put(
        boss,
        f"/api/v2/queues/{cc.queue}/automatic-replies",
        {"closed": "We are closed and open {{queue.opensAt}}; you are number {{queue.position}}."},
    )["queue"]["automaticReplies"]
    assert replies == {
        "closed": "We are closed and open {{queue.opensAt}}; you are number {{queue.position}}.",
        "waiting": None,
        "waitingAfterSeconds": None,
    }

    customer = cc.customer_number()
    cc.sms(customer, "Hello, anyone?")
    cc.sms(customer, "Hello??")  # the same conversation: no second reply
    received = handset_after(cc, customer, 1)
    weekday = day_after.strftime("%A")
    assert received == [f"We are closed and open on {weekday} at 00:00; you are number 1."], received
    assert agent.quiet() == []  # nobody is offered a closed queue's session

    (numbers,) = boss.get("/api/v2/me/statistics")["statistics"]
    assert (numbers["waiting"], numbers["closedReplies"], numbers["waitingReplies"]) == (1, 1, 0)

    # Opening the queue (here: no more hours) offers it within seconds, without a restart.
    response = boss.http.delete(f"/api/v2/queues/{cc.queue}/opening-hours")
    assert response.status_code == 200 and response.json()["queue"]["open"] is True
    session_id = agent.wait_invited()["id"]
    agent.op(session_id, "Accept")
    messages = agent.get(f"/api/v2/me/smssessions/{session_id}/messages")["messages"]
    texts = [(m["from"]["type"], m.get("text"), m.get("autoReply")) for m in messages if m["type"] == "Text"]
    assert texts == [
        ("Customer", "Hello, anyone?", None),
        ("External", received[0], "closed"),
        ("Customer", "Hello??", None),
    ]
    reply = next(m for m in messages if m.get("autoReply"))
    assert reply["visibility"] == "All" and reply["from"]["nickname"] == "smsdesk"
    assert reply["delivery"]["status"] in ("accepted", "delivered")


def test_a_long_wait_gets_the_waiting_reply_once(cc: ContactCenter) -> None:
    boss = create_supervisor(cc)
    cc.agent(0).log_in(ready=False)  # nobody Ready: customers wait
    put(
        boss,
        f"/api/v2/queues/{cc.queue}/automatic-replies",
        {
            "waiting": "Thanks for waiting: you are number {{queue.position}} in {{queue.name}}.",
            "waitingAfterSeconds": 1,
        },
    )
    first, second = cc.customer_number(), cc.customer_number()
    cc.sms(first, "Hi")
    cc.sms(second, "Hi too")
    assert handset_after(cc, first, 1, settle_s=2.0) == [
        f"Thanks for waiting: you are number 1 in {cc.queue}."
    ]
    assert handset_after(cc, second, 1) == [f"Thanks for waiting: you are number 2 in {cc.queue}."]
    (numbers,) = boss.get("/api/v2/me/statistics")["statistics"]
    assert (numbers["waitingReplies"], numbers["closedReplies"]) == (2, 0)


def test_no_reply_reaches_a_customer_who_texted_stop(cc: ContactCenter) -> None:
    boss = create_supervisor(cc)
    cc.agent(0).log_in(ready=False)
    put(boss, f"/api/v2/queues/{cc.queue}/opening-hours", closed_today())
    put(
        boss,
        f"/api/v2/queues/{cc.queue}/automatic-replies",
        {"closed": "Closed, sorry.", "waiting": "Still waiting?", "waitingAfterSeconds": 1},
    )
    customer = cc.customer_number()
    cc.sms(customer, "STOP")
    cc.sms(customer, "hello")
    time.sleep(2.5)
    assert cc.handset(customer) == []


def test_with_complete_a_closed_queue_ends_the_session_after_one_reply_per_closed_spell(
    cc: ContactCenter,
) -> None:
    admin = create_admin(cc)
    agent = cc.agent(0).listen().log_in()
    put(admin, f"/api/v2/queues/{cc.queue}/opening-hours", {**closed_today(), "whenClosed": "complete"})
    put(
        admin,
        f"/api/v2/queues/{cc.queue}/automatic-replies",
        {"closed": "Closed: please write again tomorrow."},
    )
    customer = cc.customer_number()
    cc.sms(customer, "First")
    cc.sms(customer, "Second")  # a new conversation each time, but one reply while it stays closed
    assert handset_after(cc, customer, 1) == ["Closed: please write again tomorrow."]
    queue = admin.get(f"/api/v2/queues/{cc.queue}")["queue"]
    assert queue["openingHours"]["whenClosed"] == "complete"
    boss = create_supervisor(cc)
    (numbers,) = boss.get("/api/v2/me/statistics")["statistics"]
    assert (numbers["waiting"], numbers["closedReplies"]) == (0, 1)
    response = admin.http.delete(f"/api/v2/queues/{cc.queue}/opening-hours")
    assert response.status_code == 200
    time.sleep(1.0)
    assert agent.quiet() == []  # the ended conversations are not offered when it opens


@pytest.mark.parametrize(
    ("path", "body", "code", "says"),
    [
        (
            "opening-hours",
            {"timezone": "Mars/Olympus", "weekly": "mon-fri 09:00-17:00"},
            10,
            "Unknown time zone",
        ),
        ("opening-hours", {"timezone": "UTC", "weekly": "mon-fry 09:00-17:00"}, 10, "'fry' is not a day"),
        ("opening-hours", {"timezone": "UTC", "weekly": "mon-fri 9h-17h"}, 10, "'9h' is not a time"),
        ("opening-hours", {"timezone": "UTC", "weekly": "mon 25:00-26:00"}, 10, "'25:00' is not a time"),
        (
            "opening-hours",
            {"timezone": "UTC", "weekly": "daily", "closedDates": []},
            10,
            "expected days and then times",
        ),
        (
            "opening-hours",
            {"timezone": "UTC", "weekly": "daily 09:00-17:00", "closedDates": ["25/12/2026"]},
            10,
            "not a date",
        ),
        (
            "opening-hours",
            {"timezone": "UTC", "weekly": "daily 09:00-17:00", "whenClosed": "drop"},
            10,
            "whenClosed",
        ),
        ("opening-hours", {"weekly": "daily 09:00-17:00"}, 1, "timezone"),
        ("automatic-replies", {"closed": "Open {{queue.opensAt}} at {{queue.open}}"}, 10, "{{queue.open}}"),
        (
            "automatic-replies",
            {"waiting": "Wait {{queue.opensAt}}", "waitingAfterSeconds": 5},
            10,
            "{{queue.opensAt}}",
        ),
        ("automatic-replies", {"waiting": "Please wait"}, 1, "seconds"),
        ("automatic-replies", {"waiting": "Please wait", "waitingAfterSeconds": 0}, 10, "from 1 to"),
        ("automatic-replies", {"waitingAfterSeconds": 5}, 10, "without a waiting reply"),
        ("automatic-replies", {"closed": "   "}, 1, "empty"),
        ("automatic-replies", {"closed": "x" * 1_601}, 10, "1600"),
    ],
)
def test_bad_hours_and_replies_are_refused_naming_the_part(
    cc: ContactCenter, path: str, body: dict[str, Any], code: int, says: str
) -> None:
    boss = create_supervisor(cc)
    refused = put(boss, f"/api/v2/queues/{cc.queue}/{path}", body, expect=400)
    assert set(refused) == {"statusCode", "statusMessage"}
    assert refused["statusCode"] == code and says in refused["statusMessage"], refused
    queue = boss.get(f"/api/v2/queues/{cc.queue}")["queue"]
    assert (
        queue["openingHours"] is None and queue["automaticReplies"]["closed"] is None
    )  # nothing half-written


def test_who_may_read_and_change_a_queues_hours(cc: ContactCenter) -> None:
    boss = create_supervisor(cc)
    admin = create_admin(cc)
    other_queue_boss = create_supervisor(cc, queue="night-shift")
    agent = cc.agent(0)
    body = {"timezone": "Europe/Paris", "weekly": "mon-fri 09:00-17:00; sat 10:00-14:00"}

    assert [q["name"] for q in boss.get("/api/v2/queues")["queues"]] == [cc.queue]
    assert [q["name"] for q in admin.get("/api/v2/queues")["queues"]] == sorted([cc.queue, "night-shift"])
    assert (
        put(other_queue_boss, f"/api/v2/queues/{cc.queue}/opening-hours", body, expect=403)["statusCode"] == 5
    )
    assert put(agent, f"/api/v2/queues/{cc.queue}/opening-hours", body, expect=403)["statusCode"] == 5
    assert agent.get("/api/v2/queues", expect=403)["statusCode"] == 5
    assert put(boss, "/api/v2/queues/no-such-queue/opening-hours", body, expect=404)["statusCode"] == 6

    stored = put(boss, f"/api/v2/queues/{cc.queue}/opening-hours", body)["queue"]
    assert stored["openingHours"] == {
        "timezone": "Europe/Paris",
        "weekly": "mon-fri 09:00-17:00; sat 10:00-14:00",
        "closedDates": [],
        "whenClosed": "queue",
    }
    assert admin.get(f"/api/v2/queues/{cc.queue}")["queue"]["openingHours"] == stored["openingHours"]
    # Another contact center: its own queue of the same name is its own; ours is not found.
    stranger = create_supervisor(create_contact_center(cc.server, agents=1))
    assert stranger.get(f"/api/v2/queues/{cc.queue}")["queue"]["openingHours"] is None
    assert stranger.get("/api/v2/queues/night-shift", expect=404)["statusCode"] == 6
    response = boss.http.request("PATCH", f"/api/v2/queues/{cc.queue}/opening-hours", json=body)
    assert response.status_code == 405 and response.json()["statusCode"] == 10
