"""The live demo: the dispatch service on the bundled map with simulated agencies and crews.

``mae serve --demo`` (what ``python3 dev.py run`` starts) runs the real service on a fresh
temporary database with the units of the bundled region file (``regions/norrbotten.toml``, or
``--region``) on shift (:mod:`web.demo_units`), prints
ready-to-click links with tokens for a dispatcher, each unit's crew and the police, ambulance and
psychiatry, and starts the actors of :mod:`web.demo_actors`: alarms from the simulator's demand
model, a dispatcher bot that assigns with the simulator's policy when no person did within
``assign_after_s``, and crews that follow the simulator's behaviour model over the service API
(acknowledge, drive their road routes, record outcomes). The settings are
:class:`~web.demo_config.DemoConfig`. The demo's modules import one way: ``demo_config`` and
``demo_feed`` at the bottom, then ``demo_units`` and ``demo_crew``, then ``demo_actors``, then
this one.

Time: the whole service runs on a :class:`ScaledClock` that starts at the wall time and runs
``speed`` times faster (10x by default), so acknowledgement timeouts, ages, shift ends and ETAs
stay consistent with each other — a 60 s acknowledge window lasts 6 real seconds at 10x. All
durations in :class:`~web.demo_config.DemoConfig` are demo seconds. ``GET /api/clock`` and
``clock`` messages on the dispatch socket tell pages the demo time and speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request

from dispatch.model import Agency
from maps.graph import RoadGraph
from web.app import create_app
from web.auth import PrincipalStore, Role
from web.demo_actors import Bots, DemoRunner
from web.demo_config import DemoConfig
from web.demo_units import demo_region, demo_unit_ids
from web.deps import PrincipalDep
from web.errors import BadMessage
from web.service import DispatchService
from web.serving import run_server
from web.settings import Settings

__all__ = [
    "DemoLink",
    "ScaledClock",
    "create_demo_app",
    "demo_links",
    "random_seed",
    "router",
    "serve_demo",
]

HUMAN_AGENCIES = (Agency.POLICE, Agency.AMBULANCE, Agency.PSYCHIATRY)


class ScaledClock:
    """Time that starts at ``start`` and runs ``speed`` times faster than the wall clock."""

    def __init__(self, speed: float, *, start: datetime | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if not speed > 0:
            raise BadMessage("speed", "must be more than 0")
        self.speed = float(speed)
        self.start = start if start is not None else datetime.now(UTC)
        if self.start.tzinfo is None:
            raise BadMessage("start", "must be timezone-aware")
        self._monotonic = monotonic
        self._m0 = monotonic()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            elapsed = self._monotonic() - self._m0
        return self.start + timedelta(seconds=elapsed * self.speed)


@dataclass(frozen=True, slots=True)
class DemoLink:
    """A page link with a fresh token for one demo principal."""

    label: str
    path: str
    token: str

    def url(self, base: str) -> str:
        return f"{base}{self.path}#token={self.token}"


def demo_links(database: Path, unit_ids: list[str]) -> list[DemoLink]:
    """Create the people's principals in ``database`` and return their page links."""
    store = PrincipalStore(database)
    try:
        links = [DemoLink("dispatcher", "/dispatch",
                          store.create(role=Role.DISPATCHER, name="Demo dispatcher")[1])]
        for unit_id in unit_ids:
            _, token = store.create(role=Role.CREW, name=f"Demo crew {unit_id}", unit_id=unit_id)
            links.append(DemoLink(f"crew {unit_id}", "/crew", token))
        for agency in HUMAN_AGENCIES:
            _, token = store.create(role=Role.AGENCY, name=f"Demo {agency.value}", agency=agency)
            links.append(DemoLink(f"agency {agency.value}", "/agency", token))
        # the month's statistics as a manager reads them (no free text, no places)
        links.append(DemoLink("manager", "/stats",
                              store.create(role=Role.MANAGER, name="Demo manager")[1]))
    finally:
        store.close()
    return links


def _bots(database: Path, unit_ids: list[str]) -> Bots:
    store = PrincipalStore(database)
    try:
        dispatcher, _ = store.create(role=Role.DISPATCHER, name="Demo dispatcher bot")
        crews = {u: store.create(role=Role.CREW, name=f"Demo crew bot {u}", unit_id=u)[0]
                 for u in unit_ids}
        agencies = {a: store.create(role=Role.AGENCY, name=f"Demo {a.value} feed",
                                    agency=a)[0] for a in Agency}
    finally:
        store.close()
    return Bots(dispatcher, crews, agencies)


router = APIRouter(prefix="/api", tags=["demo"])


@router.get("/clock")
def clock(request: Request, principal: PrincipalDep) -> dict[str, Any]:
    """The service's time and how fast it runs (the live demo runs faster than real time)."""
    service: DispatchService = request.app.state.service
    runner = getattr(request.app.state, "demo", None)
    out: dict[str, Any] = {"now": service.clock.now().isoformat(),
                           "speed": float(getattr(service.clock, "speed", 1.0)),
                           "demo": runner is not None}
    if runner is not None:
        out.update(seed=runner.config.seed, auto_assign=runner.config.auto_assign,
                   alarms_sent=runner.alarms_sent, started_at=runner.started_at.isoformat())
    return out


