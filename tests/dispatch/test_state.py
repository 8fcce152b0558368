"""Invariants of the dispatch fold, on random command sequences (Hypothesis).

Whatever dispatchers, crews and agencies send, in any order: a refused command changes nothing,
a unit never serves two callouts, no alarm or callout is ever lost, and replaying the event log
(also through its JSON form) gives exactly the live state.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.commands import (
    Acknowledge,
    AddNote,
    Assign,
    CancelCallout,
    Command,
    EndShift,
    MergeCallouts,
    Reassign,
    ReceiveAlarm,
    RecordOutcome,
    RegisterUnit,
    ReportPosition,
    ReportStatus,
    RetireUnit,
    SplitCallout,
    StartShift,
    Tick,
    UpdateUnit,
    decide,
)
from dispatch.cowdict import CowDict
from dispatch.errors import DispatchError, EventOutOfSequence, UnknownEvent
from dispatch.events import (
    Envelope,
    Event,
    ShiftEnded,
    UnitAssigned,
    event_from_dict,
    event_to_dict,
)
from dispatch.model import (
    Agency,
    Alarm,
    Category,
    CrewMember,
    Location,
    Outcome,
    OutcomeKind,
    Priority,
)
from dispatch.state import Callout, DispatchState, Unit, _updater
from dispatch.status import CalloutStatus, UnitStatus

T0 = datetime(2026, 1, 15, 14, 0, tzinfo=UTC)
UNITS = ("U1", "U2", "U3")
SPOTS = (Location(65.584, 22.154), Location(65.5855, 22.155), Location(65.317, 21.48))
CALLOUTS = tuple(f"C{i:06d}" for i in range(1, 4))
WORKFLOW = (UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE, UnitStatus.TRANSPORTING,
            UnitStatus.AT_FACILITY, UnitStatus.AVAILABLE, UnitStatus.RETURNING)

alarms = st.builds(
    lambda agency, ref, spot, prio, cat, dt: Alarm(
        agency=agency, reference=f"R{ref}", received_at=T0 + timedelta(minutes=dt),
        location=SPOTS[spot], priority=prio, category=cat, note="patient text",
    ),
    st.sampled_from(Agency), st.integers(0, 5), st.integers(0, 2), st.sampled_from(Priority),
    st.sampled_from([Category.PSYCHOSIS, Category.SUICIDE_RISK, Category.FOLLOW_UP]),
    st.integers(0, 40),
)
OUTCOMES = (
    Outcome(OutcomeKind.STAYED_HOME),
    Outcome(OutcomeKind.TRANSPORTED_MAE, facility="Sunderby sjukhus"),
    Outcome(OutcomeKind.STAYED_HOME, follow_up_at=T0 + timedelta(days=1)),
)


def draw_command(data: st.DataObject, state: DispatchState) -> Command:
    """A command that refers to what exists now most of the time, and to nonsense sometimes."""
    known = sorted(state.callouts) or ["C000001"]
    callout = data.draw(st.sampled_from([*known, "C999999"]))
    unit = data.draw(st.sampled_from([*UNITS, "U9"]))
    on_unit = state.units.get(unit)
    own = on_unit.callout_id if on_unit and on_unit.callout_id else callout
    kind = data.draw(st.sampled_from([
        "alarm", "alarm", "assign", "assign", "reassign", "ack", "status", "status", "status",
        "outcome", "outcome", "position", "cancel", "merge", "split", "note", "tick", "shift",
        "end", "update", "retire", "register",
    ]))
    if kind == "alarm":
        return ReceiveAlarm(data.draw(alarms))
    if kind == "assign":
        return Assign(callout, unit, 600.0)
    if kind == "reassign":
        return Reassign(callout, unit)
    if kind == "ack":
        return Acknowledge(unit, own)
    if kind == "status":
        status = data.draw(st.sampled_from([*WORKFLOW, *WORKFLOW, *UnitStatus]))
        return ReportStatus(unit, status, "Sunderby sjukhus")
    if kind == "outcome":
        return RecordOutcome(unit, own, data.draw(st.sampled_from(OUTCOMES)))
    if kind == "position":
        return ReportPosition(unit, data.draw(st.sampled_from(SPOTS)))
    if kind == "cancel":
        return CancelCallout(callout, "agency withdrew")
    if kind == "merge":
        return MergeCallouts(callout, data.draw(st.sampled_from(known)))
    if kind == "split":
        alarm_ids = sorted(state.alarms) or ["police/R0"]
        return SplitCallout(callout, data.draw(st.sampled_from(alarm_ids)))
    if kind == "note":
        return AddNote(callout, "worried neighbour")
    if kind == "shift":
        return StartShift(unit, ("nurse A", "nurse B"), T0 + timedelta(hours=8))
    if kind == "end":
        return EndShift(unit)
    if kind == "update":
        spot = data.draw(st.sampled_from(SPOTS))
        return UpdateUnit(unit, f"MAE {unit} {spot.lat}", "base", spot,
                          competences=data.draw(st.sampled_from([(), ("doctor",)])),
                          seats=data.draw(st.sampled_from([None, 2, 3])))
    if kind == "retire":
        return RetireUnit(unit)
    if kind == "register":  # a retired unit comes back; any other is refused
        return RegisterUnit(unit, f"MAE {unit}", "base", data.draw(st.sampled_from(SPOTS)))
    return Tick()


def _setup(state: DispatchState | None = None) -> tuple[DispatchState, list[Envelope]]:
    state = DispatchState() if state is None else state
    log: list[Envelope] = []
    for i, unit_id in enumerate(UNITS):
        run(state, log, RegisterUnit(unit_id, f"MAE {unit_id}", "base", SPOTS[i]), T0)
        if unit_id != "U3":  # U3 starts off duty
            run(state, log, StartShift(unit_id, ("nurse",), T0 + timedelta(hours=8)), T0)
    return state, log


def run(state: DispatchState, log: list[Envelope], command: Command, now: datetime) -> bool:
    """Decide and apply like the shell does; False if the command was refused."""
    try:
        decision = decide(state, command, now=now, actor="tester")
    except DispatchError:
        return False
    for event in decision.events:
        env = Envelope(state.last_seq + 1, event)
        log.append(env)
        state.apply(env)
    return True


def check_invariants(state: DispatchState) -> None:
    serving: dict[str, str] = {}
    for callout in state.callouts.values():
        if callout.unit_id is not None and callout.status.is_open:
            assert callout.unit_id not in serving, "a unit serves two callouts"
            serving[callout.unit_id] = callout.callout_id
            assert state.units[callout.unit_id].callout_id == callout.callout_id
        if callout.merged_into is not None:
            assert callout.merged_into in state.callouts
    for unit in state.units.values():
        if unit.callout_id is not None:
            assert serving.get(unit.unit_id) == unit.callout_id
            assert unit.status.is_busy
        if unit.retired:
            assert unit.status is UnitStatus.OFF_DUTY and unit.callout_id is None
            assert unit not in state.free_units()
    for alarm_id in state.alarms:
        holder = state.callouts[state.alarm_callout[alarm_id]]
        assert alarm_id in holder.alarm_ids, "an alarm was lost"
    held = [a for c in state.callouts.values() for a in c.alarm_ids]
    assert sorted(held) == sorted(state.alarms), "an alarm is in no callout or in two"


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_random_sequences_keep_the_invariants_and_replay_exactly(data: st.DataObject) -> None:
    state, log = _setup()
    now = T0
    for _ in range(data.draw(st.integers(0, 120))):
        command = draw_command(data, state)
        now += timedelta(seconds=data.draw(st.integers(0, 120)))
        before = state.snapshot()
        accepted = run(state, log, command, now)
        if not accepted:
            assert state.snapshot() == before, "a refused command changed the state"
        check_invariants(state)
    assert DispatchState.replay(log).snapshot() == state.snapshot()
    via_json = [Envelope(e.seq, event_from_dict(event_to_dict(e.event))) for e in log]
    assert DispatchState.replay(via_json).snapshot() == state.snapshot()


def test_an_event_out_of_sequence_is_refused_and_changes_nothing() -> None:
    """A gap or a repeat in the log is the package's error, still a ``ValueError``."""
    state, log = _setup()
    before = state.snapshot()
    for seq in (len(log) + 2, len(log), 1):
        with pytest.raises(EventOutOfSequence) as refused:
            state.apply(Envelope(seq, ShiftEnded(at=T0, unit_id="U1")))
        assert isinstance(refused.value, ValueError) and isinstance(refused.value, DispatchError)
        assert str(refused.value) == f"event {seq} applied after {len(log)}: gap or repeat"
    assert state.snapshot() == before


