"""The application factory: ``create_app(settings)`` wires the service, stores and routers.

Nothing is built at import time, so each test or command gets its own app from its own
settings. The lifespan opens the stores (:func:`web.stores.open_stores`: SQLite, or Redis when
the setting ``store`` names one), loads the map (with the region's bases and facilities on it),
restores the newest snapshot and replays the event log after it (writing a last snapshot at
shutdown), brings the units to the region file's (``region``), optionally puts them on demo
shifts and starts the tick; the port opens then, and routing (the map's snap index, the solver,
the hierarchies) is prepared in a background thread from that moment. The REST routes,
sockets, pages and replay are included as routers, one per resource, so a new surface is one
more ``include_router``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from dispatch.clock import Clock
from dispatch.commands import DispatchConfig
from mae.errors import MaeError
from maps.graph import RoadGraph
from web import docs, metrics, pages, routes, sockets
from web.connections import Connections
from web.crewpage import router as crew_router
from web.demo_units import start_demo_shifts
from web.errors import describe
from web.limits import BodyLimits, BodyTooLarge
from web.logins import Gate, LoginLimiter
from web.positions import PositionReport
from web.regions import BUNDLED_REGION, load_region, read_region, with_region_facilities
from web.replay import Pace, WallPace
from web.replay import router as replay_router
from web.routes import admin, mapdata, stats, visits
from web.schemas import field_name
from web.security import SecurityHeaders
from web.service import DEFAULT_TIMEZONE, DispatchService
from web.settings import Settings
from web.stores import Stores, open_stores

__all__ = ["create_app", "load_graph"]

logger = logging.getLogger(__name__)

DESCRIPTION = """Real-time dispatch of mobile acute psychiatry units (MAE).

