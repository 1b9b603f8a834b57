"""Opening hours (domain/opening_hours.py) and placeholders (domain/placeholders.py): the rules,
wall-clock time in IANA zones across daylight saving, and errors that name the part at fault."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from smsdesk.domain import placeholders
from smsdesk.domain.errors import DomainError, ErrorKind
from smsdesk.domain.opening_hours import HoursError, Interval, OpeningHours, parse_weekly

PARIS = ZoneInfo("Europe/Paris")


def at(text: str, zone: ZoneInfo = PARIS) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=zone).timestamp() * 1000)


def test_days_ranges_lists_and_several_times() -> None:
    assert parse_weekly("mon-fri 09:00-17:00; sat 10:00-14:00") == (
        *(Interval(day, 540, 1020) for day in range(5)),
        Interval(5, 600, 840),
    )
    assert parse_weekly("mon,wed 08:00-12:00, 13:00-17:00") == (
        Interval(0, 480, 720),
        Interval(0, 780, 1020),
        Interval(2, 480, 720),
        Interval(2, 780, 1020),
    )
    assert {i.day for i in parse_weekly("daily 00:00-24:00")} == set(range(7))
    assert [i.day for i in parse_weekly("fri-mon 10:00-11:00")] == [0, 4, 5, 6]  # a range wraps the week
    assert parse_weekly("Monday 09:00-10:00") == (Interval(0, 540, 600),)


def test_a_range_ending_before_it_starts_runs_past_midnight() -> None:
    hours = OpeningHours.parse("Europe/Paris", "fri 22:00-02:00")
    assert hours.intervals == (Interval(4, 1320, 1440), Interval(5, 0, 120))
    assert hours.is_open(at("2026-12-04T23:30"))  # a Friday
    assert hours.is_open(at("2026-12-05T01:59"))
    assert not hours.is_open(at("2026-12-05T02:00"))
    # One period, not two: it opened on Friday at 22:00.
    assert hours.current_period(at("2026-12-05T01:00")) == (at("2026-12-04T22:00"), at("2026-12-05T02:00"))


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("", "No opening hours given"),
        ("mon-fry 09:00-17:00", "In 'mon-fry 09:00-17:00': 'fry' is not a day"),
        ("mo 09:00-17:00", "'mo' is not a day"),
        ("mon-fri", "expected days and then times"),
        ("mon-fri 09:00", "'09:00' is not a time range"),
        ("mon 9h-17h", "'9h' is not a time"),
        ("mon 09:00-24:01", "'24:01' is not a time"),
        ("mon 24:00-02:00", "cannot start at 24:00"),
        ("mon 09:00-09:00", "is empty"),
        ("mon 09:00-17:00; tue 10:00-1700", "In 'tue 10:00-1700': '1700' is not a time"),
    ],
)
def test_what_does_not_parse_is_named(expression: str, says: str) -> None:
    with pytest.raises(HoursError) as refused:
        parse_weekly(expression)
    assert says in str(refused.value)


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus", "", "localtime", "/etc/passwd", "../../etc/localtime", "Europe"]
)
def test_a_zone_that_does_not_exist_is_refused(zone: str) -> None:
    with pytest.raises(HoursError, match="Unknown time zone"):
        OpeningHours.parse(zone, "daily 09:00-17:00")


def test_hours_follow_the_wall_clock_across_daylight_saving() -> None:
    hours = OpeningHours.parse("Europe/Paris", "daily 09:00-17:00")
    # Paris is UTC+1 in winter and UTC+2 from 29 March 2026: 09:00 local is 08:00 UTC, then 07:00 UTC.
    assert hours.is_open(at("2026-03-28T08:30", ZoneInfo("UTC")))
    assert not hours.is_open(at("2026-03-30T07:30", ZoneInfo("UTC")) - 45 * 60_000)
    assert hours.is_open(at("2026-03-30T07:30", ZoneInfo("UTC")))
    assert hours.next_opening_ms(at("2026-03-28T18:00")) == at("2026-03-29T09:00")


def test_closed_dates_close_their_whole_day_and_the_next_opening_is_described() -> None:
    hours = OpeningHours.parse("Europe/Paris", "mon-fri 09:00-17:00", ["2026-12-25"])
    assert not hours.is_open(at("2026-12-25T10:00"))  # a Friday, a holiday
    assert hours.is_open(at("2026-12-24T10:00"))
    assert hours.describe_opening(at("2026-12-24T18:00")) == "on Monday at 09:00"
    assert hours.describe_opening(at("2026-12-28T07:00")) == "today at 09:00"
    assert hours.describe_opening(at("2026-12-28T18:00")) == "tomorrow at 09:00"
    assert hours.closed_since_ms(at("2026-12-26T12:00")) == at("2026-12-24T17:00")
    assert hours.closed_since_ms(at("2026-12-24T12:00")) is None
    far = OpeningHours.parse("UTC", "mon 09:00-10:00", ["2026-12-28", "2027-01-04"])
    assert far.describe_opening(at("2026-12-22T12:00", ZoneInfo("UTC"))) == "on 11 January at 09:00"
    with pytest.raises(HoursError, match="'2026-13-01' is not a date"):
        OpeningHours.parse("UTC", "mon 09:00-10:00", ["2026-13-01"])


def test_placeholders_are_checked_when_saved_and_filled_when_sent() -> None:
    names = placeholders.STANDARD_RESPONSE_NAMES
    placeholders.check(
        "Hi {{ agent.firstName }}, order {{userData.Order No}}", names, user_data=True, what="text"
    )
    with pytest.raises(DomainError, match=r"unknown placeholder \{\{customer\.name\}\}") as unknown:
        placeholders.check("Hi {{customer.name}}", names, user_data=True, what="text")
    assert unknown.value.kind is ErrorKind.INVALID_VALUE
    with pytest.raises(DomainError, match="not closed"):
        placeholders.check("Hi {{agent.firstName", names, user_data=True, what="text")
    with pytest.raises(DomainError, match="unknown placeholder"):
        placeholders.check(
            "{{userData.X}}", placeholders.CLOSED_REPLY_NAMES, user_data=False, what="closed reply"
        )

    values = {"agent.firstName": "Ann", "userData.Order No": "12", "customer.phoneNumber": ""}
    assert (
        placeholders.fill("Hi {{ agent.firstName }} ({{userData.Order No}})", values.get, "it")
        == "Hi Ann (12)"
    )
    with pytest.raises(DomainError) as missing:
        placeholders.fill(
            "{{agent.firstName}} calls {{customer.phoneNumber}} about {{userData.Y}}", values.get, "it"
        )
    assert missing.value.kind is ErrorKind.INVALID_STATE
    assert (
        missing.value.message
        == "Cannot send it: no value for {{customer.phoneNumber}}, {{userData.Y}} in this session"
    )
