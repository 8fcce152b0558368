"""Advice for people, read from the state: unit recommendations, road ETAs and locations.

Nothing here writes: recommendations and the assignment proposal come from
:mod:`dispatch.recommend` with the travel-time engine for the current time of day and season;
locations given as coordinates or place names are checked against the loaded map's roads (so a
callout is never created where no unit can drive) and bare coordinates get a nearby place's name.

Every question is answered off the event loop (:meth:`Advisor.ask`): in the one advice thread,
on a fork of the state taken on the loop (cheap: the state's maps copy on write), so a
recommendation over many units, which takes tens to hundreds of milliseconds, never holds up
another client's socket; the loop only awaits the answer.

Routing is prepared in a worker thread (:meth:`Advisor.prepare_in_background`), started once
the log is loaded so the port opens without waiting for it: the snap index first (the service
awaits it off the loop before resolving a location), the solver's imports, then the current
driving situation and every other one (rush hour, winter, emergency); until a situation is
ready its questions are answered by plain Dijkstra in a worker thread, so no index or
contraction hierarchy is ever built on the event loop.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
import math
import re
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from dispatch.clock import Clock
from dispatch.cowdict import CowDict
from dispatch.errors import InvalidCommand
from dispatch.model import Location
from dispatch.recommend import (
    Proposal,
    RecommendConfig,
    UnitOption,
    on_the_way,
    propose,
    recommend,
)
from dispatch.snapshot import DEFERRABLE
from dispatch.state import DispatchState
from maps.errors import UnknownPlace
from maps.gazetteer import Gazetteer, normalise_name
from maps.graph import EARTH_RADIUS_M, Facility, Place, RoadGraph
from maps.traveltime import DEFAULT_TIMEZONE, TravelTimeModel
from routing.engine import TravelTimes
from routing.errors import SnapError

__all__ = ["NEARBY_LABEL_KM", "Advisor"]

NEARBY_LABEL_KM = 30.0  # farther from every place, coordinates get no label
#: Degrees of latitude within which a place may be NEARBY_LABEL_KM away (with a margin):
#: a place farther north or south than this is farther than that, whatever its longitude.
_LABEL_DLAT = math.degrees(NEARBY_LABEL_KM * 1000.0 / EARTH_RADIUS_M) * 1.01
#: sin(d / 2R) for d = NEARBY_LABEL_KM: a place that near differs in longitude by at most
#: 2 asin(_LABEL_SIN / cos φ), φ the largest latitude of the band (from the haversine formula).
_LABEL_SIN = math.sin(NEARBY_LABEL_KM * 1000.0 / (2 * EARTH_RADIUS_M))

T = TypeVar("T")

logger = logging.getLogger(__name__)


def _fork(state: DispatchState) -> DispatchState:
    """A fork of ``state`` for the advice thread. Right after a restart, while the closed
    history is still decoded (:mod:`web.snapshots`: those maps are then not CowDicts), copying
    them would wait for the history on the loop; they are shared instead (the writer changes
    nothing until the history is in) and only the units, which positions move, are forked."""
    if all(isinstance(getattr(state, name), CowDict) for name in DEFERRABLE):
        return state.fork()
    return dataclasses.replace(state, units=state.units.fork())


class Advisor:
    """Recommendations, ETAs and location checks over ``state`` on the map ``graph``."""

    def __init__(self, state: DispatchState, graph: RoadGraph, *, clock: Clock,
                 config: RecommendConfig, timezone: str = DEFAULT_TIMEZONE) -> None:
        self.state = state
        self.graph = graph
        self.clock = clock
        self.config = config
        self.gazetteer = Gazetteer.of(graph)
        # rush hours and winter months are read on the region's clock (``timezone``)
        self._travel = TravelTimes(graph, TravelTimeModel(timezone=timezone), at=clock.now(),
                                   fallback=True)
        self._stop = threading.Event()
        self._preparing: threading.Thread | None = None
        #: For nearby_label: the map's places; their latitudes, sorted; and in that order each
        #: one's longitude, latitude and longitude in radians, cosine of latitude, and name.
        self._places: tuple[Sequence[Place], list[float],
                            list[tuple[float, float, float, float, str]]] | None = None
        # One thread for every question: they take turns, so two never share the routing
        # engine's query scratch, and the loop contends for the GIL with one busy thread.
        self._asker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mae-advice")

    async def ask(self, question: Callable[[Advisor], T]) -> T:
        """``question(advisor)`` (``lambda a: a.recommend(cid)``) answered in the advice thread
        on a fork of the state as it is now; the event loop only awaits the answer."""
        view = self.on_copy()
        return await asyncio.get_running_loop().run_in_executor(self._asker, question, view)

    def prepare(self) -> None:
        """Build the tables of the current situation now, in this thread (tools, tests)."""
        self._travel.situation(at=self.clock.now()).prepare()

    def prepare_in_background(self) -> threading.Thread:
        """Prepare every driving situation in a daemon thread, the current one first; returns
        the thread (it stops early once :meth:`stop` is called)."""
        if self._preparing is None:
            self._preparing = threading.Thread(target=self._prepare_all, daemon=True,
                                               name="mae-routing-prepare")
            self._preparing.start()
        return self._preparing

    def _prepare_all(self) -> None:
        now = self.clock.now()
        try:
            self._travel.warm()
            import routing.assign  # noqa: F401  OR-Tools and numba, before the first proposal
        except Exception:  # a query builds the index itself; say why it was not built here
            logger.exception("building the snap index failed")
            return
        pending = [self._travel.situation(at=now), *self._travel.situations(around=now)]
        for travel in pending:
            if self._stop.is_set():
                return
            try:
                travel.prepare()
            except Exception:  # the fallback keeps answering; say why preparation stopped
                logger.exception("preparing routing failed; plain search stays in use")
                return
        logger.info("routing prepared for %d driving situations", len(pending))

    @property
    def prepared(self) -> bool:
        """Whether every driving situation has its tables ready."""
        now = self.clock.now()
        return all(t.ready for t in self._travel.situations(around=now))

    def wait_for_map(self) -> None:
        """Block until the snap index is built (building it here if nothing else is): for a
        worker thread, before locations are resolved on the loop."""
        self._travel.warm()

    @property
    def map_ready(self) -> bool:
        """Whether the snap index is built (resolving a location is then quick)."""
        return self._travel.snap_ready

    @property
    def ready(self) -> bool:
        """Whether routing for the current situation is prepared (answers take microseconds
        to milliseconds; else they run plain search, which is slow on a big map)."""
        return self.travel().ready

    def on_copy(self) -> Advisor:
        """This advisor over a copy of the state, for a worker thread while the loop goes on
        applying events (units and callouts are frozen: copying the collections suffices)."""
        view = copy.copy(self)
        view.state = _fork(self.state)
        return view

    def stop(self, *, wait_s: float = 10.0) -> None:
        """Ask the preparing thread to stop after the table it is building, and wait up to
        ``wait_s`` for it: a daemon thread still importing a C extension (the solver, the
        snap index) when the interpreter exits can crash it. A hierarchy of a huge map
        that takes longer is left to finish or die with the process, as before."""
        self._stop.set()
        self._asker.shutdown(wait=False, cancel_futures=True)
        if self._preparing is not None and wait_s > 0:
            self._preparing.join(timeout=wait_s)

    def travel(self) -> TravelTimes:
        """The travel-time engine for the current time of day and season."""
        return self._travel.situation(at=self.clock.now())

    def recommend(self, callout_id: str, *, exclude: Iterable[str] = ()) -> list[UnitOption]:
        """Units ranked for ``callout_id`` (assignable first, then by ETA)."""
        skip = set(exclude)
        options = recommend(self.state, callout_id, self.travel(), now=self.clock.now(),
                            places=self.graph.places, config=self.config)
        return [o for o in options if o.unit_id not in skip]

    def on_the_way(self, callout_id: str) -> UnitOption | None:
        """The unit that has ``callout_id`` while still on its way, with its ETA from its last
        position (None once it is there, or when no unit has it)."""
        return on_the_way(self.state, callout_id, self.travel())

    def propose(self) -> Proposal:
        """Which free unit should take which waiting callout, all at once (priority-weighted
        ETAs); the callouts left without a unit stay waiting."""
        return propose(self.state, self.travel(), now=self.clock.now(), config=self.config)

    def eta_s(self, unit_id: str, callout_id: str) -> float | None:
        """Road ETA of a unit to a callout, or None if either is unknown or unreachable."""
        unit = self.state.units.get(unit_id)
        callout = self.state.callouts.get(callout_id)
        if unit is None or callout is None:
            return None
        try:
            eta = self.travel().eta((unit.position.lat, unit.position.lon),
                                    (callout.location.lat, callout.location.lon))
        except SnapError:
            return None
        return eta.duration_s if eta.reachable else None

    def resolve(self, *, lat: float | None, lon: float | None, place: str | None,
                field: str = "location", label: bool = False) -> Location:
        """A location from coordinates or a place name of the loaded map, checked to lie
        within reach of its roads; ``label`` names bare coordinates by the nearest place."""
        if place is not None and place.strip():
            try:
                found = self.gazetteer.find(place)
            except UnknownPlace as exc:
                # What /api/places suggests by a word inside a longer name ("Öjebyn" in
                # "E4 at Piteå (Öjebyn)") is accepted when exactly one name holds that word.
                inside = self._named_within(place)
                if len(inside) != 1:
                    raise UnknownPlace(place, [*exc.suggestions, *(
                        p.name for p in inside[:3] if p.name not in exc.suggestions)]) from None
                found = inside[0]
            return Location(found.lat, found.lon, label=found.name, resolved_from=place)
        if lat is None or lon is None:
            raise InvalidCommand(field, "give lat and lon, or a place name")
        try:
            self._travel.check_snap(lat, lon)  # within reach of a road? (the nearest: later)
        except SnapError as exc:
            raise InvalidCommand(field, f"not on the loaded map ({exc})") from None
        return Location(lat, lon, label=self.nearby_label(lat, lon) if label else "")

    def _named_within(self, name: str) -> list[Place | Facility]:
        """The places and facilities whose name holds ``name`` as whole words."""
        key = normalise_name(name)
        if len(key) < 3:
            return []
        pattern = re.compile(rf"(?<!\w){re.escape(key)}(?!\w)")
        found: list[Place | Facility] = [*self.graph.facilities, *self.graph.places]
        return [p for p in found if pattern.search(normalise_name(p.name))]

    def nearby_label(self, lat: float, lon: float) -> str:
        """The nearest place of the map as a label for bare coordinates ("Piteå" within a
        kilometre, "Piteå (3 km)" up to 30 km, "" beyond), so a dispatcher sees where it is."""
        places = self.graph.places
        if self._places is None or self._places[0] is not places:
            by_lat = sorted(places, key=lambda p: p.lat)
            self._places = (places, [p.lat for p in by_lat], [
                (p.lon, math.radians(p.lat), math.cos(math.radians(p.lat)),
                 math.radians(p.lon), p.name) for p in by_lat])
        _, lats, rows = self._places
        # Only the places in a box around the point can be near enough to name: a few of the
        # map's, compared in plain floats by the haversine formula's ``a`` (which grows with
        # the distance), so a NumPy pass over every place is not paid on every alarm.
        west, east = lon - 360.0, lon + 360.0  # no bound in longitude near a pole or ±180°
        far = math.cos(math.radians(min(abs(lat) + _LABEL_DLAT, 90.0)))
        if far > _LABEL_SIN:
            dlon = math.degrees(2 * math.asin(_LABEL_SIN / far)) * 1.01
            if lon - dlon >= -180.0 and lon + dlon <= 180.0:
                west, east = lon - dlon, lon + dlon
        p1, l1 = math.radians(lat), math.radians(lon)
        c1 = math.cos(p1)
        sin = math.sin
        best: tuple[float, str] | None = None
        for plon, p2, c2, l2, pname in rows[bisect_left(lats, lat - _LABEL_DLAT):
                                            bisect_right(lats, lat + _LABEL_DLAT)]:
            if west <= plon <= east:
                found = (sin((p2 - p1) / 2) ** 2 + c1 * c2 * sin((l2 - l1) / 2) ** 2, pname)
                if best is None or found < best:
                    best = found
        if best is None:
            return ""
        a, name = best
        km = 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(a, 1.0))) / 1000.0
        if km <= 1.0:
            return name
        return f"{name} ({km:.0f} km)" if km <= NEARBY_LABEL_KM else ""