def test_something_that_is_not_a_core_event_is_refused() -> None:
    @dataclass(frozen=True, slots=True, kw_only=True)
    class UnitRepainted(Event):
        unit_id: str

    state, log = _setup()
    with pytest.raises(UnknownEvent, match="UnitRepainted is not a dispatch event") as refused:
        state.apply(Envelope(len(log) + 1, UnitRepainted(at=T0, unit_id="U1")))
    assert isinstance(refused.value, TypeError) and state.last_seq == len(log)
    with pytest.raises(UnknownEvent, match="str is not a dispatch event"):
        state.apply(Envelope(len(log) + 1, "UnitRegistered"))  # type: ignore[arg-type]


@pytest.mark.parametrize("unshared", [False, True], ids=["cowdict", "unshared"])
@settings(max_examples=100, deadline=None)
@given(st.data())
def test_a_fork_changes_apart_from_its_state_and_replays_onto_it(
        unshared: bool, data: st.DataObject) -> None:
    """What a group commit relies on: commands decided and applied on ``fork()`` leave the
    original untouched, and the same events applied to the original give the fork's state,
    while a second fork taken before does not change with the original; so too for forks of
    an unshared state (plain dicts: a fork copies them once)."""
    state, _ = _setup(DispatchState.unshared() if unshared else None)
    before = state.snapshot()
    bystander = state.fork()
    fork = state.fork()
    log: list[Envelope] = []
    now = T0
    for _ in range(data.draw(st.integers(0, 60))):
        now += timedelta(seconds=data.draw(st.integers(0, 120)))
        run(fork, log, draw_command(data, fork), now)
    assert state.snapshot() == before
    assert state.open_ids == {c for c, v in state.callouts.items() if v.status.is_open}
    for env in log:
        state.apply(env)
    assert state.snapshot() == fork.snapshot() and state.open_ids == fork.open_ids
    assert bystander.snapshot() == before
    assert bystander.open_ids == {c for c, v in bystander.callouts.items() if v.status.is_open}


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_an_unshared_state_decides_and_folds_as_a_state_does(
        data: st.DataObject) -> None:
    """The simulator's and the statistics' state (plain dicts, never forked): the same
    commands are accepted or refused alike and log the same events, and the states agree (the
    open index too)."""
    state, log = _setup()
    plain, plain_log = _setup(DispatchState.unshared())
    assert all(type(getattr(plain, name)) is dict
               for name in ("units", "callouts", "alarms", "alarm_callout"))
    now = T0
    for _ in range(data.draw(st.integers(0, 120))):
        command = draw_command(data, state)
        now += timedelta(seconds=data.draw(st.integers(0, 120)))
        assert run(state, log, command, now) == run(plain, plain_log, command, now)
    assert plain_log == log
    assert plain.snapshot() == state.snapshot() and plain.open_ids == state.open_ids


