"""How an erased customer's opt-out is kept: a keyed digest of the number, never the number.

The key is a cluster secret (``cluster_secrets``, made by the first erasure), so the digest cannot
be read back as the number; the consent checks (``storage/sms.py``) compute it for a number that has
no consent row of its own, and find the opt-out in ``erased_opt_outs`` (docs/reliability.md,
"Erasure").
"""

from __future__ import annotations

import hashlib

from smsdesk.storage.connection import SqlConnection

ERASED_KEY = "erased_customers"


def erased_form(key_hex: str, customer_number: str) -> str:
    """The number's keyed BLAKE2b digest (160 bits, hex): what ``erased_opt_outs`` keeps."""
    return hashlib.blake2b(customer_number.encode(), key=bytes.fromhex(key_hex), digest_size=20).hexdigest()


async def erased_key(db: SqlConnection, create: bool) -> str | None:
    """The digest key; made first when ``create`` (the first node to erase wins)."""
    if create:
        import secrets

        await db.execute(
            "INSERT INTO cluster_secrets (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (ERASED_KEY, secrets.token_hex(32)),
        )
    row = await db.fetchone("SELECT value FROM cluster_secrets WHERE name = ?", (ERASED_KEY,))
    return str(row[0]) if row else None
