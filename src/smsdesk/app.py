"""The ASGI application: the HTTP surface (GWS REST, Bayeux, desktop, webhooks, simulator, health,
metrics) in front of one node (``node.py``), whose lifetime is the ASGI lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Route

from smsdesk.bayeux import BayeuxEndpoint
from smsdesk.cluster import cluster_of
from smsdesk.config import Settings, load_settings
from smsdesk.connectors.twilio_format import TwilioConnector
from smsdesk.gc_tuning import tune_for_serving
from smsdesk.gws.bounds import InputBounds
from smsdesk.http.api import GwsApi
from smsdesk.http.desktop import desktop_routes
from smsdesk.http.fast_lane import FastLane, FastLaneApplication
from smsdesk.http.guard import Guard
from smsdesk.http.health import health_routes
from smsdesk.http.metrics import Metrics, RequestMetrics
from smsdesk.http.oidc import OidcSettings, OidcSignIn, check_issuer
from smsdesk.http.responses import bayeux_refusal, http_exception_handler
from smsdesk.http.security import RequestSecurity
from smsdesk.http.simulator import simulator_routes
from smsdesk.http.webhooks import WebhookConnector, webhook_routes
from smsdesk.node import Node, build_node, preflight_service_numbers, scrub_of, with_normalised_numbers
from smsdesk.operations.administration import Administration
from smsdesk.operations.statistics import all_queue_views
from smsdesk.realtime.auth import bayeux_authenticator
from smsdesk.realtime.sign_out import BayeuxSignOut

BAYEUX_PATH = "/api/v2/notifications"

log = logging.getLogger("smsdesk")


def input_bounds(settings: Settings) -> InputBounds:
    return InputBounds(
        max_json_depth=settings.max_json_depth,
        max_string_length=settings.max_string_length,
        max_list_items=settings.max_list_items,
        max_query_integer=settings.max_query_integer,
    )


def _metrics_of(node: Node) -> Metrics:
    metrics = Metrics()
    # Before the fan-out, which may deliver within its own call: the commit is noted before its delivery.
    node.store.commit_listeners.insert(0, metrics)
    node.services.on_sms_attempt.append(metrics.sms_attempt)
    node.intake.on_unknown_message.append(metrics.sms_unknown_report)
    node.fanout.on_delivered = metrics.delivered_up_to
    metrics.bayeux_clients.set_function(lambda: sum(1 for _ in node.bayeux.sessions()))
    return metrics


def _password_only(basic_auth: bool) -> dict[str, Any]:
    """The sign-in options without an identity provider."""
    return {"passwordSignIn": basic_auth, "provider": None}


def _single_sign_on(settings: Settings, node: Node) -> OidcSignIn | None:
    if not settings.oidc_issuer:
        return None
    problem = check_issuer(settings.oidc_issuer)
    if problem is not None:
        raise SystemExit(f"error: {problem}")
    return OidcSignIn(
        OidcSettings(
            issuer=settings.oidc_issuer,
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            username_claim=settings.oidc_username_claim,
            display_name=settings.oidc_display_name,
            clock_skew_s=settings.oidc_clock_skew_s,
            scopes=settings.oidc_scopes,
        ),
        node.http_sessions,
        node.authenticator,
        settings.base_url,
        password_signin=settings.basic_auth,
    )


def create_app(settings: Settings) -> Starlette:
    settings = with_normalised_numbers(settings)
    node = build_node(settings)
    oidc = _single_sign_on(settings, node)
    preflight_service_numbers(settings)
    security = RequestSecurity(
        node.authenticator,
        node.http_sessions,
        settings.csrf,
        node.throttle,
        node.presence,
        user_requests=node.user_requests,
        tenant_requests=node.tenant_requests,
        basic_auth=settings.basic_auth,
    )
    endpoint = BayeuxEndpoint(
        node.bayeux,
        bayeux_authenticator(
            node.authenticator, node.http_sessions, node.store, node.throttle, basic_auth=settings.basic_auth
        ),
        bayeux_refusal,
    )
    admin = Administration(
        node.services,
        node.http_sessions,
        node.authenticator,
        BayeuxSignOut(
            node.bayeux, node.shared_clients.directory if node.shared_clients is not None else None
        ),
        scrub_of(node.store),
    )
    # Routes are matched in order: the long-poll endpoint is the most requested, so it goes first.
    routes: list[BaseRoute] = endpoint.routes(BAYEUX_PATH)
    metrics = _metrics_of(node)
    api = GwsApi(
        node.services,
        security,
        input_bounds(settings),
        on_operation=metrics.operation,
        admin=admin,
        signin_options=oidc.options if oidc is not None else partial(_password_only, settings.basic_auth),
    )
    routes += api.routes()
    if oidc is not None:
        routes += oidc.routes()
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

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with node.running(cluster_of(node)):
            yield

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
                allow_headers=[
                    "Content-Type",
                    "Authorization",
                    "X-CSRF-TOKEN",
                    "X-Requested-With",
                    "Idempotency-Key",
                ],
                expose_headers=["X-CSRF-HEADER", "X-CSRF-TOKEN", "Retry-After", "X-Smsdesk-Outcome"],
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
