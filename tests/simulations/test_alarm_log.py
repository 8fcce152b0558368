"""Alarm logs: every bad row and field is named; good logs replay."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatch.model import Agency, OutcomeKind, Priority
from simulations.alarm_log import read_alarm_log, validate_alarm_log, write_alarm_log
from simulations.engine import simulate
from simulations.errors import AlarmLogError, ScenarioError
from simulations.scenario import scenario_from_dict
from tests.simulations._tiny import tiny_graph, tiny_scenario

HEADER = "reference,received_at,agency,priority,category,lat,lon,place,outcome,on_scene_min\n"
GOOD = (
    "R1,2026-01-05T10:00:00+00:00,police,1,suicide_risk,65.0,20.6,,stayed_home,45\n"
    "R2,2026-01-05T12:00:00+00:00,ambulance,2,psychosis,,,Gamma,transported_mae,\n"
)


def write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    p = tmp_path / "log.csv"
    p.write_text(header + body, encoding="utf-8")
    return p


def test_good_log_reads_with_places_and_municipalities(tmp_path: Path) -> None:
    alarms = read_alarm_log(write(tmp_path, GOOD), graph=tiny_graph())
    assert [a.reference for a in alarms] == ["R1", "R2"]
    assert alarms[0].agency is Agency.POLICE and alarms[0].priority is Priority.ACUTE
    assert alarms[0].on_scene_s == 45 * 60 and alarms[0].municipality == "Alphaby"
    assert (alarms[1].lat, alarms[1].lon, alarms[1].municipality) == (65.0, 21.2, "Gammaby")
    assert alarms[1].outcome is OutcomeKind.TRANSPORTED_MAE


def test_validator_names_every_bad_row_and_field(tmp_path: Path) -> None:
    body = GOOD + (
        "R3,2026-01-05T13:00:00+00:00,police,7,suicide_risk,65.0,20.6,,,\n"        # row 4
        "R4,yesterday,police,1,suicide_risk,,,,,\n"                                 # row 5
        "R5,2026-01-05T14:00:00+00:00,fire,1,nonsense,65.0,,,,\n"                   # row 6
        "R1,2026-01-05T15:00:00+00:00,police,1,suicide_risk,65.0,20.6,,,\n"         # row 7
        ",2026-01-05T16:00:00+00:00,police,1,suicide_risk,65.0,20.6,,,-3\n"         # row 8
    )  # row 8's empty reference is allowed (it becomes "row8"); its -3 minutes are not
    problems = validate_alarm_log(write(tmp_path, body), graph=tiny_graph())
    named = {(row, field) for row, field, _ in problems}
    assert named == {(4, "priority"), (5, "received_at"), (5, "place"), (6, "agency"),
                     (6, "category"), (6, "lon"), (7, "reference"), (8, "on_scene_min")}
    with pytest.raises(AlarmLogError, match="row 4, priority") as info:
        read_alarm_log(tmp_path / "log.csv", graph=tiny_graph())
    assert isinstance(info.value, ValueError)


def test_missing_and_unknown_columns_are_named(tmp_path: Path) -> None:
    p = write(tmp_path, "R1,police\n", header="reference,agency,colour\n")
    problems = validate_alarm_log(p)
    assert (1, "received_at", "required column is missing") in problems
    assert any(r == 1 and f == "colour" for r, f, _ in problems)


def test_a_log_that_is_not_utf8_text_or_not_a_file_is_named_not_a_traceback(
        tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes(GOOD.replace("R1", "Ö1").encode("latin-1"))
    (folder := tmp_path / "folder.csv").mkdir()
    for path, says in ((latin, "not UTF-8 text"), (folder, "is a folder")):
        ((row, field, problem),) = validate_alarm_log(path)
        assert (row, field) == (0, "file") and says in problem and str(path) in problem


def test_written_log_reads_back(tmp_path: Path) -> None:
    alarms = read_alarm_log(write(tmp_path, GOOD), graph=tiny_graph())
    again = read_alarm_log(write_alarm_log(alarms, tmp_path / "out.csv"), graph=tiny_graph())
    assert again == alarms


def test_replay_scenario_runs_the_log(tmp_path: Path) -> None:
    log = write(tmp_path, GOOD)
    data = tiny_scenario(demand={"kind": "replay", "csv": str(log)})
    del data["demand"]["alarms_per_year"]
    sc = scenario_from_dict(data, graph=tiny_graph(), base_dir=tmp_path)
    res = simulate(sc, graph=tiny_graph())
    assert [r.reference for r in res.records] == ["R1", "R2"]
    # R1 at Beta: 30 s + 5 min + 1800 s driving.
    assert res.records[0].response_s == pytest.approx(2130.0)
    assert res.records[1].transport == "mae"


def test_replay_outside_the_scenario_days_is_refused(tmp_path: Path) -> None:
    log = write(tmp_path, "R9,2026-03-01T10:00:00+00:00,police,1,suicide_risk,65.0,20.6,,,\n")
    data = tiny_scenario(demand={"kind": "replay", "csv": str(log)})
    del data["demand"]["alarms_per_year"]
    with pytest.raises(ScenarioError, match="R9"):
        scenario_from_dict(data, graph=tiny_graph(), base_dir=tmp_path)


def test_a_log_of_only_times_and_places_gets_defaults(tmp_path: Path) -> None:
    """Issue 16: a replay log needs only the time and the place; a transport flag sets who
    goes to the facility, the rest is defaulted (reference = row number)."""
    p = write(tmp_path, "2026-01-05T10:00:00+00:00,Beta,1,40,12\n"
                        "2026-01-05T11:00:00+00:00,Gamma,no,,\n",
              header="received_at,place,transport,on_scene_min,at_facility_min\n")
    a, b = read_alarm_log(p, graph=tiny_graph())
    assert (a.reference, a.agency, a.priority, a.category.value) == (
        "row2", Agency.OTHER, Priority.URGENT, "other")
    assert a.outcome is OutcomeKind.TRANSPORTED_MAE and b.outcome is OutcomeKind.STAYED_HOME
    assert (a.on_scene_s, a.at_facility_s, b.on_scene_s) == (2400.0, 720.0, None)


def test_a_bad_transport_flag_is_named(tmp_path: Path) -> None:
    p = write(tmp_path, "2026-01-05T10:00:00+00:00,Beta,maybe\n",
              header="received_at,place,transport\n")
    assert [(r, f) for r, f, _ in validate_alarm_log(p, graph=tiny_graph())] == [
        (2, "transport")]


def test_a_local_time_the_clocks_skip_is_named_not_moved(tmp_path: Path) -> None:
    """02:30 on 29 March 2026 does not exist in Stockholm (summer time starts at 02:00);
    zoneinfo would read it as 03:30 without a word."""
    p = write(tmp_path, "S1,2026-03-29T02:30:00,police,1,suicide_risk,65.0,20.6,,,\n"
                        "S2,2026-03-29T03:30:00,police,1,suicide_risk,65.0,20.6,,,\n")
    problems = validate_alarm_log(p, timezone="Europe/Stockholm")
    assert [(r, f) for r, f, _ in problems] == [(2, "received_at")]
    assert "does not exist in Europe/Stockholm" in problems[0][2]


def test_a_row_far_from_every_road_is_named_when_the_log_is_read(tmp_path: Path) -> None:
    """Inside the map's box but about 46 km from a road: its row and lat are named."""
    p = write(tmp_path, GOOD + "R3,2026-01-05T13:00:00+00:00,police,1,psychosis,65.6,21.0,,,\n")
    ((row, field, problem),) = validate_alarm_log(p, graph=tiny_graph())
    assert (row, field) == (4, "lat")
    assert "from the nearest road" in problem and "max_snap_m" not in problem


