"""The dispatch rules, one behaviour per test, driven through ``decide`` like the shell does."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest

from dispatch import command_types, commands
from dispatch.commands import (
    HANDLERS,
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
    ReportStatus,
    SendMessage,
    SplitCallout,
    StartShift,
    Tick,
    decide,
    handler_for,
)
from dispatch.errors import (
    DispatchError,
    InvalidCommand,
    InvalidTransition,
    UnknownCallout,
    UnknownCommand,
    UnknownUnit,
)
from dispatch.events import AlarmReceived, AssignmentTimedOut, Envelope
from dispatch.model import (
    AgeBand,
    Agency,
    Alarm,
    Category,
    Children,
    Location,
    Outcome,
    OutcomeKind,
    Patient,
    Priority,
    Sex,
    redact_personal_numbers,
)
from dispatch.status import CalloutStatus, UnitStatus
from maps.graph import haversine_m
from tests.dispatch.conftest import T0, Core

BODEN = Location(65.8252, 21.6886, label="Boden")
BODEN_NEAR = Location(65.8262, 21.6900)  # about 130 m away
PITEA = Location(65.3172, 21.4794, label="Piteå")


def alarm(agency: Agency = Agency.POLICE, ref: str = "P-1", where: Location = BODEN,
          minutes: int = 0, category: Category = Category.SUICIDE_RISK,
          priority: Priority = Priority.URGENT, link_to: str | None = None) -> Alarm:
    return Alarm(agency=agency, reference=ref, received_at=T0 + timedelta(minutes=minutes),
                 location=where, priority=priority, category=category,
                 patient=Patient(AgeBand.LEGACY_ADULT, Sex.FEMALE, Children.YES), link_to=link_to)


def on_shift(core: Core, unit_id: str = "U1", hours: int = 8) -> None:
    core.do(RegisterUnit(unit_id, f"MAE {unit_id}", "Sunderbyn", BODEN))
    core.do(StartShift(unit_id, ("nurse A", "nurse B"), T0 + timedelta(hours=hours)))


def test_a_shift_ending_outside_the_years_2000_2099_is_refused(core: Core) -> None:
    from datetime import UTC, datetime

    core.do(RegisterUnit("U1", "MAE U1", "Sunderbyn", BODEN))
    with pytest.raises(InvalidCommand) as refused:
        core.do(StartShift("U1", ("nurse A",), datetime(9999, 12, 31, tzinfo=UTC)))
    assert refused.value.field == "ends_at"


def test_a_competence_given_twice_is_kept_once(core: Core) -> None:
    core.do(RegisterUnit("U1", "MAE U1", "Sunderbyn", BODEN))
    core.do(StartShift("U1", ("nurse A",), T0 + timedelta(hours=8),
                       competences=("doctor", "child", "doctor")))
    assert core.state.unit("U1").competences == ("doctor", "child")


def test_joint_alarms_about_one_incident_merge_into_one_callout(core: Core) -> None:
    first = core.do(ReceiveAlarm(alarm()))
    second = core.do(ReceiveAlarm(alarm(Agency.AMBULANCE, "A-9", BODEN_NEAR, minutes=5,
                                        priority=Priority.ACUTE)))
    assert first.callout_id == second.callout_id
    callout = core.state.callout(first.callout_id or "")
    assert callout.alarm_ids == ("police/P-1", "ambulance/A-9")
    assert callout.priority is Priority.ACUTE  # the most urgent alarm sets the pace
    assert "within" in core.log[-1].event.merged_reason  # type: ignore[attr-defined]


def second_alarm_joins(first: Alarm, second: Alarm) -> tuple[bool, AlarmReceived]:
    """On a fresh core: whether ``second`` joins ``first``'s callout, and the event saying so."""
    core = Core()
    opened = core.do(ReceiveAlarm(first)).callout_id
    decision = core.do(ReceiveAlarm(second))
    (event,) = decision.events
    assert isinstance(event, AlarmReceived)
    if decision.callout_id == opened:
        assert core.state.callout(opened or "").alarm_ids == (first.alarm_id, second.alarm_id)
    else:  # a callout of its own, and the first callout keeps only its own alarm
        assert core.state.callout(decision.callout_id or "").alarm_ids == (second.alarm_id,)
        assert core.state.callout(opened or "").alarm_ids == (first.alarm_id,)
        assert event.merged_reason == ""
    return decision.callout_id == opened, event


