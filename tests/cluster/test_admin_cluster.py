"""Administration on a cluster: a user disabled or reset on one node is signed out on the others too:
their Bayeux client, owned by another node, is dropped there (402), and their HTTP session ends
there within ``http_session_check_s``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import support.server
from support.administration import create_admin
from support.agents import PASSWORD, create_contact_center
from support.bayeux_client import BayeuxClient
from support.server import QUICK_TIMEOUTS, RunningServer

pytestmark = pytest.mark.slow


@pytest.fixture
def two_nodes(tmp_path: Path) -> Iterator[tuple[RunningServer, RunningServer]]:
    previous, support.server.backend = support.server.backend, "postgres"
    database = tmp_path / "admin-cluster.db"
    first = RunningServer(database, QUICK_TIMEOUTS).start()
    second = RunningServer(database, QUICK_TIMEOUTS, demo=False).start()
    yield first, second
    second.stop()
    first.stop()
    support.server.backend = previous


def test_a_password_reset_on_one_node_drops_the_users_client_on_another(
    two_nodes: tuple[RunningServer, RunningServer],
) -> None:
    first, second = two_nodes
    cc = create_contact_center(first, agents=1)
    admin = create_admin(cc)  # speaks to the first node
    name = cc.agent_names[0]
    # The agent's desktop lives on the second node: its Bayeux client and its HTTP session.
    bayeux = BayeuxClient(second.base_url, (name, PASSWORD))
    assert bayeux.handshake()["successful"]
    assert bayeux.subscribe("/v2/me/**")[0]["successful"]
    browser = httpx.Client(base_url=second.base_url, timeout=10)
    browser.get("/api/v2/me", auth=(name, PASSWORD)).raise_for_status()
    assert browser.get("/api/v2/me").status_code == 200

    agent_id = admin.get("/api/v2/users", fields="*")["users"]
    user_id = next(u["id"] for u in agent_id if u["userName"] == name)
    admin.put(f"/api/v2/users/{user_id}", password="reset-on-node-one")

    bayeux.http.auth = httpx.BasicAuth(name, "reset-on-node-one")
    deadline = time.monotonic() + 10
    while True:
        reply = bayeux.send(
            {
                "channel": "/meta/connect",
                "clientId": bayeux.client_id,
                "connectionType": "long-polling",
                "id": "7",
            }
        )[0]
        if reply.get("error", "").startswith("402"):
            break
        assert time.monotonic() < deadline, f"the second node still serves the client: {reply}"
        time.sleep(0.2)
    # Its HTTP session ended on every node: the second sees it within http_session_check_s (5 s).
    deadline = time.monotonic() + 10
    while browser.get("/api/v2/me").status_code != 401:
        assert time.monotonic() < deadline, "the second node still honours the session"
        time.sleep(0.5)

    admin.put(f"/api/v2/users/{user_id}", enabled=False)
    refused = httpx.get(second.base_url + "/api/v2/me", auth=(name, "reset-on-node-one"), timeout=10)
    # The second node trusted the verified password for credential_trust_s at most.
    deadline = time.monotonic() + 40
    while refused.status_code != 401:
        assert time.monotonic() < deadline, refused.text
        time.sleep(1)
        refused = httpx.get(second.base_url + "/api/v2/me", auth=(name, "reset-on-node-one"), timeout=10)
    browser.close()
    bayeux.http.close()
    cc.close()
