"""The administration API, as an administrator's script or the /admin/ pages use it: users in GWS
8.5's shape, queues, service numbers, the contact center's retention and the audit log; every bad
request refused in the envelope with nothing changed; a disabled, deleted or reset user signed out
everywhere, with the sessions they held routed again."""

from __future__ import annotations

import httpx

from support.administration import Administrator, create_admin, refused
from support.agents import PASSWORD, Agent, ContactCenter, create_supervisor


def _users(admin: Administrator) -> dict[str, dict[str, object]]:
    return {u["userName"]: u for u in admin.get("/api/v2/users", fields="*")["users"]}


def test_an_administrator_adds_reads_changes_and_deletes_a_user_in_gws_shape(cc: ContactCenter) -> None:
    admin = create_admin(cc)
    name = f"{cc.tenant}-new"
    created = admin.add_user(
        name, ["ROLE_AGENT", "ROLE_SUPERVISOR"], firstName="Nia", lastName="Ode", queues=[cc.queue]
    )
    assert set(created) == {"statusCode", "id", "uri", "path"} and created["statusCode"] == 0
    assert created["uri"].endswith(f"/api/v2/users/{created['id']}") and len(created["id"]) == 32

    user = admin.user(created["id"])
    assert {k: user[k] for k in ("userName", "firstName", "lastName", "roles", "enabled")} == {
        "userName": name,
        "firstName": "Nia",
        "lastName": "Ode",
        "roles": ["ROLE_AGENT", "ROLE_SUPERVISOR"],
        "enabled": True,
    }
    assert user["queues"] == [cc.queue] and user["supervisedQueues"] == [] and user["passwordSignIn"] is True
    assert admin.get("/api/v2/users")["uris"]  # without fields=*: uris, as GWS
    assert name in _users(admin)

    # The new user signs in with the password the administrator chose.
    new = Agent(cc.server, name)
    assert new.get("/api/v2/me")["user"]["id"] == created["id"]

    admin.put(f"/api/v2/users/{created['id']}", lastName="Okafor", roles=["ROLE_AGENT"], queues=[])
    user = admin.user(created["id"])
    assert user["lastName"] == "Okafor" and user["roles"] == ["ROLE_AGENT"] and user["queues"] == []

    assert admin.delete(f"/api/v2/users/{created['id']}") == {"statusCode": 0}
    refused(admin.http.get(f"/api/v2/users/{created['id']}"), 404, 6)
    refused(new.http.get("/api/v2/me", auth=(name, PASSWORD)), 401, 20)
    new.close()


def test_agents_and_supervisors_read_users_as_before_but_change_nothing(cc: ContactCenter) -> None:
    admin = create_admin(cc)
    agent = cc.agent(0)
    supervisor = create_supervisor(cc)
    before = _users(admin)
    for caller in (agent, supervisor):
        assert caller.get("/api/v2/users", fields="*")["users"]  # colleagues, as today
        target = f"/api/v2/users/{cc.agent(1).id}"
        for method, path, body in (
            (
                "POST",
                "/api/v2/users",
                {"userName": "x-intruder", "password": PASSWORD, "roles": ["ROLE_ADMIN"]},
            ),
            ("PUT", target, {"roles": ["ROLE_ADMIN"]}),
            ("DELETE", target, None),
            ("POST", "/api/v2/queues", {"name": "mine"}),
            ("DELETE", f"/api/v2/customers/{cc.customer_number()}", None),
        ):
            message = refused(caller.http.request(method, path, json=body), 403, 5)
            assert "administrator" in message
        for path in ("/api/v2/audit", "/api/v2/service-numbers", "/api/v2/contact-center"):
            refused(caller.http.get(path), 403, 5)
    # Queues: a supervisor reads theirs (opening hours), without who serves them; an agent nothing.
    refused(agent.http.get("/api/v2/queues"), 403, 5)
    assert "members" not in supervisor.get("/api/v2/queues")["queues"][0]
    assert _users(admin) == before


