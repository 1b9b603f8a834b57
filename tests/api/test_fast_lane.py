"""The fast lane (http/fast_lane.py): the two hottest requests skip Starlette's stack, with the same
answers, the same counting and the same envelope on failure as every other route; with CORS
configured everything takes the ordinary path, so every response carries its headers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from support.metrics import TOKEN, sample
from support.server import QUICK_TIMEOUTS, RunningServer

pytestmark = pytest.mark.slow

ORIGIN = "https://desk.example.com"


def _chatting_session(agent: httpx.Client) -> str:
    agent.post("/api/v2/me", json={"operationName": "StartContactCenterSession", "channels": ["smssession"]})
    created = agent.post(
        "/api/v2/me/smssessions",
        json={"operationName": "Create", "phoneNumber": "+15551230001", "text": "Hi"},
    ).json()
    assert created["statusCode"] == 0, created
    return str(created["id"])


def test_the_fast_lane_and_the_ordinary_path_answer_and_count_alike(tmp_path: Path) -> None:
    running = RunningServer(tmp_path / "lane.db", {**QUICK_TIMEOUTS, "SMSDESK_METRICS_TOKEN": TOKEN}).start()
    try:
        agent = httpx.Client(base_url=running.base_url, auth=("agent1", "password"), timeout=10)
        session_id = _chatting_session(agent)
        fast = "/api/v2/me/smssessions/" + session_id  # the lane
        ordinary = "/api/v2/smssessions/" + session_id  # a documented spelling, through the stack
        refusals: dict[str, list[object]] = {}
        for path in (fast, ordinary):
            reply = agent.post(path, json={"operationName": "UpdateUserData", "userData": {"via": path}})
            assert reply.status_code == 200 and reply.json()["statusCode"] == 0
            refused = agent.post(path, json={"operationName": "Dance"})
            assert refused.status_code == 400 and refused.json()["statusCode"] == 2
            too_deep = agent.post(path, content=b"[" * 5_000 + b"]" * 5_000)
            assert too_deep.status_code == 400
            oversized = agent.post(path, content=b"{" + b" " * 1_100_000 + b"}")
            assert oversized.status_code == 413
            refusals[path] = [r.json() for r in (refused, too_deep, oversized)]
        assert refusals[fast] == refusals[ordinary]  # the very same envelopes either way
        unknown = agent.post("/api/v2/me/smssessions/NOPE", json={"operationName": "Complete"})
        assert unknown.status_code == 404 and unknown.json()["statusCode"] != 0
        bayeux = agent.post("/api/v2/notifications", content=b"not json")
        assert bayeux.status_code == 400 and "statusCode" in bayeux.json()
        handshake = agent.post(
            "/api/v2/notifications/handshake",
            json=[
                {"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}
            ],
        )
        assert handshake.json()[0]["successful"] is True

        text = httpx.get(
            running.base_url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        ).text
        for route in ("/api/v2/me/smssessions/{session_id}", "/api/v2/smssessions/{session_id}"):
            assert sample(text, "smsdesk_http_requests_total", method="POST", route=route, status="200") == 1
            assert sample(text, "smsdesk_http_requests_total", method="POST", route=route, status="400") == 2
        # A body refused by its Content-Length alone: the lane knows the route; the stack refuses
        # before routing, so it counts it as unmatched.
        route = "/api/v2/me/smssessions/{session_id}"
        assert sample(text, "smsdesk_http_requests_total", method="POST", route=route, status="413") == 1
        assert (
            sample(text, "smsdesk_http_requests_total", method="POST", route="unmatched", status="413") == 1
        )
        assert sample(text, "smsdesk_operations_total", operation="UpdateUserData", status_code="0") == 2
        assert (
            sample(
                text,
                "smsdesk_http_requests_total",
                method="POST",
                route="/api/v2/notifications",
                status="200",
            )
            == 1
        )
        agent.close()
    finally:
        running.stop()


def test_with_cors_configured_the_operations_carry_its_headers(tmp_path: Path) -> None:
    running = RunningServer(tmp_path / "cors.db", {**QUICK_TIMEOUTS, "SMSDESK_CORS_ORIGINS": ORIGIN}).start()
    try:
        agent = httpx.Client(
            base_url=running.base_url, auth=("agent1", "password"), headers={"Origin": ORIGIN}, timeout=10
        )
        session_id = _chatting_session(agent)
        reply = agent.post(
            "/api/v2/me/smssessions/" + session_id,
            json={"operationName": "UpdateUserData", "userData": {"a": 1}},
        )
        assert reply.json()["statusCode"] == 0
        assert reply.headers["access-control-allow-origin"] == ORIGIN
        poll = agent.post(
            "/api/v2/notifications",
            json=[
                {"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": ["long-polling"]}
            ],
        )
        assert poll.headers["access-control-allow-origin"] == ORIGIN
        agent.close()
    finally:
        running.stop()
