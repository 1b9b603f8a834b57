"""Limits that hold over the whole cluster (three nodes behind nginx round-robin), not per node:
the sign-in throttle and the per-user Bayeux cap are counted in the database, each node enforces
its share of the rate limits (rate and burst divided by the live nodes), and presence is judged
from what every node saw."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

import support.server
from reliability.listener import Background, Listener, wait_until
from support.agents import PASSWORD, create_contact_center
from support.bayeux_client import BayeuxClient
from support.cluster import Cluster
from support.presence import invited, offered_to, sms_channel
from support.server import QUICK_TIMEOUTS

pytestmark = pytest.mark.slow

CAP = 3
SUBSCRIPTION_CAP = 4
ENV = {
    **QUICK_TIMEOUTS,
    "SMSDESK_BAYEUX_MAX_CLIENTS_PER_USER": str(CAP),
    "SMSDESK_BAYEUX_MAX_SUBSCRIPTIONS_PER_USER": str(SUBSCRIPTION_CAP),
    "SMSDESK_RATE_LIMIT_USER_PER_S": "0.5",
    "SMSDESK_RATE_LIMIT_USER_BURST": "30",
    # Presence as in tests/reliability/test_presence.py: withdrawn within seconds, timeout 30 s.
    "SMSDESK_OFFER_TIMEOUT_MS": "30000",
    "SMSDESK_BAYEUX_MAX_INTERVAL_MS": "2000",
    "SMSDESK_PRESENCE_OFFER_S": "2",
    "SMSDESK_PRESENCE_AWAY_S": "5",
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    previous, support.server.backend = support.server.backend, "postgres"
    running = Cluster(tmp_path_factory.mktemp("limits"), nodes=3, env=ENV).start()
    time.sleep(6)  # every node has counted the others (every 5 s) and enforces its share
    yield running
    running.stop()
    support.server.backend = previous


def test_eleven_wrong_passwords_spread_over_the_nodes_are_throttled(cluster: Cluster) -> None:
    cc = create_contact_center(cluster, agents=1)
    name = cc.agent_names[0]
    with httpx.Client(base_url=cluster.base_url, timeout=10) as http:
        statuses = [http.get("/api/v2/me", auth=(name, f"guess-{n}")).status_code for n in range(11)]
        assert statuses == [401] * 10 + [429], statuses
        # Whichever node the next guesses reach, they are refused without a password check.
        assert {http.get("/api/v2/me", auth=(name, "guess")).status_code for _ in range(6)} == {429}
    nodes_that_counted = [node for node in cluster.nodes if f'auth.failure user="{name}"' in node.logs()]
    assert len(nodes_that_counted) == 3  # round robin: the failures really were spread


def test_the_per_user_bayeux_cap_holds_over_the_nodes(cluster: Cluster) -> None:
    cc = create_contact_center(cluster, agents=2)
    clients = [BayeuxClient(cluster.base_url, (cc.agent_names[0], PASSWORD)) for _ in range(2 * CAP)]
    for client in clients:  # round robin: two on each node, under each node's own cap
        assert client.handshake()["successful"]
    other = BayeuxClient(cluster.base_url, (cc.agent_names[1], PASSWORD))
    assert other.handshake()["successful"]

    def alive(client: BayeuxClient) -> bool:
        reply = next(m for m in client.connect() if m["channel"] == "/meta/connect")
        return bool(reply["successful"])

    assert [alive(client) for client in clients] == [False] * CAP + [True] * CAP
    assert alive(other)  # another user's clients are never counted against this one
    for client in [*clients, other]:
        client.http.close()


def test_the_per_user_subscription_cap_holds_over_the_nodes(cluster: Cluster) -> None:
    """Each node counts the subscriptions of the clients it holds; the cap is the user's over the
    cluster: three clients (round robin: one per node) subscribing two channels each reach it at the
    second one of the third client, which is refused and keeps what it had."""
    cc = create_contact_center(cluster, agents=1)
    clients = [BayeuxClient(cluster.base_url, (cc.agent_names[0], PASSWORD)) for _ in range(CAP)]
    for client in clients:
        assert client.handshake()["successful"]
    replies = []
    for client in clients:
        for channel in ("/v2/me/smssessions", "/v2/me/channels"):
            (reply,) = [m for m in client.subscribe(channel) if m["channel"] == "/meta/subscribe"]
            replies.append((reply["successful"], reply.get("error")))
    assert replies == [(True, None)] * SUBSCRIPTION_CAP + [(False, "403::too_many_subscriptions")] * 2
    for client in clients:
        client.http.close()


def test_each_node_enforces_its_share_of_a_rate_limit(cluster: Cluster) -> None:
    cc = create_contact_center(cluster, agents=1)
    with httpx.Client(base_url=cluster.base_url, auth=(cc.agent_names[0], PASSWORD), timeout=10) as http:
        started = time.monotonic()
        statuses = [http.get("/api/v2/me").status_code for _ in range(60)]
        elapsed = time.monotonic() - started
    allowed = statuses.count(200)
    # A burst of 30 for the cluster (10 per node), plus what 0.5/s refills meanwhile; per node the
    # user would have had 90 and all 60 would have passed.
    assert 25 <= allowed <= 30 + 0.5 * elapsed + 3, (allowed, elapsed)
    assert statuses.count(429) == 60 - allowed


def test_presence_is_judged_from_what_every_node_saw(cluster: Cluster) -> None:
    cc = create_contact_center(cluster, agents=2)
    present = Listener(cluster, (cc.agent_names[0], PASSWORD), ack=False)
    with Background(present):  # its long-polls and requests land on every node in turn
        cc.agent(0).log_in()
        cc.sms(cc.customer_number(), "hello")
        wait_until(lambda: len(invited(present)) == 1, 15, "the offer to the agent who is there")
        session_id = invited(present)[0]
        time.sleep(4)  # longer than presence_offer_s: only what the nodes saw keeps the offer
        assert offered_to(cc, cc.agent(0)) == [session_id]
    cc.agent(0).close()  # the desktop goes
    present.close()
    gone_at = time.monotonic()
    there = Listener(cluster, (cc.agent_names[1], PASSWORD), ack=False)
    with Background(there):
        cc.agent(1).log_in()
        wait_until(lambda: session_id in invited(there), 20, "the withdrawn offer, routed on")
    there.close()
    assert time.monotonic() - gone_at < 15  # not the 30 s offer timeout
    wait_until(lambda: sms_channel(cc, cc.agent(0)) == ("NotReady", "SessionExpired"), 15, "NotReady")
