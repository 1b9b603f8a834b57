"""The ``referenceId`` of each request (docs/gws-compatibility.md): unique in the contact center's
database, increasing on each node, and costing an operation no write: a node takes the numbers a
block at a time, in a transaction of its own, before the operation's transaction begins (a block
taken inside it would be handed out again if that transaction rolled back)."""

from __future__ import annotations

import asyncio

from smsdesk.operations.ports import Store

BLOCK = 1_000


class ReferenceIds:
    def __init__(self, store: Store, block: int = BLOCK) -> None:
        self.store = store
        self.block = block
        self._next = 0
        self._end = 0
        self._refill = asyncio.Lock()

    async def next(self) -> int:
        if self._next >= self._end:
            async with self._refill:
                if self._next >= self._end:  # another request refilled it meanwhile
                    first = await self.store.reference_block(self.block)
                    self._next, self._end = first, first + self.block
        value = self._next
        self._next += 1
        return value
