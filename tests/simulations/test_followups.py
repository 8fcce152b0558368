"""Follow-up visits in the simulator, against answers worked out by hand on the tiny map: an
attended incident books a visit, the next day's plan sends the unit at the window's opening, an
acute alarm breaks the visit off and is reached from the visit's address; the KPIs count it; the
run's log replays to its state; the shipped scenario pairs with the acute-only one."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from dispatch.events import DayPlanned, Envelope
from dispatch.model import Agency, Category, OutcomeKind, Priority
from dispatch.state import DispatchState
from simulations.demand import DemandAlarm
from simulations.engine import simulate
from simulations.errors import ScenarioError
from simulations.followups import followup_kpis
from simulations.kpi import summarize
from simulations.scenario import load_scenario, scenario_from_dict
from tests.simulations._tiny import NODES, T0, matrix_scenario, tiny_graph, tiny_scenario

ACK_TURNOUT_S = 30 + 5 * 60
DAY = 86_400.0
SCENARIOS = Path(__file__).resolve().parents[2] / "simulations" / "scenarios"


def alarm(ref: str, where: str, minutes: float) -> DemandAlarm:
    lat, lon = NODES[where]
    return DemandAlarm(reference=ref, received_at=T0 + timedelta(minutes=minutes),
                       agency=Agency.AMBULANCE, priority=Priority.URGENT,
                       category=Category.SUICIDE_RISK, lat=lat, lon=lon, municipality=where,
                       place=where, outcome=OutcomeKind.STAYED_HOME, on_scene_s=3600,
                       at_facility_s=1200)


@pytest.fixture(scope="module")
def graph():  # type: ignore[no-untyped-def]
    return tiny_graph()


def scenario(graph: Any, alarms_per_year: float = 100, **followups: Any) -> Any:
    data = tiny_scenario(
        demand={"kind": "synthetic", "alarms_per_year": alarms_per_year},
        units=[{"id": "U1", "base": "alpha",
                "shifts": [{"start": "08:00", "end": "20:00", "days": "all"}]}],
        followups={"share": 1.0, "window_start_hour": 14, "window_hours": 4,
                   "duration_min": 45, "postponable_share": 0.0, "plan_hour": 7, **followups})
    return scenario_from_dict(data, graph=graph)


def test_an_attended_incident_books_a_visit_done_next_day_at_the_window(graph: Any) -> None:
    sc = scenario(graph)
    res = simulate(sc, graph=graph, demand=[alarm("A1", "Beta", 10 * 60)])
    (visit,) = res.visits
    opens = DAY + 14 * 3600  # day 2, 14:00 UTC
    assert (visit.earliest_s, visit.latest_s) == (opens, opens + 4 * 3600)
    assert visit.status == "done" and visit.unit_id == "U1"
    assert visit.started_s == pytest.approx(opens) and visit.in_window
    assert visit.done_s == pytest.approx(opens + 45 * 60)
    kpis = summarize(res, sc).scalars
    assert kpis["visits_booked"] == 1 and kpis["visits_in_window_share"] == 1.0
    assert kpis["visit_drive_hours"] == pytest.approx(2 * 1800 / 3600, abs=0.05)  # there, back


def test_an_acute_alarm_breaks_a_visit_off_and_is_reached_from_the_visit(graph: Any) -> None:
    sc = scenario(graph)
    on_visit = (DAY + 14 * 3600 + 10 * 60) / 60  # day 2, 14:10: U1 is on the visit at Beta
    res = simulate(sc, graph=graph, demand=[alarm("A1", "Beta", 10 * 60),
                                            alarm("A2", "Gamma", on_visit)])
    acute = next(r for r in res.records if r.reference == "A2")
    assert acute.response_s == pytest.approx(ACK_TURNOUT_S + 1200)  # Beta-Gamma, not 3000
    first = next(v for v in res.visits if v.started_s is not None)
    assert first.interrupted and first.status == "not_met"
    kpis = summarize(res, sc).scalars
    assert kpis["visits_interrupted_share"] > 0


def test_without_followups_the_same_alarm_is_reached_from_the_base(graph: Any) -> None:
    sc = dataclasses.replace(scenario(graph), followups=None)
    on_visit = (DAY + 14 * 3600 + 10 * 60) / 60
    res = simulate(sc, graph=graph, demand=[alarm("A1", "Beta", 10 * 60),
                                            alarm("A2", "Gamma", on_visit)])
    acute = next(r for r in res.records if r.reference == "A2")
    assert acute.response_s == pytest.approx(ACK_TURNOUT_S + 3000)
    assert res.visits == () and "visits_booked" not in summarize(res, sc).scalars


def test_a_run_with_visits_replays_from_its_log_and_plans_each_visit_once(graph: Any) -> None:
    sc = dataclasses.replace(scenario(graph, 1500, postponable_share=0.5), days=6)
    res = simulate(sc, graph=graph, seed=3, keep_log=True)
    assert res.log is not None and res.visits
    state = DispatchState.replay(res.log)
    assert sorted(state.visits) == [v.visit_id for v in res.visits]
    for env in res.log:
        if isinstance(env.event, DayPlanned):
            ids = [s.visit_id for r in env.event.routes for s in r.stops]
            ids += [*env.event.postponed, *env.event.unplaced]
            assert len(ids) == len(set(ids))
    assert {v.status for v in res.visits} <= {"done", "not_met", "booked", "started"}
    assert all(isinstance(e, Envelope) for e in res.log)


@pytest.mark.parametrize(("key", "value"), [("share", 2), ("duration_min", 1), ("colour", 1)])
def test_a_bad_followups_table_names_its_key(graph: Any, key: str, value: Any) -> None:
    with pytest.raises(ScenarioError, match=f"followups.{key}"):
        scenario(graph, **{key: value})


def test_the_kpis_count_windows_that_closed_within_the_run() -> None:
    assert followup_kpis((), 0.0, DAY)["visits_done_share"] != 0.0  # nan: nothing due


def test_the_shipped_follow_up_scenario_pairs_with_the_acute_only_one() -> None:
    with_visits = load_scenario(SCENARIOS / "norrbotten_followups.toml")
    acute_only = load_scenario(SCENARIOS / "norrbotten_today.toml")
    assert with_visits.followups is not None and acute_only.followups is None
    strip = {"name", "description", "followups", "source"}
    same = {f.name for f in dataclasses.fields(acute_only)} - strip
    assert all(getattr(with_visits, k) == getattr(acute_only, k) for k in same)


def write_bookings(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "bookings.csv"
    path.write_text("patient_ref,booked_at,earliest_start,latest_start,place,duration_min,"
                    "doctor,staff,postpone_cost_min\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_a_booking_csv_books_its_visits_and_they_are_done(graph: Any, tmp_path: Path) -> None:
    path = write_bookings(tmp_path, [
        "P-1,,2026-01-05T10:00:00+00:00,2026-01-05T12:00:00+00:00,Beta,30,no,1,",
        "P-2,2026-01-05T09:00:00+00:00,2026-01-06T14:00:00,2026-01-06T16:00:00,Gamma,45,,1,",
    ])
    sc = scenario(graph, share=0.0, csv=str(path))
    assert sc.followups is not None and len(sc.followups.bookings) == 2
    res = simulate(sc, graph=graph, demand=[])
    first, second = res.visits
    assert first.status == "done" and first.started_s == pytest.approx(10 * 3600)
    assert second.status == "done" and second.in_window
    assert second.earliest_s == DAY + 14 * 3600  # no offset: the scenario's zone (UTC here)


@pytest.mark.parametrize(("row", "column"), [
    ("19850101-1234,,2026-01-05T10:00,2026-01-05T12:00,Beta,30,,,", "patient_ref"),
    ("P-1,,soon,2026-01-05T12:00,Beta,30,,,", "earliest_start"),
    ("P-1,,2026-01-05T10:00,2026-01-05T12:00,Nowhere,30,,,", "place"),
    ("P-1,,2026-01-05T10:00,2026-01-05T12:00,Beta,2,,,", "duration_min"),
    ("P-1,,2026-01-05T12:00,2026-01-05T10:00,Beta,30,,,", "latest_start"),
])
def test_a_bad_booking_row_is_named_by_row_and_column(graph: Any, tmp_path: Path, row: str,
                                                      column: str) -> None:
    path = write_bookings(tmp_path, [row])
    with pytest.raises(ScenarioError, match=f"row 2.*{column}|{column}.*row 2"):
        scenario(graph, csv=str(path))


def test_a_booking_csv_saved_by_excel_reads_and_a_latin1_one_is_named(
        graph: Any, tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" starts with a byte-order mark: read as any UTF-8 file (it made the
    first column unknown); a Latin-1 file is named, not a traceback."""
    path = write_bookings(tmp_path, [
        "P-1,,2026-01-05T10:00:00+00:00,2026-01-05T12:00:00+00:00,Beta,30,no,1,"])
    text = path.read_text(encoding="utf-8")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    sc = scenario(graph, share=0.0, csv=str(path))
    assert sc.followups is not None and len(sc.followups.bookings) == 1
    path.write_bytes(text.replace("P-1", "P-Ö").encode("latin-1"))
    with pytest.raises(ScenarioError, match="followups.csv: .*not UTF-8 text"):
        scenario(graph, share=0.0, csv=str(path))