def test_alarms_beyond_the_merge_radius_stay_separate() -> None:
    """Same time and category, but 350 m apart (inside the quick bounding box, outside the
    300 m circle): separate; 210 m apart: one incident."""
    beyond = Location(65.8274, 21.6941)
    within = Location(65.8265, 21.6919)
    assert haversine_m(BODEN.lat, BODEN.lon, beyond.lat, beyond.lon) == pytest.approx(350, abs=1)
    assert haversine_m(BODEN.lat, BODEN.lon, within.lat, within.lon) == pytest.approx(209, abs=1)
    joined, _ = second_alarm_joins(alarm(), alarm(Agency.AMBULANCE, "A-1", beyond))
    assert not joined
    joined, event = second_alarm_joins(alarm(), alarm(Agency.AMBULANCE, "A-1", within))
    assert joined and event.merged_reason == "within 209 m and 15 min"


def test_alarms_more_than_the_merge_window_apart_stay_separate() -> None:
    """130 m apart and the same category, but 16 minutes after the callout's last alarm:
    separate; 14 minutes after: one incident."""
    joined, _ = second_alarm_joins(alarm(), alarm(Agency.AMBULANCE, "A-2", BODEN_NEAR, 16))
    assert not joined
    joined, event = second_alarm_joins(alarm(), alarm(Agency.AMBULANCE, "A-2", BODEN_NEAR, 14))
    assert joined and event.merged_reason == "within 128 m and 15 min"


@pytest.mark.parametrize(("first", "second"), [
    (Category.SUICIDE_RISK, Category.FOLLOW_UP),
    (Category.FOLLOW_UP, Category.PSYCHOSIS),
])
def test_a_follow_up_request_and_an_acute_alarm_stay_separate(
    first: Category, second: Category
) -> None:
    """130 m apart at the same time, but a planned follow-up is never the same incident as an
    acute alarm (either way round); two acute categories, or two follow-ups, are one."""
    def pair(a: Category, b: Category) -> bool:
        return second_alarm_joins(alarm(category=a),
                                  alarm(Agency.PSYCHIATRY, "F-1", BODEN_NEAR, category=b))[0]

    assert not pair(first, second)
    assert pair(Category.SUICIDE_RISK, Category.PSYCHOSIS)
    assert pair(Category.FOLLOW_UP, Category.FOLLOW_UP)


def test_an_explicit_link_merges_regardless_of_distance(core: Core) -> None:
    a = core.do(ReceiveAlarm(alarm())).callout_id
    b = core.do(ReceiveAlarm(alarm(Agency.PSYCHIATRY, "X", PITEA, link_to=a))).callout_id
    assert a == b


def test_a_retried_alarm_is_recognised_not_duplicated(core: Core) -> None:
    first = core.do(ReceiveAlarm(alarm()))
    events = len(core.log)
    again = core.do(ReceiveAlarm(alarm()))
    assert again.duplicate and again.callout_id == first.callout_id
    assert len(core.log) == events


def test_a_used_reference_with_other_content_is_refused_not_dropped(core: Core) -> None:
    """A retry repeats the alarm (its time is the service's: a later retry is still one); an
    alarm that says something else under a used reference was answered "duplicate" and its
    changes dropped unseen (an audit). It is refused, naming what differs."""
    first = core.do(ReceiveAlarm(alarm()))
    events = len(core.log)
    assert core.do(ReceiveAlarm(alarm(minutes=3))).duplicate
    with pytest.raises(InvalidCommand) as refused:
        core.do(ReceiveAlarm(alarm(priority=Priority.ACUTE, where=BODEN_NEAR)))
    assert refused.value.field == "reference"
    assert "location, priority" in str(refused.value)
    assert len(core.log) == events and first.callout_id is not None


@pytest.mark.parametrize("note", ["Pnr 19121212-1212, orolig", "gäller 121212-1212",
                                  "personnummer 191212121212", "pnr 121212 1212",
                                  "1212121212", "samordningsnr 121272-1219",
                                  "pnr 121212\u00a01212", "121212 - 1212", "121212\u22121212"])
