"""Server settings: defaults, then an optional TOML file, then ``SMSDESK_*`` environment variables,
then command-line flags. Every limit is named here (docs/settings.md)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from smsdesk.domain import placeholders
from smsdesk.domain.errors import DomainError
from smsdesk.domain.opening_hours import HoursError, OpeningHours

CsrfMode = Literal["off", "cookie", "always"]


@dataclass(frozen=True, slots=True)
class ServiceNumberSetting:
    """One ``[[service_numbers]]`` entry: SMS to ``number`` go to ``queue`` of contact center
    ``tenant`` and replies leave through the connector named ``connector``."""

    number: str
    queue: str
    connector: str
    tenant: str = "default"


@dataclass(frozen=True, slots=True)
class QueueSetting:
    """One ``[queues.<name>]`` table: the queue's opening hours and automatic replies, applied at
    every start (docs/settings.md)."""

    queue: str
    tenant: str = "default"
    timezone: str | None = None
    weekly: str | None = None
    closed_dates: tuple[str, ...] = ()
    when_closed: str = "queue"
    closed_reply: str | None = None
    waiting_reply: str | None = None
    waiting_after_s: int | None = None


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = "sqlite:///var/smsdesk.db"
    # PostgreSQL only: connections each process keeps open (every transaction holds one meanwhile).
    database_pool_size: int = 10
    # PostgreSQL only: how often each node reads the outbox even without an announcement (commits
    # announce their rows as they happen; the reading only covers an announcement lost unnoticed).
    cluster_catch_up_ms: int = 10_000
    # PostgreSQL only: how long a request whose commit met a dying database waits for a writable one
    # to say whether that commit happened (then it is answered as done, not done, or in doubt).
    database_in_doubt_wait_s: float = 20.0
    # The base of the absolute ``uri``s in resources; defaults to http://host:port.
    public_url: str = ""
    demo: bool = False
    # ISO 3166 region (e.g. "US") used to read phone numbers written in national format; empty:
    # digits without "+" are read as international numbers that lack their "+".
    default_region: str = ""
    simulator: bool = False
    # off: never check; cookie: check requests authenticated only by the session cookie (browsers);
    # always: check every POST/PUT/DELETE, as GWS does with enableCsrfProtection.
    csrf: CsrfMode = "cookie"
    cors_origins: tuple[str, ...] = ()
    log_level: str = "info"
    max_body_bytes: int = 1_048_576  # any REST request body
    # Input bounds checked at the decoding edge (docs/reliability.md, "Input bounds").
    max_json_depth: int = 32  # arrays/objects nested in any JSON body, Bayeux included
    max_string_length: int = 4_096  # any string field or query parameter
    max_list_items: int = 256  # any list field of a request body
    max_query_integer: int = 2_147_483_647  # startIndex, count
    # Slow and vanishing clients (docs/reliability.md, "Slow clients").
    header_timeout_s: float = 10.0  # from a request's first byte to the end of its headers
    body_timeout_s: float = 30.0  # from the end of the headers to the end of the body
    # An idle kept-alive connection is closed after this. Longer than the idle timeouts of clients and
    # load balancers (nginx keeps upstream connections 60 s): a server closing a connection just as
    # the client reuses it resets that request, and a reset POST is not retried.
    keep_alive_s: float = 75.0
    max_connections_per_address: int = 256  # open connections from one client IP; 0 = no limit
    # A connection whose client reads nothing of what is waiting to be written for this long is
    # closed (a never-read long-poll answer, a websocket whose reader stalled): its buffer goes too.
    send_timeout_s: float = 30.0
    max_header_bytes: int = 65_536  # request line plus headers of one request
    offer_timeout_ms: int = 30_000
    max_sessions_per_agent: int = 5
    service_level_threshold_ms: int = 60_000
    # GET /metrics (Prometheus): off while empty; otherwise scrapes send "Authorization: Bearer <token>".
    metrics_token: str = ""
    max_text_length: int = 1_600
    user_data_max_keys: int = 200
    user_data_max_key_length: int = 256
    user_data_max_bytes: int = 65_536
    credential_trust_s: float = 30.0
    # JSESSIONID sessions: ended after this long unused, or this long after sign-in whatever happens;
    # a user's least recently used ones end beyond the cap; a node re-reads a session this often.
    http_session_idle_s: float = 1_800.0
    http_session_lifetime_s: float = 43_200.0
    http_session_max_per_user: int = 20
    http_session_check_s: float = 5.0
    # Presence (docs/architecture.md §7): an agent nobody is behind (no authenticated request, no
    # live Bayeux client) for presence_offer_s gets no offers and loses the pending ones; after
    # presence_away_s (the HTTP session idle expiry) it leaves Ready, with the reason SessionExpired.
    presence_offer_s: float = 90.0
    presence_away_s: float = 1_800.0
    password_min_length: int = 8  # new and changed passwords (CLI, API); existing ones keep working
    # HTTP Basic (API clients, and the pages' password sign-in, as a GWS browser client does it);
    # off: only sessions from the identity provider's sign-in (oidc_*) are accepted.
    basic_auth: bool = True
    # Single sign-on with OpenID Connect (docs/production.md, "Single sign-on"): off while the issuer
    # is empty. The claim of the ID token that names the smsdesk user; the name on the pages' button.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_username_claim: str = "preferred_username"
    oidc_display_name: str = ""
    oidc_scopes: str = "openid profile"
    oidc_clock_skew_s: float = 60.0  # how far the provider's clock may be from ours (exp, iat)
    # How often the cluster's background work deletes finished conversations past their contact
    # center's retention_days (set per contact center: API, pages, `smsdesk retention`).
    retention_interval_s: float = 3_600.0
    bayeux_timeout_ms: int = 25_000
    bayeux_max_interval_ms: int = 10_000
    bayeux_max_queue: int = 10_000
    bayeux_max_request_bytes: int = 1_048_576  # one Bayeux POST body or websocket frame
    bayeux_multiple_clients_interval_ms: int = 2_000
    bayeux_sweep_interval_ms: int = 1_000  # idle-expiry check period
    bayeux_max_batch: int = 100  # messages in one Bayeux POST body or websocket frame
    # permessage-deflate on websockets: ~40 KB of zlib state per connection and CPU per message,
    # for notifications of about 1 KB; off unless the network is the scarce resource.
    websocket_compression: bool = False
    # A websocket ping every this many seconds (a peer that does not answer within 20 s is closed):
    # how soon a connection that died without a word is noticed. Bayeux's own /meta/connect keeps
    # traffic flowing meanwhile; each ping is a frame each way, 10,000 desktops make many of them.
    websocket_ping_s: float = 60.0
    bayeux_max_clients_per_user: int = 32  # a user's oldest Bayeux client goes beyond this
    # Memory a client controls, bounded (docs/reliability.md, "Memory a client controls"):
    bayeux_max_subscriptions_per_client: int = 64  # channels one Bayeux client may subscribe to
    bayeux_max_subscriptions_per_user: int = 256  # all of one user's clients on one node together
    bayeux_max_queue_bytes: int = 8 * 1_048_576  # held for one client; beyond, it is dropped
    bayeux_max_node_queue_bytes: int = 256 * 1_048_576  # held for all clients; the heaviest go beyond
    # Bytes written to a websocket that its client has not read yet, above which no more is
    # written to it (the rest waits in its Bayeux queue, where the limits above see it).
    websocket_write_high_water_bytes: int = 65_536
    bayeux_unconnected_expiry_ms: int = 5_000  # a client that handshook but never connected goes
    # How long notifications stay in the outbox for replay to reconnecting clients (resume tokens
    # older than this get a NotificationGap), and how often older ones are deleted.
    notification_retention_s: float = 600.0
    notification_prune_interval_s: float = 30.0
    # The slow sweep that routes any session left waiting; offers expire at their own deadline.
    routing_sweep_ms: int = 30_000
    # How often the background work re-reads queues' opening hours and automatic replies: a change
    # (CLI, API) or an opening acts within this, and waiting replies go out this punctually.
    opening_hours_check_ms: int = 2_000
    sms_retry_initial_ms: int = 1_000  # first retry of a transient send failure; doubles each time
    sms_retry_max_ms: int = 60_000
    sms_max_attempts: int = 8  # then the message is marked failed with the last reason
    # Sign-in throttling per (user name, client address): after this many failures within the window
    # the pair is refused (429) for a while that starts at initial and doubles up to max; 0 = off.
    signin_max_failures: int = 10
    signin_failure_window_s: float = 60.0
    signin_throttle_initial_s: float = 5.0
    signin_throttle_max_s: float = 300.0
    # Token buckets (requests per second, burst) for the whole cluster, each node enforcing its share
    # (operations/ratelimit.py); a rate of 0 turns a limit off. Far above what a desktop needs, so
    # they only bite a runaway script or a flood.
    rate_limit_user_per_s: float = 100.0  # authenticated REST requests of one user
    rate_limit_user_burst: int = 1_000
    rate_limit_tenant_per_s: float = 2_000.0  # all REST requests of one contact center
    rate_limit_tenant_burst: int = 10_000
    rate_limit_intake_per_s: float = (
        200.0  # customers' SMS into one contact center (webhooks, SMPP, simulator)
    )
    rate_limit_intake_burst: int = 1_000
    connectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Applied idempotently at every start (docs/connectors.md); numbers added with `smsdesk numbers
    # add` keep working alongside.
    service_numbers: tuple[ServiceNumberSetting, ...] = ()
    # [queues.<name>] tables: opening hours and automatic replies, applied at every start.
    queues: tuple[QueueSetting, ...] = ()

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def simulator_enabled(self) -> bool:
        return self.demo or self.simulator or "simulator" in self.connectors


def _coerce(name: str, raw: str, current: object) -> object:
    if isinstance(current, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, float):
        return float(raw)
    if isinstance(current, tuple):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw


def load_settings(config_file: str | None = None, **overrides: Any) -> Settings:
    settings = Settings()
    values: dict[str, Any] = {}
    path = config_file or os.environ.get("SMSDESK_CONFIG")
    if path:
        with Path(path).open("rb") as handle:
            data = tomllib.load(handle)
        known = {f.name for f in fields(Settings)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown settings in {path}: {', '.join(sorted(unknown))}")
        values.update(data)
        if "cors_origins" in values:
            values["cors_origins"] = tuple(values["cors_origins"])
        if "connectors" in values and not (
            isinstance(values["connectors"], dict)
            and all(isinstance(section, dict) for section in values["connectors"].values())
        ):
            raise ValueError(f"{path}: connectors must be [connectors.<name>] tables")
        if "service_numbers" in values:
            values["service_numbers"] = _service_numbers(values["service_numbers"], path)
        if "queues" in values:
            values["queues"] = _queues(values["queues"], path)
    for f in fields(Settings):
        env = os.environ.get(f"SMSDESK_{f.name.upper()}")
        # Tables (connectors, service numbers) only come from the file; secrets via *_env there.
        if env is not None and f.name not in ("connectors", "service_numbers", "queues"):
            values[f.name] = _coerce(f.name, env, getattr(settings, f.name))
    values.update({k: v for k, v in overrides.items() if v is not None})
    if values.get("csrf", settings.csrf) not in ("off", "cookie", "always"):
        raise ValueError("csrf must be one of: off, cookie, always")
    if values.get("oidc_issuer") and not (values.get("oidc_client_id") and values.get("oidc_client_secret")):
        raise ValueError("oidc_issuer needs oidc_client_id and oidc_client_secret too")
    return replace(settings, **values)


def _service_numbers(raw: object, path: str) -> tuple[ServiceNumberSetting, ...]:
    """The ``[[service_numbers]]`` array, checked: every problem is named, with its entry's position."""
    if not isinstance(raw, list):
        raise ValueError(f"{path}: service_numbers must be an array of tables ([[service_numbers]])")
    known = {f.name for f in fields(ServiceNumberSetting)}
    required = ("number", "queue", "connector")
    problems: list[str] = []
    entries: list[ServiceNumberSetting] = []
    seen: set[str] = set()
    for position, entry in enumerate(raw, start=1):
        where = f"service_numbers entry {position}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: expected a table")
            continue
        unknown = sorted(set(entry) - known)
        missing = [name for name in required if name not in entry]
        not_text = [
            name for name in known & set(entry) if not isinstance(entry[name], str) or not entry[name]
        ]
        if unknown:
            problems.append(f"{where}: unknown setting(s) {', '.join(unknown)}")
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
        if not_text:
            problems.append(f"{where}: {', '.join(sorted(not_text))} must be non-empty strings")
        if unknown or missing or not_text:
            continue
        number = entry["number"].strip()
        if number in seen:
            problems.append(f"{where}: number {number} is listed twice")
            continue
        seen.add(number)
        entries.append(
            ServiceNumberSetting(
                number=number,
                queue=entry["queue"],
                connector=entry["connector"],
                tenant=entry.get("tenant", "default"),
            )
        )
    if problems:
        raise ValueError(f"{path}: invalid service_numbers:\n  " + "\n  ".join(problems))
    return tuple(entries)


