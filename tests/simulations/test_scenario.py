"""Scenario files: a bad key is refused with its dotted name."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from simulations.errors import ScenarioError
from simulations.scenario import load_scenario, scenario_from_dict
from tests.simulations._tiny import tiny_graph, tiny_scenario

SHIPPED = sorted((Path(__file__).parents[2] / "simulations" / "scenarios").glob("*.toml"))


def error_key(data: dict, **kw) -> str:  # type: ignore[type-arg, no-untyped-def]
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data, graph=tiny_graph(), **kw)
    assert isinstance(info.value, ValueError)
    return info.value.key


def test_shipped_scenarios_load() -> None:
    assert len(SHIPPED) >= 4
    names = {load_scenario(p).name for p in SHIPPED}
    assert len(names) == len(SHIPPED)


def test_shifts_past_midnight_and_weekdays() -> None:
    data = tiny_scenario()
    data["units"][0]["shifts"] = [{"start": "14:00", "end": "02:00", "days": "weekdays"}]
    shift = scenario_from_dict(data, graph=tiny_graph()).units[0].shifts[0]
    assert (shift.start_min, shift.end_min, shift.days) == (840, 1560, frozenset(range(5)))
    assert shift.hours == 12


@pytest.mark.parametrize(("change", "key"), [
    (lambda d: d.update(polcy={}), "polcy"),
    (lambda d: d["policy"].update(kind="nearest"), "policy.kind"),
    (lambda d: d["policy"].update(max_response_min=-5), "policy.max_response_min"),
    (lambda d: d["units"][0]["shifts"][0].update(start="25:00"), "units[0].shifts[0].start"),
    (lambda d: d["units"][0]["shifts"][0].update(days=["mon", "funday"]),
     "units[0].shifts[0].days[1]"),
    (lambda d: d["units"][0].update(base="nowhere"), "units[0].base"),
    (lambda d: d["bases"][0].update(place="Atlantis"), "bases[0].place"),
    (lambda d: d["demand"].update(hour_profile=[1] * 23), "demand.hour_profile"),
    (lambda d: d["demand"].update(agency_mix={"ambulance": 0.5, "police": 0.4}),
     "demand.agency_mix"),
    (lambda d: d["demand"].update(agency_mix={"ambulance": 0.5, "fire": 0.5}),
     "demand.agency_mix.fire"),
    (lambda d: d["demand"].update(age_mix={"18-24": 0.5, "26-44": 0.5}), "demand.age_mix"),
    (lambda d: d.update(outcomes={"stayed_home": 1.5}), "outcomes.stayed_home"),
    (lambda d: d["service"].update(ack_s=120), "service.ack_s"),
    (lambda d: d.update(timezone="Mars/Olympus"), "timezone"),
    (lambda d: d.update(start="2026-13-01"), "start"),
    (lambda d: d.update(units=[]), "units"),
    # found by an audit: accepted silently before
    (lambda d: d.update(name=" "), "name"),
    (lambda d: d.update(start=datetime(2026, 1, 5, 10, 30)), "start"),
    (lambda d: d["units"][0]["shifts"][0].update(days=["Monkey"]),
     "units[0].shifts[0].days[0]"),
    (lambda d: d["bases"][0].update(lat=0.0, lon=0.0, place="Null Island"), "bases[0].lat"),
    (lambda d: d.update(facilities=[{"name": "Far", "kind": "hospital", "lat": -33.9,
                                     "lon": 151.2}]), "facilities[0].lat"),
    (lambda d: d.update(kpi={"utilisation_from_min": 3 * 1440}), "kpi.utilisation_from_min"),
])
def test_errors_name_the_key(change, key) -> None:  # type: ignore[no-untyped-def]
    data = tiny_scenario()
    change(data)
    assert error_key(data) == key


def test_overlapping_shifts_of_one_unit_are_refused() -> None:
    data = tiny_scenario()
    data["units"][0]["shifts"] = [{"start": "08:00", "end": "16:00"},
                                  {"start": "14:00", "end": "22:00", "days": ["fri"]}]
    assert error_key(data) == "units[0].shifts"


def test_unknown_place_suggests_names() -> None:
    data = tiny_scenario()
    data["bases"][0]["place"] = "Alpa"
    with pytest.raises(ScenarioError, match="Alpha"):
        scenario_from_dict(data, graph=tiny_graph())


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="bad.toml: file: not valid TOML"):
        load_scenario(bad)


@pytest.mark.parametrize(("table", "key"), [
    ({"dispatch": {"sent_on": "teleport"}}, "dispatch.sent_on"),
    ({"dispatch": {"return_speed_factor": 0}}, "dispatch.return_speed_factor"),
    ({"dispatch": {"merge_window_min": -1}}, "dispatch.merge_window_min"),
    ({"dispatch": {"merge": "no"}}, "dispatch.merge"),
    ({"dispatch": {"merge_windw_min": 5}}, "dispatch.merge_windw_min"),
    ({"kpi": {"utilisation_from_min": 60, "utilisation_to_min": 30}},
     "kpi.utilisation_to_min"),
    ({"demand": {"kind": "replay", "csv": []}}, "demand.csv"),
    ({"dispatch": {"merge": False, "merge_window_min": 30}}, "dispatch.merge_window_min"),
])
def test_dispatch_kpi_and_replay_keys_are_named(table: dict[str, Any], key: str) -> None:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(tiny_scenario(**table), graph=tiny_graph())
    assert info.value.key == key


def test_day_names_are_names_or_their_first_three_letters() -> None:
    data = tiny_scenario()
    data["units"][0]["shifts"][0]["days"] = ["Monday", "tue", "SUNDAY "]
    sc = scenario_from_dict(data, graph=tiny_graph())
    assert sc.units[0].shifts[0].days == frozenset({0, 1, 6})


def test_a_replay_log_with_only_a_header_is_refused(tmp_path: Path) -> None:
    log = tmp_path / "empty.csv"
    log.write_text("received_at,place\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="has no alarms") as info:
        scenario_from_dict(tiny_scenario(demand={"kind": "replay", "csv": str(log)}),
                           graph=tiny_graph())
    assert info.value.key == "demand.csv"


def test_dispatch_rules_reach_the_core_config() -> None:
    sc = scenario_from_dict(tiny_scenario(dispatch={"merge_window_min": 5, "merge_radius_m": 50,
                                                    "return_speed_factor": 0.95}),
                            graph=tiny_graph())
    assert (sc.dispatch.merge_window_s, sc.dispatch.merge_radius_m) == (300.0, 50.0)
    assert sc.rules.return_speed_factor == 0.95 and sc.rules.sent_on == "along_route"
    off = scenario_from_dict(tiny_scenario(dispatch={"merge": False}), graph=tiny_graph())
    assert off.dispatch.merge_window_s == 0.0


def test_priority_mix_takes_the_numbers_and_names() -> None:
    """``[demand.priority_mix]`` keys "1", "2", "3" (TOML keys are text) or the names."""
    from dispatch.model import Priority
    mix = {"1": 0.2, "2": 0.5, "3": 0.3}
    sc = scenario_from_dict(tiny_scenario(demand={"priority_mix": mix}), graph=tiny_graph())
    assert sc.demand.priority_mix == ((Priority.ACUTE, 0.2), (Priority.URGENT, 0.5),  # type: ignore[union-attr]
                                      (Priority.NON_URGENT, 0.3))
    named = {"acute": 0.2, "urgent": 0.5, "non_urgent": 0.3}
    sc = scenario_from_dict(tiny_scenario(demand={"priority_mix": named}), graph=tiny_graph())
    assert dict(sc.demand.priority_mix)[Priority.URGENT] == 0.5  # type: ignore[union-attr]
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(tiny_scenario(demand={"priority_mix": {"4": 1.0}}),
                           graph=tiny_graph())
    assert info.value.key == "demand.priority_mix.4"


def test_demand_table_is_optional_with_synthetic_defaults() -> None:
    """README: synthetic demand is the default, so a scenario without [demand] runs."""
    from simulations.spec import SyntheticDemand
    data = tiny_scenario()
    data.pop("demand")
    sc = scenario_from_dict(data, graph=tiny_graph())
    assert isinstance(sc.demand, SyntheticDemand)
    assert sc.demand.alarms_per_year == 1500.0


def test_days_on_a_replay_says_whether_it_shortens_or_lengthens(tmp_path: Path) -> None:
    """--days longer than a replayed log was refused as "cannot shorten"; the reason now fits:
    longer runs past the log's end (no alarms there), shorter cuts it; the same days pass."""
    from simulations.scenario import with_days

    log = tmp_path / "log.csv"
    log.write_text("received_at,place\n2026-01-05T10:00:00+00:00,Beta\n", encoding="utf-8")
    data = tiny_scenario(demand={"kind": "replay", "csv": str(log)})
    del data["demand"]["alarms_per_year"]
    sc = scenario_from_dict(data, graph=tiny_graph())
    assert with_days([sc], 3)[0].days == 3
    with pytest.raises(ScenarioError, match="cannot shorten a replayed log"):
        with_days([sc], 2)
    with pytest.raises(ScenarioError, match="longer than the replayed log's 3 days: the log "
                                            "has no alarms after its end") as info:
        with_days([sc], 10)
    assert "shorten" not in str(info.value)