def create_demo_app(settings: Settings, config: DemoConfig, *, graph: RoadGraph,
                    clock: ScaledClock | None = None,
                    say: Callable[[str], None] | None = None) -> FastAPI:
    """The service app with the demo's units registered and its actors started after the
    service, the actors stopped before it; bot principals are created in ``settings.database``."""
    clock = clock if clock is not None else ScaledClock(config.speed)
    bots = _bots(settings.database, demo_unit_ids(demo_region(graph, settings.region)))
    settings = settings.model_copy(update={"demo_units": True})
    app = create_app(settings, clock=clock, graph=graph)
    app.include_router(router)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with inner(app) as state:
            runner = DemoRunner(app.state.service, graph, config, bots, say=say)
            app.state.demo = runner
            task = asyncio.create_task(runner.run())
            try:
                yield state
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app.router.lifespan_context = lifespan
    return app


def _check_port(host: str, port: int) -> None:
    with socket.socket() as s:
        # as uvicorn binds: a port left in TIME_WAIT by the last demo is free, a listening one
        # is not (the check refused to start again for a minute after Ctrl-C)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            raise BadMessage("port", f"{host}:{port} is in use; pass another --port") from None


def serve_demo(settings: Settings, config: DemoConfig, *, database: Path | None,
               quiet: bool = False) -> int:
    """Run the demo until Ctrl-C; a temporary database is removed afterwards."""
    import uvicorn

    if database is not None and database.exists() and database.stat().st_size > 0:
        raise BadMessage("database", f"{database} exists; the demo needs a fresh database "
                         "(remove it, pick another path, or leave --database out)")
    port = settings.port or _free_port(settings.host)
    _check_port(settings.host, port)
    graph = _load_graph(settings)
    unit_ids = demo_unit_ids(demo_region(graph, settings.region))
    unknown = sorted(config.manual_units - set(unit_ids))
    if unknown:
        raise BadMessage("manual_unit", f"no unit {unknown[0]} in the region; the units are "
                         + ", ".join(unit_ids))
    tmp = None if database is not None else Path(tempfile.mkdtemp(prefix="mae-demo-"))
    db = database if database is not None else Path(tmp or ".") / "demo.sqlite3"
    try:
        settings = settings.model_copy(update={"database": db, "port": port,
                                               "tick_interval_s": 0.25})
        links = demo_links(db, unit_ids)
        app = create_demo_app(settings, config, graph=graph,
                              say=None if quiet else lambda s: print(s, flush=True))
        print(_banner(settings, config, links, graph, len(unit_ids), temporary=tmp is not None),
              flush=True)
        server = uvicorn.Server(uvicorn.Config(
            app, host=settings.host, port=port, log_level="warning", access_log=False,
            ws_per_message_deflate=settings.permessage_deflate, lifespan="on",
            ws_max_size=settings.max_ws_frame_bytes))
        run_server(server)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _load_graph(settings: Settings) -> RoadGraph:
    if settings.map_path is None:
        from maps.bundled import load_bundled

        return load_bundled()
    from maps.graph import load_graph

    return load_graph(settings.map_path)


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _banner(settings: Settings, config: DemoConfig, links: list[DemoLink], graph: RoadGraph,
            n_units: int, *, temporary: bool) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    base = f"http://{host}:{settings.port}"
    width = max(len(link.label) for link in links)
    bot = (f"a dispatcher bot assigns the top recommendation after {config.assign_after_s:g} "
           f"demo seconds unless you do (--no-auto-assign to dispatch yourself)"
           if config.auto_assign else "no dispatcher bot: assign the callouts yourself")
    lines = [
        f"MAE Dispatch live demo on {graph.meta.get('name', 'the map')}: "
        f"{n_units} units on shift, about {config.alarms_per_hour:g} "
        f"alarms per demo hour (seed {config.seed})",
        f"time runs {config.speed:g}x: one real second is {config.speed:g} demo seconds; {bot}",
        *([f"psychiatry books {config.visits_per_unit} home visits around each unit's base every "
           f"{config.visit_every_s / 3600:g} demo hours; the day planner routes them onto the "
           f"units (--visits-per-unit 0: none)"] if config.visits_per_unit else []),
        f"database: {settings.database}" + (" (temporary, removed on exit)" if temporary
                                            else ""),
        "",
        "Open in a browser (each link logs in with its own token):",
        *(f"  {link.label:<{width}}  {link.url(base)}" for link in links),
        "",
        f"Service: {base}/api/health   API docs: {base}/docs   Ctrl-C stops.",
        "",
    ]
    return "\n".join(lines)


def random_seed() -> int:
    """A fresh seed for a run that did not ask for one (printed, so it can be repeated)."""
    return random.SystemRandom().randrange(1_000_000)
