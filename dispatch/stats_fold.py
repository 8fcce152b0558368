"""The facts monthly statistics are made of, one record per callout, folded from the event log.

:class:`StatsFold` applies each event to a :class:`~dispatch.state.DispatchState` and, beside
it, notes what the state forgets: when a unit was first assigned, when the first unit reached
the scene (and from which base), when the outcome was recorded. It reads a live log and a
simulation's exported log alike, may be fed in pieces (the service feeds it only the events
since its last read), and never touches free text: the records hold ids, times, codes and
counts. :meth:`StatsFold.facts` gives one :class:`CalloutFacts` per callout that was not merged
into another (a merged callout's alarms count in the callout they joined).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from dispatch.events import (
    CalloutsMerged,
    CalloutSplit,
    DayPlanned,
    Envelope,
    Event,
    OutcomeRecorded,
    UnitAssigned,
    UnitStatusChanged,
    VisitStarted,
)
from dispatch.model import AgeBand, Agency, Category, Children, Outcome, Priority, Sex
from dispatch.state import Callout, DispatchState
from dispatch.status import CalloutStatus, UnitStatus
from dispatch.visits import VisitSource, VisitStatus

__all__ = ["Arrival", "CalloutFacts", "StatsFold", "VisitFacts"]


@dataclass(frozen=True, slots=True)
class Arrival:
    """The first unit on scene: when, which unit, from which base."""

    at: datetime
    unit_id: str
    base: str


@dataclass(frozen=True, slots=True)
class CalloutFacts:
    """One callout as the statistics count it (no free text, no address)."""

    callout_id: str
    created_at: datetime
    lat: float
    lon: float
    priority: Priority
    category: Category
    alarms: Counter[Agency]  # alarms per agency, those of merged-in callouts included
    sex: Sex
    age_band: AgeBand
    children: Children
    status: CalloutStatus
    outcome: Outcome | None
    outcome_at: datetime | None
    assigned_at: datetime | None
    arrival: Arrival | None

    @property
    def agencies(self) -> frozenset[Agency]:
        """The agencies that raised an alarm about it: two or three make a joint alarm."""
        return frozenset(self.alarms)

    @property
    def response_s(self) -> float | None:
        """Seconds from the first alarm to the first unit on scene, if one got there."""
        if self.arrival is None:
            return None
        return (self.arrival.at - self.created_at).total_seconds()


@dataclass(frozen=True, slots=True)
class VisitFacts:
    """One follow-up visit as the statistics count it: its (last) start window, what became
    of it, when it was started, whether a day's final plan postponed it."""

    visit_id: str
    earliest_start: datetime
    latest_start: datetime
    status: VisitStatus
    source: VisitSource
    started_at: datetime | None
    postponed: bool
    moves: int

    @property
    def done_in_window(self) -> bool:
        """Done, and started within its start window."""
        return (self.status is VisitStatus.DONE and self.started_at is not None
                and self.earliest_start <= self.started_at <= self.latest_start)


