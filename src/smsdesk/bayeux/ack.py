"""Server side of the CometD acknowledged-messages extension.

Each ``/meta/connect`` reply carries ``ext.ack = <batch id>`` and the client's next connect sends
back the last batch id it received. Messages of batches not yet acknowledged are kept and sent again,
in order, ahead of new ones, by the next connect; so a reply lost with its connection (a dropped
poll, a connect released by a newer one, a broken websocket) loses nothing.

When the application numbers its messages (``deliver(..., sequence=N)``), a batch's id is the number
of its last message, so an acknowledged batch id says how far the client got in the application's
own order: another server can carry on from it (a cluster), with nothing of this state.
"""

from __future__ import annotations


class AckState:
    __slots__ = ("_unacked", "batch", "unacked_bytes", "unacked_count")

    def __init__(self) -> None:
        self.batch = 0
        # A list, not a deque: it holds one or two batches, and an empty deque costs ~600 bytes more
        # per client (10,000 clients: 6 MB).
        self._unacked: list[tuple[int, list[bytes]]] = []
        self.unacked_count = 0
        self.unacked_bytes = 0

    def acknowledge(self, batch: int) -> int:
        """Forget the batches up to ``batch``; returns the bytes they held."""
        unacked = self._unacked
        done = 0
        released = 0
        while done < len(unacked) and unacked[done][0] <= batch:
            self.unacked_count -= len(unacked[done][1])
            released += sum(len(message) for message in unacked[done][1])
            done += 1
        del unacked[:done]
        self.unacked_bytes -= released
        return released

    def has_unacked(self) -> bool:
        return bool(self._unacked)

    def reset(self, batch: int) -> None:
        """Forget every unacknowledged batch and carry on after ``batch`` (the state came from elsewhere)."""
        self._unacked.clear()
        self.unacked_count = 0
        self.unacked_bytes = 0
        self.batch = batch

    def take(self, fresh: list[bytes], sequence: int = 0, size: int = 0) -> tuple[int, list[bytes]]:
        """What a connect reply must carry: every unacknowledged message then ``fresh``; and the batch
        id to put in the reply. ``fresh`` joins the unacknowledged set under a new batch id: the
        ``sequence`` of its last message when that is ahead of the last id, else the next number.
        ``size``: the bytes of ``fresh``, which the unacknowledged set holds from now on."""
        if self._unacked:
            out = [message for _, messages in self._unacked for message in messages]
            out.extend(fresh)
        else:
            out = list(fresh)  # the caller appends its reply to ``out``; ``fresh`` is kept as is
        if fresh:
            self.batch = sequence if sequence > self.batch else self.batch + 1
            self._unacked.append((self.batch, fresh))
            self.unacked_count += len(fresh)
            self.unacked_bytes += size
        return self.batch, out
