"""Idempotency keys (an extension): a request repeated with the ``Idempotency-Key`` it was first sent
with gets the first outcome back instead of being done twice.

A client that never learnt whether a request was done (its connection dropped, or the server
answered 503 with ``X-Smsdesk-Outcome: unknown`` because the database failed during the commit)
repeats it with the same key: if the first attempt committed, the key is found, with its outcome,
and nothing is done again; if it did not, the key is free and the request runs. The key is taken
first in the request's transaction and its outcome written in that same transaction, so the two
always commit (or vanish) together (docs/gws-compatibility.md, "When the database fails over").
"""

from __future__ import annotations

import hashlib
import logging

from smsdesk.domain.clock import now_ms
from smsdesk.gws.envelope import GwsError, StatusCode
from smsdesk.operations.ports import Store, Transaction, User

log = logging.getLogger("smsdesk.operations")

RETENTION_MS = 24 * 3_600_000
"""How long a key is remembered: far longer than any client retries a request."""


def request_digest(*parts: bytes | str) -> str:
    """What identifies a request for its key: the same key with another request is refused."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()


async def earlier_outcome(tx: Transaction, user: User, key: str, request: str) -> str | None:
    """Take ``key`` for this request, in its transaction; the outcome of the request that already
    took it, if one did (and committed)."""
    remembered = await tx.idempotency_keys.claim(user.tenant_id, user.id, key, request, now_ms())
    if remembered is None:
        return None
    if remembered.request != request:
        raise GwsError(
            StatusCode.IN_USE,
            f"Idempotency-Key {key!r} was already used for a different request: use a new key per request",
        )
    if remembered.outcome is None:  # taken, committed, yet no outcome: never written so; run again
        return None
    log.info("request with Idempotency-Key %r repeated: answered with its first outcome", key)
    return remembered.outcome


async def prune(store: Store) -> None:
    """Forget keys older than :data:`RETENTION_MS` (background work)."""
    async with store.transaction() as tx:
        await tx.idempotency_keys.prune(now_ms() - RETENTION_MS)
