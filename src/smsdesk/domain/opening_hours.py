"""A queue's opening hours: a weekly schedule in an IANA time zone, with closed dates.

Written as an operator types it, ``"mon-fri 09:00-17:00; sat 10:00-14:00"``: clauses separated by
``;``, each a set of days (``mon``, ``mon-fri``, ``mon,wed,fri``, ``daily``; a range may wrap,
``fri-mon``) and one or more times (``09:00-12:00, 13:00-17:00``). A time range that ends before
it starts runs past midnight (``fri 22:00-02:00`` is Friday night into Saturday); ``24:00`` ends a
day. Closed dates (holidays) close their whole local day. Wall-clock times are read in the zone
(``zoneinfo``, the IANA database), so daylight-saving changes move the hours with the clock, never
by a fixed offset. A queue without opening hours is always open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
"""In English whatever the server's locale (the replies are written in English too)."""
MINUTES_PER_DAY = 24 * 60
SEARCH_DAYS = 400
"""How far ahead the next opening is looked for (a year of closed dates, and then some)."""

_TIME = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


class HoursError(ValueError):
    """An opening-hours expression, closed date or zone that cannot be read; the message names the
    part that is wrong and says what was expected."""


@dataclass(frozen=True, slots=True)
class Interval:
    """Open on ``day`` (0 = Monday) from ``start`` to ``end``, in minutes after local midnight
    (``end`` at most 1440; a range past midnight is stored as two intervals)."""

    day: int
    start: int
    end: int


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``, or a :class:`HoursError` saying it does not exist."""
    cleaned = name.strip()
    if not cleaned or cleaned.lower() == "localtime" or cleaned.startswith(("/", ".")):
        raise HoursError(
            f"Unknown time zone: {name!r} (an IANA name such as Europe/Paris or America/New_York)"
        )
    try:
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise HoursError(
            f"Unknown time zone: {name!r} (an IANA name such as Europe/Paris or America/New_York)"
        ) from None


def parse_weekly(expression: str) -> tuple[Interval, ...]:
    """The intervals of a weekly schedule, or a :class:`HoursError` naming the clause and the part
    that does not parse."""
    clauses = [clause.strip() for clause in expression.split(";")]
    if not any(clauses):
        raise HoursError('No opening hours given (for example "mon-fri 09:00-17:00; sat 10:00-14:00")')
    intervals: list[Interval] = []
    for clause in clauses:
        if not clause:
            continue
        days_part, _, times_part = clause.partition(" ")
        if not times_part.strip():
            raise HoursError(f'In {clause!r}: expected days and then times, as in "mon-fri 09:00-17:00"')
        days = _days(days_part, clause)
        for span in times_part.split(","):
            start, end = _span(span.strip(), clause)
            for day in days:
                if end > start:
                    intervals.append(Interval(day, start, end))
                else:  # past midnight: the rest runs on the next day
                    intervals.append(Interval(day, start, MINUTES_PER_DAY))
                    if end > 0:
                        intervals.append(Interval((day + 1) % 7, 0, end))
    return tuple(sorted(set(intervals), key=lambda i: (i.day, i.start, i.end)))


def _days(part: str, clause: str) -> list[int]:
    if part.lower() in ("daily", "everyday"):
        return list(range(7))
    days: list[int] = []
    for item in part.lower().split(","):
        first, dash, last = item.partition("-")
        start = _day(first, clause)
        if not dash:
            days.append(start)
            continue
        stop = _day(last, clause)
        day = start
        while True:
            days.append(day)
            if day == stop:
                break
            day = (day + 1) % 7
    return sorted(set(days))


def _day(word: str, clause: str) -> int:
    key = word.strip()[:3]
    if (
        len(word.strip()) < 3
        or key not in DAYS
        or not DAY_NAMES[DAYS.index(key)].lower().startswith(word.strip())
    ):
        raise HoursError(
            f"In {clause!r}: {word.strip()!r} is not a day (mon, tue, wed, thu, fri, sat, sun, or daily)"
        )
    return DAYS.index(key)


def _span(span: str, clause: str) -> tuple[int, int]:
    first, dash, last = span.partition("-")
    if not dash:
        raise HoursError(
            f"In {clause!r}: {span!r} is not a time range (expected HH:MM-HH:MM, e.g. 09:00-17:00)"
        )
    start, end = _minutes(first.strip(), clause), _minutes(last.strip(), clause)
    if start == MINUTES_PER_DAY:
        raise HoursError(f"In {clause!r}: a range cannot start at 24:00 (use 00:00)")
    if start == end:
        raise HoursError(f"In {clause!r}: {span!r} is empty (it starts and ends at the same time)")
    return start, end


def _minutes(text: str, clause: str) -> int:
    match = _TIME.match(text)
    if match is None:
        raise HoursError(f"In {clause!r}: {text!r} is not a time (expected HH:MM, from 00:00 to 24:00)")
    value = int(match.group(1)) * 60 + int(match.group(2))
    if value > MINUTES_PER_DAY:
        raise HoursError(f"In {clause!r}: {text!r} is not a time (expected HH:MM, from 00:00 to 24:00)")
    return value


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise HoursError(f"{text!r} is not a date (expected YYYY-MM-DD, e.g. 2026-12-25)") from None


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """A parsed schedule: when the queue is open, in its zone."""

    timezone: str
    weekly: str
    intervals: tuple[Interval, ...]
    closed_dates: frozenset[date]

    @classmethod
    def parse(
        cls, timezone: str, weekly: str, closed_dates: tuple[str, ...] | list[str] = ()
    ) -> OpeningHours:
        zone(timezone)
        return cls(
            timezone.strip(),
            weekly.strip(),
            parse_weekly(weekly),
            frozenset(parse_date(d) for d in closed_dates),
        )

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.timezone)

    def periods(self, from_ms: int, days: int) -> list[tuple[int, int]]:
        """The open periods ``(start_ms, end_ms)`` from the local day before ``from_ms`` to ``days``
        days after it, merged where one ends as the next starts (an overnight range)."""
        tz = self.zone
        first = datetime.fromtimestamp(from_ms / 1000, tz=tz).date() - timedelta(days=1)
        by_day: dict[int, list[Interval]] = {}
        for interval in self.intervals:
            by_day.setdefault(interval.day, []).append(interval)
        periods: list[tuple[int, int]] = []
        for offset in range(days + 2):
            day = first + timedelta(days=offset)
            if day in self.closed_dates:
                continue
            for interval in by_day.get(day.weekday(), ()):
                periods.append((_local_ms(day, interval.start, tz), _local_ms(day, interval.end, tz)))
        periods.sort()
        merged: list[tuple[int, int]] = []
        for start, end in periods:
            if end <= start:
                continue  # a range that daylight saving removed entirely
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged

    def current_period(self, at_ms: int) -> tuple[int, int] | None:
        for start, end in self.periods(at_ms, 2):
            if start <= at_ms < end:
                return start, end
        return None

    def is_open(self, at_ms: int) -> bool:
        return self.current_period(at_ms) is not None

    def next_opening_ms(self, at_ms: int) -> int | None:
        """When the queue opens next after ``at_ms`` (None: not within a year)."""
        for start, _ in self.periods(at_ms, SEARCH_DAYS):
            if start > at_ms:
                return start
        return None

    def closed_since_ms(self, at_ms: int) -> int | None:
        """When the current closed spell began (the end of the last open period), if closed."""
        if self.is_open(at_ms):
            return None
        ends = [end for _, end in self.periods(at_ms - 8 * 86_400_000, 9) if end <= at_ms]
        return max(ends) if ends else None

    def describe_opening(self, at_ms: int) -> str | None:
        """The next opening in words, in the queue's zone: "today at 09:00", "tomorrow at 09:00",
        "on Monday at 09:00" (within a week), "on 28 December at 09:00" (later)."""
        opening = self.next_opening_ms(at_ms)
        if opening is None:
            return None
        tz = self.zone
        now = datetime.fromtimestamp(at_ms / 1000, tz=tz)
        then = datetime.fromtimestamp(opening / 1000, tz=tz)
        clock = then.strftime("%H:%M")
        days = (then.date() - now.date()).days
        if days == 0:
            return f"today at {clock}"
        if days == 1:
            return f"tomorrow at {clock}"
        if days < 7:
            return f"on {DAY_NAMES[then.weekday()]} at {clock}"
        return f"on {then.day} {MONTH_NAMES[then.month - 1]} at {clock}"


def _local_ms(day: date, minutes: int, tz: ZoneInfo) -> int:
    # Wall-clock arithmetic: midnight plus N minutes is the local time N minutes after midnight.
    local = datetime.combine(day, datetime.min.time()) + timedelta(minutes=minutes)
    moment = local.replace(tzinfo=tz)
    return int(moment.astimezone(UTC).timestamp() * 1000)