REST mirrors of the live WebSockets for integrations. Authenticate with
`Authorization: Bearer <token>` (tokens from `mae tokens create`). WebSockets: `/ws/agency`,
`/ws/dispatch`, `/ws/crew`: offer the subprotocols `mae.v1` and `mae.bearer.<token>` (or send
`{"type": "auth", "token": …}` as the first frame; never `?token=`), resume with `?since=<seq>`.
Repeated wrong tokens for one principal from one address get 429 for that principal
(sockets: close 4429); many, over many principals, for the whole address.
"""


def load_graph(settings: Settings) -> RoadGraph:
    """The map ``settings`` names (the bundled Norrbotten map by default)."""
    if settings.map_path is None:
        from maps.bundled import load_bundled

        return load_bundled()
    from maps.graph import load_graph

    return load_graph(settings.map_path)


_PARTS = ("body", "query", "path", "header", "cookie")


def _field(loc: tuple[object, ...] | list[object]) -> str:
    """``("body", "location", "lat")`` → ``"location.lat"``: the field as the client names it
    (without pydantic's own steps such as ``constrained-str`` or ``function-after[...]``)."""
    parts = list(loc)
    if parts and str(parts[0]) in _PARTS:
        parts = parts[1:]
    return field_name(parts) or "body"


def _problem(error: Mapping[str, Any], content_type: str) -> tuple[str, str]:
    """The field and message of one of pydantic's errors, in the client's terms."""
    kind = str(error.get("type", ""))
    loc = tuple(error.get("loc", ()))
    if kind == "json_invalid":  # pydantic's place is the character where decoding failed
        at = loc[-1] if loc else "?"
        return "body", f"is not valid JSON (at character {at})"
    field = _field(loc)
    if field == "body" and kind in ("dict_type", "model_attributes_type") and \
            not content_type.startswith("application/json"):
        return "body", "send a JSON object with Content-Type: application/json"
    return field, str(error.get("msg", "invalid"))


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
        stores = await asyncio.to_thread(open_stores, settings)  # SQLite: locks the file
        try:
            async with _serving(app, stores) as service:
                ticker = asyncio.create_task(service.run_ticks(settings.tick_interval_s)) \
                    if tick else None
                probe = asyncio.create_task(
                    service.run_storage_probe(settings.storage_probe_interval_s))
                flush = asyncio.create_task(
                    service.run_position_flush(settings.position_store_every_s))
                # a store other instances write too must be followed (SQLite is ours alone)
                follow = asyncio.create_task(service.follow()) if stores.kind == "redis" \
                    else None
                connections: Connections = app.state.connections
                watcher = asyncio.create_task(connections.watch())
                planning = asyncio.create_task(service.run_planning()) \
                    if settings.planning else None
                try:
                    yield
                finally:
                    for task in (ticker, follow, probe, flush, watcher, planning):
                        if task is not None:
                            task.cancel()
                            with contextlib.suppress(asyncio.CancelledError):
                                await task
        finally:
            stores.close()

    @asynccontextmanager
    async def _serving(app: FastAPI, stores: Stores) -> AsyncIterator[DispatchService]:
        road_graph = graph if graph is not None else await asyncio.to_thread(
            load_graph, settings)
        region_path = settings.region or (BUNDLED_REGION if settings.demo_units else None)
        region = None if region_path is None else await asyncio.to_thread(
            read_region, region_path, graph=road_graph)
        if region is not None:
            road_graph = with_region_facilities(road_graph, region)
        store, principals, audit = stores.events, stores.principals, stores.audit
        positions = stores.positions
        config = DispatchConfig(ack_timeout_s=settings.ack_timeout_s,
                                merge_radius_m=settings.merge_radius_m,
                                merge_window_s=settings.merge_window_s)
        snapshots = stores.snapshots
        service = DispatchService(store, graph=road_graph, clock=clock, audit=audit,
                                  config=config, queue_size=settings.queue_size,
                                  backlog_window=settings.backlog_window,
                                  write_queue_size=settings.write_queue_size,
                                  group_commit=settings.group_commit, positions=positions,
                                  position_min_interval_s=settings.position_min_interval_s,
                                  position_track_every_s=settings.position_track_every_s,
                                  position_broadcast_s=settings.position_broadcast_s,
                                  metrics=app.state.metrics,
                                  snapshots=snapshots,
                                  timezone=DEFAULT_TIMEZONE if region is None else region.tzinfo)
        # The snapshot's closed history is decoded once the port is open (complete_history):
        # the board is served at once, history readers and commands wait for it.
        await asyncio.to_thread(service.load, prepare=False, defer_history=True)
        if not service.history_pending:
            gc.enable()  # ``mae serve`` starts with the collector off (web/cli.py)
        # Decoding starts now, not once the port is open: the region file's and the demo's
        # commands below wait for a whole state, and would otherwise wait for themselves.
        history = asyncio.ensure_future(service.complete_history())
        if region is not None:
            await load_region(service, region, principals=principals)
        service.snapshot_if_due()
        if settings.demo_units:
            started = await start_demo_shifts(service)
            if started:
                logger.info("started %d demo shifts", started)
        service.planner.plan_limit_s = settings.plan_time_limit_s
        service.planner.lease = stores.planner_lease
        service.planner.replan_limit_s = settings.replan_time_limit_s
        app.state.service = service
        app.state.principals = principals
        app.state.audit = audit
        tracker = service.positions
        if positions is not None and tracker is not None:  # other instances' positions
            loop = asyncio.get_running_loop()

            def shown_here(reports: list[PositionReport]) -> None:
                loop.call_soon_threadsafe(tracker.remote, reports)

            positions.follow(shown_here)
        app.state.unit_standing = stores.standing
        connections = Connections(stores.revocations)
        service.before_publish = connections.sweep
        app.state.connections = connections
        app.state.gate = Gate(principals, audit,
                              LoginLimiter(settings.login_failures_per_minute),
                              now=service.clock.now)
        # Once the closed history is decoded (it began above; the port opens right after this
        # startup), routing (snap index, solver imports, hierarchies) is prepared in the
        # background.
        async def after_start() -> None:
            await history
            service.prepare_routing()

        finishing = asyncio.ensure_future(after_start())
        try:
            yield service
        finally:
            for task in (finishing, history):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await service.drain()
            await service.flush_positions()
            await service.save_snapshot()
            service.close()

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
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette names only the first route of the path
            headers["Allow"] = ", ".join(sorted(
                {m for r in request.app.routes if isinstance(r, APIRoute)
                 and r.path_regex.match(request.url.path) for m in r.methods or ()}))
        extra = {"limit_bytes": exc.limit} if isinstance(exc, BodyTooLarge) else {}
        message = str(exc.detail)
        if message == "There was an error parsing the body":  # FastAPI's words, no reason
            message = ("body: could not be read as JSON (UTF-8 text; nesting and the size of "
                       "numbers are limited)")
        return JSONResponse({"error": f"http_{exc.status_code}", "field": field,
                             "message": message, **extra},
                            status_code=exc.status_code, headers=headers or None)

    async def on_invalid_request(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        content_type = request.headers.get("content-type", "").lower()
        errors = [dict(zip(("field", "message"), _problem(e, content_type), strict=True))
                  for e in exc.errors()]  # never the input: it may hold patient text
        first = errors[0] if errors else {"field": "body", "message": "invalid request"}
        return JSONResponse({"error": "invalid_request", "field": first["field"],
                             "message": f"{first['field']}: {first['message']}",
                             "errors": errors}, status_code=422)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not the client's mistake: still JSON, as every other answer, and with no
        # detail of the exception (it may quote input); the server logs the traceback.
        return JSONResponse({"error": "internal", "field": None,
                             "message": "internal error: the request was not completed; "
                                        "the server's log has the details"}, status_code=500)

    app.add_middleware(
        BodyLimits, default=(settings.max_json_body_bytes, "max_json_body_bytes"),
        limits={"/api/alarms/cap": (settings.max_body_bytes, "max_body_bytes")})
    app.add_middleware(metrics.CountSocketSends, metrics=app.state.metrics)
    app.add_exception_handler(MaeError, on_mae_error)
    app.add_exception_handler(RequestValidationError, on_invalid_request)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
    for module in (routes.health, routes.alarms, routes.units, routes.callouts, routes.audit,
                   routes.rota, routes.history, routes.borders, admin, stats, visits):
        app.include_router(module.router)
    app.include_router(sockets.router)
    app.include_router(pages.router)
    app.include_router(docs.router)
    app.include_router(metrics.router)
    app.include_router(mapdata.router)
    app.include_router(replay_router)
    app.include_router(crew_router)
    app.add_middleware(SecurityHeaders, tile_url=settings.tile_url)
    return app
