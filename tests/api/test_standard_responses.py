"""**Extension** standard responses: managed by supervisors and administrators
(/api/v2/standard-responses), found by agents (/api/v2/me/standard-responses), sent with
SendStandardResponse, placeholders filled from the session."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from support.agents import Agent, ContactCenter, create_admin, create_contact_center, create_supervisor

pytestmark = pytest.mark.slow


def put(user: Agent, path: str, body: Any, expect: int = 200) -> dict[str, Any]:
    response = user.http.put(path, json=body)
    assert response.status_code == expect, response.text
    answer: dict[str, Any] = response.json()
    return answer


def delete(user: Agent, path: str, expect: int = 200) -> dict[str, Any]:
    response = user.http.delete(path)
    assert response.status_code == expect, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_supervisors_and_administrators_manage_them_and_agents_search_them(cc: ContactCenter) -> None:
    boss = create_supervisor(cc)
    admin = create_admin(cc)
    created = boss.post(
        "/api/v2/standard-responses",
        name="Greeting",
        category="General",
        text="Hello, this is {{agent.firstName}}. How can I help?",
    )
    greeting = created["id"]
    assert created["statusCode"] == 0 and created["uri"].endswith(f"/standard-responses/{greeting}")
    assert created["standardResponse"]["text"] == "Hello, this is {{agent.firstName}}. How can I help?"
    admin.post(
        "/api/v2/standard-responses",
        name="Order status",
        category="Orders",
        text="Your order {{userData.OrderNumber}} is on its way.",
    )
    duplicate = boss.post("/api/v2/standard-responses", name="Greeting", text="Hi", expect=409)
    assert duplicate == {
        "statusCode": 18,
        "statusMessage": "A standard response named 'Greeting' already exists",
    }

    listed = admin.get("/api/v2/standard-responses")["standardResponses"]
    assert [(r["name"], r["category"]) for r in listed] == [
        ("Greeting", "General"),
        ("Order status", "Orders"),
    ]

    # PUT replaces the fields given, keeps the others.
    changed = put(boss, f"/api/v2/standard-responses/{greeting}", {"category": "Welcome"})["standardResponse"]
    assert (changed["name"], changed["category"]) == ("Greeting", "Welcome")
    assert boss.get(f"/api/v2/standard-responses/{greeting}")["standardResponse"]["category"] == "Welcome"
    renamed = put(boss, f"/api/v2/standard-responses/{greeting}", {"name": "Order status"}, expect=409)
    assert renamed["statusCode"] == 18

    # Agents search name, category and text, any case, every word.
    agent = cc.agent(0)

    def search(query: str) -> list[str]:
        found = agent.get("/api/v2/me/standard-responses", query=query)["standardResponses"]
        assert all(set(r) == {"id", "name", "category", "text"} for r in found)
        return [r["name"] for r in found]

    assert search("") == ["Order status", "Greeting"]  # by category: Orders, Welcome
    assert search("ORDER") == ["Order status"]
    assert search("welcome") == ["Greeting"]
    assert search("how help") == ["Greeting"]
    assert search("nothing like this") == []

    # Agents only read; another contact center sees none of it.
    assert agent.post("/api/v2/standard-responses", name="Mine", text="x", expect=403)["statusCode"] == 5
    assert agent.get("/api/v2/standard-responses", expect=403)["statusCode"] == 5
    assert put(agent, f"/api/v2/standard-responses/{greeting}", {"text": "x"}, expect=403)["statusCode"] == 5
    assert delete(agent, f"/api/v2/standard-responses/{greeting}", expect=403)["statusCode"] == 5
    stranger = create_supervisor(create_contact_center(cc.server, agents=1))
    assert stranger.get(f"/api/v2/standard-responses/{greeting}", expect=404)["statusCode"] == 6
    assert stranger.get("/api/v2/standard-responses")["standardResponses"] == []

    assert delete(admin, f"/api/v2/standard-responses/{greeting}") == {"statusCode": 0}
    assert boss.get(f"/api/v2/standard-responses/{greeting}", expect=404)["statusCode"] == 6
    assert delete(boss, f"/api/v2/standard-responses/{greeting}", expect=404)["statusCode"] == 6
    assert search("") == ["Order status"]


@pytest.mark.parametrize(
    ("body", "status", "code", "says"),
    [
        ({"name": "No text"}, 400, 1, "text"),
        ({"text": "No name"}, 400, 1, "name"),
        ({"name": " ", "text": "Blank name"}, 400, 1, "name"),
        ({"name": "N", "text": "Hi {{customer.name}}"}, 400, 10, "{{customer.name}}"),
        ({"name": "N", "text": "Hi {{agent.firstName"}, 400, 10, "not closed"),
        ({"name": "N", "text": "x" * 1_601}, 400, 10, "1600"),
        ({"name": "n" * 101, "text": "x"}, 400, 10, "name"),
        ({"name": 5, "text": "x"}, 400, 10, "name"),
        ([1, 2], 400, 10, "JSON object"),
    ],
)
def test_bad_standard_responses_are_refused_in_the_envelope(
    cc: ContactCenter, body: Any, status: int, code: int, says: str
) -> None:
    boss = create_supervisor(cc)
    refused = boss.post("/api/v2/standard-responses", body, expect=status)
    assert set(refused) == {"statusCode", "statusMessage"}
    assert refused["statusCode"] == code and says in refused["statusMessage"], refused
    response = boss.http.post(
        "/api/v2/standard-responses", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["statusCode"] == 10
    assert boss.get("/api/v2/standard-responses")["standardResponses"] == []


def test_send_standard_response_fills_the_placeholders_and_sends_like_send_message(cc: ContactCenter) -> None:
    boss = create_supervisor(cc)
    text = "Hi, {{agent.nickname}} ({{agent.firstName}}) here: order {{userData.OrderNumber}} for {{customer.phoneNumber}}."
    response_id = boss.post("/api/v2/standard-responses", name="Order", text=text)["id"]
    long_id = boss.post("/api/v2/standard-responses", name="Long", text="x" * 1_580 + "{{userData.Note}}")[
        "id"
    ]
    agent = cc.agent(0).listen().log_in()
    customer = cc.customer_number()
    cc.sms(customer, "Where is my order?")
    session_id = agent.wait_invited()["id"]
    agent.op(session_id, "Accept", nickname="Ali")
    agent.take(3)

    # A placeholder with no value stops the send, naming it; nothing is written or sent.
    refused = agent.op(session_id, "SendStandardResponse", standardResponseId=response_id, expect=400)
    assert refused["statusCode"] == 2 and "{{userData.OrderNumber}}" in refused["statusMessage"], refused
    found = agent.get("/api/v2/me/standard-responses", query="order", smssessionId=session_id)
    (order,) = found["standardResponses"]
    assert order["filledText"] is None and order["missing"] == ["{{userData.OrderNumber}}"]

    agent.op(session_id, "UpdateUserData", userData={"OrderNumber": 1234})
    agent.take(1)
    filled = f"Hi, Ali ({agent.user_name}) here: order 1234 for {customer}."
    found = agent.get("/api/v2/me/standard-responses", query="order", smssessionId=session_id)
    assert found["standardResponses"][0]["filledText"] == filled
    assert found["standardResponses"][0]["missing"] == []

    sent = agent.op(session_id, "SendStandardResponse", standardResponseId=response_id)
    (logged,) = agent.take(1)
    assert logged["messageType"] == "MessageLogUpdated" and logged["referenceId"] == sent["referenceId"]
    (entry,) = logged["messages"]
    assert (entry["type"], entry["text"], entry["visibility"]) == ("Text", filled, "All")
    assert entry["delivery"]["status"] == "pending" and entry["delivery"]["encoding"] == "GSM-7"
    cc.wait_handset(customer, [filled])

    # Bounds, unknown ids, missing parameters: the envelope, nothing sent.
    agent.op(session_id, "UpdateUserData", userData={"Note": "y" * 30})
    agent.take(1)
    too_long = agent.op(session_id, "SendStandardResponse", standardResponseId=long_id, expect=400)
    assert too_long["statusCode"] == 10 and "1600" in too_long["statusMessage"]
    unknown = agent.op(session_id, "SendStandardResponse", standardResponseId="0000", expect=404)
    assert unknown == {"statusCode": 6, "statusMessage": "Standard response not found: 0000"}
    assert agent.op(session_id, "SendStandardResponse", expect=400)["statusCode"] == 1
    assert agent.op(session_id, "SendStandardResponse", standardResponseId="", expect=400)["statusCode"] == 1
    assert (
        cc.agent(1).op(session_id, "SendStandardResponse", standardResponseId=response_id, expect=404)[
            "statusCode"
        ]
        == 6
    )

    # The opt-out rule of SendMessage: the customer texted STOP, nothing goes.
    cc.sms(customer, "STOP")
    opted_out = agent.op(session_id, "SendStandardResponse", standardResponseId=response_id, expect=403)
    assert opted_out["statusCode"] == 3 and "STOP" in opted_out["statusMessage"]
    assert [m["text"] for m in cc.handset(customer)] == [filled]
    # Not listed among the capabilities (GWS clients compare the list): allowed with SendMessage.
    session = agent.get(f"/api/v2/me/smssessions/{session_id}")["smssession"]
    assert "SendStandardResponse" not in session["capabilities"]


def test_searching_for_a_session_one_may_not_read_is_refused(cc: ContactCenter) -> None:
    agent = cc.agent(0).listen().log_in()
    cc.sms(cc.customer_number(), "Hello")
    session_id = agent.wait_invited()["id"]
    refused = cc.agent(1).get("/api/v2/me/standard-responses", smssessionId=session_id, expect=404)
    assert refused["statusCode"] == 6
    admin = create_admin(cc)
    assert admin.get("/api/v2/me/standard-responses", expect=403)["statusCode"] == 5
    response = httpx.get(cc.server.base_url + "/api/v2/me/standard-responses")
    assert response.status_code == 401 and response.json()["statusCode"] == 20


def test_two_concurrent_renames_to_one_name_leave_one_and_refuse_the_other(cc: ContactCenter) -> None:
    """Each write checks that the name is free, and on PostgreSQL two can check at once: the one
    that commits second meets the unique index, runs again, and is refused like any duplicate."""
    boss = create_supervisor(cc)
    admin = create_admin(cc)

    def rename(user: Agent, response_id: str, name: str) -> httpx.Response:
        return user.http.put(f"/api/v2/standard-responses/{response_id}", json={"name": name})

    for round_ in range(10):
        first, second = (
            boss.post("/api/v2/standard-responses", name=f"Draft {round_} {n}", text="Hello")["id"]
            for n in range(2)
        )
        target = f"Final {round_}"
        with ThreadPoolExecutor(2) as pool:
            answers = [
                future.result()
                for future in [
                    pool.submit(rename, boss, first, target),
                    pool.submit(rename, admin, second, target),
                ]
            ]
        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        assert sorted(a.json()["statusCode"] for a in answers) == [0, 18]
        names = [r["name"] for r in admin.get("/api/v2/standard-responses")["standardResponses"]]
        assert names.count(target) == 1
