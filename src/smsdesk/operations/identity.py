"""Who is calling: password hashing, verified-credential cache, and server-side HTTP sessions.

GWS clients send HTTP Basic on every request, and an argon2 check costs tens of milliseconds by
design. So a verified (user, password) pair is remembered under a keyed digest (never the password
itself) and trusted for ``trust_s`` seconds; after that the user row is re-read (cheap) and the
entry kept only while the stored hash is unchanged, so a password change or a disabled account
takes effect within ``trust_s`` without paying a hash again.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from smsdesk.operations.ports import StorageUnavailable, Store, StoredHttpSession, User

_hasher = PasswordHasher()

BASIC_OFF = (
    "HTTP Basic authentication is turned off on this server (setting basic_auth): "
    "sign in with the identity provider"
)
PASSWORD_OFF = "Password sign-in is turned off for this user: sign in with the identity provider"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(slots=True)
class _Verified:
    user: User
    checked_at: float


class Authenticator:
    def __init__(self, store: Store, trust_s: float = 30.0, max_entries: int = 100_000) -> None:
        self.store = store
        self.trust_s = trust_s
        self.max_entries = max_entries
        self._key = secrets.token_bytes(32)
        self._verified: dict[bytes, _Verified] = {}
        self._by_id: dict[str, _Verified] = {}

    def _digest(self, user_name: str, password: str) -> bytes:
        # Keyed BLAKE2b is a MAC in its own right, and a quarter of the cost of HMAC-SHA256 on a
        # path every Basic-authenticated request takes; the key lives and dies with this process.
        return hashlib.blake2b(f"{user_name}\0{password}".encode(), key=self._key, digest_size=32).digest()

    def trusted(self, user_name: str, password: str) -> User | None:
        """The user, if ``verify`` would answer from its cache (no hash, no database read)."""
        entry = self._verified.get(self._digest(user_name, password))
        if entry is not None and time.monotonic() - entry.checked_at < self.trust_s:
            return entry.user
        return None

    async def verify(self, user_name: str, password: str) -> User | None:
        key = self._digest(user_name, password)
        entry = self._verified.get(key)
        now = time.monotonic()
        if entry is not None and now - entry.checked_at < self.trust_s:
            return entry.user
        try:
            async with self.store.transaction() as tx:
                user = await tx.users.by_name(user_name)
        except StorageUnavailable:
            if entry is None:
                raise
            return entry.user  # the database is away: what was verified stays trusted until it is back
        if user is None or not user.enabled:
            self._verified.pop(key, None)
            return None
        if entry is not None and entry.user.password_hash == user.password_hash:
            entry.user, entry.checked_at = user, now
            return user
        # The expensive check runs off the event loop so other agents are not stalled by it.
        if not await asyncio.to_thread(_verify, user.password_hash, password):
            return None
        if len(self._verified) >= self.max_entries:
            self._verified.clear()
        self._verified[key] = _Verified(user, now)
        return user

    def forget(self, user_id: str) -> None:
        """Drop what this node trusts of the user (disabled, deleted, password changed): the next
        request re-reads the user row. Other nodes notice within ``trust_s``."""
        self._by_id.pop(user_id, None)
        for key in [k for k, entry in self._verified.items() if entry.user.id == user_id]:
            del self._verified[key]

    async def user_by_id(self, tenant_id: str, user_id: str) -> User | None:
        """The user a session cookie names (re-read at most every ``trust_s``)."""
        entry = self._by_id.get(user_id)
        now = time.monotonic()
        if entry is not None and now - entry.checked_at < self.trust_s and entry.user.tenant_id == tenant_id:
            return entry.user
        try:
            async with self.store.transaction() as tx:
                user = await tx.users.by_id(tenant_id, user_id)
        except StorageUnavailable:
            if entry is None or entry.user.tenant_id != tenant_id:
                raise
            return entry.user  # the database is away: what was read stays trusted until it is back
        if user is None or not user.enabled:
            self._by_id.pop(user_id, None)
            return None
        if len(self._by_id) >= self.max_entries:
            self._by_id.clear()
        self._by_id[user_id] = _Verified(user, now)
        return user


@dataclass(frozen=True, slots=True)
class HttpSessionLimits:
    """How long a JSESSIONID lives and how many one user may hold (docs/settings.md)."""

    idle_s: float = 1_800.0
    lifetime_s: float = 43_200.0
    max_per_user: int = 20
    check_s: float = 5.0
    """How long a node trusts what it last read of a session (an end on another node shows after)."""


@dataclass(frozen=True, slots=True)
class HttpSession:
    id: str
    """The cookie value: a token signed with the cluster's key (see :class:`HttpSessions`)."""
    key: str
    """Its random part, the database id."""
    user_id: str
    tenant_id: str
    created_ms: int
    issuer: HttpSessions = field(repr=False, compare=False)

    @property
    def csrf_token(self) -> str:
        """Derived from the key when asked: most requests never need it (a GET, or a CSRF check)."""
        return self.issuer.csrf(self.key)

    def csrf_matches(self, token: str) -> bool:
        return self.issuer.csrf_matches(self.key, token)


