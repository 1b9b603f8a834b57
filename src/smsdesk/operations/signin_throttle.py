"""Slowing down password guessing without handing attackers a way to lock agents out.

Failures are counted per (user name, source): the client address, or the browser's device cookie
when it brings a valid one for that user (``identity.DEVICE_COOKIE``: a browser that signed in as
that user before). After ``max_failures`` within ``window_s`` that pair is throttled for
``initial_s``, doubling with each further throttle up to ``max_s``: meanwhile its attempts are
refused *before* the password is looked at (checking it would tell a guesser when they are right),
whatever cookie they carry. Only that pair is slowed: the same user from any other address or
device, and every other user, sign in as usual, so a guesser cannot keep an agent out unless they
share the agent's address and the agent's browser never signed in from there. A success forgets
the failures of a device only: at an address it would hand whoever shares it (a guesser behind the
same NAT) a fresh budget.

Every failure and every throttle is logged as one ``key=value`` line an operator can alert on:
``auth.failure user="agent1" address=203.0.113.9 count=3`` and
``auth.throttled user="agent1" address=203.0.113.9 retry_after=5 strikes=1`` (with
``device=<id>`` after the address when the attempt came with a device cookie).
On a cluster the failures are counted in the database, so they add up over every node
(:class:`SignInThrottle`); a single node may count them in memory, bounded by ``max_entries``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec

from smsdesk.operations.identity import Authenticator
from smsdesk.operations.ports import StorageUnavailable, Store, User

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
class PairState:
    """One (user name, address) pair's recent failures and penalty, on the throttle's clock."""

    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0
    strikes: int = 0
    last_failure: float = 0.0


_state_codec = msgspec.json.Encoder(), msgspec.json.Decoder(PairState)


def count_failure(state: PairState, now: float, settings: ThrottleSettings) -> bool:
    """Count one failure into ``state``; True when it starts a throttle (the policy, in one place)."""
    # A pair quiet for longer than the longest penalty starts over (strikes included).
    if now - state.last_failure > max(settings.window_s, settings.max_s):
        state.failures.clear()
        state.strikes = 0
    state.last_failure = now
    state.failures = [at for at in state.failures if now - at <= settings.window_s]
    state.failures.append(now)
    if len(state.failures) < settings.max_failures:
        return False
    state.strikes += 1
    state.locked_until = now + min(settings.max_s, settings.initial_s * 2 ** (state.strikes - 1))
    state.failures.clear()
    return True


def _quoted(value: str) -> str:
    # A user name comes from the attacker: quote and escape it so it cannot forge log fields or lines.
    return json.dumps(value[:64])


DEVICE_SOURCE = "device:"
"""How a device's pairs are told apart from addresses' in ``signin_throttles.address``."""


def device_source(device: str) -> str:
    return DEVICE_SOURCE + device


def _where(source: str, address: str | None) -> str:
    if source.startswith(DEVICE_SOURCE):
        return f"address={address or 'unknown'} device={source.removeprefix(DEVICE_SOURCE)}"
    return f"address={source}"


class SignInThrottle:
    """Counts failures in this process's memory or, given a ``store``, in the database, so that
    failures on every node of a cluster add up (``signin_throttles``, one row per pair).

    A request whose credentials this node verified lately (the authenticator's cache: no hash) is
    checked against this node's memory only, so the sign-in path of a working desktop or API client
    reads nothing. Any other attempt, about to cost a password hash anyway, also reads the pair's
    row (:meth:`check_shared`), so a throttle started on one node refuses a guesser on every node.
    """

    def __init__(
        self,
        settings: ThrottleSettings,
        *,
        store: Store | None = None,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.store = store
        self.max_entries = max_entries
        self._clock = clock
        self._pairs: dict[tuple[str, str], PairState] = {}
        """What this node knows of each pair: everything without a store, the lock with one."""

    def check(self, user_name: str, address: str) -> None:
        """Raise :class:`SignInThrottled` if this pair may not try a password right now."""
        entry = self._pairs.get((user_name, address))
        if entry is None:
            return
        wait = entry.locked_until - self._clock()
        if wait > 0:
            raise SignInThrottled(max(1, math.ceil(wait)))

    async def check_shared(self, user_name: str, address: str) -> None:
        """:meth:`check` against the database too: a throttle another node started counts here.
        Asked only before a password is really checked (a hash costs far more than this read)."""
        if self.store is not None and self.settings.enabled:
            async with self.store.transaction() as tx:
                stored = await tx.signin_throttles.get(user_name, address)
            if stored:
                key = (user_name, address)
                self._pairs.pop(key, None)
                self._pairs[key] = _state_codec[1].decode(stored)
        self.check(user_name, address)

    async def failed(self, user_name: str, source: str, address: str | None = None) -> None:
        """Count a failure of ``(user_name, source)``; ``address`` is what the log names (the client
        address, when ``source`` is a device)."""
        settings = self.settings
        if not settings.enabled:
            return
        now = self._clock()
        key = (user_name, source)
        where = _where(source, address)
        if self.store is None:
            entry = self._pairs.pop(key, None) or PairState()
            throttled = count_failure(entry, now, settings)
        else:
            entry, throttled = await self._count_in_database(key, now)
        self._pairs.pop(key, None)
        self._pairs[key] = entry  # re-inserted: the dict's first key stays the stalest pair
        count = len(entry.failures) or settings.max_failures
        log.warning("auth.failure user=%s %s count=%d", _quoted(user_name), where, count)
        if throttled:
            log.warning(
                "auth.throttled user=%s %s retry_after=%d strikes=%d",
                _quoted(user_name),
                where,
                math.ceil(entry.locked_until - now),
                entry.strikes,
            )
        while len(self._pairs) > self.max_entries:
            del self._pairs[next(iter(self._pairs))]

    async def _count_in_database(self, key: tuple[str, str], now: float) -> tuple[PairState, bool]:
        assert self.store is not None
        encoder, decoder = _state_codec
        async with self.store.transaction() as tx:
            stored = await tx.signin_throttles.lock(*key)  # concurrent failures of the pair queue here
            entry = decoder.decode(stored) if stored else PairState()
            throttled = count_failure(entry, now, self.settings)
            await tx.signin_throttles.save(*key, encoder.encode(entry).decode(), int(now * 1000))
        return entry, throttled

    async def succeeded(self, user_name: str, source: str) -> None:
        """Forget the failures of ``(user_name, source)`` (asked for devices only: see the module)."""
        key = (user_name, source)
        # Only pairs this node saw fail cost a write (a success elsewhere ages out of the window).
        if self._pairs.pop(key, None) is not None and self.store is not None:
            async with self.store.transaction() as tx:
                await tx.signin_throttles.forget(*key)

    async def prune(self) -> None:
        """Forget pairs quiet for longer than any penalty or window (the leader, now and then)."""
        if self.store is not None:
            quiet_s = max(self.settings.window_s, self.settings.max_s)
            async with self.store.transaction() as tx:
                await tx.signin_throttles.prune(int((self._clock() - quiet_s) * 1000))


async def verify_throttled(
    authenticator: Authenticator,
    throttle: SignInThrottle,
    user_name: str,
    password: str,
    address: str,
    device: str | None = None,
) -> User | None:
    """Check a password unless its (user, source) pair is throttled; count the outcome.

    The source is ``device`` (the id of a valid device cookie of this user, if the request carries
    one) or else ``address``. A throttled pair raises :class:`SignInThrottled` before the password
    is looked at, whatever else the request carries: a session cookie is no way around it.
    """
    source = device_source(device) if device is not None else address
    throttle.check(user_name, source)
    user = authenticator.trusted(user_name, password)
    if user is None:
        # The cluster's count is out of reach while the database is away; this node's still stands.
        with contextlib.suppress(StorageUnavailable):
            await throttle.check_shared(user_name, source)
        user = await authenticator.verify(user_name, password)
    if user is None:
        await throttle.failed(user_name, source, address)
    elif device is not None:
        with contextlib.suppress(StorageUnavailable):  # forgetting failures can wait for the database
            await throttle.succeeded(user_name, source)
    return user
