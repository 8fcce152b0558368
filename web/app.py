"""The application factory: ``create_app(settings)`` wires the service, stores and routers.

Nothing is built at import time, so each test or command gets its own app from its own
settings. The lifespan opens the SQLite stores, loads the map, restores the newest snapshot and
replays the event log after it (writing a last snapshot at shutdown), optionally
registers demo units and starts the tick; the REST routes, sockets, pages and replay are
included as routers, one per resource, so a new surface is one more ``include_router``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from dispatch.clock import Clock
from dispatch.commands import DispatchConfig
from mae.errors import MaeError
from maps.graph import RoadGraph
from web import docs, metrics, pages, routes, sockets
from web.audit import AuditLog
from web.auth import PrincipalStore
from web.crewpage import router as crew_router
from web.demo_units import register_demo_units
from web.errors import describe
from web.eventstore import SqliteEventStore, lock_database
from web.limits import BodyLimits
from web.positions import PositionStore
from web.replay import Pace, WallPace
from web.replay import router as replay_router
from web.routes import mapdata
from web.service import DispatchService
from web.settings import Settings
from web.snapshots import Snapshotter

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

DESCRIPTION = """Real-time dispatch of mobile acute psychiatry units (MAE).

REST mirrors of the live WebSockets for integrations. Authenticate with
`Authorization: Bearer <token>` (tokens from `mae tokens create`). WebSockets: `/ws/agency`,
`/ws/dispatch`, `/ws/crew` (token as `?token=` or header, resume with `?since=<seq>`).
"""


def _load_graph(settings: Settings) -> RoadGraph:
    if settings.map_path is None:
        from maps.bundled import load_bundled

        return load_bundled()
    from maps.graph import load_graph

    return load_graph(settings.map_path)


_PARTS = ("body", "query", "path", "header", "cookie")


def _field(loc: tuple[object, ...] | list[object]) -> str:
    """``("body", "location", "lat")`` → ``"location.lat"``: the field as the client names it."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in _PARTS:
        parts = parts[1:]
    return ".".join(parts) or "body"


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None,
    graph: RoadGraph | None = None, tick: bool = True,
    replay_pace: Callable[[], Pace] = WallPace,
) -> FastAPI:
    """The dispatch service as an ASGI app. ``clock`` replaces the wall clock (simulation,
    tests); ``tick=False`` leaves ticking to the caller; ``replay_pace`` makes the pace of
    each replay socket's playback (tests step it by hand)."""
    settings = settings if settings is not None else Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        lock = lock_database(settings.database)  # a second service on this file stops here
        try:
            async with _serving(app) as service:
                ticker = asyncio.create_task(service.run_ticks(settings.tick_interval_s)) \
                    if tick else None
                probe = asyncio.create_task(
                    service.run_storage_probe(settings.storage_probe_interval_s))
                flush = asyncio.create_task(service.run_position_flush(1.0))
                try:
                    yield
                finally:
                    for task in (ticker, probe, flush):
                        if task is not None:
                            task.cancel()
                            with contextlib.suppress(asyncio.CancelledError):
                                await task
        finally:
            lock.close()

    @asynccontextmanager
    async def _serving(app: FastAPI) -> AsyncIterator[DispatchService]:
        road_graph = graph if graph is not None else await asyncio.to_thread(
            _load_graph, settings)
        store = SqliteEventStore(settings.database)
        principals = PrincipalStore(settings.database)
        audit = AuditLog(settings.database)
        positions = PositionStore(
            settings.database, retention=timedelta(days=settings.position_retention_days)
        ) if settings.positions_table else None
        config = DispatchConfig(ack_timeout_s=settings.ack_timeout_s,
                                merge_radius_m=settings.merge_radius_m,
                                merge_window_s=settings.merge_window_s)
        snapshots = Snapshotter(settings.database, every=settings.snapshot_every)
        service = DispatchService(store, graph=road_graph, clock=clock, audit=audit,
                                  config=config, queue_size=settings.queue_size,
                                  write_queue_size=settings.write_queue_size,
                                  group_commit=settings.group_commit, positions=positions,
                                  position_min_interval_s=settings.position_min_interval_s,
                                  position_track_every_s=settings.position_track_every_s,
                                  metrics=app.state.metrics,
                                  backlog_events=settings.backlog_events, snapshots=snapshots)
        await asyncio.to_thread(service.load)
        service.snapshot_if_due()
        if settings.demo_units:
            added = await register_demo_units(service)
            if added:
                logger.info("registered %d demo units", added)
        app.state.service = service
        app.state.principals = principals
        app.state.audit = audit
        try:
            yield service
        finally:
            await service.drain()
            await service.flush_positions()
            await service.save_snapshot()
            service.close()
            store.close()
            if positions is not None:
                positions.close()
            principals.close()
            audit.close()

    app = FastAPI(title="MAE Dispatch", version="0.1.0", description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None)  # web/docs.py: offline
    app.state.settings = settings
    app.state.replay_pace = replay_pace
    app.state.metrics = metrics.Metrics()

    async def on_mae_error(request: Request, exc: Exception) -> JSONResponse:
        info = describe(exc)
        return JSONResponse(info.reply(), status_code=info.status, headers=info.headers())

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        field = "body" if exc.status_code in (400, 413) else None
        return JSONResponse({"error": f"http_{exc.status_code}", "field": field,
                             "message": str(exc.detail)}, status_code=exc.status_code,
                            headers=exc.headers)

    async def on_invalid_request(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [{"field": _field(e.get("loc", ())), "message": str(e.get("msg", "invalid"))}
                  for e in exc.errors()]  # never the input: it may hold patient text
        first = errors[0] if errors else {"field": "body", "message": "invalid request"}
        return JSONResponse({"error": "invalid_request", "field": first["field"],
                             "message": f"{first['field']}: {first['message']}",
                             "errors": errors}, status_code=422)

    app.add_middleware(
        BodyLimits, default=(settings.max_json_body_bytes, "max_json_body_bytes"),
        limits={"/api/alarms/cap": (settings.max_body_bytes, "max_body_bytes")})
    app.add_middleware(metrics.CountSocketSends, metrics=app.state.metrics)
    app.add_exception_handler(MaeError, on_mae_error)
    app.add_exception_handler(RequestValidationError, on_invalid_request)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    for module in (routes.health, routes.alarms, routes.units, routes.callouts, routes.audit):
        app.include_router(module.router)
    app.include_router(sockets.router)
    app.include_router(pages.router)
    app.include_router(docs.router)
    app.include_router(metrics.router)
    app.include_router(mapdata.router)
    app.include_router(replay_router)
    app.include_router(crew_router)
    return app