def test_a_note_naming_a_personal_number_is_refused_and_nothing_is_kept(
    core: Core, note: str
) -> None:
    """The log keeps the minimum about a patient: a personal (or coordination) number with
    its check digit right, however written, is refused in an alarm's note or callback, a
    callout note, a cancel's reason and a crew message, with a reason code the pages put in
    words, and nothing is logged."""
    with pytest.raises(InvalidCommand) as refused:
        core.do(ReceiveAlarm(replace(alarm(), note=note)))
    assert (refused.value.field, refused.value.reason) == ("note", "personal_number")
    with pytest.raises(InvalidCommand) as refused:
        core.do(ReceiveAlarm(replace(alarm(), callback="19121212-1212")))
    assert (refused.value.field, refused.value.reason) == ("callback", "personal_number")
    assert core.log == []
    on_shift(core)
    cid = core.do(ReceiveAlarm(alarm())).callout_id or ""
    events = len(core.log)
    for command, field in ((AddNote(cid, note), "text"),
                           (CancelCallout(cid, note, code="other"), "reason"),
                           (SendMessage("U1", note), "text")):
        with pytest.raises(InvalidCommand) as refused:
            core.do(command)
        assert (refused.value.field, refused.value.reason) == (field, "personal_number")
    assert len(core.log) == events


def test_a_retry_of_a_stored_alarm_is_answered_before_its_note_is_checked(core: Core) -> None:
    """An alarm stored before notes were checked (a log from then) and sent again is still
    recognised as the retry it is, not refused."""
    stored = replace(alarm(), note="pnr 121212-1212")
    core.state.apply(Envelope(1, AlarmReceived(at=T0, actor="p", alarm=stored,
                                               callout_id="C000001")))
    again = core.do(ReceiveAlarm(stored))
    assert again.duplicate and again.callout_id == "C000001"


@pytest.mark.parametrize("note", ["ring 070-123 45 67", "0701234567", "+46 70 123 45 67",
                                  "2026-12-07 kl 19.30", "121212-1213 (fel kontrollsiffra)",
                                  "lgh 1102, port 4455", "order 5512345678"])
def test_phone_numbers_dates_and_flat_numbers_in_a_note_are_not_taken_for_personal_numbers(
    core: Core, note: str
) -> None:
    assert core.do(ReceiveAlarm(replace(alarm(), note=note))).callout_id is not None


def test_machine_intake_takes_the_number_out_instead() -> None:
    assert redact_personal_numbers("pnr 19121212-1212, bror 121212-1212 ring 070-1234567") \
        == "pnr [pnr], bror [pnr] ring 070-1234567"


def test_split_takes_an_alarm_out_into_its_own_callout(core: Core) -> None:
    a = core.do(ReceiveAlarm(alarm())).callout_id or ""
    core.do(ReceiveAlarm(alarm(Agency.AMBULANCE, "A-9", BODEN_NEAR)))
    new = core.do(SplitCallout(a, "ambulance/A-9")).callout_id or ""
    assert core.state.callout(a).alarm_ids == ("police/P-1",)
    assert core.state.callout(new).alarm_ids == ("ambulance/A-9",)
    with pytest.raises(InvalidCommand, match="one alarm cannot be split"):
        core.do(SplitCallout(new, "ambulance/A-9"))


def test_dispatcher_merge_moves_alarms_and_releases_the_merged_unit(core: Core) -> None:
    on_shift(core)
    a = core.do(ReceiveAlarm(alarm())).callout_id or ""
    b = core.do(ReceiveAlarm(alarm(Agency.AMBULANCE, "A-1", PITEA))).callout_id or ""
    core.do(Assign(b, "U1", 900))
    core.do(MergeCallouts(a, b))
    assert core.state.callout(b).status is CalloutStatus.MERGED
    assert core.state.callout(a).alarm_ids == ("police/P-1", "ambulance/A-1")
    assert core.state.unit("U1").callout_id is None
    assert core.state.unit("U1").status is UnitStatus.AVAILABLE


