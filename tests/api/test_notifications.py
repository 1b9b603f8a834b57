"""GWS notifications over the real Bayeux endpoint: topics, policy, recipients, order, real clients."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from aiocometd_ng import Client, ConnectionType
from aiocometd_ng.exceptions import ServerError

from support.agents import PASSWORD, Agent, ContactCenter
from support.bayeux_client import BayeuxClient
from support.server import RunningServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def chatting(cc: ContactCenter, agent: Agent) -> str:
    cc.sms(cc.customer_number(), "hello")
    session_id = agent.wait_invited()["id"]
    agent.op(session_id, "Accept")
    agent.take(3)
    return session_id


def test_real_pypi_bayeux_client_receives_the_update_user_data_notification(cc: ContactCenter) -> None:
    agent = cc.agent(0).listen().log_in()
    session_id = chatting(cc, agent)
    host = cc.server.base_url.removeprefix("http://")
    url = f"http://{agent.user_name}:{PASSWORD}@{host}/api/v2/notifications"

    async def scenario() -> tuple[dict[str, Any], int]:
        async with Client(url, connection_types=ConnectionType.LONG_POLLING) as client:
            await client.subscribe("/v2/me/*")
            with pytest.raises(ServerError):
                await client.subscribe("/v2/users/someone-else")
            reply = await asyncio.to_thread(
                agent.op, session_id, "UpdateUserData", userData={"UserData1": 987654321}
            )
            message: dict[str, Any] = await asyncio.wait_for(client.receive(), 10)
            return message, int(reply["referenceId"])

    message, reference_id = asyncio.run(scenario())
    assert message["channel"] == "/v2/me/smssessions"
    data = message["data"]
    assert (data["messageType"], data["notificationType"]) == (
        "SMSsessionStateChangeMessage",
        "PropertiesUpdated",
    )
    assert data["referenceId"] == reference_id
    assert data["smssession"]["userData"]["UserData1"] == 987654321


def test_every_tab_of_the_agent_gets_it_and_nobody_else_does(cc: ContactCenter) -> None:
    agent = cc.agent(0).listen().log_in()
    other = cc.agent(1).listen().log_in(ready=False)
    second_tab = BayeuxClient(cc.server.base_url, (agent.user_name, PASSWORD))
    second_tab.handshake()
    second_tab.subscribe("/**")
    session_id = chatting(cc, agent)
    second_tab.received.clear()
    second_tab.drain()
    agent.op(session_id, "SendMessage", text="to both tabs")
    (first,) = agent.take(1)
    [in_second] = [m["data"] for m in second_tab.take(1)]
    assert first == in_second
    assert other.quiet() == []
    second_tab.disconnect()


def test_notifications_arrive_in_commit_order(cc: ContactCenter) -> None:
    agent = cc.agent(0).listen().log_in()
    session_id = chatting(cc, agent)
    references = [agent.op(session_id, "UpdateUserData", userData={"n": n})["referenceId"] for n in range(40)]
    received = agent.take(40)
    assert [n["referenceId"] for n in received] == references
    assert [n["smssession"]["userData"]["n"] for n in received] == list(range(40))


def test_subscription_policy_denies_by_default(cc: ContactCenter) -> None:
    agent = cc.agent(0)
    client = BayeuxClient(cc.server.base_url, (agent.user_name, PASSWORD))
    client.handshake()
    allowed = client.subscribe("/v2/me/smssessions", "/v2/me/channels", "/v2/me/*", "/v2/me/**", "/**")
    assert all(reply["successful"] for reply in allowed), allowed
    denied = client.subscribe("/v2/users/x", "/v2/me/*/x", "/chats", "/meta/connect")
    assert not any(reply["successful"] for reply in denied), denied
    publish = client.send({"channel": "/v2/me/smssessions", "clientId": client.client_id, "data": {}})
    assert publish[0]["successful"] is False
    client.disconnect()


def test_bayeux_requests_authenticate_like_rest(server: RunningServer, cc: ContactCenter) -> None:
    handshake = [
        {"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}
    ]
    anonymous = httpx.post(server.base_url + "/api/v2/notifications", json=handshake)
    assert anonymous.status_code == 401
    assert anonymous.json() == {"statusCode": 20, "statusMessage": "Access denied"}
    wrong = httpx.post(
        server.base_url + "/api/v2/notifications", json=handshake, auth=(cc.agent_names[0], "nope")
    )
    assert wrong.status_code == 401
    # The cookie of a REST session authenticates Bayeux too (a browser desktop sends no Basic).
    agent = cc.agent(0)
    agent.get("/api/v2/me")
    cookie = agent.http.cookies.get("JSESSIONID")
    assert cookie
    by_cookie = httpx.post(
        server.base_url + "/api/v2/notifications/handshake", json=handshake, cookies={"JSESSIONID": cookie}
    )
    assert by_cookie.status_code == 200 and by_cookie.json()[0]["successful"] is True


def test_channel_state_notifications(cc: ContactCenter) -> None:
    agent = cc.agent(0).listen()
    reply = agent.post("/api/v2/me", operationName="StartContactCenterSession", channels=["sms", "chat"])
    agent.post("/api/v2/me/channels/smssession", operationName="Ready")
    agent.bayeux.wait_for(lambda r: len([m for m in r if m["channel"] == "/v2/me/channels"]) >= 2)
    start, ready = [m["data"] for m in agent.bayeux.received if m["channel"] == "/v2/me/channels"][:2]
    assert start["messageType"] == "ChannelStateChangeMessageV2"
    assert start["referenceId"] == reply["referenceId"]
    assert {c["channel"]: c["userState"]["state"] for c in start["channels"]} == {
        "chat": "NotReady",
        "smssession": "NotReady",
    }
    sms = next(c for c in ready["channels"] if c["channel"] == "smssession")
    assert sms == {
        "channel": "smssession",
        "dndState": "Off",
        "userState": {"id": "9430250E-0A1B-421F-B372-F29E69366DED", "displayName": "Ready", "state": "Ready"},
    }


def test_websockets_are_not_compressed_unless_configured(server: RunningServer, cc: ContactCenter) -> None:
    """permessage-deflate costs ~40 KB per connection for ~1 KB notifications: refused by default
    (setting ``websocket_compression``), and the socket works without it."""
    import base64
    import json

    from websockets.sync.client import connect

    agent = cc.agent(0)
    token = base64.b64encode(f"{agent.user_name}:{PASSWORD}".encode()).decode()
    url = server.base_url.replace("http://", "ws://") + "/api/v2/notifications"
    with connect(
        url, additional_headers={"Authorization": f"Basic {token}"}, compression="deflate"
    ) as socket:
        assert socket.response is not None
        assert "Sec-WebSocket-Extensions" not in socket.response.headers
        socket.send(
            json.dumps(
                [{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["websocket"]}]
            )
        )
        [reply] = json.loads(socket.recv(5))
        assert reply["successful"] is True
