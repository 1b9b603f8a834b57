"""A warning a client can trigger at will is written at once, then at most once per interval."""

from __future__ import annotations

import logging

import pytest

from smsdesk.lograte import RateLimitedWarning


def test_one_line_per_interval_and_kind_with_the_count_held_back(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    limited = RateLimitedWarning(logging.getLogger("test.lograte"), interval_s=10, clock=lambda: now[0])
    caplog.set_level(logging.WARNING, "test.lograte")
    for _ in range(5):
        limited.warn("overflow", "client %s dropped", "c1")
    limited.warn("subscriptions", "client %s refused", "c2")  # another kind is not held back
    now[0] = 11
    limited.warn("overflow", "client %s dropped", "c3")
    assert [r.getMessage() for r in caplog.records] == [
        "client c1 dropped",
        "client c2 refused",
        "client c3 dropped (4 more like it in the last 11 s)",
    ]
