"""One server process: its store, operations, Bayeux server, fan-out, SMS connectors, identity and
background work, built from the settings and started and stopped in pairs.

``app.py`` puts the HTTP surface in front of a node; ``cluster.py`` decides whether this node runs
the background work (always on SQLite; the leader's only, on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Protocol, TypeAlias

from smsdesk.bayeux import BayeuxServer, BayeuxSettings
from smsdesk.config import Settings
from smsdesk.connectors.factory import ConnectorConfigError, build_connectors
from smsdesk.connectors.simulator import SimulatorConnector
from smsdesk.domain.userdata import UserDataLimits
from smsdesk.gc_tuning import freeze_startup_objects
from smsdesk.gws.representation import Urls
from smsdesk.operations import idempotency, phone_numbers
from smsdesk.operations.admin import DEFAULT_TENANT, DEMO_PASSWORD, seed_demo
from smsdesk.operations.background import BackgroundLoop
from smsdesk.operations.customers import RetentionSweep, Scrub
from smsdesk.operations.identity import Authenticator, HttpSessionLimits, HttpSessions
from smsdesk.operations.intake import SmsIntake
from smsdesk.operations.opening_hours import IDLE_CHECK_S, QueueHoursWatch, apply_settings
from smsdesk.operations.outbound import SmsDispatcher
from smsdesk.operations.presence import PresenceRecorder, PresenceSweep
from smsdesk.operations.provisioning import (
    ServiceNumberConfigError,
    ensure_service_numbers,
    unknown_connectors,
)
from smsdesk.operations.ratelimit import Rate, TokenBuckets
from smsdesk.operations.routing import Router
from smsdesk.operations.services import OperationSettings, Services
from smsdesk.operations.signin_throttle import SignInThrottle, ThrottleSettings
from smsdesk.operations.sms_ports import SmsConnector
from smsdesk.realtime.fanout import Fanout
from smsdesk.realtime.policy import GwsSecurityPolicy, bayeux_memory_bounds
from smsdesk.realtime.presence import live_bayeux_users
from smsdesk.realtime.shared_clients import SharedBayeuxClients
from smsdesk.storage.handsets import StoredHandsets
from smsdesk.storage.sqlite import SqliteStore, sqlite_path

if TYPE_CHECKING:
    from smsdesk.storage.postgres import PostgresStore

log = logging.getLogger("smsdesk")

AnyStore: TypeAlias = "SqliteStore | PostgresStore"


def operation_settings(settings: Settings) -> OperationSettings:
    return OperationSettings(
        offer_timeout_ms=settings.offer_timeout_ms,
        max_sessions_per_agent=settings.max_sessions_per_agent,
        service_level_threshold_ms=settings.service_level_threshold_ms,
        max_text_length=settings.max_text_length,
        sms_retry_initial_ms=settings.sms_retry_initial_ms,
        sms_retry_max_ms=settings.sms_retry_max_ms,
        sms_max_attempts=settings.sms_max_attempts,
        password_min_length=settings.password_min_length,
        default_region=settings.default_region,
        presence_offer_ms=int(settings.presence_offer_s * 1000),
        presence_away_ms=int(settings.presence_away_s * 1000),
        user_data_limits=UserDataLimits(
            max_keys=settings.user_data_max_keys,
            max_key_length=settings.user_data_max_key_length,
            max_total_bytes=settings.user_data_max_bytes,
        ),
    )


def is_postgres(database_url: str) -> bool:
    return database_url.startswith(("postgresql://", "postgres://"))


def open_store(settings: Settings) -> AnyStore:
    """The store the database URL names: ``sqlite:///path`` (the default) or ``postgresql://...``."""
    url = settings.database_url
    if is_postgres(url):
        try:
            from smsdesk.storage.postgres import PostgresStore
        except ImportError:
            raise SystemExit("PostgreSQL needs the asyncpg driver: pip install 'smsdesk[postgres]'") from None
        return PostgresStore(
            url, pool_size=settings.database_pool_size, in_doubt_wait_s=settings.database_in_doubt_wait_s
        )
    if not url.startswith("sqlite") and "://" in url:
        raise SystemExit(
            f"unsupported database URL {url!r}: use sqlite:///path/to/file.db or "
            "postgresql://user:password@host:port/database"
        )
    return SqliteStore(sqlite_path(url))


def scrub_of(store: AnyStore) -> Scrub | None:
    """How the store makes deleted rows unreadable in its files at once (SQLite's checkpoint)."""
    return store.checkpoint_truncate if isinstance(store, SqliteStore) else None


