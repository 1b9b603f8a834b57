"""Slowing down password guessing without handing attackers a way to lock agents out.

Failures are counted per (user name, client address). After ``max_failures`` within ``window_s``
that pair is throttled for ``initial_s``, doubling with each further throttle up to ``max_s``:
meanwhile its attempts are refused *before* the password is looked at (checking it would tell a
guesser when they are right). Only that pair is slowed: the same user from any other address, and
every other user from this address, sign in as usual, so a guesser cannot keep an agent out unless
they share the agent's address (and a desktop that already holds a session cookie of that user is
let through even then: see ``http/security.py``). A success forgets the pair.

Every failure and every throttle is logged as one ``key=value`` line an operator can alert on:
``auth.failure user="agent1" address=203.0.113.9 count=3`` and
``auth.throttled user="agent1" address=203.0.113.9 retry_after=5 strikes=1``.
State is in this process's memory (per node on a cluster), bounded by ``max_entries``.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from smsdesk.operations.identity import Authenticator
from smsdesk.operations.ports import User

log = logging.getLogger("smsdesk.auth")


@dataclass(frozen=True, slots=True)
class ThrottleSettings:
    max_failures: int = 10
    window_s: float = 60.0
    initial_s: float = 5.0
    max_s: float = 300.0

    @property
    def enabled(self) -> bool:
        return self.max_failures > 0


class SignInThrottled(Exception):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"Too many failed sign-ins; retry in {retry_after_s} s")
        self.retry_after_s = retry_after_s


@dataclass(slots=True)
class _Attempts:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0
    strikes: int = 0
    last_failure: float = 0.0


def _quoted(value: str) -> str:
    # A user name comes from the attacker: quote and escape it so it cannot forge log fields or lines.
    return json.dumps(value[:64])


class SignInThrottle:
    def __init__(
        self,
        settings: ThrottleSettings,
        *,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.max_entries = max_entries
        self._clock = clock
        self._attempts: dict[tuple[str, str], _Attempts] = {}

    def check(self, user_name: str, address: str) -> None:
        """Raise :class:`SignInThrottled` if this pair may not try a password right now."""
        entry = self._attempts.get((user_name, address))
        if entry is None:
            return
        wait = entry.locked_until - self._clock()
        if wait > 0:
            raise SignInThrottled(max(1, math.ceil(wait)))

    def failed(self, user_name: str, address: str) -> None:
        settings = self.settings
        if not settings.enabled:
            return
        now = self._clock()
        key = (user_name, address)
        entry = self._attempts.pop(key, None)
        # A pair quiet for longer than the longest penalty starts over (strikes included).
        if entry is None or now - entry.last_failure > max(settings.window_s, settings.max_s):
            entry = _Attempts()
        self._attempts[key] = entry  # re-inserted: the dict's first key stays the stalest pair
        entry.last_failure = now
        while entry.failures and now - entry.failures[0] > settings.window_s:
            entry.failures.popleft()
        entry.failures.append(now)
        count = len(entry.failures)
        log.warning("auth.failure user=%s address=%s count=%d", _quoted(user_name), address, count)
        if count >= settings.max_failures:
            entry.strikes += 1
            penalty = min(settings.max_s, settings.initial_s * 2 ** (entry.strikes - 1))
            entry.locked_until = now + penalty
            entry.failures.clear()
            log.warning(
                "auth.throttled user=%s address=%s retry_after=%d strikes=%d",
                _quoted(user_name),
                address,
                math.ceil(penalty),
                entry.strikes,
            )
        while len(self._attempts) > self.max_entries:
            del self._attempts[next(iter(self._attempts))]

    def succeeded(self, user_name: str, address: str) -> None:
        self._attempts.pop((user_name, address), None)


SessionHolder = Callable[[], Awaitable[User | None]]


async def verify_throttled(
    authenticator: Authenticator,
    throttle: SignInThrottle,
    user_name: str,
    password: str,
    address: str,
    session_holder: SessionHolder | None = None,
) -> User | None:
    """Check a password unless this (user, address) pair is throttled; count the outcome.

    ``session_holder`` returns the user of the caller's valid session cookie, if any (asked only
    when throttled): a desktop that already signed in as this user is never throttled, so an
    attacker sharing its address cannot lock it out.
    """
    try:
        throttle.check(user_name, address)
    except SignInThrottled:
        holder = await session_holder() if session_holder is not None else None
        if holder is None or holder.user_name != user_name:
            raise
    user = await authenticator.verify(user_name, password)
    if user is None:
        throttle.failed(user_name, address)
    else:
        throttle.succeeded(user_name, address)
    return user
