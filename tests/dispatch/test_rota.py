"""The rota rules: which shift is due for a unit (overnight, over the DST changes in
Europe/Stockholm, by weekday), who is due but not signed on, and which shifts the clock ends."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.commands import (
    Assign,
    ReceiveAlarm,
    RecordOutcome,
    RegisterUnit,
    ReportStatus,
    StartShift,
    Tick,
)
from dispatch.errors import DispatchError, InvalidCommand
from dispatch.events import ShiftEnded
from dispatch.model import (
    Agency,
    Alarm,
    Category,
    CrewMember,
    CrewRole,
    Location,
    Outcome,
    OutcomeKind,
    Priority,
)
from dispatch.rota import (
    RotaShift,
    ShiftPattern,
    current_shift,
    due_not_signed_on,
    next_shift,
    occurrence,
    shifts_to_end,
    sign_on_competences,
    sign_on_shift,
)
from dispatch.status import UnitStatus
from tests.dispatch.conftest import Core

STHLM = ZoneInfo("Europe/Stockholm")
EVERY_DAY = frozenset(range(1, 8))
NIGHT = ShiftPattern("MAE-PITEA", EVERY_DAY, time(22), time(7))
WEEKDAYS = ShiftPattern("MAE-SUNDERBY", frozenset({1, 2, 3, 4, 5}), time(8), time(16))
FRIDAY_NIGHT = ShiftPattern("MAE-GALLIVARE", frozenset({5}), time(22), time(7))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_an_overnight_shift_ends_the_next_morning_in_local_time() -> None:
    # January: Stockholm is UTC+1.
    shift = occurrence(NIGHT, datetime(2026, 1, 15).date(), STHLM)
    assert shift == RotaShift(utc(2026, 1, 15, 21), utc(2026, 1, 16, 6), "MAE-PITEA")
    assert current_shift([NIGHT], "MAE-PITEA", STHLM, utc(2026, 1, 16, 3)) == shift
    assert current_shift([NIGHT], "MAE-PITEA", STHLM, utc(2026, 1, 16, 6)) is None  # end excluded
    assert current_shift([NIGHT], "MAE-PITEA", STHLM, utc(2026, 1, 15, 21)) == shift


def test_the_night_the_clocks_go_forward_is_an_hour_shorter() -> None:
    # 29 March 2026: 02:00 CET becomes 03:00 CEST.
    shift = occurrence(NIGHT, datetime(2026, 3, 28).date(), STHLM)
    assert (shift.starts_at, shift.ends_at) == (utc(2026, 3, 28, 21), utc(2026, 3, 29, 5))
    assert shift.ends_at - shift.starts_at == timedelta(hours=8)
    assert current_shift([NIGHT], "MAE-PITEA", STHLM, utc(2026, 3, 29, 4, 59)) == shift
    assert current_shift([NIGHT], "MAE-PITEA", STHLM, utc(2026, 3, 29, 5)) is None


def test_the_night_the_clocks_go_back_is_an_hour_longer() -> None:
    # 25 October 2026: 03:00 CEST becomes 02:00 CET.
    shift = occurrence(NIGHT, datetime(2026, 10, 24).date(), STHLM)
    assert (shift.starts_at, shift.ends_at) == (utc(2026, 10, 24, 20), utc(2026, 10, 25, 6))
    assert shift.ends_at - shift.starts_at == timedelta(hours=10)
    assert current_shift([NIGHT], "MAE-PITEA", STHLM, utc(2026, 10, 25, 5, 30)) == shift


def test_a_start_the_clock_skips_or_shows_twice_is_read_once() -> None:
    early = ShiftPattern("U", EVERY_DAY, time(2, 30), time(10))
    skipped = occurrence(early, datetime(2026, 3, 29).date(), STHLM)
    assert skipped.starts_at == utc(2026, 3, 29, 1, 30)  # with the offset before the change
    twice = occurrence(early, datetime(2026, 10, 25).date(), STHLM)
    assert twice.starts_at == utc(2026, 10, 25, 0, 30)  # the first 02:30


def test_weekday_patterns_run_only_on_their_days() -> None:
    saturday_noon = utc(2026, 1, 17, 11)
    assert current_shift([WEEKDAYS], "MAE-SUNDERBY", STHLM, saturday_noon) is None
    monday = next_shift([WEEKDAYS], "MAE-SUNDERBY", STHLM, saturday_noon)
    assert monday == RotaShift(utc(2026, 1, 19, 7), utc(2026, 1, 19, 15), "MAE-SUNDERBY")
    friday_noon = utc(2026, 1, 16, 11)
    assert current_shift([WEEKDAYS], "MAE-SUNDERBY", STHLM, friday_noon) is not None
    # another unit's patterns are not this unit's
    assert current_shift([WEEKDAYS], "MAE-PITEA", STHLM, friday_noon) is None


def test_an_overnight_shift_belongs_to_the_weekday_it_starts_on() -> None:
    saturday_3am = utc(2026, 1, 17, 2)
    assert current_shift([FRIDAY_NIGHT], "MAE-GALLIVARE", STHLM, saturday_3am) == RotaShift(
        utc(2026, 1, 16, 21), utc(2026, 1, 17, 6), "MAE-GALLIVARE")
    sunday_3am = utc(2026, 1, 18, 2)
    assert current_shift([FRIDAY_NIGHT], "MAE-GALLIVARE", STHLM, sunday_3am) is None


def test_a_crew_may_sign_on_up_to_an_hour_early_for_its_rota_shift() -> None:
    rota = [WEEKDAYS]
    monday_0715_local = utc(2026, 1, 19, 6, 15)
    shift = sign_on_shift(rota, "MAE-SUNDERBY", STHLM, monday_0715_local)
    assert shift is not None and shift.ends_at == utc(2026, 1, 19, 15)
    assert sign_on_shift(rota, "MAE-SUNDERBY", STHLM, utc(2026, 1, 19, 5, 59)) is None
    assert sign_on_shift(rota, "MAE-SUNDERBY", STHLM, utc(2026, 1, 19, 15)) is None


def test_the_rules_refuse_a_time_without_a_zone() -> None:
    with pytest.raises(InvalidCommand, match="now"):
        current_shift([NIGHT], "MAE-PITEA", STHLM, datetime(2026, 1, 15, 12))


# -- against the state --------------------------------------------------------------------------

T = utc(2026, 1, 15, 21, 30)  # 22:30 in Stockholm: the night shift has started
HOME = Location(65.3172, 21.4794, "Piteå")


def registered(core: Core, *unit_ids: str) -> None:
    for uid in unit_ids:
        core.do(RegisterUnit(uid, uid, "base", HOME), now=T - timedelta(hours=1))


def test_a_unit_due_by_the_rota_is_flagged_until_its_crew_signs_on(core: Core) -> None:
    registered(core, "MAE-PITEA", "MAE-SUNDERBY")
    rota = [NIGHT, WEEKDAYS]
    assert due_not_signed_on(core.state, rota, STHLM, T) == [
        RotaShift(utc(2026, 1, 15, 21), utc(2026, 1, 16, 6), "MAE-PITEA")]
    # off duty: nothing can be assigned to it
    assert "MAE-PITEA" not in {u.unit_id for u in core.state.free_units()}
    core.do(StartShift("MAE-PITEA", (CrewMember("Anna", CrewRole.NURSE),), utc(2026, 1, 16, 6)),
            now=T)
    assert due_not_signed_on(core.state, rota, STHLM, T) == []
    assert core.state.units["MAE-PITEA"].crew == (CrewMember("Anna", CrewRole.NURSE),)


def test_an_unregistered_unit_in_the_rota_is_not_flagged(core: Core) -> None:
    assert due_not_signed_on(core.state, [NIGHT], STHLM, T) == []


def test_the_clock_ends_a_free_units_shift_at_its_end(core: Core) -> None:
    registered(core, "MAE-PITEA")
    end = utc(2026, 1, 16, 6)
    core.do(StartShift("MAE-PITEA", ("Anna",), end), now=T)
    assert shifts_to_end(core.state, end - timedelta(seconds=1)) == []
    assert shifts_to_end(core.state, end) == ["MAE-PITEA"]
    decision = core.do(Tick(), now=end)
    assert [type(e) for e in decision.events] == [ShiftEnded]
    assert core.state.units["MAE-PITEA"].status is UnitStatus.OFF_DUTY
    assert core.state.units["MAE-PITEA"].crew == ()


def test_an_unavailable_unit_also_goes_off_duty_at_its_shift_end(core: Core) -> None:
    registered(core, "MAE-PITEA")
    end = utc(2026, 1, 16, 6)
    core.do(StartShift("MAE-PITEA", ("Anna",), end), now=T)
    core.do(ReportStatus("MAE-PITEA", UnitStatus.UNAVAILABLE), now=T)
    assert shifts_to_end(core.state, end) == ["MAE-PITEA"]


def test_a_busy_unit_works_on_past_its_shift_end_and_ends_when_its_callout_is_done(
    core: Core,
) -> None:
    registered(core, "MAE-PITEA")
    end = utc(2026, 1, 16, 6)
    core.do(StartShift("MAE-PITEA", ("Anna", "Omar"), end), now=T)
    alarm = Alarm(Agency.POLICE, "P-1", end - timedelta(minutes=30), HOME, Priority.ACUTE,
                  Category.SUICIDE_RISK)
    core.do(ReceiveAlarm(alarm), now=alarm.received_at)
    core.do(Assign("C000001", "MAE-PITEA"), now=alarm.received_at)
    core.do(ReportStatus("MAE-PITEA", UnitStatus.EN_ROUTE), now=alarm.received_at)
    core.do(ReportStatus("MAE-PITEA", UnitStatus.ON_SCENE), now=end - timedelta(minutes=5))
    after = end + timedelta(minutes=20)
    assert shifts_to_end(core.state, after) == []
    assert core.do(Tick(), now=after).events == []
    core.do(RecordOutcome("MAE-PITEA", "C000001", Outcome(OutcomeKind.STAYED_HOME)), now=after)
    assert shifts_to_end(core.state, after) == []  # still at the scene
    core.do(ReportStatus("MAE-PITEA", UnitStatus.RETURNING), now=after)
    assert shifts_to_end(core.state, after) == ["MAE-PITEA"]


def test_sign_on_takes_members_with_roles_or_bare_names(core: Core) -> None:
    registered(core, "A", "B")
    crew = (CrewMember(" Anna Lind ", CrewRole.NURSE), CrewMember("Bo", CrewRole.DRIVER))
    core.do(StartShift("A", crew, T + timedelta(hours=8)), now=T)
    assert core.state.units["A"].crew == (CrewMember("Anna Lind", CrewRole.NURSE),
                                          CrewMember("Bo", CrewRole.DRIVER))
    core.do(StartShift("B", ("ssk-1",), T + timedelta(hours=8)), now=T)
    assert core.state.units["B"].crew == (CrewMember("ssk-1", CrewRole.UNKNOWN),)


@pytest.mark.parametrize(("crew", "field"), [
    ((), "crew"),
    (("Anna", ""), "crew.1.name"),
    (tuple(f"p{i}" for i in range(7)), "crew"),
])
def test_a_bad_crew_is_refused_naming_the_field(core: Core, crew: tuple[str, ...],
                                                field: str) -> None:
    registered(core, "A")
    with pytest.raises(InvalidCommand) as exc:
        core.do(StartShift("A", crew, T + timedelta(hours=8)), now=T)
    assert exc.value.field == field
    assert core.state.units["A"].status is UnitStatus.OFF_DUTY


def test_a_crew_members_role_must_be_one_of_the_roles() -> None:
    with pytest.raises(InvalidCommand, match="crew.role") as exc:
        CrewMember("Anna", "captain")  # type: ignore[arg-type]
    assert "nurse" in str(exc.value)


def test_an_off_duty_unit_cannot_report_itself_available_without_signing_on(core: Core) -> None:
    registered(core, "A")
    with pytest.raises(InvalidCommand, match="sign on") as exc:
        core.do(ReportStatus("A", UnitStatus.AVAILABLE), now=T)
    assert exc.value.field == "status"
    assert core.state.units["A"].status is UnitStatus.OFF_DUTY


# -- invariants over any pattern and any moment of a year with both DST changes -----------------

patterns = st.builds(
    lambda days, start, length_min: ShiftPattern(
        "U", frozenset(days), start,
        (datetime.combine(datetime(2026, 1, 1).date(), start)
         + timedelta(minutes=length_min)).time()),
    st.sets(st.integers(1, 7), min_size=1),
    st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    st.integers(15, 23 * 60),
)
moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31),
                       timezones=st.just(UTC))


@given(patterns, moments)
@settings(max_examples=300, deadline=None)
def test_the_shift_now_covers_now_starts_on_a_rota_day_and_is_the_only_candidate(
    pattern: ShiftPattern, now: datetime,
) -> None:
    shift = current_shift([pattern], "U", STHLM, now)
    today = now.astimezone(STHLM).date()
    candidates = [occurrence(pattern, day, STHLM)
                  for day in (today - timedelta(days=1), today)
                  if day.isoweekday() in pattern.days]
    covering = [s for s in candidates if s.covers(now)]
    assert (shift is None) == (not covering)
    if shift is not None:
        assert shift.covers(now)
        start_local = shift.starts_at.astimezone(STHLM)
        assert start_local.isoweekday() in pattern.days
        gap = (datetime.combine(today, pattern.start) + timedelta(hours=1)).time()
        assert start_local.time().replace(tzinfo=None) in (pattern.start, gap)  # gap: spring
        # wall-clock length, give or take the hour a DST change adds or takes
        planned = (datetime.combine(today, pattern.end) - datetime.combine(today, pattern.start))
        planned = planned if planned > timedelta(0) else planned + timedelta(days=1)
        assert abs((shift.ends_at - shift.starts_at) - planned) <= timedelta(hours=1)
    upcoming = next_shift([pattern], "U", STHLM, now)
    assert upcoming is not None and upcoming.starts_at > now  # a weekly rota always has one
    assert upcoming.starts_at - now <= timedelta(days=7)


def test_a_unit_due_but_not_signed_on_cannot_be_assigned(core: Core) -> None:
    registered(core, "MAE-PITEA")
    assert [s.unit_id for s in due_not_signed_on(core.state, [NIGHT], STHLM, T)] == ["MAE-PITEA"]
    alarm = Alarm(Agency.POLICE, "P-2", T, HOME, Priority.ACUTE, Category.SUICIDE_RISK)
    core.do(ReceiveAlarm(alarm), now=T)
    with pytest.raises(DispatchError):
        core.do(Assign("C000001", "MAE-PITEA"), now=T)
    assert core.state.units["MAE-PITEA"].callout_id is None


def test_a_doctor_on_board_gives_the_shift_the_doctor_competence(core: Core) -> None:
    registered(core, "A", "B")
    core.do(StartShift("A", (CrewMember("Eva", CrewRole.DOCTOR), CrewMember("Bo", CrewRole.NURSE)),
                       T + timedelta(hours=8), ("lpt",)), now=T)
    assert core.state.units["A"].competences == ("lpt", "doctor")
    core.do(StartShift("B", (CrewMember("Bo", CrewRole.NURSE),), T + timedelta(hours=8)), now=T)
    assert core.state.units["B"].competences == ()


def test_a_sign_on_brings_the_ticked_competences_else_the_units_registered_ones(
        core: Core) -> None:
    """The crew page offers the unit's region competences ticked; what the crew leaves ticked
    is the shift's (a doctor on board adds ``doctor``); an older client that says nothing gets
    the unit's registered competences."""
    core.do(RegisterUnit("A", "MAE A", "Base", Location(65.6, 22.1),
                         competences=("nurse", "ECT")))
    assert sign_on_competences(core.state, "A", None) == ("nurse", "ECT")
    assert sign_on_competences(core.state, "A", ["nurse"]) == ("nurse",)
    assert sign_on_competences(core.state, "A", []) == ()
    with pytest.raises(KeyError):
        sign_on_competences(core.state, "NOPE", None)
    doctor = (CrewMember("Eva", CrewRole.DOCTOR),)
    core.do(StartShift("A", doctor, T + timedelta(hours=8),
                       competences=sign_on_competences(core.state, "A", ["nurse"])), now=T)
    assert core.state.units["A"].competences == ("nurse", "doctor")
    assert core.state.units["A"].registered_competences == ("nurse", "ECT")
