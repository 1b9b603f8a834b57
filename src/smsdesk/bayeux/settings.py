"""Every limit the Bayeux server enforces, named in one place with the reason for its default."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MemoryBounds:
    """What a client can make the server hold, bounded in bytes as well as in counts: a client
    chooses how many subscriptions it asks for, and how slowly it reads what is sent to it."""

    max_subscriptions_per_client: int = 64
    """Channels one client may be subscribed to. A desktop needs one (``/v2/me/**``) or a handful;
    one more is refused (``403::too_many_subscriptions``), the client keeps what it has."""

    max_subscriptions_per_principal: int = 256
    """Channels all of one principal's clients on this server may be subscribed to together (so the
    per-principal client cap does not multiply the per-client one)."""

    max_channel_length: int = 256
    """Characters in a channel a client subscribes to; a longer one is ``400::channel_too_long``."""

    max_queue_bytes: int = 8 * 1_048_576
    """Bytes held for one client (queued plus sent but not acknowledged). Beyond, the client is
    dropped as on ``max_queue``; a single message larger than this is still sent when nothing else
    waits, so no notification is undeliverable for its size alone."""

    max_node_queue_bytes: int = 256 * 1_048_576
    """Bytes held for all clients of this server together. Beyond, the clients holding the most are
    dropped until the new message fits: many slow clients cannot add up to the memory one is denied."""


@dataclass(frozen=True)
class BayeuxSettings:
    timeout_ms: int = 25_000
    """How long a ``/meta/connect`` is held when nothing is queued. Below the 30 s idle cut of most
    proxies and load balancers, so a held poll is answered before something in between drops it."""

    interval_ms: int = 0
    """Advice to the client: how long to wait after a connect reply before the next connect. Zero
    keeps notification latency at one round trip."""

    max_interval_ms: int = 10_000
    """A client with no ``/meta/connect`` for this long (counted from when its last one returned) is
    expired. Long enough to ride out a network blip or a slow reconnect, short enough that a closed
    browser tab stops costing memory and queued messages within seconds."""

    max_queue: int = 10_000
    """Messages queued for one client (including those sent but not yet acknowledged). On overflow
    the session is dropped, its held connect is answered ``402::session_unknown`` with handshake
    advice, and the client must handshake again and re-read its state: a client that far behind is
    better served by a fresh start than by an unbounded backlog that would exhaust server memory."""

    max_request_bytes: int = 1_048_576
    """Largest accepted body of one HTTP POST or one websocket frame. Bayeux control messages are
    tiny; the limit bounds memory spent on a hostile or broken client."""

    multiple_clients_interval_ms: int = 2_000
    """When several tabs of one browser (same ``BAYEUX_BROWSER`` cookie) long-poll at once, only one
    may hold a connect (browsers allow few connections per host); the others poll at this interval."""

    max_batch: int = 100
    """Messages in one HTTP POST body or websocket frame. A client sends a handful at a time (a
    handshake, or subscribes then a connect); a bigger batch is refused whole with ``400``."""

    max_json_depth: int = 32
    """Arrays/objects nested in one POST body or frame, checked before decoding: a decoder
    recursing a thousand levels deep would raise instead of answering."""

    max_clients_per_principal: int = 32
    """Bayeux clients one principal (user) may hold at once. A further handshake removes that
    principal's oldest client, and only theirs: one user cannot hold unbounded memory with
    handshakes, nor push anybody else out."""

    unconnected_expiry_ms: int = 5_000
    """A client that handshook but never sent ``/meta/connect`` is expired after this long (every
    real client connects right after its handshake): handshakes alone cost memory only briefly."""

    memory: MemoryBounds = field(default_factory=MemoryBounds)
    """The bounds, in bytes and counts, of what a client can make the server hold."""

    websocket_enabled: bool = True
    """Offer and accept the websocket transport."""

    sweep_interval_ms: int = 1_000
    """How often idle sessions are looked for. Expiry is therefore late by at most this much."""
