"""The composition root: builds every adapter, wires them through the operations' ports, and
owns their lifetime (the ASGI lifespan)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TypeAlias

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Route

from smsdesk.bayeux import BayeuxEndpoint, BayeuxServer, BayeuxSettings
from smsdesk.bus.inprocess import InProcessBus
from smsdesk.config import ServiceNumberSetting, Settings, load_settings
from smsdesk.connectors.factory import ConnectorConfigError, build_connectors
from smsdesk.connectors.simulator import SimulatorConnector
from smsdesk.connectors.twilio_format import TwilioConnector
from smsdesk.domain.userdata import UserDataLimits
from smsdesk.gc_tuning import freeze_startup_objects, tune_for_serving
from smsdesk.gws.bounds import InputBounds
from smsdesk.gws.representation import Urls
from smsdesk.http.api import GwsApi
from smsdesk.http.desktop import desktop_routes
from smsdesk.http.fast_lane import FastLane, FastLaneApplication
from smsdesk.http.guard import Guard
from smsdesk.http.health import health_routes
from smsdesk.http.metrics import Metrics, RequestMetrics
from smsdesk.http.responses import bayeux_refusal, http_exception_handler
from smsdesk.http.security import RequestSecurity
from smsdesk.http.simulator import simulator_routes
from smsdesk.http.webhooks import WebhookConnector, webhook_routes
from smsdesk.operations import phone_numbers
from smsdesk.operations.admin import DEFAULT_TENANT, DEMO_PASSWORD, seed_demo
from smsdesk.operations.background import BackgroundLoop
from smsdesk.operations.identity import Authenticator, HttpSessionLimits, HttpSessions
from smsdesk.operations.intake import SmsIntake
from smsdesk.operations.outbound import SmsDispatcher
from smsdesk.operations.ports import ServiceNumber
from smsdesk.operations.presence import PresenceRecorder, PresenceSweep
from smsdesk.operations.ratelimit import Rate, TokenBuckets
from smsdesk.operations.routing import Router
from smsdesk.operations.services import OperationSettings, Services
from smsdesk.operations.signin_throttle import SignInThrottle, ThrottleSettings
from smsdesk.operations.sms_ports import SmsConnector
from smsdesk.operations.statistics import all_queue_views
from smsdesk.realtime.auth import bayeux_authenticator
from smsdesk.realtime.fanout import Fanout
from smsdesk.realtime.policy import GwsSecurityPolicy, bayeux_memory_bounds
from smsdesk.realtime.presence import live_bayeux_users
from smsdesk.realtime.shared_clients import SharedBayeuxClients
from smsdesk.storage.sqlite import SqliteStore, sqlite_path

if TYPE_CHECKING:
    from smsdesk.storage.postgres import PostgresStore
    from smsdesk.storage.postgres_cluster import PostgresLeadership, PostgresListener

BAYEUX_PATH = "/api/v2/notifications"

log = logging.getLogger("smsdesk")


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


def input_bounds(settings: Settings) -> InputBounds:
    return InputBounds(
        max_json_depth=settings.max_json_depth,
        max_string_length=settings.max_string_length,
        max_list_items=settings.max_list_items,
        max_query_integer=settings.max_query_integer,
    )


AnyStore: TypeAlias = "SqliteStore | PostgresStore"


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
        return PostgresStore(url, pool_size=settings.database_pool_size)
    if not url.startswith("sqlite") and "://" in url:
        raise SystemExit(
            f"unsupported database URL {url!r}: use sqlite:///path/to/file.db or "
            "postgresql://user:password@host:port/database"
        )
    return SqliteStore(sqlite_path(url))


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
    shared_clients: SharedBayeuxClients | None = None
    """Set on PostgreSQL: Bayeux clients are kept in the database, and any node serves them."""
    rate_limits: list[TokenBuckets] = field(default_factory=list)
    """Shared by the live nodes of a cluster: each enforces its share (``Cluster``)."""


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


def build_node(settings: Settings) -> Node:
    store = open_store(settings)
    store.migrate()
    services = Services(store, Urls(settings.base_url), operation_settings(settings))
    bus = InProcessBus()
    store.commit_listeners.append(bus)
    fanout = Fanout(
        store,
        retention_s=settings.notification_retention_s,
        prune_interval_s=settings.notification_prune_interval_s,
        catch_up_s=settings.cluster_catch_up_ms / 1000 if is_postgres(settings.database_url) else None,
        replay_from_handshake=is_postgres(settings.database_url),
    )
    bus.subscribe(fanout.poke)
    bayeux = BayeuxServer(
        BayeuxSettings(
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
        ),
        GwsSecurityPolicy(),
        fanout,
    )
    shared_clients = None
    if not isinstance(store, SqliteStore):
        expire_after_s = (settings.bayeux_timeout_ms + settings.bayeux_max_interval_ms) / 1000 + 20
        shared_clients = SharedBayeuxClients(
            store, fanout, expire_after_s, max_clients_per_user=settings.bayeux_max_clients_per_user
        )
        bayeux.shared = shared_clients
    try:
        connectors = build_connectors(settings.connectors, default_region=settings.default_region)
    except ConnectorConfigError as error:
        # SystemExit with a message: the operator reads what to fix, not a traceback.
        raise SystemExit(f"error: {error}") from None
    if settings.simulator_enabled and "simulator" not in connectors:
        connectors["simulator"] = SimulatorConnector(default_region=settings.default_region)
    built_simulator = connectors.get("simulator")
    simulator = built_simulator if isinstance(built_simulator, SimulatorConnector) else None
    check_service_numbers(settings, connectors)
    intake = SmsIntake(
        services,
        TokenBuckets(
            Rate(settings.rate_limit_intake_per_s, settings.rate_limit_intake_burst),
            "contact center's incoming SMS",
        ),
    )
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
        simulator=simulator,
        shared_clients=shared_clients,
        rate_limits=[intake.limits],
    )


class ServiceNumberConfigError(Exception):
    """The ``[[service_numbers]]`` cannot be applied to this database; the message says why."""


def check_service_numbers(settings: Settings, connectors: Collection[str]) -> None:
    """What can be checked without the database: every number names a configured connector."""
    problems = [
        f"service number {entry.number}: no connector named {entry.connector!r} "
        f"(configured: {', '.join(sorted(connectors)) or 'none'})"
        for entry in settings.service_numbers
        if entry.connector not in connectors
    ]
    if problems:
        raise SystemExit("error: invalid service_numbers:\n  " + "\n  ".join(problems))


async def ensure_service_numbers(
    services: Services,
    entries: Collection[ServiceNumberSetting],
    *,
    apply: bool,
    assume_tenants: Collection[str] = (),
) -> None:
    """Create the configured service numbers (and their queues) that are missing; all or none.

    The contact center (tenant) must exist already: creating it here would turn a typo into an
    empty contact center that silently swallows customers' SMS. A number the database already
    routes differently is refused too, since there is no update path yet and the database would
    otherwise win unseen. ``apply=False`` only checks (``assume_tenants`` are about to be created).
    """
    problems: list[str] = []
    missing: list[ServiceNumber] = []
    async with services.work() as work:
        tx = work.tx
        for entry in entries:
            tenant_id = await tx.tenant_by_name(entry.tenant)
            if tenant_id is None and entry.tenant in assume_tenants:
                tenant_id = entry.tenant
            if tenant_id is None:
                problems.append(
                    f"service number {entry.number}: contact center (tenant) {entry.tenant!r} does not "
                    "exist; create it with `smsdesk users add NAME --tenant "
                    f"{entry.tenant} --queue {entry.queue}`"
                )
                continue
            wanted = ServiceNumber(tenant_id, entry.number, entry.queue, entry.connector)
            existing = await tx.service_number(entry.number)
            if existing is not None and existing != wanted:
                problems.append(
                    f"service number {entry.number}: the database already routes it to queue "
                    f"{existing.queue!r} of {existing.tenant_id!r} through connector {existing.connector!r}; "
                    f"the settings say queue {entry.queue!r} of {tenant_id!r} through {entry.connector!r}"
                )
                continue
            if existing is None:
                missing.append(wanted)
        # Write only when every entry is fine, so a refused start leaves the database as it was.
        if apply and not problems:
            for number in missing:
                await tx.ensure_queue(number.tenant_id, number.queue, [])
                await tx.ensure_service_number(number)
    if problems:
        raise ServiceNumberConfigError("invalid service_numbers:\n  " + "\n  ".join(problems))


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


class Cluster:
    """Who runs the background work, and how this node hears of other nodes' commits.

    On SQLite there is one node: it runs everything. On PostgreSQL every node listens for the
    others' commits and routing/SMS requests (LISTEN/NOTIFY), and the one holding the leadership
    lock runs routing, offer expiry, SMS sending and pruning (``storage/postgres_cluster.py``).
    """

    def __init__(
        self,
        node: Node,
        start_work: Callable[[], Awaitable[None]],
        stop_work: Callable[[], Awaitable[None]],
    ) -> None:
        self.node = node
        self.start_work = start_work
        self.stop_work = stop_work
        self.listener: PostgresListener | None = None
        self.leadership: PostgresLeadership | None = None
        self._size = BackgroundLoop("smsdesk-cluster-size", self._count_nodes, CLUSTER_SIZE_S, log)

    async def start(self) -> None:
        store = self.node.store
        if not isinstance(store, SqliteStore):
            from smsdesk.storage.postgres_cluster import PostgresLeadership, PostgresListener

            listener = PostgresListener(
                store, self.node.fanout.poke, self._work_requested, self.node.fanout.catch_up
            )
            self.listener = listener
            # Work asked for on this node must reach whichever node leads.
            self.node.services.on_routing_needed.append(lambda tenant: self._signal(f"route:{tenant}"))
            self.node.services.on_sms_enqueued.append(lambda: self._signal("sms"))
            await listener.start()
            self._size.start()
            self._size.wake()  # count now: the first requests already get this node's share
            self.leadership = PostgresLeadership(store, self.start_work, self.stop_work)
            await self.leadership.start()
        else:
            await self.start_work()

    async def _count_nodes(self) -> None:
        store = self.node.store
        if isinstance(store, SqliteStore):
            return
        nodes = await store.live_nodes()
        for buckets in self.node.rate_limits:
            buckets.share(nodes)

    def _work_requested(self, kind: str) -> None:
        if self.leadership is None or not self.leadership.leader:
            return
        if kind == "sms":
            self.node.dispatcher.wake()
        elif kind.startswith("route:"):
            self.node.router.wake(kind.removeprefix("route:"))

    def _signal(self, kind: str) -> None:
        listener = self.listener
        if listener is None or (self.leadership is not None and self.leadership.leader):
            return  # the leader's own hooks already woke its loops
        task = asyncio.get_running_loop().create_task(listener.notify_work(kind))
        task.add_done_callback(_log_failure)

    async def stop(self) -> None:
        if self.leadership is not None:
            await self.leadership.stop()
        else:
            await self.stop_work()
        await self._size.stop()
        if self.listener is not None:
            await self.listener.stop()


CLUSTER_SIZE_S = 5.0
"""How often each node counts the live nodes, whose number divides the rate limits."""


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("could not signal the cluster: %s", task.exception())


def _reachable_by(host: str, port: int) -> str:
    """Who can reach a listener bound to ``host``, in words an operator can act on."""
    if host in ("127.0.0.1", "::1", "localhost"):
        return f"{host}:{port} (this machine only)"
    if host in ("0.0.0.0", "::", ""):
        return f"{host or '*'}:{port} (every network this machine is on)"
    return f"{host}:{port} (that interface's network)"


def create_app(settings: Settings) -> Starlette:
    settings = with_normalised_numbers(settings)
    node = build_node(settings)
    preflight_service_numbers(settings)
    authenticator = Authenticator(node.store, trust_s=settings.credential_trust_s)
    http_sessions = HttpSessions(
        node.store,
        HttpSessionLimits(
            idle_s=settings.http_session_idle_s,
            lifetime_s=settings.http_session_lifetime_s,
            max_per_user=settings.http_session_max_per_user,
            check_s=settings.http_session_check_s,
        ),
    )
    session_pruner = BackgroundLoop("smsdesk-http-session-prune", http_sessions.prune, 300.0, log)
    # Every node records whom it saw; the leader acts on who is gone (operations/presence.py).
    presence_interval_s = min(10.0, settings.presence_offer_s / 4)
    presence = PresenceRecorder(
        node.store,
        presence_interval_s,
        live_bayeux_users(node.bayeux, (settings.bayeux_timeout_ms + settings.bayeux_max_interval_ms) / 1000),
    )
    presence_sweep = PresenceSweep(node.services, presence_interval_s)
    throttle = SignInThrottle(
        ThrottleSettings(
            max_failures=settings.signin_max_failures,
            window_s=settings.signin_failure_window_s,
            initial_s=settings.signin_throttle_initial_s,
            max_s=settings.signin_throttle_max_s,
        ),
        # Counted in the database, so failures on every node of a cluster add up; on the wall
        # clock, which every node shares.
        store=node.store,
        clock=time.time,
    )
    throttle_pruner = BackgroundLoop("smsdesk-signin-throttle-prune", throttle.prune, 300.0, log)
    user_requests = TokenBuckets(Rate(settings.rate_limit_user_per_s, settings.rate_limit_user_burst), "user")
    tenant_requests = TokenBuckets(
        Rate(settings.rate_limit_tenant_per_s, settings.rate_limit_tenant_burst), "contact center"
    )
    node.rate_limits += [user_requests, tenant_requests]
    security = RequestSecurity(
        authenticator,
        http_sessions,
        settings.csrf,
        throttle,
        presence,
        user_requests=user_requests,
        tenant_requests=tenant_requests,
    )
    endpoint = BayeuxEndpoint(
        node.bayeux, bayeux_authenticator(authenticator, http_sessions, node.store, throttle), bayeux_refusal
    )
    # Routes are matched in order: the long-poll endpoint is the most requested, so it goes first.
    routes: list[BaseRoute] = endpoint.routes(BAYEUX_PATH)
    metrics = Metrics()
    node.store.commit_listeners.append(metrics)
    node.services.on_sms_attempt.append(metrics.sms_attempt)
    node.intake.on_unknown_message.append(metrics.sms_unknown_report)
    node.fanout.on_delivered = metrics.delivered_up_to
    metrics.bayeux_clients.set_function(lambda: sum(1 for _ in node.bayeux.sessions()))
    api = GwsApi(node.services, security, input_bounds(settings), on_operation=metrics.operation)
    routes += api.routes()
    routes.append(
        Route("/metrics", metrics.endpoint(settings.metrics_token, lambda: all_queue_views(node.services)))
    )
    routes += health_routes(node.store.pending_migrations)
    if node.simulator is not None:
        routes += simulator_routes(node.simulator)
    # Only connectors that receive HTTP webhooks; any other name answers 404.
    webhook_connectors: dict[str, WebhookConnector] = {
        name: connector
        for name, connector in node.connectors.items()
        if isinstance(connector, TwilioConnector)
    }
    routes += webhook_routes(webhook_connectors)
    routes += desktop_routes(handset_page=node.simulator is not None)

    async def start_background_work() -> None:
        async with node.store.transaction() as tx:
            tenants = sorted({u.tenant_id for u in await tx.users()})
        node.router.start(tenants)
        node.dispatcher.start()
        node.fanout.start_pruning()
        session_pruner.start()
        throttle_pruner.start()
        presence_sweep.start()
        if node.shared_clients is not None:
            node.shared_clients.start_expiry()

    async def stop_background_work() -> None:
        if node.shared_clients is not None:
            await node.shared_clients.stop_expiry()
        await presence_sweep.stop()
        await throttle_pruner.stop()
        await session_pruner.stop()
        await node.fanout.stop_pruning()
        await node.dispatcher.stop()
        await node.router.stop()

    cluster = Cluster(node, start_background_work, stop_background_work)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.demo:
            seeded = await seed_demo(node.services)
            log.warning(
                "DEMO contact center: agents agent1, agent2, agent3 and supervisor1, password %r. "
                "Do not expose this server.%s",
                DEMO_PASSWORD,
                f" (created {', '.join(seeded.created_users)})" if seeded.created_users else "",
            )
        await http_sessions.start()
        if node.simulator is not None:
            log.warning(
                "SMS simulator ON (a test tool, never for production): whoever reaches %s can text as "
                "any customer and read every handset under /simulator/, without signing in",
                _reachable_by(settings.host, settings.port),
            )
        # After the demo seed, which may create the tenant the numbers belong to.
        await ensure_service_numbers(node.services, settings.service_numbers, apply=True)
        for connector in node.connectors.values():
            await connector.start(node.intake)
        await node.bayeux.start()
        await node.fanout.start(node.bayeux)
        if node.shared_clients is not None:
            node.shared_clients.start()
        presence.start()
        await cluster.start()
        freeze_startup_objects()
        log.info("smsdesk listening; resources are published under %s", settings.base_url)
        try:
            yield
        finally:
            await cluster.stop()
            await presence.stop()
            if node.shared_clients is not None:
                await node.shared_clients.stop()
            await node.fanout.stop()
            await node.bayeux.close()
            for connector in node.connectors.values():
                await connector.stop()
            await node.store.aclose()

    middleware = [
        Middleware(RequestMetrics, metrics=metrics),
        Middleware(Guard, max_body_bytes=settings.max_body_bytes),
    ]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
                allow_headers=["Content-Type", "Authorization", "X-CSRF-TOKEN", "X-Requested-With"],
                expose_headers=["X-CSRF-HEADER", "X-CSRF-TOKEN"],
                allow_credentials=True,
            )
        )
    app = FastLaneApplication(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_exception_handler},
    )
    if not settings.cors_origins:  # CORS headers come from its middleware, on every response
        app.fast_lane = FastLane(
            bayeux=endpoint,
            bayeux_path=BAYEUX_PATH,
            session_operation=api.session_operation(),
            count=metrics.request,
            max_body_bytes=settings.max_body_bytes,
        )
    app.router.redirect_slashes = False  # the Guard strips trailing slashes: one resource, one answer
    app.state.node = node
    return app


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


def app_from_environment() -> Starlette:
    """The app of one ``serve --workers N`` worker. uvicorn imports this factory in every worker
    process it spawns; the parent exported its command-line settings as ``SMSDESK_*`` variables, so
    every worker reads the same settings (file, then environment)."""
    settings = load_settings()
    tune_for_serving()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    )
    return create_app(settings)