_QUEUE_KEYS = {f.name for f in fields(QueueSetting)} - {"queue"}


def _queues(raw: object, path: str) -> tuple[QueueSetting, ...]:
    """The ``[queues.<name>]`` tables, checked as the CLI checks them: every problem named."""
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise ValueError(f"{path}: queues must be [queues.<name>] tables")
    problems: list[str] = []
    entries: list[QueueSetting] = []
    for name, table in raw.items():
        where = f"[queues.{name}]"
        unknown = sorted(set(table) - _QUEUE_KEYS)
        if unknown:
            problems.append(f"{where}: unknown setting(s) {', '.join(unknown)}")
            continue
        try:
            entries.append(_queue_setting(name, table))
        except (ValueError, TypeError, DomainError) as error:
            problems.append(f"{where}: {error.message if isinstance(error, DomainError) else error}")
    if problems:
        raise ValueError(f"{path}: invalid queues:\n  " + "\n  ".join(problems))
    return tuple(entries)


def _queue_setting(name: str, table: dict[str, Any]) -> QueueSetting:
    def text(key: str) -> str | None:
        value = table.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"{key} must be a non-empty string")
        return value

    timezone, weekly = text("timezone"), text("weekly")
    dates = table.get("closed_dates", [])
    if not isinstance(dates, list) or not all(isinstance(d, str) for d in dates):
        raise ValueError('closed_dates must be a list of dates, e.g. ["2026-12-25"]')
    when_closed = table.get("when_closed", "queue")
    if when_closed not in ("queue", "complete"):
        raise ValueError(f"when_closed must be queue or complete, not {when_closed!r}")
    if (timezone is None) != (weekly is None):
        raise ValueError("timezone and weekly go together (both, or neither for a queue that is always open)")
    if timezone is not None and weekly is not None:
        try:
            OpeningHours.parse(timezone, weekly, tuple(dates))
        except HoursError as error:
            raise ValueError(str(error)) from None
    closed, waiting = text("closed_reply"), text("waiting_reply")
    after = table.get("waiting_after_s")
    if after is not None and (
        not isinstance(after, int) or isinstance(after, bool) or not 1 <= after <= 604_800
    ):
        raise ValueError("waiting_after_s must be a whole number of seconds from 1 to 604800")
    if (waiting is None) != (after is None):
        raise ValueError("waiting_reply and waiting_after_s go together")
    if closed is not None:
        placeholders.check(closed, placeholders.CLOSED_REPLY_NAMES, user_data=False, what="closed_reply")
    if waiting is not None:
        placeholders.check(waiting, placeholders.WAITING_REPLY_NAMES, user_data=False, what="waiting_reply")
    tenant = table.get("tenant", "default")
    if not isinstance(tenant, str) or not tenant:
        raise ValueError("tenant must be a non-empty string")
    return QueueSetting(
        queue=name,
        tenant=tenant,
        timezone=timezone,
        weekly=weekly,
        closed_dates=tuple(dates),
        when_closed=when_closed,
        closed_reply=closed,
        waiting_reply=waiting,
        waiting_after_s=after,
    )
