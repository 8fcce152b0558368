"""The live demo's planned home visits: psychiatry books a few for each unit's area every few
demo hours, so the day plan, the dispatcher's visits board and the crews' visit lists have work.

Without them a newcomer's demo showed only the acute work: the day planner (``routing.plan`` in
:mod:`web.planning`) and the crews' visit rounds (:func:`simulations.behaviour.visit_act` in
:mod:`web.demo_crew`) had nothing to do until a person booked a visit. Each batch is a pure
function of the seed, the batch number and the bases: visits at homes near populated places
within :data:`RADIUS_M` of a unit's base (weighted by population, a few hundred metres off the
centre, as the alarm feed places its scenes), start windows spread over the next hours of the
unit's rota shift (:func:`visit_spans`; a batch at night books the morning), and a pseudonymous
patient reference (no name, no free text). The demo's psychiatry agency books them through the
service, as ``POST /api/visits`` does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

import numpy as np

from dispatch.commands import BookVisit
from dispatch.model import Location
from dispatch.rota import ShiftPattern, current_shift, next_shift
from dispatch.state import Unit
from dispatch.visits import VisitSource
from maps.graph import Place, haversine_m
from web.demo_feed import offset

__all__ = ["RADIUS_M", "Area", "DemoVisit", "visit_batch", "visit_spans"]

#: Visits lie near populated places this close (straight line) to the unit's base.
RADIUS_M = 60_000.0
#: A visit's start window is this long; its length is one of these (minutes).
WINDOW = timedelta(hours=2)
DURATIONS_MIN = (30, 45, 60)
#: The first window opens this soon after the batch is booked, on a 5-minute step.
FIRST_OPENS = timedelta(minutes=20)
#: The last window opens this long before the unit's shift ends (the longest visit fits).
LAST_OPENS_BEFORE_END = timedelta(minutes=max(DURATIONS_MIN))
#: A unit's span shorter than this gets no visits in the batch.
MIN_SPAN = timedelta(minutes=30)
#: Half the visits may be postponed, at this many seconds of driving saved.
POSTPONABLE_SHARE = 0.5
POSTPONE_COST_S = 3600


@dataclass(frozen=True, slots=True)
class DemoVisit:
    """One home visit of a batch, for the area of the base it was drawn around."""

    base: str
    patient_ref: str
    place: str
    lat: float
    lon: float
    earliest_start: datetime
    duration_min: int
    postponable: bool

    @property
    def latest_start(self) -> datetime:
        return self.earliest_start + WINDOW

    def command(self) -> BookVisit:
        """The booking as the psychiatry agency sends it."""
        return BookVisit(
            patient_ref=self.patient_ref,
            location=Location(self.lat, self.lon, label=self.place),
            earliest_start=self.earliest_start, latest_start=self.latest_start,
            duration_s=self.duration_min * 60,
            postpone_cost=POSTPONE_COST_S if self.postponable else None,
            source=VisitSource.AGENCY, agency="psychiatry")


@dataclass(frozen=True, slots=True)
class Area:
    """Where and when one unit's visits of a batch go: around its base (``lat``, ``lon``),
    their start windows opening from ``opens_from`` to ``opens_until``."""

    unit_id: str
    base: str
    lat: float
    lon: float
    opens_from: datetime
    opens_until: datetime


def visit_spans(units: Sequence[tuple[Unit, float, float]], rota: Sequence[ShiftPattern],
                tz: tzinfo, now: datetime, *, hours: float,
                booked_until: Mapping[str, datetime]) -> list[Area]:
    """Each unit's span for the batch booked at ``now``: ``hours`` of its rota shift (the
    current one, else the next, so a batch at night books the morning) after what earlier
    batches booked (``booked_until``), ending :data:`LAST_OPENS_BEFORE_END` before the shift
    does. A unit with no rota works the demo's own shift (``shift_ends_at``); an off-duty one
    without a rota, or a span under :data:`MIN_SPAN`, gets none. ``units``: (unit, base lat,
    base lon)."""
    span = timedelta(hours=hours)
    out: list[Area] = []
    for unit, lat, lon in units:
        uid = unit.unit_id
        if any(p.unit_id == uid for p in rota):
            shifts = [s for s in (current_shift(rota, uid, tz, now),
                                  next_shift(rota, uid, tz, now)) if s is not None]
            ends = [(s.starts_at, s.ends_at) for s in shifts]
        elif unit.shift_ends_at is not None and unit.shift_ends_at > now:
            ends = [(now, unit.shift_ends_at)]
        else:
            continue
        for starts_at, ends_at in ends:
            first = max(now + FIRST_OPENS, starts_at, booked_until.get(uid, now))
            last = min(first + span, ends_at - LAST_OPENS_BEFORE_END)
            if last - first >= MIN_SPAN:
                out.append(Area(uid, unit.base, lat, lon, first, last))
                break
    return out


def _near(places: Sequence[Place], lat: float, lon: float) -> list[Place]:
    """The populated places within :data:`RADIUS_M` of (lat, lon), else the nearest one."""
    populated = [p for p in places if p.population > 0]
    if not populated:
        return []
    dist = [float(haversine_m(lat, lon, p.lat, p.lon)) for p in populated]
    near = [p for p, d in zip(populated, dist, strict=True) if d <= RADIUS_M]
    return near or [populated[int(np.argmin(dist))]]


def visit_batch(places: Sequence[Place], areas: Sequence[Area], *, per_area: int, seed: int,
                index: int) -> list[DemoVisit]:
    """Batch ``index``: ``per_area`` visits in each area, at homes near its populated places
    (weighted by population), windows opening on a 5-minute step within the area's span;
    in order of opening."""
    rng = np.random.default_rng([seed, 0x7615, index])
    out: list[DemoVisit] = []
    for area in areas:
        near = _near(places, area.lat, area.lon)
        if not near:
            continue
        weights = np.array([p.population for p in near], dtype=np.float64)
        steps = int((area.opens_until - area.opens_from).total_seconds() // 300)
        for _ in range(per_area):
            place = near[int(rng.choice(len(near), p=weights / weights.sum()))]
            home = offset(place.lat, place.lon, float(rng.uniform(100.0, 900.0)),
                          float(rng.uniform(0.0, 2 * math.pi)))
            out.append(DemoVisit(
                base=area.base, patient_ref=f"DEMO-{index + 1:03d}-{len(out) + 1:02d}",
                place=place.name, lat=home[0], lon=home[1],
                earliest_start=area.opens_from + timedelta(
                    minutes=5 * int(rng.integers(0, steps + 1))),
                duration_min=int(rng.choice(DURATIONS_MIN)),
                postponable=bool(rng.random() < POSTPONABLE_SHARE)))
    return sorted(out, key=lambda v: (v.earliest_start, v.patient_ref))
