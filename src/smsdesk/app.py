"""The composition root: builds every adapter, wires them through the operations' ports, and
owns their lifetime (the ASGI lifespan)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute

from smsdesk.bayeux import BayeuxEndpoint, BayeuxServer, BayeuxSettings
from smsdesk.bus.inprocess import InProcessBus
from smsdesk.config import Settings
from smsdesk.connectors.simulator import SimulatorConnector
from smsdesk.domain.userdata import UserDataLimits
from smsdesk.gws.representation import Urls
from smsdesk.http.api import GwsApi
from smsdesk.http.guard import Guard
from smsdesk.http.security import RequestSecurity
from smsdesk.http.simulator import simulator_routes
from smsdesk.operations.admin import DEMO_PASSWORD, seed_demo
from smsdesk.operations.identity import Authenticator, HttpSessions
from smsdesk.operations.intake import SmsIntake
from smsdesk.operations.outbound import SmsDispatcher
from smsdesk.operations.routing import Router
from smsdesk.operations.services import OperationSettings, Services
from smsdesk.operations.sms_ports import SmsConnector
from smsdesk.realtime.auth import bayeux_authenticator
from smsdesk.realtime.fanout import Fanout
from smsdesk.realtime.policy import GwsSecurityPolicy
from smsdesk.storage.sqlite import SqliteStore, sqlite_path

log = logging.getLogger("smsdesk")


def operation_settings(settings: Settings) -> OperationSettings:
    return OperationSettings(
        offer_timeout_ms=settings.offer_timeout_ms,
        max_sessions_per_agent=settings.max_sessions_per_agent,
        max_text_length=settings.max_text_length,
        user_data_limits=UserDataLimits(
            max_keys=settings.user_data_max_keys,
            max_key_length=settings.user_data_max_key_length,
            max_total_bytes=settings.user_data_max_bytes,
        ),
    )


def open_store(settings: Settings) -> SqliteStore:
    if not settings.database_url.startswith("sqlite") and "://" in settings.database_url:
        raise SystemExit(f"unsupported database URL {settings.database_url!r}: use sqlite:///path/to/file.db")
    return SqliteStore(sqlite_path(settings.database_url))


@dataclass
class Node:
    """Everything one server process runs; exposed on ``app.state.node`` for tests and tools."""

    settings: Settings
    store: SqliteStore
    services: Services
    bayeux: BayeuxServer
    fanout: Fanout
    router: Router
    dispatcher: SmsDispatcher
    intake: SmsIntake
    connectors: dict[str, SmsConnector]
    simulator: SimulatorConnector | None


def build_node(settings: Settings) -> Node:
    store = open_store(settings)
    store.migrate()
    services = Services(store, Urls(settings.base_url), operation_settings(settings))
    bus = InProcessBus()
    services.commit_listeners.append(bus)
    fanout = Fanout(
        store,
        retention_s=settings.notification_retention_s,
        prune_interval_s=settings.notification_prune_interval_s,
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
        ),
        GwsSecurityPolicy(),
        fanout,
    )
    simulator = SimulatorConnector() if settings.simulator_enabled else None
    connectors: dict[str, SmsConnector] = {}
    if simulator is not None:
        connectors[simulator.name] = simulator
    intake = SmsIntake(services)
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
    )


def create_app(settings: Settings) -> Starlette:
    node = build_node(settings)
    authenticator = Authenticator(node.store, trust_s=settings.credential_trust_s)
    http_sessions = HttpSessions()
    security = RequestSecurity(authenticator, http_sessions, settings.csrf)
    endpoint = BayeuxEndpoint(node.bayeux, bayeux_authenticator(authenticator, http_sessions, node.store))
    # Routes are matched in order: the long-poll endpoint is the most requested, so it goes first.
    routes: list[BaseRoute] = endpoint.routes("/api/v2/notifications")
    routes += GwsApi(node.services, security).routes()
    if node.simulator is not None:
        routes += simulator_routes(node.simulator)

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
        for connector in node.connectors.values():
            await connector.start(node.intake)
        await node.bayeux.start()
        await node.fanout.start(node.bayeux)
        async with node.store.transaction() as tx:
            tenants = sorted({u.tenant_id for u in await tx.users()})
        node.router.start(tenants)
        node.dispatcher.start()
        log.info("smsdesk listening; resources are published under %s", settings.base_url)
        try:
            yield
        finally:
            await node.dispatcher.stop()
            await node.router.stop()
            await node.fanout.stop()
            await node.bayeux.close()
            for connector in node.connectors.values():
                await connector.stop()
            node.store.close()

    middleware = [Middleware(Guard, max_body_bytes=settings.max_body_bytes)]
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
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.node = node
    return app