def test_full_workflow_from_assignment_to_outcome_with_follow_up(core: Core) -> None:
    on_shift(core)
    cid = core.do(ReceiveAlarm(alarm())).callout_id or ""
    core.do(Assign(cid, "U1", eta_s=840))
    assert core.state.unit("U1").status is UnitStatus.DISPATCHED
    core.do(Acknowledge("U1", cid))
    for status in (UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE):
        core.do(ReportStatus("U1", status))
    assert core.state.callout(cid).status is CalloutStatus.ON_SCENE
    follow_at = T0 + timedelta(days=1)
    core.do(RecordOutcome("U1", cid, Outcome(OutcomeKind.STAYED_HOME, follow_up_at=follow_at)))
    core.do(ReportStatus("U1", UnitStatus.RETURNING))
    assert core.state.callout(cid).status is CalloutStatus.CLOSED
    assert core.state.unit("U1").status is UnitStatus.RETURNING
    assert [f.at for f in core.state.follow_ups] == [follow_at]


def test_transport_goes_through_facility(core: Core) -> None:
    on_shift(core)
    cid = core.do(ReceiveAlarm(alarm())).callout_id or ""
    core.do(Assign(cid, "U1"))
    for status in (UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE, UnitStatus.TRANSPORTING):
        core.do(ReportStatus("U1", status))
    with pytest.raises(InvalidCommand, match="facility"):
        core.do(ReportStatus("U1", UnitStatus.AT_FACILITY))
    core.do(ReportStatus("U1", UnitStatus.AT_FACILITY, facility="Sunderby sjukhus"))
    core.do(RecordOutcome("U1", cid, Outcome(OutcomeKind.TRANSPORTED_MAE,
                                             facility="Sunderby sjukhus")))
    core.do(ReportStatus("U1", UnitStatus.AVAILABLE))
    assert core.state.unit("U1").status is UnitStatus.AVAILABLE


def test_a_transport_by_mae_is_recorded_only_after_the_drive_is_reported(core: Core) -> None:
    """An audit recorded "transported by MAE" on scene: the job closed and the drive to the
    facility was never reported. That outcome waits for TRANSPORTING; the others do not."""
    on_shift(core)
    cid = core.do(ReceiveAlarm(alarm())).callout_id or ""
    core.do(Assign(cid, "U1"))
    for status in (UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE):
        core.do(ReportStatus("U1", status))
    carried = Outcome(OutcomeKind.TRANSPORTED_MAE, facility="Sunderby sjukhus")
    with pytest.raises(InvalidCommand) as refused:
        core.do(RecordOutcome("U1", cid, carried))
    assert refused.value.field == "outcome.kind" and "transporting" in str(refused.value)
    assert core.state.callout(cid).outcome is None
    assert [k for k in OutcomeKind if k.after_transporting] == [OutcomeKind.TRANSPORTED_MAE]
    decide(core.state, RecordOutcome("U1", cid, Outcome(  # an ambulance's transport: on scene
        OutcomeKind.TRANSPORTED_AMBULANCE, facility="Sunderby sjukhus")), now=T0)
    core.do(ReportStatus("U1", UnitStatus.TRANSPORTING))
    core.do(RecordOutcome("U1", cid, carried))
    assert core.state.callout(cid).outcome == carried


def test_a_follow_up_before_the_callout_began_is_refused(core: Core) -> None:
    on_shift(core)
    cid = core.do(ReceiveAlarm(alarm())).callout_id or ""
    core.do(Assign(cid, "U1"))
    for status in (UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE):
        core.do(ReportStatus("U1", status))
    slip = Outcome(OutcomeKind.STAYED_HOME, follow_up_at=T0 - timedelta(days=365))
    with pytest.raises(InvalidCommand) as refused:
        core.do(RecordOutcome("U1", cid, slip))
    assert refused.value.field == "outcome.follow_up_at"
    assert not core.state.visits


def test_illegal_transitions_raise_and_change_nothing(core: Core) -> None:
    on_shift(core)
    before = core.state.snapshot()
    with pytest.raises(InvalidTransition, match="cannot go from available to transporting"):
        core.do(ReportStatus("U1", UnitStatus.TRANSPORTING))
    cid = core.do(ReceiveAlarm(alarm())).callout_id or ""
    core.do(Assign(cid, "U1"))
    with pytest.raises(InvalidCommand, match="record its outcome first"):
        core.do(ReportStatus("U1", UnitStatus.AVAILABLE))
    with pytest.raises(InvalidTransition):
        core.do(RecordOutcome("U1", cid, Outcome(OutcomeKind.STAYED_HOME)))
    assert before["units"]["U1"]["status"] == "available"