def test_bad_requests_are_refused_in_the_envelope_and_change_nothing(cc: ContactCenter) -> None:
    admin = create_admin(cc)
    before = _users(admin)
    existing = cc.agent_names[0]
    name = f"{cc.tenant}-weak"
    cases = [
        ({"userName": existing, "password": PASSWORD, "roles": ["ROLE_AGENT"]}, 409, 18, "already exists"),
        ({"userName": name, "password": "short", "roles": ["ROLE_AGENT"]}, 400, 10, "at least 8"),
        ({"userName": name, "password": "", "roles": ["ROLE_AGENT"]}, 400, 1, "must not be empty"),
        ({"userName": name, "password": PASSWORD, "roles": ["ROLE_KING"]}, 400, 10, "Unknown role ROLE_KING"),
        ({"userName": name, "password": PASSWORD, "roles": []}, 400, 1, "roles"),
        ({"userName": name, "password": PASSWORD}, 400, 1, "roles"),
        (
            {"userName": name, "password": PASSWORD, "roles": ["ROLE_AGENT"], "queues": ["nope"]},
            404,
            6,
            "nope",
        ),
        ({"userName": name, "password": PASSWORD, "roles": "ROLE_AGENT"}, 400, 10, "roles"),
    ]
    for body, http_status, status_code, words in cases:
        message = refused(admin.http.post("/api/v2/users", json=body), http_status, status_code)
        assert words in message, (body, message)
    refused(admin.http.post("/api/v2/users", content=b"{not json"), 400, 10)
    refused(admin.http.put(f"/api/v2/users/{'0' * 32}", json={"enabled": False}), 404, 6)
    refused(admin.http.put(f"/api/v2/users/{cc.agent(0).id}", json={"password": "1234"}), 400, 10)
    refused(admin.http.delete(f"/api/v2/users/{'f' * 32}"), 404, 6)
    # An administrator does not lock themselves out.
    assert "yourself" in refused(admin.http.put(f"/api/v2/users/{admin.id}", json={"enabled": False}), 400, 2)
    assert "yourself" in refused(admin.http.delete(f"/api/v2/users/{admin.id}"), 400, 2)
    assert _users(admin) == before


def test_an_administrator_acts_in_their_own_contact_center_only(cc: ContactCenter) -> None:
    from support.agents import create_contact_center

    other = create_contact_center(cc.server, agents=1)
    try:
        foreign_admin = create_admin(other)
        victim = cc.agent(0)
        # Another contact center's user is not found, exactly like an unknown one.
        refused(foreign_admin.http.get(f"/api/v2/users/{victim.id}"), 404, 6)
        refused(foreign_admin.http.put(f"/api/v2/users/{victim.id}", json={"enabled": False}), 404, 6)
        refused(foreign_admin.http.delete(f"/api/v2/users/{victim.id}"), 404, 6)
        # Nor can their users be put in its queues (both contact centers have a queue of that name).
        refused(foreign_admin.http.put(f"/api/v2/queues/{cc.queue}", json={"members": [victim.id]}), 404, 6)
        refused(foreign_admin.http.delete(f"/api/v2/service-numbers/{cc.service_number}"), 404, 6)
        assert cc.agent_names[0] not in {
            u["userName"] for u in foreign_admin.get("/api/v2/users", fields="*")["users"]
        }
        assert victim.get("/api/v2/me")["user"]["enabled"] is True
    finally:
        other.close()