def test_a_follow_up_window_of_zero_hours_is_refused() -> None:
    """Every visit of a 0-hour window was missed; the key is refused instead."""
    with pytest.raises(ScenarioError, match="must be more than 0") as info:
        scenario_from_dict(tiny_scenario(followups={"window_hours": 0}), graph=tiny_graph())
    assert info.value.key == "followups.window_hours"


def test_doctor_visits_without_a_doctor_warn_once_with_the_count(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bookings = tmp_path / "bookings.csv"
    bookings.write_text(
        "patient_ref,earliest_start,latest_start,place,duration_min,doctor\n"
        "P1,2026-01-06T10:00:00+00:00,2026-01-06T14:00:00+00:00,Beta,45,yes\n"
        "P2,2026-01-06T10:00:00+00:00,2026-01-06T14:00:00+00:00,Beta,45,yes\n"
        "P3,2026-01-06T10:00:00+00:00,2026-01-06T14:00:00+00:00,Beta,45,no\n",
        encoding="utf-8")
    data = tiny_scenario(followups={"csv": str(bookings), "share": 0.0})
    with caplog.at_level("WARNING", logger="simulations.scenario"):
        scenario_from_dict(data, graph=tiny_graph(), source="s.toml")
    (record,) = caplog.records
    assert "2 booking(s)" in record.getMessage() and "no unit's crew has one" in (
        record.getMessage())
    caplog.clear()
    data["units"][0]["crew"] = ["Doctor", "nurse"]
    with caplog.at_level("WARNING", logger="simulations.scenario"):
        scenario_from_dict(data, graph=tiny_graph())
    assert not caplog.records


def test_a_number_above_its_limit_says_at_most_not_minus_infinity() -> None:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(tiny_scenario(followups={"plan_limit_s": 90}), graph=tiny_graph())
    assert info.value.key == "followups.plan_limit_s"
    assert info.value.problem == "must be at most 60, got 90" and "inf" not in str(info.value)
