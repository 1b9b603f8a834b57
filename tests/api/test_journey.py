"""The whole agent path over the real HTTP API and Bayeux: inbound SMS → offer → Accept → chat →
user data → disposition → Complete, with the exact notifications each step produces."""

from __future__ import annotations

from support.agents import ContactCenter

SMS = "/v2/me/smssessions"


def test_inbound_sms_is_offered_to_the_ready_agent_with_the_full_resource(cc: ContactCenter) -> None:
    agent = cc.agent(0).listen().log_in()
    customer = cc.customer_number()
    assert cc.sms(customer, "Hello, my order is late").json() == {"statusCode": 0}

    offer = agent.wait_invited()
    assert offer["state"] == "Invited"
    assert offer["chatType"] == "Inbound"
    assert offer["capabilities"] == [
        "Accept",
        "Reject",
        "SetInFocus",
        "AttachUserData",
        "DeleteUserData",
        "UpdateUserData",
    ]
    assert offer["userData"]["CustomerNumber"] == customer
    assert offer["userData"]["ServiceNumber"] == cc.service_number
    assert offer["userData"]["RTargetRequested"] == cc.queue
    assert offer["uri"].endswith(f"/api/v2/smssessions/{offer['id']}")
    assert offer["path"] == f"/smssessions/{offer['id']}"
    assert len(offer["receivedDate"]) == len("2014-05-15 02:24:00.000-0700")
    assert [p["type"] for p in offer["participants"]] == ["Customer"]
    assert offer["participants"][0]["nickname"] == customer


def test_full_journey_accept_chat_user_data_disposition_complete(cc: ContactCenter) -> None:
    agent = cc.agent(0).listen().log_in()
    customer = cc.customer_number()
    cc.sms(customer, "Hi there")
    session_id = agent.wait_invited()["id"]

    # Accept: StatusChange (with referenceId) → ParticipantsUpdated → MessageLogUpdated (history).
    reply = agent.op(session_id, "Accept", nickname="Alice")
    assert reply["statusCode"] == 0 and isinstance(reply["referenceId"], int)
    status, participants, history = agent.take(3)
    assert status["messageType"] == "SMSsessionStateChangeMessage"
    assert status["notificationType"] == "StatusChange"
    assert status["referenceId"] == reply["referenceId"]
    assert status["smssession"]["state"] == "Chatting"
    assert "SendMessage" in status["smssession"]["capabilities"]
    assert participants["notificationType"] == "ParticipantsUpdated" and "referenceId" not in participants
    assert [(p["type"], p["nickname"]) for p in participants["smssession"]["participants"]] == [
        ("Customer", customer),
        ("Agent", "Alice"),
    ]
    assert history["messageType"] == "MessageLogUpdated" and history["notificationType"] == "NewMessages"
    assert [(m["index"], m["type"]) for m in history["messages"]] == [
        (1, "ParticipantJoined"),
        (2, "Text"),
        (3, "ParticipantJoined"),
    ]
    assert history["messages"][1]["text"] == "Hi there"
    assert history["smssessionPath"] == f"/smssessions/{session_id}"
    assert history["smssessionUri"].endswith(f"/api/v2/smssessions/{session_id}")

    # The agent replies; the customer's handset receives it as an SMS.
    reply = agent.op(session_id, "SendMessage", text="Hello! Let me check.")
    (log,) = agent.take(1)
    assert log["referenceId"] == reply["referenceId"]
    (entry,) = log["messages"]
    assert entry["type"] == "Text" and entry["visibility"] == "All" and entry["index"] == 4
    assert entry["from"]["type"] == "Agent" and entry["from"]["nickname"] == "Alice"
    assert isinstance(entry["timestampSeconds"], int)
    cc.wait_handset(customer, ["Hello! Let me check."])

    # The customer answers: a Text notification, no new session.
    cc.sms(customer, "Order 1234")
    (log,) = agent.take(1)
    assert log["messages"][0]["text"] == "Order 1234" and log["messages"][0]["from"]["type"] == "Customer"
    assert "referenceId" not in log

    agent.op(session_id, "AttachUserData", userData={"OrderId": "1234"})
    (props,) = agent.take(1)
    assert props["notificationType"] == "PropertiesUpdated"
    assert props["smssession"]["userData"]["OrderId"] == "1234"

    reply = agent.op(session_id, "SetDisposition", disposition="Resolved")
    (props,) = agent.take(1)
    assert props["referenceId"] == reply["referenceId"]
    assert props["smssession"]["userData"]["DispositionCode"] == "Resolved"

    reply = agent.op(session_id, "Complete")
    (done,) = agent.take(1)
    assert done["notificationType"] == "StatusChange" and done["referenceId"] == reply["referenceId"]
    assert done["smssession"]["state"] == "Completed" and done["smssession"]["capabilities"] == []
    assert agent.get("/api/v2/me/smssessions") == {"statusCode": 0, "uris": []}

    # After Complete, the customer's next SMS opens a new session.
    cc.sms(customer, "One more thing")
    assert agent.wait_invited()["id"] != session_id


def test_seed_update_user_data_exchange(cc: ContactCenter) -> None:
    """The page the project started from: UpdateUserData on a Chatting session."""
    agent = cc.agent(0).listen().log_in()
    cc.sms(cc.customer_number(), "hello")
    session_id = agent.wait_invited()["id"]
    agent.op(session_id, "Accept", nickname="TestName")
    agent.take(3)

    reply = agent.op(
        session_id, "UpdateUserData", userData={"UserData1": 987654321, "UserData2": "DATAUPDATE-@123"}
    )
    assert reply["statusCode"] == 0
    notifications = agent.take(1)
    assert agent.quiet() == []
    (data,) = notifications
    assert data["messageType"] == "SMSsessionStateChangeMessage"
    assert data["notificationType"] == "PropertiesUpdated"
    assert data["referenceId"] == reply["referenceId"]
    resource = data["smssession"]
    assert resource["state"] == "Chatting"
    assert resource["userData"]["UserData1"] == 987654321
    assert resource["userData"]["UserData2"] == "DATAUPDATE-@123"
    assert resource["userData"]["CustomerNumber"]  # routing keys kept: Update merges
    assert {"UpdateUserData", "AttachUserData", "DeleteUserData", "SendMessage", "Complete"} <= set(
        resource["capabilities"]
    )
    assert resource["id"] == session_id and resource["uri"].endswith(session_id)
    for participant in resource["participants"]:
        assert {"nickname", "type", "participantId"} <= set(participant)

    # The state after a fresh GET is the same.
    fresh = agent.get(f"/api/v2/me/smssessions/{session_id}")["smssession"]
    assert fresh["userData"] == resource["userData"]
    assert type(fresh["userData"]["UserData1"]) is int
