"""Token buckets and sign-in throttling, on a fake clock."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from smsdesk.operations.ratelimit import Rate, RateLimited, TokenBuckets
from smsdesk.operations.signin_throttle import (
    SignInThrottle,
    SignInThrottled,
    ThrottleSettings,
    device_source,
)
from smsdesk.storage.sqlite import SqliteStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_refills_at_its_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(Rate(per_second=2, burst=3), "user", clock=clock)
    for _ in range(3):
        buckets.take("alice")
    with pytest.raises(RateLimited) as refused:
        buckets.take("alice")
    assert refused.value.retry_after_s == 1
    buckets.take("bob")  # another key has its own bucket
    clock.now += 0.5
    buckets.take("alice")  # one token back after half a second at 2/s
    with pytest.raises(RateLimited):
        buckets.take("alice")


def test_a_zero_rate_is_no_limit() -> None:
    buckets = TokenBuckets(Rate(0, 0), "user", clock=Clock())
    for _ in range(10_000):
        buckets.take("alice")


def throttle(clock: Clock) -> SignInThrottle:
    return SignInThrottle(ThrottleSettings(max_failures=10, window_s=60, initial_s=5, max_s=40), clock=clock)


def test_ten_failures_in_a_minute_throttle_that_pair_only_for_a_growing_while(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    guard = throttle(clock)
    caplog.set_level(logging.WARNING, "smsdesk.auth")
    for _ in range(10):
        guard.check("agent1", "203.0.113.9")
        asyncio.run(guard.failed("agent1", "203.0.113.9"))
        clock.now += 1
    with pytest.raises(SignInThrottled) as first:
        guard.check("agent1", "203.0.113.9")
    assert first.value.retry_after_s == 4  # 5 s from the tenth failure, one second ago
    guard.check("agent1", "198.51.100.7")  # the same user from elsewhere
    guard.check("agent2", "203.0.113.9")  # another user from here
    clock.now += 5
    guard.check("agent1", "203.0.113.9")  # the while is over
    for _ in range(10):
        asyncio.run(guard.failed("agent1", "203.0.113.9"))
    with pytest.raises(SignInThrottled) as second:
        guard.check("agent1", "203.0.113.9")
    assert second.value.retry_after_s == 10  # doubled
    assert 'auth.failure user="agent1" address=203.0.113.9 count=10' in caplog.text
    assert 'auth.throttled user="agent1" address=203.0.113.9 retry_after=10 strikes=2' in caplog.text


def test_failures_spread_over_more_than_the_window_do_not_throttle() -> None:
    clock = Clock()
    guard = throttle(clock)
    for _ in range(30):
        asyncio.run(guard.failed("agent1", "203.0.113.9"))
        clock.now += 7  # 9 failures per minute at most
        guard.check("agent1", "203.0.113.9")


def test_a_device_success_forgets_its_own_failures_only(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    guard = throttle(clock)
    device = device_source("d3v1c3")
    caplog.set_level(logging.WARNING, "smsdesk.auth")
    for _ in range(9):
        asyncio.run(guard.failed("agent1", device, "203.0.113.9"))
        asyncio.run(guard.failed("agent1", "203.0.113.9"))
    asyncio.run(guard.succeeded("agent1", device))
    asyncio.run(guard.failed("agent1", device, "203.0.113.9"))
    guard.check("agent1", device)
    asyncio.run(guard.failed("agent1", "203.0.113.9"))  # the address's tenth
    with pytest.raises(SignInThrottled):
        guard.check("agent1", "203.0.113.9")
    assert 'auth.failure user="agent1" address=203.0.113.9 device=d3v1c3 count=1' in caplog.text


def test_a_user_name_cannot_forge_log_fields(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "smsdesk.auth")
    asyncio.run(throttle(Clock()).failed('x" address=evil\nauth.ok user="admin', "203.0.113.9"))
    (record,) = caplog.records
    assert "\n" not in record.getMessage()
    assert record.getMessage().endswith("address=203.0.113.9 count=1")


def test_two_nodes_sharing_a_database_count_failures_together(tmp_path: Path) -> None:
    """What a cluster does (tests/cluster/test_cluster_limits.py runs it on PostgreSQL)."""
    store = SqliteStore(str(tmp_path / "throttle.db"))
    store.migrate()
    clock = Clock()
    settings = ThrottleSettings(max_failures=10, window_s=60, initial_s=5, max_s=40)
    node_a, node_b = (SignInThrottle(settings, store=store, clock=clock) for _ in range(2))

    async def run() -> None:
        for n in range(10):
            await (node_a if n % 2 else node_b).failed("agent1", "203.0.113.9")
        node_b.check("agent1", "203.0.113.9")  # its memory alone has not heard of the throttle
        with pytest.raises(SignInThrottled):
            await node_b.check_shared("agent1", "203.0.113.9")  # before any password is checked
        await node_a.check_shared("agent1", "198.51.100.7")  # the same user from elsewhere
        clock.now += 5
        await node_b.check_shared("agent1", "203.0.113.9")  # the while is over
        await node_b.succeeded("agent1", "203.0.113.9")  # it saw the pair fail: forgotten for all
        await store.aclose()

    asyncio.run(run())


def test_a_share_of_a_bucket_per_live_node() -> None:
    clock = Clock()
    buckets = TokenBuckets(Rate(per_second=3, burst=30), "user", clock=clock)
    buckets.share(3)
    for _ in range(10):
        buckets.take("agent1")
    with pytest.raises(RateLimited):
        buckets.take("agent1")
    clock.now += 1  # refills at 1/s here: the three nodes together refill at 3/s
    buckets.take("agent1")
    with pytest.raises(RateLimited):
        buckets.take("agent1")