def test_a_fork_copies_every_container_field_of_the_state() -> None:
    """One copy for group commits and snapshots: each dict, list and set field of the fork is
    its own object with the same contents (a field the state gains is covered too)."""
    state, _ = _setup()
    fork = state.fork()
    for f in dataclasses.fields(DispatchState):
        mine, theirs = getattr(state, f.name), getattr(fork, f.name)
        assert mine == theirs, f.name
        if isinstance(mine, dict | list | set | CowDict):
            assert mine is not theirs, f"{f.name} is shared with the fork"


def _many_alarms(n: int, start: int) -> list[ReceiveAlarm]:
    """``n`` alarms far apart (never joined), so each adds a callout, an alarm and a link."""
    spots = [Location(55.0 + k % 200 * 0.05, 12.0 + k // 200 * 0.05)
             for k in range(start, start + n)]
    return [ReceiveAlarm(Alarm(Agency.POLICE, f"R{start + i}", T0, spot, Priority.URGENT,
                               Category.PSYCHOSIS)) for i, spot in enumerate(spots)]


@settings(max_examples=10, deadline=None)
@given(st.data())
def test_a_fork_and_its_state_both_change_apart_past_many_merges(data: st.DataObject) -> None:
    """Both ways: after a fork, hundreds of changes on each side (enough to fold each side's
    recent changes into a new shared base several times) never reach the other side, and
    each side equals a replay of its own log."""
    state, log = _setup()
    for command in _many_alarms(data.draw(st.integers(0, 300)), 0):
        run(state, log, command, T0)
    fork, fork_log = state.fork(), list(log)
    before = state.snapshot()
    for command in _many_alarms(data.draw(st.integers(150, 250)), 1_000):
        run(fork, fork_log, command, T0)
    now = T0
    for _ in range(data.draw(st.integers(0, 40))):
        now += timedelta(seconds=data.draw(st.integers(0, 120)))
        run(fork, fork_log, draw_command(data, fork), now)
    assert state.snapshot() == before
    for command in _many_alarms(data.draw(st.integers(150, 250)), 5_000):
        run(state, log, command, T0)
    for mine, mine_log in ((state, log), (fork, fork_log)):
        assert mine.snapshot() == DispatchState.replay(mine_log).snapshot()
        assert list(mine.callouts) == [c.callout_id for c in mine.callouts.values()]
        assert len(mine.alarms) == len(list(mine.alarms)) == len(mine.alarm_callout)
    assert "police/R1000" in fork.alarms and "police/R1000" not in state.alarms
    assert "police/R5000" in state.alarms and "police/R5000" not in fork.alarms


def test_an_event_that_fails_halfway_on_a_fork_leaves_the_committed_state_untouched() -> None:
    """A group commit decides and applies ahead on a fork: when an event fails midway through
    its fold (here an assignment whose unit does not exist, after its callout was changed)
    the fork is left half-changed, and the live state must not see any of it."""
    state, log = _setup()
    for command in _many_alarms(200, 0):
        run(state, log, command, T0)
    before = state.snapshot()
    fork = state.fork()
    run(fork, [], _many_alarms(1, 900)[0], T0)
    callout_id = next(iter(state.open_ids))
    with pytest.raises(KeyError):
        fork.apply(Envelope(fork.last_seq + 1, UnitAssigned(
            at=T0, callout_id=callout_id, unit_id="U404", eta_s=60.0, ack_deadline=T0)))
    assert fork.callouts[callout_id].unit_id == "U404"  # the fork did change halfway
    assert state.snapshot() == before
    assert state.callouts[callout_id].unit_id is None
    assert state.open_ids == {c for c, v in state.callouts.items() if v.status.is_open}


def test_a_noted_position_moves_the_unit_and_an_older_one_never_replaces_it() -> None:
    """Positions the shell keeps outside the log reach the state through note_position."""
    state, _ = _setup()
    unit = UNITS[0]
    assert state.note_position(unit, Location(65.5, 22.0), T0 + timedelta(seconds=10))
    assert not state.note_position(unit, Location(65.6, 22.0), T0 + timedelta(seconds=5))
    assert state.units[unit].position == Location(65.5, 22.0)
    assert state.units[unit].position_at == T0 + timedelta(seconds=10)
    with pytest.raises(KeyError):
        state.note_position("nobody", Location(65.5, 22.0), T0)


@pytest.mark.parametrize("kind", [Unit, Callout])
def test_the_folds_record_update_gives_what_dataclasses_replace_gives(
        kind: type[Unit] | type[Callout]) -> None:
    """The fold's fast copy of a unit or callout with some fields changed (it fills the slots
    directly) is exactly ``dataclasses.replace``, field by field; a name that is not a field
    is refused as ``replace`` refuses it."""
    state, log = _setup()
    for command in _many_alarms(3, 0):
        run(state, log, command, T0)
    record = state.units[UNITS[0]] if kind is Unit else next(iter(state.callouts.values()))
    update = _updater(kind)
    values: dict[str, Any] = {  # by field name: each field's own type
        "status": UnitStatus.RETURNING if kind is Unit else CalloutStatus.CLOSED,
        "position": Location(66.0, 20.0), "location": Location(66.0, 20.0),
        "crew": (CrewMember("Anna"),), "alarm_ids": ("a/1", "b/2"), "retired": True,
        "priority": Priority.URGENT, "seats": 4, "eta_s": 12.5, "ack_overdue": True}
    for f in dataclasses.fields(kind):
        new = values.get(f.name, T0 + timedelta(hours=1) if "_at" in f.name or "since" in
                         f.name or "deadline" in f.name else f"changed-{f.name}")
        changed = update(record, **{f.name: new})
        assert changed == dataclasses.replace(record, **{f.name: new})
        assert type(changed) is kind and getattr(changed, f.name) == new
    assert update(record) == record and update(record) is not record
    with pytest.raises(TypeError):
        update(record, colour="red")
    with pytest.raises(TypeError):
        _updater(Location)  # validates itself in __post_init__: not for this copy