@dataclass(frozen=True, slots=True)
class SessionClaim:
    """What a cookie says before it is checked against the user and the database."""

    token: str
    key: str
    user_id: str
    tenant_id: str
    created_ms: int
    mac: bytes


@dataclass(slots=True)
class _Known:
    ended: bool
    last_seen_ms: int
    stored_last_seen_ms: int
    checked_at: float
    genuine: tuple[str, str] | None = None
    """(cookie, password hash) whose MAC this node checked: the same pair again needs no MAC."""


_claim_decoder = msgspec.json.Decoder(tuple[str, str, str, int])
_device_decoder = msgspec.json.Decoder(tuple[str, str, int])

DEVICE_COOKIE = "SMSDESK_DEVICE"
"""**Extension**: the device cookie (OWASP, "Slow down online guessing attacks with device
cookies"), issued to a browser once it signs in with the right password. Its sign-in attempts for
that user are then counted on their own budget, not its address's: a guesser sharing the address
(one NAT) neither locks it out nor gets a fresh budget from its success."""
DEVICE_LIFETIME_S = 90 * 86_400


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class HttpSessions:
    """``JSESSIONID`` sessions that every node honours and that survive restarts.

    The cookie is a token: ``base64(key, user, tenant, created) . base64(mac)``, the MAC made with a
    key kept in the database (one per cluster) over those fields **and the user's password hash**,
    so any node can check it, and a password change ends every session of the user. The CSRF token
    is derived from the key the same way, so nothing is stored when a session is issued: a client
    that never sends the cookie back (``curl -u``) costs no write and cannot push anyone else's
    session out. A session is stored when its cookie first comes back; from then on it has an idle
    expiry, an end (``EndContactCenterSession``), and a per-user cap (the user's least recently
    used sessions end first). Each node trusts what it read of a session for ``check_s``.
    """

    def __init__(self, store: Store, limits: HttpSessionLimits | None = None) -> None:
        self.store = store
        self.limits = limits or HttpSessionLimits()
        self._secret: bytes | None = None
        self._known: dict[str, _Known] = {}
        self._touch_ms = int(min(60.0, self.limits.idle_s / 4) * 1000)

    async def start(self) -> None:
        async with self.store.transaction() as tx:
            self._secret = bytes.fromhex(
                await tx.cluster_secrets.get_or_create("http_sessions", secrets.token_hex(32))
            )

    def _mac(self, *parts: str) -> bytes:
        # Keyed BLAKE2b is a MAC in its own right, at a fraction of HMAC-SHA256's cost: every
        # Basic request that brings no cookie is issued one.
        assert self._secret is not None, "HttpSessions.start() was not awaited"
        return hashlib.blake2b("\0".join(parts).encode(), key=self._secret, digest_size=18).digest()

    def _hmac(self, *parts: str) -> bytes:
        """What cookies and CSRF tokens were signed with before keyed BLAKE2b: still honoured, so an
        upgrade signs nobody out; such a cookie lives ``lifetime_s`` at most."""
        assert self._secret is not None, "HttpSessions.start() was not awaited"
        return hmac.new(self._secret, "\0".join(parts).encode(), hashlib.sha256).digest()[:18]

    def _accepted(self, *parts: str) -> Iterator[bytes]:
        """The MACs a cookie or CSRF token over ``parts`` may carry: today's first, the legacy one
        computed only when today's did not match."""
        yield self._mac(*parts)
        yield self._hmac(*parts)

    def _signed(self, mac: bytes, *parts: str) -> bool:
        return any(hmac.compare_digest(expected, mac) for expected in self._accepted(*parts))

    def create(self, user: User) -> HttpSession:
        key = secrets.token_urlsafe(18)
        created = int(time.time() * 1000)
        claim = msgspec.json.encode((key, user.id, user.tenant_id, created))
        mac = self._mac(claim.decode(), user.password_hash)
        return HttpSession(f"{_b64(claim)}.{_b64(mac)}", key, user.id, user.tenant_id, created, self)

    def csrf(self, key: str) -> str:
        return _b64(self._mac("csrf", key))

    def device_cookie(self, user_name: str) -> str:
        """A new device cookie saying this browser signed in as ``user_name`` (``DEVICE_COOKIE``):
        a random device id, the user name and the issue time, signed like a session cookie."""
        claim = msgspec.json.encode((secrets.token_urlsafe(12), user_name, int(time.time() * 1000))).decode()
        return f"{_b64(claim.encode())}.{_b64(self._mac('device', claim))}"

    def device_of(self, token: str | None, user_name: str) -> str | None:
        """The device id ``token`` names, if it is a device cookie of ours for ``user_name`` that is
        not past ``DEVICE_LIFETIME_S`` (no I/O)."""
        if not token or len(token) > 256:
            return None
        head, _, tail = token.partition(".")
        try:
            claim = _unb64(head).decode()
            device, named, issued_ms = _device_decoder.decode(claim)
            mac = _unb64(tail)
        except (ValueError, msgspec.DecodeError):
            return None
        if named != user_name or time.time() * 1000 - issued_ms > DEVICE_LIFETIME_S * 1000:
            return None
        return device if hmac.compare_digest(self._mac("device", claim), mac) else None

    def seal(self, purpose: str, claim: str) -> str:
        """``claim`` signed with the cluster's key for ``purpose`` (a sign-in's state between the
        identity provider's redirects, say): any node can open it, nobody can forge it."""
        return f"{_b64(claim.encode())}.{_b64(self._mac(purpose, claim))}"

    def open_seal(self, purpose: str, token: str | None) -> str | None:
        """What :meth:`seal` signed for ``purpose``, or None for anything else."""
        if not token or len(token) > 4096:
            return None
        head, _, tail = token.partition(".")
        try:
            claim = _unb64(head).decode()
            mac = _unb64(tail)
        except ValueError:
            return None
        return claim if hmac.compare_digest(self._mac(purpose, claim), mac) else None

    def csrf_matches(self, key: str, token: str) -> bool:
        sent = token.encode()
        return any(
            hmac.compare_digest(_b64(expected).encode(), sent) for expected in self._accepted("csrf", key)
        )

    def claim(self, token: str | None) -> SessionClaim | None:
        """Parse a cookie; None when it is not one of ours or its lifetime is over (no I/O)."""
        if not token or len(token) > 512:
            return None
        head, _, tail = token.partition(".")
        try:
            raw = _unb64(head)
            key, user_id, tenant_id, created = _claim_decoder.decode(raw)
            mac = _unb64(tail)
        except (ValueError, msgspec.DecodeError):
            return None
        if time.time() * 1000 - created > self.limits.lifetime_s * 1000:
            return None
        return SessionClaim(token, key, user_id, tenant_id, created, mac)

    async def resolve(self, claim: SessionClaim, user: User) -> HttpSession | None:
        """The session, if the claim is genuine for ``user`` and the session is neither ended nor idle."""
        if user.id != claim.user_id:
            return None
        known = self._known.get(claim.key)
        genuine = (claim.token, user.password_hash)
        if known is None or known.genuine != genuine:
            head = claim.token.partition(".")[0]
            if not self._signed(claim.mac, _unb64(head).decode(), user.password_hash):
                return None
        now = int(time.time() * 1000)
        if known is None or time.monotonic() - known.checked_at >= self.limits.check_s:
            try:
                known = await self._read(claim, now)
            except StorageUnavailable:
                if known is None:
                    raise
                # The database is away: the session is as last read until it is back.
        known.genuine = genuine
        if known.ended:
            return None
        if now - known.last_seen_ms > self.limits.idle_s * 1000:
            await self._end(claim, now)
            return None
        known.last_seen_ms = now
        if now - known.stored_last_seen_ms >= self._touch_ms:
            known.stored_last_seen_ms = now
            with contextlib.suppress(StorageUnavailable):  # written again by a later request
                async with self.store.transaction() as tx:
                    await tx.http_sessions.touch(claim.key, now)
        return HttpSession(claim.token, claim.key, user.id, user.tenant_id, claim.created_ms, self)

    async def _read(self, claim: SessionClaim, now: int) -> _Known:
        async with self.store.transaction() as tx:
            stored = await tx.http_sessions.get(claim.key)
            if stored is None and now - claim.created_ms <= self.limits.idle_s * 1000:
                # First time this cookie comes back: from now on the session is known everywhere.
                stored = StoredHttpSession(
                    claim.key, claim.user_id, claim.tenant_id, claim.created_ms, now, None
                )
                await tx.http_sessions.insert(stored, self.limits.max_per_user)
        previous = self._known.get(claim.key)
        if len(self._known) >= 100_000:
            self._known.clear()
        if stored is None:  # idle since it was issued
            known = _Known(True, claim.created_ms, claim.created_ms, time.monotonic())
        else:
            # This node may have seen the session more recently than it last wrote that down.
            last_seen = max(stored.last_seen_ms, previous.last_seen_ms if previous else 0)
            known = _Known(stored.ended_ms is not None, last_seen, stored.last_seen_ms, time.monotonic())
        self._known[claim.key] = known
        return known

    async def _end(self, claim: SessionClaim, now: int) -> None:
        async with self.store.transaction() as tx:
            await tx.http_sessions.end(
                StoredHttpSession(claim.key, claim.user_id, claim.tenant_id, claim.created_ms, now, None), now
            )
        self._known[claim.key] = _Known(True, now, now, time.monotonic())

    async def invalidate(self, session: HttpSession) -> None:
        """End ``session`` (EndContactCenterSession): its cookie is refused by every node from now on
        (by other nodes within ``check_s``)."""
        claim = self.claim(session.id)
        if claim is not None:
            await self._end(claim, int(time.time() * 1000))

    async def invalidate_user(self, user_id: str) -> None:
        now = int(time.time() * 1000)
        async with self.store.transaction() as tx:
            await tx.http_sessions.end_all_of_user(user_id, now)
        for known in self._known.values():
            known.checked_at = 0.0  # re-read on next use: this user's are ended now

    async def prune(self) -> None:
        """Forget sessions past their lifetime: their cookies are refused without a lookup anyway."""
        before = int((time.time() - self.limits.lifetime_s) * 1000)
        async with self.store.transaction() as tx:
            await tx.http_sessions.prune(before)


async def cookie_caller(
    authenticator: Authenticator, sessions: HttpSessions, token: str | None
) -> tuple[User, HttpSession] | None:
    """Who a request authenticated by its JSESSIONID cookie alone comes from, if anyone."""
    claim = sessions.claim(token)
    if claim is None:
        return None
    user = await authenticator.user_by_id(claim.tenant_id, claim.user_id)
    if user is None:
        return None
    session = await sessions.resolve(claim, user)
    return (user, session) if session is not None else None


async def cookie_user(authenticator: Authenticator, sessions: HttpSessions, token: str | None) -> User | None:
    found = await cookie_caller(authenticator, sessions, token)
    return found[0] if found is not None else None
