"""Server-side HTTP sessions: bounded, oldest evicted first."""

from __future__ import annotations

from smsdesk.operations.identity import HttpSessions


def test_sessions_are_bounded_and_the_oldest_go_first() -> None:
    sessions = HttpSessions(max_sessions=3)
    created = [sessions.create(f"user{i}", "t") for i in range(5)]
    assert [sessions.lookup(s.id) for s in created[:2]] == [None, None]
    assert all(sessions.lookup(s.id) is s for s in created[2:])
    assert sessions.get(created[4].id, "user4") is created[4]
    assert sessions.get(created[4].id, "someone-else") is None


def test_invalidate() -> None:
    sessions = HttpSessions()
    first, second = sessions.create("u", "t"), sessions.create("u", "t")
    sessions.invalidate(first.id)
    assert sessions.lookup(first.id) is None and sessions.lookup(second.id) is second
    sessions.invalidate_user("u")
    assert sessions.lookup(second.id) is None