@pytest.mark.parametrize(("body", "says"), [
    (None, "no such file"),
    (b"", "is empty: it needs a header row"),
    ("\ufeffreceived_at;place\n2026-01-05T10:00:00+00:00;Beta\n".encode(),
     "is separated by ';', not ','; save it as comma-separated CSV"),
    (b"received_at,place\n\xd6,Beta\n", "is not UTF-8 text"),
])
def test_a_log_that_cannot_be_read_as_a_table_says_why_in_one_sentence(
        tmp_path: Path, body: bytes | None, says: str) -> None:
    """A missing, empty, semicolon-separated (Swedish Excel) or non-UTF-8 file is said as
    such, not as "1 bad field(s): row 0, file: …" or as a missing received_at column."""
    p = tmp_path / "log.csv"
    if body is not None:
        p.write_bytes(body)
    with pytest.raises(AlarmLogError) as info:
        read_alarm_log(p, graph=tiny_graph())
    message = str(info.value)
    assert says in message and str(p) in message
    assert "bad field" not in message and "row 0" not in message
    assert "received_at" not in message.replace("received_at,place", "")


def test_a_local_time_the_clocks_pass_twice_asks_for_an_offset(tmp_path: Path) -> None:
    """02:30 on 25 October 2026 happens twice in Stockholm (summer time ends at 03:00); it
    was read as the first without a word. With an offset it is clear and accepted."""
    p = write(tmp_path, "S1,2026-10-25T02:30:00,police,1,suicide_risk,65.0,20.6,,,\n"
                        "S2,2026-10-25T02:30:00+01:00,police,1,suicide_risk,65.0,20.6,,,\n"
                        "S3,2026-10-25T03:30:00,police,1,suicide_risk,65.0,20.6,,,\n")
    problems = validate_alarm_log(p, timezone="Europe/Stockholm")
    assert [(r, f) for r, f, _ in problems] == [(2, "received_at")]
    assert "happens twice in Europe/Stockholm" in problems[0][2]
    assert "+02:00 the first time, +01:00 the second" in problems[0][2]