def test_a_visit_cheaper_to_postpone_than_to_drive_to_is_postponed(graph: Any,
                                                                    tmp_path: Path) -> None:
    path = write_bookings(tmp_path, [  # Gamma: 50 min each way; postponing costs 10 min
        "P-3,,2026-01-06T14:00:00+00:00,2026-01-06T16:00:00+00:00,Gamma,45,,1,10"])
    sc = scenario(graph, share=0.0, csv=str(path))
    res = simulate(sc, graph=graph, demand=[])
    (only,) = res.visits
    assert only.postponed >= 1 and only.status == "booked"
    kpis = summarize(res, sc).scalars
    assert kpis["visits_postponed_share"] == 1.0 and kpis["visits_missed_share"] == 1.0


def test_a_scenario_file_without_a_graph_given_finds_booked_places_on_its_own_map(
        tmp_path: Path) -> None:
    """Bookings name places of the scenario's own map (here a matrix region's nodes) when the
    scenario is read on its own, as ``mae simulate`` and ``mae optimise`` read it."""
    path = write_bookings(tmp_path, [
        "P-1,,2026-01-05T10:00:00+00:00,2026-01-05T12:00:00+00:00,B,30,no,1,"])
    sc = scenario_from_dict(matrix_scenario(followups={"csv": str(path)}))
    assert sc.followups is not None
    (booking,) = sc.followups.bookings
    assert booking.place == "B" and 52.0 < booking.lat < 53.0 and 4.0 < booking.lon < 6.0


