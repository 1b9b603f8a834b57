"""``GET /metrics`` in the Prometheus text format (the ``prometheus-client`` package).

Off unless the ``metrics_token`` setting is set; then a scrape must send
``Authorization: Bearer <token>``. Two kinds of numbers:

- operational ones, counted in this process: HTTP requests, GWS operations and their statusCodes,
  notification latency (commit to hand-over to the Bayeux sessions), Bayeux clients, SMS sent and
  failed per connector;
- the contact-center numbers of every queue (the live statistics), computed at scrape time from the
  stored facts, so they are the same whichever node is scraped.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smsdesk.gws.envelope import GwsError, StatusCode
from smsdesk.http.server_protocol import PROCESS_CONNECTIONS, ConnectionStats, open_descriptors
from smsdesk.operations.ports import StoredNotification
from smsdesk.operations.statistics import QueueView

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Said, not just a bare 404, so that whoever points a scraper at a fresh server knows what to set.
DISABLED = (
    "GET /metrics is disabled until the metrics_token setting is set "
    "(e.g. SMSDESK_METRICS_TOKEN); scrapes then send Authorization: Bearer <token>"
)
WRONG_TOKEN = "GET /metrics needs the header Authorization: Bearer followed by the metrics_token setting"


class Metrics:
    """The process's counters; one per application (its own registry, so tests never collide)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "smsdesk_http_requests",
            "HTTP requests answered, by method, route template and HTTP status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.operations = Counter(
            "smsdesk_operations",
            "GWS operations (POST with an operationName, from a signed-in caller), by name and statusCode.",
            ["operation", "status_code"],
            registry=self.registry,
        )
        self.notification_latency = Histogram(
            "smsdesk_notification_latency_seconds",
            "From the commit of a change to its notifications being handed to the Bayeux sessions.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        self.bayeux_clients = Gauge(
            "smsdesk_bayeux_clients",
            "Bayeux (CometD) clients connected to this node.",
            registry=self.registry,
        )
        self.sms = Counter(
            "smsdesk_sms",
            "Attempts to send an SMS, by connector and outcome (accepted, retry, failed).",
            ["connector", "outcome"],
            registry=self.registry,
        )
        self.sms_unknown_reports = Counter(
            "smsdesk_sms_unknown_reports",
            "Provider reports (delivery receipts, opt-outs drawn from them) about a message smsdesk "
            "never sent: logged and ignored, by connector and report.",
            ["connector", "report"],
            registry=self.registry,
        )
        self.registry.register(_ConnectionCollector(PROCESS_CONNECTIONS))
        self._committed: list[tuple[int, float]] = []  # (outbox position, commit time), ascending
        # Looking a labelled child up costs more than incrementing it: keep the few that exist.
        self._children: dict[tuple[Counter, tuple[str, ...]], Any] = {}

    # ----- hooks the composition root wires -----

    def request(self, method: str, route: str, status: int) -> None:
        """One HTTP request answered, counted under its route template."""
        self._count(self.requests, method, route, str(status))

    def operation(self, name: str, status_code: int) -> None:
        self._count(self.operations, name, str(status_code))

    def _count(self, counter: Counter, *labels: str) -> None:
        key = (counter, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = counter.labels(*labels)
        child.inc()

    def committed(self, position: int | None, rows: Sequence[StoredNotification] | None = None) -> None:
        """A CommitListener: notifications up to ``position`` were committed now (None: positions
        unknown, so the next hand-over counts as theirs)."""
        self._committed.append((position if position is not None else 0, time.monotonic()))
        if len(self._committed) > 10_000:  # nobody is delivering (no fan-out): keep memory bounded
            del self._committed[:5_000]

    def delivered_up_to(self, position: int) -> None:
        """The fan-out has handed every row up to ``position`` to its Bayeux sessions."""
        now = time.monotonic()
        done = 0
        for committed_position, at in self._committed:
            if committed_position > position:
                break
            self.notification_latency.observe(now - at)
            done += 1
        del self._committed[:done]

    def sms_attempt(self, connector: str, outcome: str) -> None:
        self._count(self.sms, connector, outcome)

    def sms_unknown_report(self, connector: str, report: str) -> None:
        self._count(self.sms_unknown_reports, connector, report)

    # ----- the endpoint -----

    def endpoint(
        self, token: str, queue_views: Callable[[], Awaitable[list[tuple[str, QueueView]]]]
    ) -> Callable[[Request], Awaitable[Response]]:
        expected = f"Bearer {token}".encode()

        async def metrics(request: Request) -> Response:
            if not token:
                raise GwsError(StatusCode.NOT_FOUND, DISABLED, http_status=404)
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                raise GwsError(
                    StatusCode.NOT_AUTHENTICATED,
                    WRONG_TOKEN,
                    http_status=401,
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                )
            numbers = CollectorRegistry(auto_describe=False)
            numbers.register(_QueueCollector(await queue_views()))
            return Response(
                generate_latest(self.registry) + generate_latest(numbers), media_type=CONTENT_TYPE
            )

        return metrics


class _ConnectionCollector(Collector):
    """What the connection layer refused (``http/server_protocol.py``), and the process's file
    descriptors against its budget: a graph that climbs towards the budget is the warning before
    the 503s."""

    def __init__(self, stats: ConnectionStats) -> None:
        self.stats = stats

    def collect(self) -> Iterable[Metric]:
        stats = self.stats
        refused = CounterMetricFamily(
            "smsdesk_connections_refused",
            "Connections answered at once and closed: over max_connections_per_address (429), or "
            "with the process short of file descriptors (503).",
            labels=["reason"],
        )
        refused.add_metric(["per_address"], stats.refused_per_address)
        refused.add_metric(["file_descriptors"], stats.refused_short_of_descriptors)
        yield refused
        yield CounterMetricFamily(
            "smsdesk_connections_cut_off",
            "Connections closed because their client read nothing for send_timeout_s.",
            value=stats.cut_off_not_reading,
        )
        open_now = open_descriptors()
        if open_now is not None:
            yield GaugeMetricFamily(
                "smsdesk_open_files", "File descriptors this process holds.", value=open_now
            )
        if stats.descriptor_budget:
            yield GaugeMetricFamily(
                "smsdesk_connection_budget",
                "Connections this process serves at most (its open-file limit less a reserve).",
                value=stats.descriptor_budget,
            )


class _QueueCollector(Collector):
    """The live statistics of every queue, as gauges labelled by contact center and queue."""

    FIELDS = (
        ("waiting", "Sessions waiting in the queue now."),
        ("longest_wait_ms", "How long the oldest waiting session has waited, in milliseconds."),
        ("entered", "Sessions that started waiting in the queue today."),
        ("offered", "Offers routing made to agents today."),
        ("accepted", "Offers accepted today."),
        ("rejected", "Offers rejected today."),
        ("revoked", "Offers withdrawn unanswered today."),
        ("abandoned", "Sessions that ended while waiting today."),
        ("completed", "Sessions completed today."),
        ("average_time_to_accept_ms", "Average time in the queue until accepted today, in milliseconds."),
        ("average_handle_time_ms", "Average handle time of the sessions completed today, in milliseconds."),
        ("service_level", "Share accepted within the service-level threshold today."),
        (
            "closed_replies",
            "Automatic replies sent today to customers who texted while the queue was closed.",
        ),
        ("waiting_replies", "Automatic replies sent today to customers who waited long for an agent."),
    )

    def __init__(self, views: list[tuple[str, QueueView]]) -> None:
        self.views = views

    def collect(self) -> Iterable[Metric]:
        for field, documentation in self.FIELDS:
            family = GaugeMetricFamily(f"smsdesk_queue_{field}", documentation, labels=["tenant", "queue"])
            for tenant, (stats, _) in self.views:
                value: Any = getattr(stats, field)
                if value is not None:
                    family.add_metric([tenant, stats.queue], float(value))
            yield family
        agents = GaugeMetricFamily(
            "smsdesk_agent_live_sessions", "Live sessions of each agent.", labels=["tenant", "queue", "agent"]
        )
        handled = GaugeMetricFamily(
            "smsdesk_agent_handled_today",
            "Sessions each agent completed today.",
            labels=["tenant", "queue", "agent"],
        )
        ready = GaugeMetricFamily(
            "smsdesk_agent_ready",
            "1 when the agent is Ready on the SMS channel.",
            labels=["tenant", "queue", "agent"],
        )
        for tenant, (stats, members) in self.views:
            for agent in members:
                labels = [tenant, stats.queue, agent.user_name]
                agents.add_metric(labels, agent.live_sessions)
                handled.add_metric(labels, agent.handled_today)
                ready.add_metric(labels, 1.0 if agent.state == "Ready" else 0.0)
        yield agents
        yield handled
        yield ready


class RequestMetrics:
    """ASGI middleware counting every HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.request(scope["method"], template, status)
