"""Token buckets: so one noisy user or contact center cannot starve the others.

Each key (a user, a tenant, a tenant's SMS intake) has a bucket of ``burst`` tokens refilled at
``per_second``; a request takes one token or is refused with the time until one is back. The
buckets live in this process's memory, with no database write per request. On a cluster each node
enforces its *share*: the rate and the burst divided by the number of live nodes (``share``, kept
current by ``app.Cluster``). Behind a load balancer that spreads requests evenly (round robin, no
stickiness) a key's requests reach each node in that proportion, so the cluster-wide limit is the
configured one; a balancer that sends one key's requests all to one node gives that key only its
share there (stricter, never looser).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rate:
    per_second: float
    burst: int

    @property
    def enabled(self) -> bool:
        return self.per_second > 0 and self.burst > 0


class RateLimited(Exception):
    """Refused by a limit; ``retry_after_s`` is when the next request would be let through."""

    def __init__(self, what: str, retry_after_s: int) -> None:
        super().__init__(f"Too many requests for this {what}; retry in {retry_after_s} s")
        self.what = what
        self.retry_after_s = retry_after_s


class TokenBuckets:
    def __init__(
        self, rate: Rate, what: str, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.what = what
        self.max_keys = max_keys
        self._clock = clock
        self._here = rate
        """The share of ``rate`` this node enforces."""
        # key -> (tokens, refilled at); dicts keep insertion order, so the first key is the stalest.
        self._buckets: dict[str, tuple[float, float]] = {}

    def share(self, nodes: int) -> None:
        """Enforce ``1 / nodes`` of the rate and burst here (``nodes`` live nodes share the limit)."""
        nodes = max(1, nodes)
        self._here = Rate(self.rate.per_second / nodes, max(1, self.rate.burst // nodes))

    def take(self, key: str) -> None:
        """Take one token for ``key`` or raise :class:`RateLimited`."""
        rate = self._here
        if not rate.enabled:
            return
        now = self._clock()
        tokens, refilled = self._buckets.pop(key, (float(rate.burst), now))
        tokens = min(float(rate.burst), tokens + (now - refilled) * rate.per_second)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            raise RateLimited(self.what, max(1, math.ceil((1.0 - tokens) / rate.per_second)))
        self._buckets[key] = (tokens - 1.0, now)
        # Keys are users and tenants (bounded by the database), so this is a safety net, not a policy:
        # forgetting the stalest bucket only ever gives that key a full bucket back.
        while len(self._buckets) > self.max_keys:
            del self._buckets[next(iter(self._buckets))]
