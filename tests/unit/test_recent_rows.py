"""The fan-out's window of recent rows (``realtime/recent_rows.py``): what it claims to cover, it
holds, by agent and in order."""

from __future__ import annotations

from smsdesk.operations.ports import StoredNotification
from smsdesk.realtime.recent_rows import RecentRows


def _row(position: int, user: str) -> StoredNotification:
    return StoredNotification(position, user, "/v2/me/smssessions", b"{}")


def test_it_covers_every_position_from_just_before_its_first_to_its_last() -> None:
    recent = RecentRows(capacity=3)
    assert not recent.covers(0)
    for position, user in [(1, "a"), (2, "b"), (3, "a"), (4, "a")]:
        recent.add(_row(position, user))
    assert (recent.first, recent.last) == (2, 4)  # 1 went: three rows at most
    assert [recent.covers(p) for p in range(6)] == [False, True, True, True, True, False]
    assert [r.position for r in recent.of_user_after("a", 1, 10)] == [3, 4]
    assert [r.position for r in recent.of_user_after("a", 3, 10)] == [4]
    assert [r.position for r in recent.of_user_after("a", 3, 0)] == []
    assert recent.of_user_after("b", 2, 10) == []
    assert recent.of_user_after("nobody", 1, 10) == []


def test_a_row_out_of_order_starts_the_window_over() -> None:
    recent = RecentRows(capacity=10)
    recent.add(_row(1, "a"))
    recent.add(_row(5, "a"))  # 2 to 4 never came: "every row after 1" would be a lie
    assert (recent.first, recent.last) == (5, 5)
    assert not recent.covers(1)
    assert recent.covers(4)


def test_rows_pruned_from_the_outbox_are_forgotten() -> None:
    recent = RecentRows(capacity=10)
    for position in range(1, 6):
        recent.add(_row(position, "a" if position % 2 else "b"))
    recent.forget_below(4)
    assert recent.first == 4
    assert not recent.covers(2)
    assert [r.position for r in recent.of_user_after("a", 3, 10)] == [5]
    assert [r.position for r in recent.of_user_after("b", 3, 10)] == [4]


def test_a_window_of_no_rows_holds_nothing() -> None:
    recent = RecentRows(capacity=0)
    recent.add(_row(1, "a"))
    assert not recent.covers(0)