def test_the_simulated_crew_drives_to_its_visit_by_the_behaviour_model(
        graph: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """One behaviour for the simulator's crews and the live demo's
    (:func:`simulations.behaviour.visit_act`): the unit leaves base when its route departs
    (at 08:00, shift start), so an acute alarm at 08:20 is sent to a car on the road to Beta,
    not at the base; it still does the visit in its window afterwards (on its way home from the
    acute job: still RETURNING), then drives home and is AVAILABLE at the base."""
    from dispatch.events import UnitStatusChanged, VisitDone
    from dispatch.model import Location
    from dispatch.status import UnitStatus

    noted: list[tuple[str, Location, float]] = []  # positions go to the state, not the log
    note = DispatchState.note_position

    def spy(state: DispatchState, unit_id: str, position: Location, at: Any) -> bool:
        noted.append((unit_id, position, (at - T0).total_seconds()))
        return note(state, unit_id, position, at)

    monkeypatch.setattr(DispatchState, "note_position", spy)
    sc = scenario(graph)
    on_road = (DAY + 8 * 3600 + 20 * 60) / 60  # day 2, 08:20: 2/3 of the way Alpha-Beta
    res = simulate(sc, graph=graph, keep_log=True,
                   demand=[alarm("A1", "Beta", 10 * 60), alarm("A2", "Gamma", on_road)])
    assert res.log is not None
    acute = next(r for r in res.records if r.reference == "A2")
    assert acute.assigned_s is not None
    sent = [p for unit, p, at in noted if unit == "U1" and at == acute.assigned_s]
    assert sent and NODES["Alpha"][1] < sent[-1].lon < NODES["Beta"][1]
    assert acute.response_s is not None and acute.response_s < ACK_TURNOUT_S + 3000
    visit = res.visits[0]  # A1's follow-up (A2's is the next day's)
    assert visit.status == "done" and visit.in_window and not visit.interrupted
    events = [e.event for e in res.log]
    done_at = next(i for i, e in enumerate(events)
                   if isinstance(e, VisitDone) and e.visit_id == visit.visit_id)
    assert state_at(res.log, done_at).units["U1"].status is UnitStatus.RETURNING
    back = next(i for i, e in enumerate(events) if i > done_at and
                isinstance(e, UnitStatusChanged) and e.unit_id == "U1")
    home = events[back]
    assert isinstance(home, UnitStatusChanged)  # as found above
    assert home.status is UnitStatus.AVAILABLE
    back_s = (home.at - T0).total_seconds()
    where = [p for unit, p, at in noted if unit == "U1" and at <= back_s][-1]
    assert (where.lat, where.lon) == NODES["Alpha"]
    assert (events[back].at - events[done_at].at).total_seconds() == pytest.approx(1800)


def state_at(log: tuple[Envelope, ...], index: int) -> DispatchState:
    return DispatchState.replay(log[:index + 1])


def test_a_doctor_in_the_crew_takes_the_visits_that_need_one(graph: Any) -> None:
    """``crew = ["doctor", "nurse"]`` names roles: the doctor brings the core's doctor
    competence, so a visit that needs a doctor is done; with two nurses it is missed."""
    for crew, missed in ((["doctor", "nurse"], 0.0), (["nurse", "nurse"], 1.0)):
        data = tiny_scenario(
            units=[{"id": "U1", "base": "alpha", "crew": crew,
                    "shifts": [{"start": "08:00", "end": "20:00", "days": "all"}]}],
            followups={"share": 1.0, "doctor_share": 1.0, "window_start_hour": 14,
                       "window_hours": 4, "postponable_share": 0.0})
        sc = scenario_from_dict(data, graph=graph)
        res = simulate(sc, graph=graph, demand=[alarm("A1", "Beta", 10 * 60)])
        assert len(res.visits) == 1
        assert summarize(res, sc).scalars["visits_missed_share"] == missed, crew
