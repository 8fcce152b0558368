"""The dispatch state and the fold that builds it from events.

:meth:`DispatchState.apply` is the only thing that changes a state, one event at a time, with
no I/O, no clock and no decisions: everything it needs is in the event. Replaying the event log
into a fresh state therefore gives exactly the live state (a property test checks this).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, MutableSet
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from dispatch.cowdict import CowDict
from dispatch.errors import EventOutOfSequence, UnknownCallout, UnknownEvent, UnknownUnit
from dispatch.events import (
    AlarmReceived,
    AssignmentAcknowledged,
    AssignmentCancelled,
    AssignmentTimedOut,
    AssistRequested,
    CalloutCancelled,
    CalloutReopened,
    CalloutsMerged,
    CalloutSplit,
    Envelope,
    Event,
    MessageSent,
    NoteAdded,
    OutcomeRecorded,
    ShiftEnded,
    ShiftStarted,
    UnitAssigned,
    UnitPositionReported,
    UnitRegistered,
    UnitRetired,
    UnitStatusChanged,
    UnitUpdated,
)
from dispatch.fastinit import fast_init
from dispatch.model import Alarm, CrewMember, Location, Outcome, Priority
from dispatch.openindex import OpenCallouts
from dispatch.status import CalloutStatus, UnitStatus
from dispatch.visit_fold import VISIT_EVENTS, apply_visit_event
from dispatch.visits import DayPlan, Visit

__all__ = ["Callout", "DispatchState", "FollowUp", "Note", "Unit"]

_MAPS = ("units", "callouts", "alarms", "alarm_callout")
_set_attr = object.__setattr__

R = TypeVar("R")
_KEEP: Any = object()


def _updater(cls: type[R]) -> Callable[..., R]:
    """``update(record, **changes)``: what :func:`dataclasses.replace` returns for ``cls`` (a
    frozen, slotted dataclass with no ``__post_init__``), at about a third of its cost; the
    fold replaces a unit or a callout for almost every event. It fills the new record's slots
    directly; an unknown field name is a TypeError, as with ``replace``."""
    names, scope = _slot_scope(cls)
    scope["KEEP"] = _KEEP
    body = "".join(f"    set_{n}(o, r.{n} if {n} is KEEP else {n})\n" for n in names)
    source = (f"def update(r, *, {', '.join(f'{n}=KEEP' for n in names)}):\n"
              f"    o = new(cls)\n{body}    return o\n")
    exec(source, scope)  # generated from the field names only, as dataclasses does
    update: Callable[..., R] = scope["update"]
    update.__doc__ = f"A copy of a {cls.__name__} with the given fields changed."
    return update


def _slot_scope(cls: type[Any]) -> tuple[list[str], dict[str, Any]]:
    """The field names of a slotted record type and the scope its generated copy functions
    run in (the class, ``object.__new__`` and each slot's setter); refuses a type whose
    ``__post_init__`` a direct fill would skip."""
    if "__post_init__" in vars(cls) or not hasattr(cls, "__slots__"):
        raise TypeError(f"{cls.__name__} must be slotted and have no __post_init__")
    names = [f.name for f in dataclasses.fields(cls)]
    scope: dict[str, Any] = {"new": object.__new__, "cls": cls}
    scope.update({f"set_{n}": getattr(cls, n).__set__ for n in names})  # the slots
    return names, scope


def _copier(cls: type[R], *changed: str) -> Callable[..., R]:
    """``copy(record, *values)``: a copy of ``record`` (a ``cls``) with the fields ``changed``
    set to ``values``, in that order; what ``_updater(cls)(record, **dict(zip(changed,
    values)))`` returns. One per fold step that changes always the same fields of a unit or a
    callout: no keyword dict and no test per field of whether it changes."""
    names, scope = _slot_scope(cls)
    unknown = set(changed) - set(names)
    if unknown or len(set(changed)) != len(changed):
        raise TypeError(f"{cls.__name__} has no fields {sorted(unknown)} or names one twice")
    body = "".join(f"    set_{n}(o, {'v_' + n if n in changed else 'r.' + n})\n" for n in names)
    source = (f"def copy(r, {', '.join('v_' + n for n in changed)}):\n"
              f"    o = new(cls)\n{body}    return o\n")
    exec(source, scope)  # generated from the field names only, as dataclasses does
    copy: Callable[..., R] = scope["copy"]
    copy.__doc__ = f"A copy of a {cls.__name__} with {', '.join(changed)} changed."
    return copy


@dataclass(frozen=True, slots=True)
class Unit:
    """An MAE car and its crew as the dispatcher sees it.

    ``competences`` are the crew's on the current shift; ``registered_competences`` and ``seats``
    belong to the unit itself (its registration, e.g. from the region file). ``base_position`` is
    where its base is (``None`` only for a unit an old log registered without one). A
    ``retired`` unit is off duty for good and never assignable; it stays for the history."""

    unit_id: str
    name: str
    base: str
    position: Location
    status: UnitStatus = UnitStatus.OFF_DUTY
    status_since: datetime | None = None
    crew: tuple[CrewMember, ...] = ()
    competences: tuple[str, ...] = ()
    shift_ends_at: datetime | None = None
    callout_id: str | None = None
    position_at: datetime | None = None
    registered_competences: tuple[str, ...] = ()
    seats: int | None = None
    base_position: Location | None = None
    retired: bool = False
    #: The callout whose assignment this unit last let time out unacknowledged (None once it
    #: acknowledges one again): the dispatcher sees it flagged when it is recommended again.
    missed_ack: str | None = None


@dataclass(frozen=True, slots=True)
class Note:
    at: datetime
    actor: str
    text: str


@fast_init
@dataclass(frozen=True, slots=True)
class Callout:
    """One incident: the alarms about it, who is assigned, where it stands, how it ended.
    ``on_scene_at`` is when its unit first reported on scene (the crew's press time when it
    waited offline): the end of the response time that starts at ``created_at``."""

    callout_id: str
    created_at: datetime
    location: Location
    priority: Priority
    alarm_ids: tuple[str, ...]
    status: CalloutStatus = CalloutStatus.WAITING
    unit_id: str | None = None
    eta_s: float | None = None
    ack_deadline: datetime | None = None
    ack_overdue: bool = False
    outcome: Outcome | None = None
    merged_into: str | None = None
    last_alarm_at: datetime | None = None
    notes: tuple[Note, ...] = ()
    on_scene_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_code: str = ""

    @property
    def response_s(self) -> float | None:
        """Seconds from the first alarm to the unit on scene (None before it is)."""
        if self.on_scene_at is None:
            return None
        return (self.on_scene_at - self.created_at).total_seconds()


_update_unit = _updater(Unit)
_update_callout = _updater(Callout)
# The fold's most frequent copies, one per set of changed fields (see _copier).
_unit_status = _copier(Unit, "status", "status_since")
_unit_position = _copier(Unit, "position", "position_at")
_unit_callout = _copier(Unit, "callout_id")
_unit_assigned = _copier(Unit, "status", "status_since", "callout_id")
_unit_released = _copier(Unit, "callout_id", "status", "status_since")
_unit_on_shift = _copier(Unit, "status", "status_since", "crew", "competences", "shift_ends_at")
_unit_off_shift = _copier(Unit, "status", "status_since", "crew", "shift_ends_at")
_callout_assigned = _copier(Callout, "status", "unit_id", "eta_s", "ack_deadline", "ack_overdue")
_callout_acknowledged = _copier(Callout, "status", "ack_deadline", "ack_overdue")
_callout_follows = _copier(Callout, "status", "ack_deadline")
_callout_closed = _copier(Callout, "status", "outcome")
_callout_cancelled = _copier(Callout, "status", "ack_deadline", "cancelled_at", "cancel_code")


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A planned follow-up home visit an outcome asked for."""

    callout_id: str
    at: datetime
    location: Location
    requested_by: str


def _copied(value: Any) -> Any:
    if isinstance(value, CowDict):
        return value.fork()
    if isinstance(value, OpenCallouts):
        return value.copy()
    return value.copy() if isinstance(value, dict | list | set) else value


@dataclass
class DispatchState:
    """Units, callouts, alarms and follow-ups, as of event ``last_seq``.

    The maps are :class:`~dispatch.cowdict.CowDict` (a plain dict given or assigned for one
    is taken over as one), so :meth:`fork` costs the recent changes, not the whole history."""

    units: CowDict[str, Unit] = field(default_factory=CowDict)
    callouts: CowDict[str, Callout] = field(default_factory=CowDict)
    alarms: CowDict[str, Alarm] = field(default_factory=CowDict)
    alarm_callout: CowDict[str, str] = field(default_factory=CowDict)
    follow_ups: list[FollowUp] = field(default_factory=list)
    last_seq: int = 0
    callout_counter: int = 0
    #: Ids of the open callouts, kept by the fold so reading them does not scan every callout
    #: ever closed (a long-running service or a simulated year holds thousands).
    #: Also files them by place for the merge check (:mod:`dispatch.openindex`).
    open_ids: MutableSet[str] = field(default_factory=OpenCallouts, repr=False, compare=False)
    #: Follow-up visits by id (:mod:`dispatch.visits`), how many were ever booked, and the
    #: latest plan of each local day (``YYYY-MM-DD``); folded by :mod:`dispatch.visit_fold`.
    visits: dict[str, Visit] = field(default_factory=dict)
    visit_counter: int = 0
    day_plans: dict[str, DayPlan] = field(default_factory=dict)

    def __setattr__(self, name: str, value: Any) -> None:
        # A plain dict given for a map (by a snapshot, a test, a copy) is taken over as a
        # CowDict; another mapping (one still being decoded) is kept as it is.
        if type(value) is dict and name in _MAPS:
            value = CowDict.adopt(value)
        object.__setattr__(self, name, value)

    def __post_init__(self) -> None:
        ids = self.open_ids
        if not isinstance(ids, OpenCallouts) or not ids.filed:  # from a snapshot or a copy
            self.open_ids = OpenCallouts.of(ids, self.callouts)

    @classmethod
    def unshared(cls) -> DispatchState:
        """An empty state whose maps (and open index) are plain dicts, for a driver that
        never forks it: the simulator and the statistics fold. A dict reads and writes in C,
        a CowDict through Python methods: about a tenth of a simulated run. It folds events
        exactly as any state; a :meth:`fork` of it is correct too, only not cheap (it copies
        every entry once, into a CowDict state)."""
        state = cls(open_ids=OpenCallouts(shared=False))
        for name in _MAPS:
            _set_attr(state, name, {})  # past __setattr__, which would take it over as a CowDict
        return state

    # -- reading ------------------------------------------------------------------------

    def unit(self, unit_id: str) -> Unit:
        try:
            return self.units[unit_id]
        except KeyError:
            raise UnknownUnit(unit_id) from None

    def callout(self, callout_id: str) -> Callout:
        try:
            return self.callouts[callout_id]
        except KeyError:
            raise UnknownCallout(callout_id) from None

    def open_callouts(self, keep: Callable[[Callout], bool] | None = None) -> list[Callout]:
        """Open callouts (only those ``keep`` accepts, if given: they alone are sorted, which
        counts when thousands are open), most urgent first, then oldest first."""
        found = (self.callouts[i] for i in self.open_ids)
        return sorted(found if keep is None else filter(keep, found),
                      key=lambda c: (c.priority, c.created_at, c.callout_id))

    def waiting_callouts(self) -> list[Callout]:
        """Callouts no unit has taken yet, most urgent and longest waiting first."""
        return [c for c in self.open_callouts() if c.status is CalloutStatus.WAITING]

    def free_units(self) -> list[Unit]:
        return [u for u in self.units.values()
                if u.status.is_free and u.callout_id is None and not u.retired]

    def active_units(self) -> list[Unit]:
        """The units not retired (the fleet a region has now), in id order."""
        return sorted((u for u in self.units.values() if not u.retired), key=lambda u: u.unit_id)

    def next_callout_id(self) -> str:
        return f"C{self.callout_counter + 1:06d}"

    def next_visit_id(self) -> str:
        return f"V{self.visit_counter + 1:06d}"

    def planned_unit(self, visit_id: str) -> str | None:
        """The unit the newest day plan that has ``visit_id`` on a route gives it to."""
        for day in sorted(self.day_plans, reverse=True):
            unit_id = self.day_plans[day].unit_of(visit_id)
            if unit_id is not None:
                return unit_id
        return None

    def snapshot(self) -> dict[str, Any]:
        """A comparable plain-data view of the whole state (used to check replay = live)."""
        return {
            "units": {k: dataclasses.asdict(v) for k, v in sorted(self.units.items())},
            "callouts": {k: dataclasses.asdict(v) for k, v in sorted(self.callouts.items())},
            "alarms": sorted(self.alarms),
            "alarm_callout": dict(sorted(self.alarm_callout.items())),
            "follow_ups": [dataclasses.asdict(f) for f in self.follow_ups],
            "last_seq": self.last_seq,
            "callout_counter": self.callout_counter,
            "visits": {k: dataclasses.asdict(v) for k, v in sorted(self.visits.items())},
            "visit_counter": self.visit_counter,
            "day_plans": {k: dataclasses.asdict(v) for k, v in sorted(self.day_plans.items())},
        }

    def fork(self) -> DispatchState:
        """A copy that later changes to this state do not reach, and the other way round: what
        a group commit decides ahead on, and what advice and snapshots read in a worker thread
        while the live state moves on. Every container field is copied (so a field the state
        gains is copied too): the maps and the open index copy on write, in time proportional
        to their recent changes; the units, callouts and alarms in them are immutable."""
        return DispatchState(**{
            f.name: _copied(getattr(self, f.name)) for f in dataclasses.fields(self)})

    def note_position(self, unit_id: str, position: Location, at: datetime) -> bool:
        """Where a unit was seen at ``at``: kept outside the event log (positions are many and
        short-lived), fed by the service shell from live reports and, on restart, from its
        positions table. An older report than the one known is ignored; returns whether the
        position was taken (never for a retired unit). Raises UnknownUnit."""
        unit = self.unit(unit_id)
        if unit.retired or (unit.position_at is not None and at < unit.position_at):
            return False
        self.units[unit_id] = _unit_position(unit, position, at)  # as the logged report's step
        return True

    # -- the fold -----------------------------------------------------------------------

    @classmethod
    def replay(cls, envelopes: Any) -> DispatchState:
        """A fresh state with every envelope of ``envelopes`` applied in order."""
        state = cls()
        for env in envelopes:
            state.apply(env)
        return state

    def apply(self, envelope: Envelope) -> None:
        """Apply one logged event. Sequence numbers must increase by exactly one
        (:class:`EventOutOfSequence` otherwise); anything but a core event is
        :class:`UnknownEvent`."""
        if envelope.seq != self.last_seq + 1:
            raise EventOutOfSequence(envelope.seq, self.last_seq)
        event = envelope.event
        step = _STEPS.get(type(event)) or _step_for(type(event))
        step(self, event)
        _set_attr(self, "last_seq", envelope.seq)  # not a map: no need of __setattr__ below

    def _set_unit(self, unit_id: str, **changes: Any) -> None:
        units = self.units
        units[unit_id] = _update_unit(units[unit_id], **changes)

    def _set_callout(self, callout_id: str, **changes: Any) -> None:
        old = self.callouts[callout_id]
        self._put_callout(old, _update_callout(old, **changes))

    def _put_callout(self, old: Callout, new: Callout) -> None:
        """Keep ``new``, a changed copy of ``old``."""
        callout_id = old.callout_id
        if new.location is old.location and new.status.is_open is old.status.is_open:
            self.callouts[callout_id] = new  # filed in open_ids as before: same place, same state
        else:
            self._store(new)

    def _store(self, callout: Callout) -> None:
        self.callouts[callout.callout_id] = callout
        ids = self.open_ids
        if isinstance(ids, OpenCallouts):
            ids.put(callout)
        elif callout.status.is_open:
            ids.add(callout.callout_id)
        else:
            ids.discard(callout.callout_id)

    def _release_unit(self, unit_id: str | None, at: datetime) -> None:
        """A unit whose assignment ended before it reached the scene becomes free again."""
        if unit_id is None or unit_id not in self.units:
            return
        units = self.units
        unit = units[unit_id]
        status = UnitStatus.AVAILABLE if unit.status.is_busy else unit.status
        units[unit_id] = _unit_released(unit, None, status, at)

    def _on_visit_event(self, e: Event) -> None:
        apply_visit_event(self, e)

    def _on_UnitRegistered(self, e: UnitRegistered) -> None:
        # A retired unit registered again starts afresh, off duty at its base.
        self.units[e.unit_id] = Unit(
            unit_id=e.unit_id, name=e.name, base=e.base, position=e.position, status_since=e.at,
            registered_competences=e.competences, seats=e.seats, base_position=e.position,
        )

    def _on_UnitUpdated(self, e: UnitUpdated) -> None:
        changes: dict[str, Any] = {
            "name": e.name, "base": e.base, "base_position": e.base_position,
            "registered_competences": e.competences, "seats": e.seats,
        }
        if e.position is not None:  # moved to its new base: a position older than this is stale
            changes.update(position=e.position, position_at=e.at)
        self._set_unit(e.unit_id, **changes)

    def _on_UnitRetired(self, e: UnitRetired) -> None:
        self._set_unit(
            e.unit_id, retired=True, status=UnitStatus.OFF_DUTY, status_since=e.at, crew=(),
            competences=(), shift_ends_at=None,
        )

    def _on_ShiftStarted(self, e: ShiftStarted) -> None:
        units = self.units
        units[e.unit_id] = _unit_on_shift(
            units[e.unit_id], UnitStatus.AVAILABLE, e.at, e.crew, e.competences, e.ends_at)

    def _on_ShiftEnded(self, e: ShiftEnded) -> None:
        units = self.units
        units[e.unit_id] = _unit_off_shift(units[e.unit_id], UnitStatus.OFF_DUTY, e.at, (), None)

    def _on_AlarmReceived(self, e: AlarmReceived) -> None:
        alarm = e.alarm
        self.alarms[alarm.alarm_id] = alarm
        self.alarm_callout[alarm.alarm_id] = e.callout_id
        existing = self.callouts.get(e.callout_id)
        if existing is None:
            self.callout_counter += 1
            self._store(Callout(
                callout_id=e.callout_id,
                created_at=alarm.received_at,
                location=alarm.location,
                priority=alarm.priority,
                alarm_ids=(alarm.alarm_id,),
                last_alarm_at=alarm.received_at,
            ))
        else:
            self._set_callout(
                e.callout_id,
                alarm_ids=(*existing.alarm_ids, alarm.alarm_id),
                priority=min(existing.priority, alarm.priority),
                last_alarm_at=max(existing.last_alarm_at or alarm.received_at, alarm.received_at),
            )

    def _on_CalloutsMerged(self, e: CalloutsMerged) -> None:
        source = self.callouts[e.source_id]
        target = self.callouts[e.target_id]
        for alarm_id in source.alarm_ids:
            self.alarm_callout[alarm_id] = e.target_id
        self._set_callout(
            e.target_id,
            alarm_ids=(*target.alarm_ids, *source.alarm_ids),
            priority=min(target.priority, source.priority),
            notes=(*target.notes, *source.notes),
        )
        self._set_callout(
            e.source_id,
            status=CalloutStatus.MERGED,
            merged_into=e.target_id,
            alarm_ids=(),
            unit_id=None,
            ack_deadline=None,
            eta_s=None,
        )

    def _on_CalloutSplit(self, e: CalloutSplit) -> None:
        callout = self.callouts[e.callout_id]
        alarm = self.alarms[e.alarm_id]
        rest = tuple(a for a in callout.alarm_ids if a != e.alarm_id)
        self._set_callout(
            e.callout_id, alarm_ids=rest, priority=min(self.alarms[a].priority for a in rest)
        )
        self.alarm_callout[e.alarm_id] = e.new_callout_id
        self.callout_counter += 1
        self._store(Callout(
            callout_id=e.new_callout_id,
            created_at=alarm.received_at,
            location=alarm.location,
            priority=alarm.priority,
            alarm_ids=(e.alarm_id,),
            last_alarm_at=alarm.received_at,
        ))

    def _on_UnitAssigned(self, e: UnitAssigned) -> None:
        old = self.callouts[e.callout_id]
        self._put_callout(old, _callout_assigned(
            old, CalloutStatus.ASSIGNED, e.unit_id, e.eta_s, e.ack_deadline, False))
        units = self.units
        units[e.unit_id] = _unit_assigned(
            units[e.unit_id], UnitStatus.DISPATCHED, e.at, e.callout_id)

    def _on_AssignmentAcknowledged(self, e: AssignmentAcknowledged) -> None:
        old = self.callouts[e.callout_id]
        self._put_callout(old, _callout_acknowledged(old, CalloutStatus.ACKNOWLEDGED, None, False))
        if e.unit_id in self.units and self.units[e.unit_id].missed_ack is not None:
            self._set_unit(e.unit_id, missed_ack=None)

    def _on_AssignmentTimedOut(self, e: AssignmentTimedOut) -> None:
        self._set_callout(
            e.callout_id,
            status=CalloutStatus.WAITING,
            unit_id=None,
            ack_deadline=None,
            eta_s=None,
            ack_overdue=True,
        )
        self._release_unit(e.unit_id, e.at)
        if e.unit_id in self.units:
            self._set_unit(e.unit_id, missed_ack=e.callout_id)

    def _on_AssignmentCancelled(self, e: AssignmentCancelled) -> None:
        self._set_callout(
            e.callout_id, status=CalloutStatus.WAITING, unit_id=None, ack_deadline=None, eta_s=None
        )
        self._release_unit(e.unit_id, e.at)

    def _on_UnitStatusChanged(self, e: UnitStatusChanged) -> None:
        units = self.units
        unit = units[e.unit_id]
        units[e.unit_id] = _unit_status(unit, e.status, e.effective_at)
        if unit.callout_id is not None and e.status in _FOLLOW:
            old = self.callouts[unit.callout_id]
            if e.status is UnitStatus.ON_SCENE and old.on_scene_at is None:
                self._set_callout(unit.callout_id, status=_FOLLOW[e.status], ack_deadline=None,
                                  on_scene_at=e.effective_at)
            else:
                self._put_callout(old, _callout_follows(old, _FOLLOW[e.status], None))

    def _on_UnitPositionReported(self, e: UnitPositionReported) -> None:
        units = self.units
        units[e.unit_id] = _unit_position(units[e.unit_id], e.position, e.at)

    def _on_OutcomeRecorded(self, e: OutcomeRecorded) -> None:
        callout = self.callouts[e.callout_id]
        self._put_callout(callout, _callout_closed(callout, CalloutStatus.CLOSED, e.outcome))
        units = self.units
        units[e.unit_id] = _unit_callout(units[e.unit_id], None)
        if e.outcome.follow_up_at is not None:
            self.follow_ups.append(
                FollowUp(
                    callout_id=e.callout_id,
                    at=e.outcome.follow_up_at,
                    location=callout.location,
                    requested_by=e.unit_id,
                )
            )

    def _on_CalloutCancelled(self, e: CalloutCancelled) -> None:
        callout = self.callouts[e.callout_id]
        self._put_callout(callout, _callout_cancelled(
            callout, CalloutStatus.CANCELLED, None, e.at, e.code))
        self._release_unit(callout.unit_id, e.at)

    def _on_CalloutReopened(self, e: CalloutReopened) -> None:
        # The cancel released the unit, so the callout waits for one again.
        self._set_callout(e.callout_id, status=CalloutStatus.WAITING, unit_id=None, eta_s=None,
                          ack_deadline=None, ack_overdue=False, cancelled_at=None,
                          cancel_code="")

    def _on_AssistRequested(self, e: AssistRequested) -> None:
        if e.position is not None:  # where the crew is now (also for recommendations)
            self.note_position(e.unit_id, e.position, e.at)

    def _on_MessageSent(self, e: MessageSent) -> None:
        """Messages live in the log and on the pages, not in the state."""

    def _on_NoteAdded(self, e: NoteAdded) -> None:
        callout = self.callouts[e.callout_id]
        self._set_callout(e.callout_id, notes=(*callout.notes, Note(e.at, e.actor, e.text)))


#: The callout status a unit's status moves its callout to.
_FOLLOW = {
    UnitStatus.EN_ROUTE: CalloutStatus.EN_ROUTE,
    UnitStatus.ON_SCENE: CalloutStatus.ON_SCENE,
    UnitStatus.TRANSPORTING: CalloutStatus.TRANSPORTING,
}

_Step = Callable[[DispatchState, Any], None]
#: The fold step of each event type met so far (see :func:`_step_for`).
_STEPS: dict[type, _Step] = {}


def _step_for(kind: type) -> _Step:
    """How :meth:`DispatchState.apply` folds an event of type ``kind``: its ``_on_<name>``
    method, or the visit fold; :class:`UnknownEvent` for anything else. Remembered per type, so
    applying an event costs one dict lookup instead of building a method name."""
    step: _Step | None = getattr(DispatchState, "_on_" + kind.__name__, None) \
        if issubclass(kind, Event) else None
    if step is None and issubclass(kind, VISIT_EVENTS):
        step = DispatchState._on_visit_event
    if step is None:
        raise UnknownEvent(kind.__name__)
    _STEPS[kind] = step
    return step