def test_disabling_a_user_signs_them_out_everywhere_and_routes_their_sessions_again(
    cc: ContactCenter,
) -> None:
    admin = create_admin(cc)
    first = cc.agent(0).listen().log_in()
    customer = cc.customer_number()
    cc.sms(customer, "Help me please")
    session_id = first.wait_invited()["id"]
    first.op(session_id, "Accept", nickname="First")
    first.take(3)
    # A cookie-only client (a browser) of the same user.
    browser = httpx.Client(base_url=cc.server.base_url, timeout=10)
    browser.get("/api/v2/me", auth=(first.user_name, PASSWORD)).raise_for_status()
    assert browser.get("/api/v2/me").status_code == 200

    second = cc.agent(1).listen().log_in()
    admin.put(f"/api/v2/users/{first.id}", enabled=False)

    # The conversation goes back to its queue and is offered to a colleague who is there.
    offer = second.wait_invited()
    assert offer["id"] == session_id
    refused(browser.get("/api/v2/me"), 401, 20)
    refused(first.http.get("/api/v2/me"), 401, 20)
    assert admin.user(first.id)["enabled"] is False
    # Enabled again, the user signs in anew; nothing of the old session came back.
    admin.put(f"/api/v2/users/{first.id}", enabled=True)
    assert first.get("/api/v2/me")["user"]["enabled"] is True
    assert all(s["id"] != session_id for s in first.get("/api/v2/me/smssessions", fields="*")["smssessions"])
    entry = admin.audit()[1]
    assert entry["action"] == "user.disable" and entry["target"] == {"type": "user", "id": first.id}
    assert entry["before"]["enabled"] is True and entry["after"]["enabled"] is False
    assert entry["actor"]["userName"] == admin.user_name
    browser.close()


def test_deleting_a_user_withdraws_their_offer_and_ends_their_notifications(cc: ContactCenter) -> None:
    admin = create_admin(cc)
    doomed = cc.agent(0).listen().log_in()
    customer = cc.customer_number()
    cc.sms(customer, "Anyone there?")
    session_id = doomed.wait_invited()["id"]
    other = cc.agent(1).listen().log_in()

    admin.delete(f"/api/v2/users/{doomed.id}")
    assert other.wait_invited()["id"] == session_id
    refused(doomed.http.get("/api/v2/me"), 401, 20)
    assert doomed.user_name not in _users(admin)
    entry = admin.audit()[0]
    assert entry["action"] == "user.delete" and entry["after"] is None
    assert entry["before"]["userName"] == doomed.user_name
    cc.agents.remove(doomed)
    doomed.http.close()
    doomed.bayeux.http.close()


def test_a_password_reset_ends_the_sessions_and_notification_clients_and_is_audited_without_it(
    cc: ContactCenter,
) -> None:
    admin = create_admin(cc)
    agent = cc.agent(0).listen()
    old_client = agent.bayeux.client_id
    admin.put(f"/api/v2/users/{agent.id}", password="brand-new-pass")
    refused(agent.http.get("/api/v2/me"), 401, 20)
    # With the new password the user is let in, but the notification client of before is gone
    # (402: handshake again), on every node.
    agent.bayeux.http.auth = httpx.BasicAuth(agent.user_name, "brand-new-pass")
    reply = agent.bayeux.send(
        {"channel": "/meta/connect", "clientId": old_client, "connectionType": "long-polling", "id": "99"}
    )[0]
    assert reply["successful"] is False and reply["error"].startswith("402"), reply
    assert (
        httpx.get(
            cc.server.base_url + "/api/v2/me", auth=(agent.user_name, "brand-new-pass"), timeout=10
        ).status_code
        == 200
    )
    entry = admin.audit()[0]
    assert entry["action"] == "user.update" and entry["after"]["passwordChanged"] is True
    assert "brand-new-pass" not in str(admin.audit())