class StatsFold:
    """A dispatch state plus the times the statistics need, fed event by event."""

    def __init__(self) -> None:
        self.state = DispatchState.unshared()
        self._assigned: dict[str, datetime] = {}
        self._arrived: dict[str, Arrival] = {}
        self._closed: dict[str, datetime] = {}
        self._started: dict[str, datetime] = {}  # visit id: when a crew started it
        self._postponed: dict[str, tuple[str, ...]] = {}  # day: the latest plan's postponed
        #: Each callout's facts as last built; an event about a callout drops its entry.
        self._cache: dict[str, CalloutFacts | None] = {}

    @property
    def last_seq(self) -> int:
        return self.state.last_seq

    def feed(self, envelopes: Iterable[Envelope]) -> int:
        """Apply ``envelopes`` (the next ones of the log, in order); returns how many."""
        n = 0
        for env in envelopes:
            self._note(env.event)
            self.state.apply(env)
            n += 1
        return n

    def _touched(self, event: Event) -> tuple[str, ...]:
        """The callouts whose facts ``event`` may change (their cached facts are dropped)."""
        if isinstance(event, CalloutsMerged):
            return (event.source_id, event.target_id)
        if isinstance(event, CalloutSplit):
            return (event.callout_id, event.new_callout_id)
        if isinstance(event, UnitStatusChanged):
            unit = self.state.units.get(event.unit_id)
            held = unit.callout_id if unit is not None else None
            return (self._live(held),) if held is not None else ()
        cid = getattr(event, "callout_id", None)
        return (cid,) if isinstance(cid, str) else ()

    def _note(self, event: Event) -> None:
        """What the state will not keep about ``event``, read before it is applied."""
        for cid in self._touched(event):
            self._cache.pop(cid, None)
        if isinstance(event, UnitAssigned):
            self._assigned.setdefault(event.callout_id, event.at)
        elif isinstance(event, UnitStatusChanged) and event.status is UnitStatus.ON_SCENE:
            unit = self.state.units.get(event.unit_id)
            if unit is not None and unit.callout_id is not None:
                # when the crew pressed "on scene" (a press offline arrives later)
                self._arrived.setdefault(self._live(unit.callout_id),
                                         Arrival(event.effective_at, unit.unit_id, unit.base))
        elif isinstance(event, OutcomeRecorded):
            self._closed[event.callout_id] = event.at
        elif isinstance(event, VisitStarted):
            self._started.setdefault(event.visit_id, event.at)
        elif isinstance(event, DayPlanned):
            self._postponed[event.day] = event.postponed
        elif isinstance(event, CalloutsMerged):
            # the callout that lives on keeps the earlier assignment and arrival of the two
            source, target = event.source_id, event.target_id
            assigned = self._assigned.pop(source, None)
            if assigned is not None and (target not in self._assigned
                                         or assigned < self._assigned[target]):
                self._assigned[target] = assigned
            arrived = self._arrived.pop(source, None)
            if arrived is not None and (target not in self._arrived
                                        or arrived.at < self._arrived[target].at):
                self._arrived[target] = arrived

    def _live(self, callout_id: str) -> str:
        """The callout that now holds ``callout_id`` (a unit keeps a merged one's id)."""
        seen = 0
        callout = self.state.callouts.get(callout_id)
        while callout is not None and callout.merged_into is not None and seen < 64:
            callout_id, seen = callout.merged_into, seen + 1
            callout = self.state.callouts.get(callout_id)
        return callout_id

    def facts(self) -> list[CalloutFacts]:
        """Every callout not merged into another, oldest first."""
        cache = self._cache
        found = []
        for callout in self.state.callouts.values():
            if callout.merged_into is not None:
                continue
            cid = callout.callout_id
            if cid not in cache:  # new, or changed since the last call
                cache[cid] = self._facts(callout)
            facts = cache[cid]
            if facts is not None:
                found.append(facts)
        return sorted(found, key=lambda f: (f.created_at, f.callout_id))

    def visit_facts(self) -> list[VisitFacts]:
        """Every follow-up visit ever booked, by start window."""
        postponed = {v for ids in self._postponed.values() for v in ids}
        found = [VisitFacts(v.visit_id, v.earliest_start, v.latest_start, v.status, v.source,
                            self._started.get(v.visit_id), v.visit_id in postponed, v.moves)
                 for v in self.state.visits.values()]
        return sorted(found, key=lambda f: (f.earliest_start, f.visit_id))

    def _facts(self, callout: Callout) -> CalloutFacts | None:
        alarms = [self.state.alarms[a] for a in callout.alarm_ids if a in self.state.alarms]
        if not alarms:
            return None
        first = min(alarms, key=lambda a: a.received_at)
        by_agency: Counter[Agency] = Counter()
        for alarm in alarms:  # (Counter(iterable) checks for a Mapping first: slow)
            by_agency[alarm.agency] += 1
        cid = callout.callout_id
        return CalloutFacts(
            callout_id=cid, created_at=callout.created_at, lat=callout.location.lat,
            lon=callout.location.lon, priority=callout.priority, category=first.category,
            alarms=by_agency, sex=first.patient.sex,
            age_band=first.patient.age_band, children=first.patient.children,
            status=callout.status, outcome=callout.outcome, outcome_at=self._closed.get(cid),
            assigned_at=self._assigned.get(cid), arrival=self._arrived.get(cid))

