"""GET /metrics: off by default, protected by a token, with operational and contact-center numbers."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from support.metrics import TOKEN, sample
from support.server import QUICK_TIMEOUTS, RunningServer

pytestmark = pytest.mark.slow


def test_metrics_are_off_unless_a_token_is_set_and_say_so(server: RunningServer) -> None:
    disabled = httpx.get(server.base_url + "/metrics", timeout=10)
    assert disabled.status_code == 404
    assert disabled.json()["statusCode"] == 6
    assert "disabled until the metrics_token setting is set" in disabled.json()["statusMessage"]


def test_metrics_with_a_token(tmp_path: Path) -> None:
    running = RunningServer(
        tmp_path / "metrics.db", {**QUICK_TIMEOUTS, "SMSDESK_METRICS_TOKEN": TOKEN}
    ).start()
    try:
        base = running.base_url
        missing = httpx.get(base + "/metrics", timeout=10)
        assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
        assert missing.json()["statusCode"] == 20 and "Bearer" in missing.json()["statusMessage"]
        wrong = httpx.get(base + "/metrics", headers={"Authorization": "Bearer nope"}, timeout=10)
        assert wrong.status_code == 401 and wrong.json()["statusCode"] == 20

        agent = httpx.Client(base_url=base, auth=("agent1", "password"), timeout=10)
        handshake = agent.post(
            "/api/v2/notifications",
            json=[
                {"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}
            ],
        ).json()[0]
        client_id = handshake["clientId"]
        agent.post(
            "/api/v2/notifications",
            json=[{"channel": "/meta/subscribe", "clientId": client_id, "subscription": "/v2/me/**"}],
        )
        agent.post(
            "/api/v2/me", json={"operationName": "StartContactCenterSession", "channels": ["smssession"]}
        )
        agent.post("/api/v2/me/channels/smssession", json={"operationName": "Ready"})
        agent.post("/api/v2/me/channels/smssession", json={"operationName": "Dance"})  # statusCode 2
        created = agent.post(
            "/api/v2/me/smssessions",
            json={"operationName": "Create", "phoneNumber": "+15551230000", "text": "Hi"},
        ).json()
        assert created["statusCode"] == 0

        deadline = time.monotonic() + 10
        while True:
            text = httpx.get(base + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).text
            try:
                assert sample(text, "smsdesk_sms_total", connector="simulator", outcome="accepted") == 1
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert (
            sample(text, "smsdesk_operations_total", operation="StartContactCenterSession", status_code="0")
            == 1
        )
        # A name we do not know is counted, under one label, whatever the client invented.
        assert sample(text, "smsdesk_operations_total", operation="unknown", status_code="2") == 1
        assert "Dance" not in text
        assert sample(text, "smsdesk_operations_total", operation="Create", status_code="0") == 1
        assert (
            sample(
                text,
                "smsdesk_http_requests_total",
                method="POST",
                route="/api/v2/me/smssessions",
                status="200",
            )
            == 1
        )
        assert sample(text, "smsdesk_bayeux_clients") == 1
        assert sample(text, "smsdesk_notification_latency_seconds_count") >= 3
        assert sample(text, "smsdesk_queue_waiting", tenant="default", queue="sms-default") == 0
        assert sample(text, "smsdesk_agent_ready", tenant="default", queue="sms-default", agent="agent1") == 1
        assert (
            sample(text, "smsdesk_agent_live_sessions", tenant="default", queue="sms-default", agent="agent1")
            == 1
        )
        agent.close()
    finally:
        running.stop()
