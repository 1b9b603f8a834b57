"""The SMS simulator's handsets in the database (a ``HandsetBook``), in SQL both backends run: every
node of a cluster shows the same handsets. Each call is a transaction of its own."""

from __future__ import annotations

from smsdesk.operations.ports import Store
from smsdesk.operations.sms_ports import HandsetFailure, HandsetMessage
from smsdesk.storage.transaction import SqlTransaction

_FAILURES: tuple[HandsetFailure, ...] = ("none", "transient", "permanent", "blocked")


class StoredHandsets:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def receive(self, sender: str, recipient: str, text: str, received_ms: int, keep: int) -> str:
        async with self.store.transaction() as tx:
            db = _sql(tx).db
            row = await db.fetchone(
                "INSERT INTO simulator_handsets (recipient, sender, text, received_ms) VALUES (?, ?, ?, ?) "
                "RETURNING id",
                (recipient, sender, text, received_ms),
            )
            assert row is not None
            await db.execute(
                "DELETE FROM simulator_handsets WHERE recipient = ? AND id <= ?",
                (recipient, int(row[0]) - keep),
            )
        return f"SIM{int(row[0]):08d}"

    async def messages(self, number: str) -> list[HandsetMessage]:
        async with self.store.transaction() as tx:
            rows = await _sql(tx).db.fetchall(
                "SELECT id, sender, recipient, text, received_ms FROM simulator_handsets "
                "WHERE recipient = ? ORDER BY id",
                (number,),
            )
        return [
            HandsetMessage(f"SIM{int(i):08d}", str(s), str(r), str(t), int(at)) for i, s, r, t, at in rows
        ]

    async def failure(self, number: str) -> HandsetFailure:
        async with self.store.transaction() as tx:
            row = await _sql(tx).db.fetchone(
                "SELECT failure FROM simulator_failures WHERE number = ?", (number,)
            )
        failure = str(row[0]) if row else "none"
        return next((known for known in _FAILURES if known == failure), "none")

    async def set_failure(self, number: str, failure: HandsetFailure) -> None:
        async with self.store.transaction() as tx:
            db = _sql(tx).db
            if failure == "none":
                await db.execute("DELETE FROM simulator_failures WHERE number = ?", (number,))
            else:
                await db.execute(
                    "INSERT INTO simulator_failures (number, failure) VALUES (?, ?) "
                    "ON CONFLICT (number) DO UPDATE SET failure = excluded.failure",
                    (number, failure),
                )


def _sql(tx: object) -> SqlTransaction:
    """Both stores' transactions are SQL ones; the simulator's tables are not part of the ports."""
    assert isinstance(tx, SqlTransaction)
    return tx