def test_a_unit_never_takes_two_callouts(core: Core) -> None:
    on_shift(core)
    a = core.do(ReceiveAlarm(alarm())).callout_id or ""
    b = core.do(ReceiveAlarm(alarm(Agency.AMBULANCE, "A-1", PITEA))).callout_id or ""
    core.do(Assign(a, "U1"))
    with pytest.raises(InvalidCommand, match="already on callout"):
        core.do(Assign(b, "U1"))


def test_unacknowledged_assignment_times_out_and_frees_the_unit(core: Core) -> None:
    on_shift(core)
    cid = core.do(ReceiveAlarm(alarm())).callout_id or ""
    core.do(Assign(cid, "U1"))
    assert core.do(Tick(), now=T0 + timedelta(seconds=59)).events == []
    timed = core.do(Tick(), now=T0 + timedelta(seconds=60)).events
    assert [type(e) for e in timed] == [AssignmentTimedOut]
    callout = core.state.callout(cid)
    assert callout.status is CalloutStatus.WAITING and callout.ack_overdue
    assert core.state.unit("U1").status is UnitStatus.AVAILABLE


def test_overdue_assignments_time_out_most_urgent_first_and_others_stay(core: Core) -> None:
    """A tick times out only the assignments past their deadline, in the open callouts'
    order (most urgent, then oldest), whatever else is open."""
    far = [Location(65.0 + i / 10, 20.0, label=f"far {i}") for i in range(4)]  # no merging
    ids = [core.do(ReceiveAlarm(alarm(ref=f"P-{i}", where=far[i], priority=priority)),
                   now=T0 + timedelta(seconds=i)).callout_id or ""
           for i, priority in enumerate((Priority.URGENT, Priority.ACUTE, Priority.URGENT,
                                         Priority.URGENT))]
    for i, cid in enumerate(ids[:3]):
        on_shift(core, f"U{i}")
        core.do(Assign(cid, f"U{i}"), now=T0 + timedelta(seconds=10 * i))
    timed = core.do(Tick(), now=T0 + timedelta(seconds=79)).events  # U2 is due at 80 s
    assert [(e.callout_id, e.unit_id) for e in timed] == [  # type: ignore[attr-defined]
        (ids[1], "U1"), (ids[0], "U0")]
    assert core.state.callout(ids[2]).status is CalloutStatus.ASSIGNED
    assert core.state.callout(ids[3]).status is CalloutStatus.WAITING


def test_reassign_moves_the_job_to_another_unit(core: Core) -> None:
    on_shift(core, "U1")
    on_shift(core, "U2")
    cid = core.do(ReceiveAlarm(alarm())).callout_id or ""
    core.do(Assign(cid, "U1"))
    core.do(Reassign(cid, "U2", eta_s=300))
    assert core.state.callout(cid).unit_id == "U2"
    assert core.state.unit("U1").callout_id is None
    assert core.state.unit("U2").status is UnitStatus.DISPATCHED


def test_no_assignment_after_shift_end_and_shifts_end_by_themselves(core: Core) -> None:
    on_shift(core, hours=1)
    cid = core.do(ReceiveAlarm(alarm())).callout_id or ""
    later = T0 + timedelta(hours=1, minutes=1)
    with pytest.raises(InvalidCommand, match="shift has ended"):
        core.do(Assign(cid, "U1"), now=later)
    core.do(Tick(), now=later)
    assert core.state.unit("U1").status is UnitStatus.OFF_DUTY


def test_cancel_releases_the_unit_and_closed_callouts_stay_closed(core: Core) -> None:
    on_shift(core)
    cid = core.do(ReceiveAlarm(alarm())).callout_id or ""
    core.do(Assign(cid, "U1"))
    core.do(CancelCallout(cid, "police resolved it"))
    assert core.state.callout(cid).status is CalloutStatus.CANCELLED
    assert core.state.unit("U1").status is UnitStatus.AVAILABLE
    with pytest.raises(InvalidTransition):
        core.do(Assign(cid, "U1"))


def test_notes_are_kept_on_the_callout(core: Core) -> None:
    cid = core.do(ReceiveAlarm(alarm())).callout_id or ""
    core.do(AddNote(cid, "dog in the flat"), actor="disp-1")
    notes = core.state.callout(cid).notes
    assert [(n.actor, n.text) for n in notes] == [("disp-1", "dog in the flat")]
    with pytest.raises(InvalidCommand, match="text"):
        core.do(AddNote(cid, "   "))