def test_queues_their_members_and_supervisors(cc: ContactCenter) -> None:
    admin = create_admin(cc)
    supervisor = create_supervisor(cc)
    queue = admin.post("/api/v2/queues", {"name": "vip", "members": [cc.agent(0).id]})["queue"]
    assert queue["name"] == "vip" and [m["id"] for m in queue["members"]] == [cc.agent(0).id]
    refused(admin.http.post("/api/v2/queues", json={"name": "vip"}), 409, 18)
    refused(admin.http.post("/api/v2/queues", json={}), 400, 1)
    refused(admin.http.put("/api/v2/queues/vip", json={"supervisors": [cc.agent(1).id]}), 400, 10)
    refused(admin.http.put("/api/v2/queues/vip", json={"members": ["nobody"]}), 404, 6)
    updated = admin.put("/api/v2/queues/vip", members=[cc.agent(1).user_name], supervisors=[supervisor.id])[
        "queue"
    ]
    assert [m["userName"] for m in updated["members"]] == [cc.agent_names[1]]
    assert [s["id"] for s in updated["supervisors"]] == [supervisor.id]
    assert admin.user(cc.agent(1).id)["queues"] == sorted([cc.queue, "vip"])
    # The supervisor sees the new queue on the board.
    assert "vip" in {q["queue"] for q in supervisor.get("/api/v2/me/statistics")["statistics"]}
    # A queue a number routes to is in use.
    message = refused(admin.http.delete(f"/api/v2/queues/{cc.queue}"), 409, 19)
    assert cc.service_number in message
    admin.delete("/api/v2/queues/vip")
    assert "vip" not in {q["name"] for q in admin.get("/api/v2/queues")["queues"]}
    refused(admin.http.get("/api/v2/queues/vip"), 404, 6)


def test_service_numbers(cc: ContactCenter) -> None:
    admin = create_admin(cc)
    admin.post("/api/v2/queues", {"name": "sales"})
    number = f"+1777{cc.server.port:05d}01"
    created = admin.post("/api/v2/service-numbers", {"number": number, "queue": cc.queue})["serviceNumber"]
    assert created == {
        "number": number,
        "queue": cc.queue,
        "connector": "simulator",
        "path": f"/service-numbers/{number}",
    }
    refused(admin.http.post("/api/v2/service-numbers", json={"number": number, "queue": cc.queue}), 409, 18)
    refused(
        admin.http.post("/api/v2/service-numbers", json={"number": "not a number", "queue": cc.queue}),
        400,
        10,
    )
    refused(
        admin.http.post("/api/v2/service-numbers", json={"number": "+17770000002", "queue": "none"}), 404, 6
    )
    moved = admin.put(f"/api/v2/service-numbers/{number}", queue="sales")["serviceNumber"]
    assert moved["queue"] == "sales"
    # Customers texting it now wait in "sales".
    assert {n["number"]: n["queue"] for n in admin.get("/api/v2/service-numbers")["serviceNumbers"]}[
        number
    ] == "sales"
    admin.delete(f"/api/v2/service-numbers/{number}")
    refused(admin.http.delete(f"/api/v2/service-numbers/{number}"), 404, 6)
    actions = [e["action"] for e in admin.audit()[:4]]
    assert actions == ["number.delete", "number.update", "number.create", "queue.create"]


def test_the_audit_log_pages_newest_first_and_records_the_command_line_too(cc: ContactCenter) -> None:
    admin = create_admin(cc)
    for index in range(3):
        admin.post("/api/v2/queues", {"name": f"q{index}"})
    body = admin.get("/api/v2/audit", startIndex=1, count=2)
    assert body["total"] >= 3 + len(cc.agent_names) + 1
    assert [e["target"]["id"] for e in body["entries"]] == ["q2", "q1"]
    assert [e["target"]["id"] for e in admin.get("/api/v2/audit", startIndex=3, count=1)["entries"]] == ["q0"]
    entry = body["entries"][0]
    assert set(entry) == {"id", "timestamp", "timestampMs", "actor", "action", "target", "before", "after"}
    # The contact center's users were added with the command line's operations: recorded as such.
    oldest = admin.get("/api/v2/audit", startIndex=body["total"], count=1)["entries"][0]
    assert oldest["action"] == "user.create" and oldest["actor"] == {"userName": "command line"}
    refused(admin.http.get("/api/v2/audit", params={"count": "-1"}), 400, 10)


