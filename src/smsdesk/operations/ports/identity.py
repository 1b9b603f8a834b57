"""What identity keeps: HTTP sessions, the cluster's signing secrets, sign-in throttling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StoredHttpSession:
    """What the database keeps of a JSESSIONID session once its cookie has come back."""

    id: str
    user_id: str
    tenant_id: str
    created_ms: int
    last_seen_ms: int
    ended_ms: int | None


class StoredHttpSessions(Protocol):
    """``http_sessions`` (docs/architecture.md §7)."""

    async def get(self, session_id: str) -> StoredHttpSession | None: ...
    async def insert(self, session: StoredHttpSession, max_per_user: int) -> None:
        """Record a session (an existing one is left as it is), then end the user's least recently
        used ones beyond ``max_per_user``."""
        ...

    async def touch(self, session_id: str, now_ms: int) -> None:
        """Move ``last_seen_ms`` forward (never back)."""
        ...

    async def end(self, session: StoredHttpSession, now_ms: int) -> None:
        """End the session, storing it first if it was never stored."""
        ...

    async def end_all_of_user(self, user_id: str, now_ms: int) -> None: ...
    async def prune(self, created_before_ms: int) -> None: ...


class ClusterSecrets(Protocol):
    """Named secrets every node shares (the key that signs session cookies)."""

    async def get_or_create(self, name: str, proposed: str) -> str:
        """The stored secret; ``proposed`` is stored first if there is none (the first node wins)."""
        ...


class SignInThrottles(Protocol):
    """``signin_throttles``: the state of each (user name, address) pair that failed to sign in, as
    ``operations/signin_throttle.py`` encodes it; counted in the database so that failures on every
    node of a cluster add up."""

    async def lock(self, user_name: str, address: str) -> str | None:
        """The pair's stored state, its row locked until the transaction ends (None: none yet), so
        two nodes counting failures of one pair take turns."""
        ...

    async def get(self, user_name: str, address: str) -> str | None: ...
    async def save(self, user_name: str, address: str, state: str, now_ms: int) -> None:
        """Store the state of a pair locked in this transaction."""
        ...

    async def forget(self, user_name: str, address: str) -> None: ...
    async def prune(self, updated_before_ms: int) -> None: ...
