"""The single-node bus: a commit pokes this node's fan-out directly. It never carries data."""

from __future__ import annotations

from collections.abc import Callable


class InProcessBus:
    def __init__(self) -> None:
        self._subscribers: list[Callable[[int], None]] = []

    def subscribe(self, on_position: Callable[[int], None]) -> None:
        self._subscribers.append(on_position)

    def committed(self, position: int) -> None:
        for subscriber in self._subscribers:
            subscriber(position)