def test_the_contact_centers_retention_period(cc: ContactCenter) -> None:
    admin = create_admin(cc)
    assert admin.get("/api/v2/contact-center")["contactCenter"] == {
        "id": cc.tenant,
        "name": cc.tenant,
        "retentionDays": None,
    }
    assert admin.put("/api/v2/contact-center", retentionDays=30)["contactCenter"]["retentionDays"] == 30
    refused(admin.http.put("/api/v2/contact-center", json={"retentionDays": 0}), 400, 10)
    refused(admin.http.put("/api/v2/contact-center", json={"retentionDays": "a month"}), 400, 10)
    assert admin.put("/api/v2/contact-center", retentionDays=None)["contactCenter"]["retentionDays"] is None
    entry = admin.audit()[0]
    assert entry["action"] == "contactCenter.update" and entry["before"] == {"retentionDays": 30}


def test_two_administrators_adding_one_name_at_once_get_one_user_and_a_409(cc: ContactCenter) -> None:
    from concurrent.futures import ThreadPoolExecutor

    admins = [create_admin(cc) for _ in range(2)]
    name = f"{cc.tenant}-raced"
    body = {"userName": name, "password": PASSWORD, "roles": ["ROLE_AGENT"]}
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda i: admins[i % 2].http.post("/api/v2/users", json=body), range(6)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 409, 409, 409, 409, 409], [a.text for a in answers]
    assert all(a.json()["statusCode"] == 18 for a in answers if a.status_code == 409)


def test_standard_responses_opening_hours_and_automatic_replies_are_audited(cc: ContactCenter) -> None:
    admin = create_admin(cc)
    created = admin.post("/api/v2/standard-responses", name="Hello", text="Hello!")["standardResponse"]
    path = f"/api/v2/standard-responses/{created['id']}"
    admin.put(path, text="Hello, {{customer.phoneNumber}}.")
    admin.delete(path)
    queue = f"/api/v2/queues/{cc.queue}"
    admin.put(f"{queue}/opening-hours", timezone="UTC", weekly="mon-fri 09:00-17:00")
    admin.put(f"{queue}/automatic-replies", closed="We are closed.")
    admin.delete(f"{queue}/opening-hours")
    entries = admin.audit(count=6)
    assert [(e["action"], e["target"]) for e in entries] == [
        ("queue.openingHours", {"type": "queue", "id": cc.queue}),
        ("queue.automaticReplies", {"type": "queue", "id": cc.queue}),
        ("queue.openingHours", {"type": "queue", "id": cc.queue}),
        ("standardResponse.delete", {"type": "standardResponse", "id": created["id"]}),
        ("standardResponse.update", {"type": "standardResponse", "id": created["id"]}),
        ("standardResponse.create", {"type": "standardResponse", "id": created["id"]}),
    ]
    assert all(e["actor"]["userName"] == admin.user_name for e in entries)
    hours = {"timezone": "UTC", "weekly": "mon-fri 09:00-17:00", "closedDates": [], "whenClosed": "queue"}
    assert (entries[0]["before"], entries[0]["after"]) == (hours, None)  # always open again
    assert (entries[2]["before"], entries[2]["after"]) == (None, hours)
    assert entries[1]["before"] == {"closed": None, "waiting": None, "waitingAfterSeconds": None}
    assert entries[1]["after"] == {"closed": "We are closed.", "waiting": None, "waitingAfterSeconds": None}
    assert entries[4]["before"] == {"name": "Hello", "category": "", "text": "Hello!"}
    assert entries[4]["after"] == {
        "name": "Hello",
        "category": "",
        "text": "Hello, {{customer.phoneNumber}}.",
    }
    assert entries[3]["after"] is None and entries[5]["before"] is None