def with_normalised_numbers(settings: Settings) -> Settings:
    """The settings with ``default_region`` checked and every configured service number in E.164
    (connectors normalise what carriers write the same way, so the two always match)."""
    try:
        region = phone_numbers.check_region(settings.default_region)
    except phone_numbers.InvalidPhoneNumber as error:
        raise SystemExit(f"error: {error}") from None
    numbers = tuple(
        replace(entry, number=phone_numbers.normalise(entry.number, region))
        for entry in settings.service_numbers
    )
    seen: set[str] = set()
    for entry in numbers:
        if entry.number in seen:
            raise SystemExit(
                f"error: invalid service_numbers: {entry.number} is listed twice (once normalised)"
            )
        seen.add(entry.number)
    return replace(settings, default_region=region, service_numbers=numbers)


def _bayeux_settings(settings: Settings) -> BayeuxSettings:
    return BayeuxSettings(
        timeout_ms=settings.bayeux_timeout_ms,
        max_interval_ms=settings.bayeux_max_interval_ms,
        max_queue=settings.bayeux_max_queue,
        max_request_bytes=settings.bayeux_max_request_bytes,
        multiple_clients_interval_ms=settings.bayeux_multiple_clients_interval_ms,
        sweep_interval_ms=settings.bayeux_sweep_interval_ms,
        max_batch=settings.bayeux_max_batch,
        max_json_depth=settings.max_json_depth,
        max_clients_per_principal=settings.bayeux_max_clients_per_user,
        unconnected_expiry_ms=settings.bayeux_unconnected_expiry_ms,
        memory=bayeux_memory_bounds(settings),
    )


@dataclass
class Node:
    """Everything one server process runs; exposed on ``app.state.node`` for tests and tools."""

    settings: Settings
    store: AnyStore
    services: Services
    bayeux: BayeuxServer
    fanout: Fanout
    router: Router
    dispatcher: SmsDispatcher
    intake: SmsIntake
    connectors: dict[str, SmsConnector]
    simulator: SimulatorConnector | None
    authenticator: Authenticator
    http_sessions: HttpSessions
    throttle: SignInThrottle
    presence: PresenceRecorder
    presence_sweep: PresenceSweep
    user_requests: TokenBuckets
    tenant_requests: TokenBuckets
    shared_clients: SharedBayeuxClients | None = None
    """Set on PostgreSQL: Bayeux clients are kept in the database, and any node serves them."""
    background_loops: list[BackgroundLoop] = field(default_factory=list)
    """Housekeeping of the background work besides routing, SMS sending and the outbox prune."""

    @property
    def rate_limits(self) -> list[TokenBuckets]:
        """Shared by the live nodes of a cluster: each enforces its share (``cluster.py``)."""
        return [self.intake.limits, self.user_requests, self.tenant_requests]

    @asynccontextmanager
    async def running(self, cluster: RunsBackgroundWork) -> AsyncIterator[None]:
        """Serve: everything started in order, and stopped in the reverse order on the way out."""
        settings = self.settings
        async with AsyncExitStack() as stack:
            stack.push_async_callback(self.store.aclose)
            if settings.demo:
                seeded = await seed_demo(self.services)
                log.warning(
                    "DEMO contact center: agents agent1, agent2, agent3 and supervisor1, password %r. "
                    "Do not expose this server.%s",
                    DEMO_PASSWORD,
                    f" (created {', '.join(seeded.created_users)})" if seeded.created_users else "",
                )
            await self.http_sessions.start()
            if self.simulator is not None:
                log.warning(
                    "SMS simulator ON (a test tool, never for production): whoever reaches %s can text as "
                    "any customer and read every handset under /simulator/, without signing in",
                    _reachable_by(settings.host, settings.port),
                )
            # After the demo seed, which may create the tenant the numbers belong to.
            await ensure_service_numbers(self.services, settings.service_numbers, apply=True)
            await apply_settings(self.services, settings.queues)  # [queues.<name>]: hours and replies
            for connector in self.connectors.values():
                await connector.start(self.intake)
                stack.push_async_callback(connector.stop)
            await self.bayeux.start()
            stack.push_async_callback(self.bayeux.close)
            await self.fanout.start(self.bayeux)
            stack.push_async_callback(self.fanout.stop)
            if self.shared_clients is not None:
                self.shared_clients.start()
                stack.push_async_callback(self.shared_clients.stop)
            self.presence.start()
            stack.push_async_callback(self.presence.stop)
            await cluster.start()
            stack.push_async_callback(cluster.stop)
            freeze_startup_objects()
            log.info("smsdesk listening; resources are published under %s", settings.base_url)
            yield

    @asynccontextmanager
    async def background_work(self) -> AsyncIterator[None]:
        """What one node of the cluster runs for all: routing, SMS sending, the sweeps and prunes."""
        async with AsyncExitStack() as stack:
            async with self.store.transaction() as tx:
                tenants = sorted({u.tenant_id for u in await tx.users.all()})
            self.router.start(tenants)
            stack.push_async_callback(self.router.stop)
            self.dispatcher.start()
            stack.push_async_callback(self.dispatcher.stop)
            self.fanout.start_pruning()
            stack.push_async_callback(self.fanout.stop_pruning)
            for loop in self.background_loops:
                loop.start()
                stack.push_async_callback(loop.stop)
            self.presence_sweep.start()
            stack.push_async_callback(self.presence_sweep.stop)
            if self.shared_clients is not None:
                self.shared_clients.start_expiry()
                stack.push_async_callback(self.shared_clients.stop_expiry)
            yield