def test_unknown_ids_and_bad_values_name_the_problem(core: Core) -> None:
    with pytest.raises(UnknownCallout, match="C999"):
        core.do(Assign("C999", "U1"))
    on_shift(core)
    with pytest.raises(UnknownUnit, match="U7"):
        core.do(EndShift("U7"))
    with pytest.raises(InvalidCommand, match="patient.sex"):
        Patient(AgeBand.LEGACY_ADULT, "robot", Children.YES)  # type: ignore[arg-type]
    with pytest.raises(InvalidCommand, match="priority"):
        alarm(priority=7)  # type: ignore[arg-type]
    with pytest.raises(InvalidCommand, match="location.lat"):
        Location(91.0, 20.0)
    with pytest.raises(InvalidCommand, match="outcome.facility"):
        Outcome(OutcomeKind.TRANSPORTED_POLICE)


def all_command_types() -> set[type[Command]]:
    """Every command record of :mod:`dispatch.command_types`, found by walking the subclasses
    of :class:`Command` (skipping the classes a slotted dataclass replaces)."""
    found: set[type[Command]] = set()
    todo = list(Command.__subclasses__())
    while todo:
        kind = todo.pop()
        if getattr(command_types, kind.__name__, None) is kind:
            found.add(kind)
        todo.extend(kind.__subclasses__())
    return found


def test_every_command_type_has_its_own_handler() -> None:
    """The table covers every command record, no more, and each row's handler is written for
    that command (its ``command`` parameter names the type)."""
    kinds = all_command_types()
    assert len(kinds) >= 15  # the walk found the command records
    assert set(HANDLERS) == kinds
    for kind in kinds:  # each is public where the shells import commands from
        assert kind.__name__ in commands.__all__ and getattr(commands, kind.__name__) is kind
    for kind, handler in HANDLERS.items():
        assert handler_for(kind) is handler
        parameters = inspect.signature(handler).parameters
        assert list(parameters) == ["ctx", "command"]
        assert parameters["command"].annotation == kind.__name__, handler.__name__
    assert len(set(HANDLERS.values())) == len(HANDLERS)  # one handler per command


def test_a_command_without_a_handler_is_refused_and_changes_nothing(core: Core) -> None:
    @dataclass(frozen=True, slots=True)
    class Teleport(Command):
        unit_id: str

    on_shift(core)
    before = core.state.snapshot()
    with pytest.raises(UnknownCommand, match="unknown command Teleport") as refused:
        core.do(Teleport("U1"))
    assert isinstance(refused.value, InvalidCommand) and refused.value.field == "command"
    assert isinstance(refused.value, DispatchError) and isinstance(refused.value, ValueError)
    assert core.state.snapshot() == before
    with pytest.raises(UnknownCommand, match="unknown command Command"):
        handler_for(Command)


def test_a_subclass_of_a_command_is_handled_as_that_command(core: Core) -> None:
    """As with an ``isinstance`` test: a specialised command record takes its base's rules."""
    @dataclass(frozen=True, slots=True)
    class UrgentNote(AddNote):
        pass

    cid = core.do(ReceiveAlarm(alarm())).callout_id or ""
    assert handler_for(UrgentNote) is HANDLERS[AddNote]
    core.do(UrgentNote(cid, "called back"))
    assert [n.text for n in core.state.callout(cid).notes] == ["called back"]


def test_a_decision_needs_a_timezone_aware_time(core: Core) -> None:
    with pytest.raises(InvalidCommand, match="now: must be timezone-aware"):
        core.do(Tick(), now=T0.replace(tzinfo=None))


def test_every_event_of_a_decision_carries_the_commands_time_and_actor(core: Core) -> None:
    """Reassigning makes two events; both are stamped with the command's own time and actor."""
    on_shift(core, "U1")
    on_shift(core, "U2")
    cid = core.do(ReceiveAlarm(alarm())).callout_id or ""
    core.do(Assign(cid, "U1"))
    later = T0 + timedelta(seconds=20)
    decision = core.do(Reassign(cid, "U2"), now=later, actor="disp-2")
    assert [(type(e).__name__, e.at, e.actor) for e in decision.events] == [
        ("AssignmentCancelled", later, "disp-2"), ("UnitAssigned", later, "disp-2")]
    assert decision.callout_id == cid and not decision.duplicate
