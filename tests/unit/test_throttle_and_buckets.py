"""Token buckets and sign-in throttling, on a fake clock."""

from __future__ import annotations

import logging

import pytest

from smsdesk.operations.ratelimit import Rate, RateLimited, TokenBuckets
from smsdesk.operations.signin_throttle import SignInThrottle, SignInThrottled, ThrottleSettings


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
        guard.failed("agent1", "203.0.113.9")
        clock.now += 1
    with pytest.raises(SignInThrottled) as first:
        guard.check("agent1", "203.0.113.9")
    assert first.value.retry_after_s == 4  # 5 s from the tenth failure, one second ago
    guard.check("agent1", "198.51.100.7")  # the same user from elsewhere
    guard.check("agent2", "203.0.113.9")  # another user from here
    clock.now += 5
    guard.check("agent1", "203.0.113.9")  # the while is over
    for _ in range(10):
        guard.failed("agent1", "203.0.113.9")
    with pytest.raises(SignInThrottled) as second:
        guard.check("agent1", "203.0.113.9")
    assert second.value.retry_after_s == 10  # doubled
    assert 'auth.failure user="agent1" address=203.0.113.9 count=10' in caplog.text
    assert 'auth.throttled user="agent1" address=203.0.113.9 retry_after=10 strikes=2' in caplog.text


def test_failures_spread_over_more_than_the_window_do_not_throttle() -> None:
    clock = Clock()
    guard = throttle(clock)
    for _ in range(30):
        guard.failed("agent1", "203.0.113.9")
        clock.now += 7  # 9 failures per minute at most
        guard.check("agent1", "203.0.113.9")


def test_a_success_forgets_the_failures(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    guard = throttle(clock)
    for _ in range(9):
        guard.failed("agent1", "203.0.113.9")
    guard.succeeded("agent1", "203.0.113.9")
    guard.failed("agent1", "203.0.113.9")
    guard.check("agent1", "203.0.113.9")


def test_a_user_name_cannot_forge_log_fields(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "smsdesk.auth")
    throttle(Clock()).failed('x" address=evil\nauth.ok user="admin', "203.0.113.9")
    (record,) = caplog.records
    assert "\n" not in record.getMessage()
    assert record.getMessage().endswith("address=203.0.113.9 count=1")