class RunsBackgroundWork(Protocol):
    """Who runs a node's background work (``cluster.py``): started once the node serves."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


def build_node(settings: Settings) -> Node:
    store = open_store(settings)
    store.migrate()
    postgres = is_postgres(settings.database_url)
    services = Services(store, Urls(settings.base_url), operation_settings(settings))
    fanout = Fanout(
        store,
        retention_s=settings.notification_retention_s,
        prune_interval_s=settings.notification_prune_interval_s,
        catch_up_s=settings.cluster_catch_up_ms / 1000 if postgres else None,
        replay_from_handshake=postgres,
    )
    store.commit_listeners.append(fanout)
    bayeux = BayeuxServer(_bayeux_settings(settings), GwsSecurityPolicy(), fanout)
    shared_clients = None
    if postgres:
        from smsdesk.storage.postgres import PostgresStore
        from smsdesk.storage.postgres_clients import PostgresBayeuxClients

        assert isinstance(store, PostgresStore)
        expire_after_s = (settings.bayeux_timeout_ms + settings.bayeux_max_interval_ms) / 1000 + 20
        shared_clients = SharedBayeuxClients(
            PostgresBayeuxClients(store),
            fanout,
            expire_after_s,
            max_clients_per_user=settings.bayeux_max_clients_per_user,
            max_subscriptions_per_user=settings.bayeux_max_subscriptions_per_user,
            availability=store.availability,
            hold_s=settings.bayeux_timeout_ms / 1000,
        )
        fanout.on_positions_reset = shared_clients.forget_all
        bayeux.shared = shared_clients
        shared_clients.server = bayeux
    try:
        connectors = build_connectors(settings.connectors, default_region=settings.default_region)
    except ConnectorConfigError as error:
        # SystemExit with a message: the operator reads what to fix, not a traceback.
        raise SystemExit(f"error: {error}") from None
    if settings.simulator_enabled and "simulator" not in connectors:
        connectors["simulator"] = SimulatorConnector(default_region=settings.default_region)
    built_simulator = connectors.get("simulator")
    if isinstance(built_simulator, SimulatorConnector):
        built_simulator.handsets = StoredHandsets(store)  # the same handsets on every node
    problems = unknown_connectors(settings.service_numbers, connectors)
    if problems:
        raise SystemExit("error: invalid service_numbers:\n  " + "\n  ".join(problems))
    intake = SmsIntake(
        services,
        TokenBuckets(
            Rate(settings.rate_limit_intake_per_s, settings.rate_limit_intake_burst),
            "contact center's incoming SMS",
        ),
    )
    http_sessions = HttpSessions(
        store,
        HttpSessionLimits(
            idle_s=settings.http_session_idle_s,
            lifetime_s=settings.http_session_lifetime_s,
            max_per_user=settings.http_session_max_per_user,
            check_s=settings.http_session_check_s,
        ),
    )
    throttle = SignInThrottle(
        ThrottleSettings(
            max_failures=settings.signin_max_failures,
            window_s=settings.signin_failure_window_s,
            initial_s=settings.signin_throttle_initial_s,
            max_s=settings.signin_throttle_max_s,
        ),
        # Counted in the database, so failures on every node of a cluster add up; on the wall
        # clock, which every node shares.
        store=store,
        clock=time.time,
    )
    # Every node records whom it saw; the leader acts on who is gone (operations/presence.py).
    presence_interval_s = min(10.0, settings.presence_offer_s / 4)
    live_s = (settings.bayeux_timeout_ms + settings.bayeux_max_interval_ms) / 1000
    queue_hours_watch = BackgroundLoop(
        "smsdesk-queue-hours",
        QueueHoursWatch(services, settings.opening_hours_check_ms / 1000).step,
        IDLE_CHECK_S,
        log,
    )
    services.on_queue_hours_changed.append(queue_hours_watch.wake)
    queue_hours_watch.wake()  # its first look as soon as it starts: it learns when it is next due
    return Node(
        settings=settings,
        store=store,
        services=services,
        bayeux=bayeux,
        fanout=fanout,
        router=Router(services, settings.routing_sweep_ms / 1000),
        dispatcher=SmsDispatcher(services, connectors, default_connector="simulator"),
        intake=intake,
        connectors=connectors,
        simulator=built_simulator if isinstance(built_simulator, SimulatorConnector) else None,
        authenticator=Authenticator(store, trust_s=settings.credential_trust_s),
        http_sessions=http_sessions,
        throttle=throttle,
        presence=PresenceRecorder(
            store,
            presence_interval_s,
            live_bayeux_users(bayeux, live_s),
            offer_s=settings.presence_offer_s,
            on_back=services.request_routing,
        ),
        # Offers to absent agents and agents long away are judged every third of the offer window.
        presence_sweep=PresenceSweep(services, max(presence_interval_s, settings.presence_offer_s / 3)),
        user_requests=TokenBuckets(
            Rate(settings.rate_limit_user_per_s, settings.rate_limit_user_burst), "user"
        ),
        tenant_requests=TokenBuckets(
            Rate(settings.rate_limit_tenant_per_s, settings.rate_limit_tenant_burst), "contact center"
        ),
        shared_clients=shared_clients,
        background_loops=[
            BackgroundLoop("smsdesk-http-session-prune", http_sessions.prune, 300.0, log),
            BackgroundLoop("smsdesk-signin-throttle-prune", throttle.prune, 300.0, log),
            BackgroundLoop("smsdesk-idempotency-prune", partial(idempotency.prune, store), 3600.0, log),
            queue_hours_watch,
            RetentionSweep(services, settings.retention_interval_s, scrub_of(store)).loop,
        ],
    )


def _reachable_by(host: str, port: int) -> str:
    """Who can reach a listener bound to ``host``, in words an operator can act on."""
    if host in ("127.0.0.1", "::1", "localhost"):
        return f"{host}:{port} (this machine only)"
    if host in ("0.0.0.0", "::", ""):
        return f"{host or '*'}:{port} (every network this machine is on)"
    return f"{host}:{port} (that interface's network)"


def preflight_service_numbers(settings: Settings) -> None:
    """Check the configured numbers against the database before serving, to fail with a message.

    A failure inside the ASGI lifespan would be printed by uvicorn as a traceback, so the check
    runs here, on its own connection in a worker thread (``create_app`` may be called with an
    event loop already running). The lifespan then applies the numbers for real.
    """
    if not settings.service_numbers:
        return

    async def check() -> None:
        store = open_store(settings)
        try:
            services = Services(store, Urls(settings.base_url), operation_settings(settings))
            await ensure_service_numbers(
                services,
                settings.service_numbers,
                apply=False,
                assume_tenants=(DEFAULT_TENANT,) if settings.demo else (),
            )
        finally:
            store.close()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="smsdesk-preflight") as pool:
        try:
            pool.submit(asyncio.run, check()).result()
        except ServiceNumberConfigError as error:
            raise SystemExit(f"error: {error}") from None


def prepare_shared_database(settings: Settings) -> None:
    """What ``serve --workers N`` does once, before its workers start: migrate, seed the demo and
    apply the configured service numbers, so N workers starting together find them done instead of
    racing to create the same rows."""
    preflight_service_numbers(settings)

    async def prepare() -> None:
        store = open_store(settings)
        try:
            services = Services(store, Urls(settings.base_url), operation_settings(settings))
            if settings.demo:
                await seed_demo(services)
            await ensure_service_numbers(services, settings.service_numbers, apply=True)
        finally:
            await store.aclose()

    store = open_store(settings)
    store.migrate()
    store.close()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="smsdesk-prepare") as pool:
        pool.submit(asyncio.run, prepare()).result()
