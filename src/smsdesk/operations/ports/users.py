"""Users and contact centers (tenants)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class User:
    id: str
    tenant_id: str
    user_name: str
    first_name: str
    last_name: str
    roles: tuple[str, ...]
    enabled: bool
    password_hash: str
    password_signin: bool = True
    """False: this user signs in only with the identity provider (OpenID Connect), never with a
    password (docs/architecture.md §7)."""


class Users(Protocol):
    """The ``users`` table. Reads lock nothing; user names are unique across contact centers."""

    async def by_name(self, user_name: str) -> User | None: ...
    async def by_id(self, tenant_id: str, user_id: str) -> User | None: ...
    async def all(self, tenant_id: str | None = None) -> list[User]:
        """Every user (of one contact center, when given), by user name."""
        ...

    async def insert(self, user: User) -> None: ...
    async def set_password_hash(self, user_id: str, password_hash: str) -> None: ...
    async def update(self, user: User) -> None:
        """Write the user's names, roles, ``enabled`` and ``password_signin`` (not the password)."""
        ...

    async def delete(self, user_id: str) -> None:
        """Remove the user and what hangs on them: queue memberships and supervisions, channels,
        presence, monitorings (either side), HTTP sessions, sign-in throttles and Bayeux client rows.
        Sessions they took part in keep their ids (a transcript names who wrote what)."""
        ...


class ReferenceIds(Protocol):
    """The ``referenceId`` of each request (docs/gws-compatibility.md)."""

    async def next(self) -> int:
        """A number never handed out before, larger than every one handed out earlier on any node
        (so each user's referenceIds increase from request to request). Writes no row: a rolled-back
        transaction loses its number, and nobody else ever gets it."""
        ...


class Tenants(Protocol):
    """Contact centers: an id and a name, either of which finds it."""

    async def ensure(self, tenant_id: str, name: str) -> None: ...
    async def by_name(self, name: str) -> str | None:
        """The id of the contact center with this id or name."""
        ...

    async def get(self, tenant_id: str) -> ContactCenter | None: ...
    async def set_retention_days(self, tenant_id: str, days: int | None) -> None: ...
    async def with_retention(self) -> list[ContactCenter]:
        """The contact centers that keep finished conversations for a limited time."""
        ...


@dataclass(frozen=True, slots=True)
class ContactCenter:
    id: str
    name: str
    retention_days: int | None
    """Finished conversations older than this many days are deleted; None: kept for ever."""
