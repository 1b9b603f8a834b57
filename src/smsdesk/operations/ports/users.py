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


class Users(Protocol):
    """The ``users`` table. Reads lock nothing; user names are unique across contact centers."""

    async def by_name(self, user_name: str) -> User | None: ...
    async def by_id(self, tenant_id: str, user_id: str) -> User | None: ...
    async def all(self, tenant_id: str | None = None) -> list[User]:
        """Every user (of one contact center, when given), by user name."""
        ...

    async def insert(self, user: User) -> None: ...
    async def set_password_hash(self, user_id: str, password_hash: str) -> None: ...


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
