"""``GET /metrics`` in the Prometheus text format, and the small hooks the service calls.

Each app has its own :class:`Metrics` (its own ``CollectorRegistry``, so tests may build many
apps in one process). The writer calls :meth:`Metrics.command`, :meth:`~Metrics.storage_error`,
:meth:`~Metrics.set_write_queue_depth` and :meth:`~Metrics.write_rejected`; the app counts the
WebSocket messages it sends at the ASGI level (:class:`CountSocketSends`); the subscribers (by
role) and the position reports (kept, dropped, pending) are read when scraped. Labels are
kinds and roles, never ids or patient data. ``/metrics`` needs the admin role or the
``MAE_METRICS_TOKEN`` bearer.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector
from starlette.responses import Response

from web.auth import Role
from web.errors import Forbidden, Unauthorized

__all__ = ["CountSocketSends", "Metrics", "router"]

#: Command latency buckets (seconds): a durable commit is milliseconds, a full queue seconds.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _Subscribers(Collector):
    """``mae_subscribers{role}``, read from the service when scraped."""

    def __init__(self) -> None:
        self.count: Callable[[], Mapping[str, int]] = dict

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("mae_subscribers", "connected live subscribers by role",
                                   labels=["role"])
        counts = self.count()
        for role in Role:
            family.add_metric([role.value], counts.get(role.value, 0))
        yield family


class _Positions(Collector):
    """``mae_positions_kept`` / ``mae_positions_dropped`` (counters) and
    ``mae_positions_pending`` (kept reports waiting to be stored), read from the service's
    position tracker when scraped; nothing while positions are logged as events."""

    def __init__(self) -> None:
        self.read: Callable[[], tuple[int, int, int] | None] = lambda: None

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        counts = self.read()
        if counts is None:
            return
        kept, dropped, pending = counts
        yield CounterMetricFamily("mae_positions_kept", "position reports kept (stored and "
                                  "shown to dispatchers)", value=kept)
        yield CounterMetricFamily("mae_positions_dropped", "position reports dropped by the "
                                  "per-unit rate limit", value=dropped)
        yield GaugeMetricFamily("mae_positions_pending", "kept position reports not yet "
                                "stored (the position write queue)", value=pending)


class _Sent(Collector):
    """``mae_ws_messages_sent``: a plain count the ASGI layer bumps on every WebSocket message
    (one addition, no lock: it runs on the event loop for every frame), read when scraped."""

    def __init__(self) -> None:
        self.n = 0

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily("mae_ws_messages_sent", "WebSocket messages handed to the "
                                  "server to send to clients", value=self.n)


class Metrics:
    """The service's counters, gauges and histograms in one registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._commands = Counter("mae_commands", "commands by type and result",
                                 ["type", "result"], registry=r)
        self._latency = Histogram("mae_command_seconds", "time from a command's arrival at "
                                  "the writer to its answer (queue, decide, commit, apply)",
                                  ["type"], buckets=_BUCKETS, registry=r)
        self._storage_errors = Counter("mae_storage_errors", "failed writes or reads of the "
                                       "event store by kind (errno name or exception)",
                                       ["kind"], registry=r)
        self._queue = Gauge("mae_write_queue_depth", "commands waiting for or in the writer",
                            registry=r)
        self._rejected = Counter("mae_write_rejected", "commands refused because the write "
                                 "queue was full", registry=r)
        self.ws_sent = _Sent()
        r.register(self.ws_sent)
        self._subscribers = _Subscribers()
        r.register(self._subscribers)
        self._positions = _Positions()
        r.register(self._positions)

    # -- hooks (cheap; called on the event loop or from the writer's thread) --------------------

    def command(self, kind: str, result: str, seconds: float) -> None:
        """One command finished: its type (class name), result (ok, duplicate, noop or the
        error code) and how long it took."""
        self._commands.labels(kind, result).inc()
        self._latency.labels(kind).observe(seconds)

    def storage_error(self, kind: str) -> None:
        """The event store failed (``kind``: ENOSPC, EFBIG, OperationalError...)."""
        self._storage_errors.labels(kind).inc()

    def set_write_queue_depth(self, n: int) -> None:
        self._queue.set(n)

    def write_rejected(self) -> None:
        """A command was turned away (503) because the write queue was full."""
        self._rejected.inc()

    def watch_subscribers(self, count: Callable[[], Mapping[str, int]]) -> None:
        """Where scrapes read the subscribers by role (the service, once it is started)."""
        self._subscribers.count = count

    def watch_positions(self, read: Callable[[], tuple[int, int, int]]) -> None:
        """Where scrapes read the position reports kept, dropped and waiting to be stored."""
        self._positions.read = read

    def render(self) -> bytes:
        return generate_latest(self.registry)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


class CountSocketSends:
    """ASGI middleware counting every WebSocket message the app sends (``mae_ws_messages_
    sent``), whichever socket or page sends it."""

    def __init__(self, app: Callable[..., Any], *, metrics: Metrics) -> None:
        self.app = app
        self.sent = metrics.ws_sent

    async def __call__(self, scope: Scope, receive: Callable[..., Any],
                       send: Callable[..., Awaitable[None]]) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        sent = self.sent

        def counted(message: Message) -> Awaitable[None]:
            # A plain function handing back the server's own awaitable: no coroutine of its
            # own per frame (this runs for every frame of every subscriber; issue 12)
            if message["type"] == "websocket.send":
                sent.n += 1
            return send(message)

        await self.app(scope, receive, counted)


_bearer = HTTPBearer(auto_error=False, description="an admin token or MAE_METRICS_TOKEN")
router = APIRouter(include_in_schema=False)


def _scraper(request: Request, credentials: Annotated[
        HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
    """The admin role, or the metrics token from the settings (for a Prometheus server)."""
    token = credentials.credentials if credentials else None
    expected = request.app.state.settings.metrics_token
    if token and expected is not None and hmac.compare_digest(
            token.encode(), expected.get_secret_value().encode()):
        return
    if not token:
        raise Unauthorized("/metrics needs an admin token or the MAE_METRICS_TOKEN bearer")
    client = f"{request.client.host}:{request.client.port}" if request.client else "unknown"
    principal = request.app.state.gate.login(token, client=client, action="login /metrics")
    if principal.role is not Role.ADMIN:
        raise Forbidden("/metrics needs an admin token or the MAE_METRICS_TOKEN bearer")


@router.get("/metrics", dependencies=[Depends(_scraper)])
def metrics(request: Request) -> Response:
    """The service's metrics in the Prometheus text format."""
    collected: Metrics = request.app.state.metrics
    return Response(collected.render(), media_type=CONTENT_TYPE_LATEST)
