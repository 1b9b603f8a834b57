"""Who is calling: password hashing, verified-credential cache, and server-side HTTP sessions.

GWS clients send HTTP Basic on every request, and an argon2 check costs tens of milliseconds by
design. So a verified (user, password) pair is remembered under a keyed digest (never the password
itself) and trusted for ``trust_s`` seconds; after that the user row is re-read (cheap) and the
entry kept only while the stored hash is unchanged, so a password change or a disabled account
takes effect within ``trust_s`` without paying a hash again.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from smsdesk.operations.ports import Store, User

_hasher = PasswordHasher()


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
        self._by_session: dict[str, _Verified] = {}

    def _digest(self, user_name: str, password: str) -> bytes:
        return hmac.new(self._key, f"{user_name}\0{password}".encode(), hashlib.sha256).digest()

    async def verify(self, user_name: str, password: str) -> User | None:
        key = self._digest(user_name, password)
        entry = self._verified.get(key)
        now = time.monotonic()
        if entry is not None and now - entry.checked_at < self.trust_s:
            return entry.user
        async with self.store.transaction() as tx:
            user = await tx.user_by_name(user_name)
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

    async def user_for_session(self, session: HttpSession) -> User | None:
        """The user behind a cookie-authenticated request (re-read at most every ``trust_s``)."""
        entry = self._by_session.get(session.id)
        now = time.monotonic()
        if entry is not None and now - entry.checked_at < self.trust_s:
            return entry.user
        async with self.store.transaction() as tx:
            user = await tx.user_by_id(session.tenant_id, session.user_id)
        if user is None or not user.enabled:
            self._by_session.pop(session.id, None)
            return None
        if len(self._by_session) >= self.max_entries:
            self._by_session.clear()
        self._by_session[session.id] = _Verified(user, now)
        return user


@dataclass(slots=True)
class HttpSession:
    id: str
    user_id: str
    tenant_id: str
    csrf_token: str
    created: float


class HttpSessions:
    """``JSESSIONID`` sessions: one CSRF token each. Held in memory; a restart issues new ones."""

    def __init__(self, max_sessions: int = 100_000) -> None:
        self.max_sessions = max_sessions
        self._sessions: dict[str, HttpSession] = {}

    def get(self, session_id: str | None, user_id: str) -> HttpSession | None:
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None or session.user_id != user_id:
            return None
        return session

    def lookup(self, session_id: str | None) -> HttpSession | None:
        return self._sessions.get(session_id) if session_id else None

    def create(self, user_id: str, tenant_id: str) -> HttpSession:
        # Clients that never send the cookie back (curl -u) get a session per request, so eviction
        # must be O(1): dicts keep insertion order, the first key is the oldest session.
        while len(self._sessions) >= self.max_sessions:
            del self._sessions[next(iter(self._sessions))]
        session = HttpSession(
            secrets.token_urlsafe(24), user_id, tenant_id, secrets.token_hex(16), time.time()
        )
        self._sessions[session.id] = session
        return session

    def invalidate(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def invalidate_user(self, user_id: str) -> None:
        for sid in [s.id for s in self._sessions.values() if s.user_id == user_id]:
            del self._sessions[sid]
