"""The region file: every problem named by its dotted key, and the commands that bring a
dispatch state's fleet to the file's (register, update, retire, bring back)."""

from __future__ import annotations

import copy
import tomllib
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import pytest

from dispatch.commands import (
    Assign,
    ReceiveAlarm,
    RegisterUnit,
    ReportPosition,
    RetireUnit,
    StartShift,
    UpdateUnit,
)
from dispatch.errors import InvalidCommand
from dispatch.events import UnitRegistered, UnitRetired, UnitUpdated, event_from_dict, event_to_dict
from dispatch.model import Agency, Alarm, Category, Location, Patient, Priority
from dispatch.recommend import _candidates
from dispatch.region import (
    RETIRE_REASON,
    Bounds,
    Region,
    RegionError,
    parse_region,
    region_commands,
)
from dispatch.rota import ShiftBreak
from dispatch.state import DispatchState
from dispatch.status import UnitStatus
from tests.dispatch.conftest import T0, Core

NORRBOTTEN = Path(__file__).parents[2] / "regions" / "norrbotten.toml"


ALARM = Alarm(agency=Agency.POLICE, reference="P-1", received_at=T0, priority=Priority.URGENT,
              location=Location(65.83, 21.69), category=Category.SUICIDE_RISK, patient=Patient())


def good() -> dict[str, Any]:
    """A small valid region file, parsed."""
    return {
        "name": "Testland",
        "bases": [
            {"id": "lulea", "name": "Luleå bas", "lat": 65.58, "lon": 22.15},
            {"id": "boden", "name": "Boden bas", "lat": 65.83, "lon": 21.69},
        ],
        "units": [
            {"id": "U1", "name": "MAE Luleå", "base": "lulea", "competences": ["nurse"],
             "seats": 3},
            {"id": "U2", "name": "MAE Boden", "base": "boden"},
        ],
        "rota": [
            {"unit": "U1", "days": "mon-fri", "start": "07:00", "end": "21:30"},
            {"unit": "U2", "days": ["sat", "sun"], "start": time(22, 0), "end": "06:00"},
        ],
        "facilities": [
            {"name": "Boden sjukhus", "kind": "hospital", "kinds": ["psychiatric_emergency"],
             "lat": 65.82, "lon": 21.70, "place": "Boden"},
        ],
    }


def problems(data: dict[str, Any], **kwargs: Any) -> dict[str, str]:
    with pytest.raises(RegionError) as info:
        parse_region(data, **kwargs)
    found = dict(info.value.problems)
    assert len(found) == len(info.value.problems), "one problem per key in these tests"
    assert str(info.value).count("\n") == len(found)  # a headline, then one line each
    return found


def load(core: Core, region: Region, at: int = 0) -> list[Any]:
    """Run the region's commands on the core; returns the events they logged."""
    before = len(core.log)
    for command in region_commands(region, core.state):
        core.do(command, now=T0 + timedelta(minutes=at), actor="system")
    return [env.event for env in core.log[before:]]


# -- parsing ------------------------------------------------------------------------------------


def test_a_good_region_parses_into_bases_units_rota_and_facilities() -> None:
    region = parse_region(good())
    assert (region.name, region.timezone) == ("Testland", "Europe/Stockholm")
    assert region.tzinfo.key == "Europe/Stockholm"
    assert [(b.base_id, b.name) for b in region.bases] == [("lulea", "Luleå bas"),
                                                           ("boden", "Boden bas")]
    u1, u2 = region.units
    assert (u1.unit_id, u1.base, u1.competences, u1.seats) == ("U1", "lulea", ("nurse",), 3)
    assert (u2.competences, u2.seats) == ((), None)
    weekdays, weekend = region.rota
    assert (weekdays.unit_id, sorted(weekdays.days)) == ("U1", [1, 2, 3, 4, 5])
    assert (weekdays.start, weekdays.end) == (time(7), time(21, 30))
    assert sorted(weekend.days) == [6, 7] and weekend.overnight
    (fac,) = region.facilities
    assert (fac.name, fac.kind, fac.kinds, fac.place) == (
        "Boden sjukhus", "hospital", ("psychiatric_emergency",), "Boden")


@pytest.mark.parametrize(("days", "expected"), [
    ("daily", [1, 2, 3, 4, 5, 6, 7]), ("weekdays", [1, 2, 3, 4, 5]), ("weekends", [6, 7]),
    ("Mon-Wed", [1, 2, 3]), ("fri-mon", [1, 5, 6, 7]), ("sun", [7]),
    (["tuesday", "thu"], [2, 4]),
])
def test_rota_days_are_read_from_names_ranges_and_words(days: Any, expected: list[int]) -> None:
    data = good()
    data["rota"][0]["days"] = days
    assert sorted(parse_region(data).rota[0].days) == expected


def test_a_rota_break_is_read_with_its_window_and_a_missing_one_is_the_default() -> None:
    data = good()
    data["rota"][0].update(break_min=45, break_from="11:00", break_until="13:30")
    data["rota"][1].update(break_min=20, break_from="02:00", break_until="03:00")  # overnight
    rota = parse_region(data).rota
    assert rota[0].shift_break == ShiftBreak(45, time(11), time(13, 30))
    assert rota[1].shift_break == ShiftBreak(20, time(2), time(3))
    assert parse_region(good()).rota[0].shift_break is None  # the planner's default rule
    data["rota"][0] = {k: v for k, v in data["rota"][0].items() if "break_" not in k}
    data["rota"][0]["break_min"] = 0
    assert parse_region(data).rota[0].shift_break == ShiftBreak(0)  # no break at all


def test_the_shipped_norrbotten_region_has_the_three_mae_bases() -> None:
    with NORRBOTTEN.open("rb") as f:
        region = parse_region(tomllib.load(f), bounds=Bounds(65.1, 17.8, 68.5, 24.2))
    assert {b.name for b in region.bases} == {"Sunderby sjukhus", "Piteå älvdals sjukhus",
                                              "Gällivare sjukhus"}
    assert sorted(u.unit_id for u in region.units) == ["MAE-GALLIVARE", "MAE-PITEA",
                                                       "MAE-SUNDERBY"]
    assert {p.unit_id for p in region.rota} == {u.unit_id for u in region.units}


def test_every_problem_is_reported_at_once_under_its_dotted_key() -> None:
    data = good()
    data["bases"].append({"id": "lulea", "name": "Other", "lat": 65.6, "lon": 22.1})
    data["units"][0]["base"] = "kiruna"
    data["units"][1]["seats"] = 0
    data["units"].append({"id": "U1", "name": "again", "base": "lulea"})
    data["rota"][0]["days"] = ["mon", "funday"]
    data["rota"][1]["start"] = "25:00"
    data["rota"].append({"unit": "U9", "days": "daily", "start": "08:00", "end": "16:00"})
    data["facilities"][0]["kind"] = "spa"
    data["facilities"][0]["lat"] = 21.70  # lat and lon swapped
    data["facilities"][0]["lon"] = 65.82
    data["colour"] = "blue"
    found = problems(data)
    assert set(found) == {
        "bases[2].id", "units[0].base", "units[1].seats", "units[2].id", "rota[0].days[1]",
        "rota[1].start", "rota[2].unit", "facilities[0].kind", "facilities[0].lat", "colour",
    }
    assert "duplicate id 'lulea' (also bases[0].id)" in found["bases[2].id"]
    assert "unknown base 'kiruna'" in found["units[0].base"]
    assert "1 to 20" in found["units[1].seats"]
    assert "duplicate id 'U1' (also units[0].id)" in found["units[2].id"]
    assert "unknown weekday name 'funday'" in found["rota[0].days[1]"]
    assert "bad time '25:00'" in found["rota[1].start"]
    assert "rota for unknown unit 'U9'" in found["rota[2].unit"]
    assert "unknown kind 'spa'" in found["facilities[0].kind"]
    assert "outside Sweden" in found["facilities[0].lat"]
    assert "unknown key" in found["colour"]


@pytest.mark.parametrize(("change", "key", "words"), [
    (lambda d: d.pop("name"), "name", "missing"),
    (lambda d: d.update(timezone="Mars/Olympus"), "timezone", "unknown timezone"),
    (lambda d: d.update(bases=[]), "bases", "at least one"),
    (lambda d: d.pop("units"), "units", "missing"),
    (lambda d: d["units"][0].pop("base"), "units[0].base", "missing"),
    (lambda d: d["units"][0].update(id="U 1"), "units[0].id", "not an id"),
    (lambda d: d["units"][0].update(seats=2.5), "units[0].seats", "whole number"),
    (lambda d: d["units"][0].update(competences="doctor"), "units[0].competences", "list"),
    (lambda d: d["units"][0].update(competences=["doctor", "doctor"]),
     "units[0].competences[1]", "named twice"),
    (lambda d: d["bases"][0].update(lat="north"), "bases[0].lat", "not a number"),
    (lambda d: d["bases"][0].update(name=""), "bases[0].name", "non-empty"),
    (lambda d: d["rota"][0].update(days="someday"), "rota[0].days", "unknown weekday"),
    (lambda d: d["rota"][0].update(days=[]), "rota[0].days", "give weekdays"),
    (lambda d: d["rota"][0].update(end="07:00"), "rota[0].end", "same time"),
    (lambda d: d["rota"][0].update(end="7.30pm"), "rota[0].end", "HH:MM"),
    (lambda d: d["rota"][0].update(crew=2), "rota[0].crew", "unknown key"),
    (lambda d: d["rota"][0].update(break_min=-5), "rota[0].break_min", "whole minutes"),
    (lambda d: d["rota"][0].update(break_min=True), "rota[0].break_min", "whole minutes"),
    (lambda d: d["rota"][0].update(break_min=30, break_from="11:00"), "rota[0].break_until",
     "both"),
    (lambda d: d["rota"][0].update(break_from="11:00", break_until="12:00"),
     "rota[0].break_min", "needs its length"),
    (lambda d: d["rota"][0].update(break_min=45, break_from="11:00", break_until="11:30"),
     "rota[0].break_until", "shorter than the 45 min break"),
    (lambda d: d["rota"][0].update(break_min=30, break_from="05:00", break_until="06:00"),
     "rota[0].break_from", "within the shift"),
    (lambda d: d["rota"][1].update(break_min=30, break_from="05:00", break_until="07:00"),
     "rota[1].break_from", "within the shift"),
    (lambda d: d["rota"][0].update(break_min=30, break_from="11:00", break_until="25:00"),
     "rota[0].break_until", "HH:MM"),
    (lambda d: d["facilities"][0].update(kinds=["mae_base", "zoo"]), "facilities[0].kinds[1]",
     "unknown kind"),
    (lambda d: d.update(facilities=[d["facilities"][0], d["facilities"][0]]),
     "facilities[1].name", "duplicate facility"),
    (lambda d: d.update(units={"id": "U1"}), "units", "list of tables"),
])
def test_each_kind_of_problem_names_its_key(change: Any, key: str, words: str) -> None:
    data = copy.deepcopy(good())
    change(data)
    found = problems(data)
    assert key in found, found
    assert words in found[key]


def test_coordinates_off_the_map_are_refused_when_the_map_is_given() -> None:
    data = good()
    assert parse_region(data)  # in Sweden, and no map to check against
    found = problems(data, bounds=Bounds(65.7, 21.0, 66.5, 23.0))  # Luleå lies south of it
    assert set(found) == {"bases[0].lat"} and "off the map" in found["bases[0].lat"]


# -- commands -----------------------------------------------------------------------------------


def test_a_region_registers_its_units_at_their_bases_and_a_second_load_logs_nothing() -> None:
    core = Core()
    region = parse_region(good())
    events = load(core, region)
    assert [type(e) for e in events] == [UnitRegistered, UnitRegistered]
    u1 = core.state.units["U1"]
    assert (u1.name, u1.base, u1.registered_competences, u1.seats) == (
        "MAE Luleå", "Luleå bas", ("nurse",), 3)
    assert u1.position == u1.base_position == Location(65.58, 22.15, label="Luleå bas")
    assert u1.status is UnitStatus.OFF_DUTY
    assert region_commands(region, core.state) == []
    assert load(core, region, at=5) == []


def test_a_changed_unit_is_updated_and_an_off_duty_unit_moves_to_its_new_base() -> None:
    core = Core()
    load(core, parse_region(good()))
    core.do(StartShift("U2", ("nurse A",), T0 + timedelta(hours=8)))
    core.do(ReportPosition("U2", Location(65.9, 21.9)))
    data = good()
    data["bases"][0].update(lat=65.60, lon=22.20)  # U1's base moved
    data["units"][0].update(name="MAE Luleå city", competences=["nurse", "doctor"], seats=4)
    data["units"][1]["base"] = "lulea"  # U2, on shift, now belongs to Luleå
    commands = region_commands(parse_region(data), core.state)
    assert [type(c) for c in commands] == [UpdateUnit, UpdateUnit]
    events = load(core, parse_region(data), at=1)
    assert all(isinstance(e, UnitUpdated) for e in events)
    new_base = Location(65.60, 22.20, label="Luleå bas")
    u1, u2 = core.state.units["U1"], core.state.units["U2"]
    assert (u1.name, u1.registered_competences, u1.seats) == ("MAE Luleå city",
                                                              ("nurse", "doctor"), 4)
    assert u1.base_position == u1.position == new_base  # off duty: moved home
    assert u1.position_at == T0 + timedelta(minutes=1)  # positions seen before are stale now
    assert not core.state.note_position("U1", Location(65.7, 22.0), T0)
    assert u2.base == "Luleå bas" and u2.base_position == new_base
    assert u2.position == Location(65.9, 21.9)  # on shift: where its crew said it is
    assert u2.status is UnitStatus.AVAILABLE
    assert region_commands(parse_region(data), core.state) == []


def test_a_unit_removed_from_the_file_is_retired_kept_and_never_assignable() -> None:
    core = Core()
    load(core, parse_region(good()))
    core.do(StartShift("U2", ("nurse A",), T0 + timedelta(hours=8)))
    data = good()
    del data["units"][1]
    del data["rota"][1]
    events = load(core, parse_region(data), at=1)
    assert events == [UnitRetired(at=T0 + timedelta(minutes=1), actor="system", unit_id="U2",
                                  reason=RETIRE_REASON)]
    u2 = core.state.units["U2"]  # still there, for the history
    assert u2.retired and u2.status is UnitStatus.OFF_DUTY and u2.shift_ends_at is None
    assert [u.unit_id for u in core.state.active_units()] == ["U1"]
    assert "U2" not in {u.unit_id for u in core.state.free_units()}
    assert not core.state.note_position("U2", Location(65.8, 21.7), T0 + timedelta(minutes=2))
    callout_id = core.do(ReceiveAlarm(ALARM)).callout_id
    assert callout_id is not None
    assert "U2" not in {u.unit_id for u in _candidates(core.state)}
    for refused in (Assign(callout_id, "U2"), StartShift("U2", ("x",), T0 + timedelta(hours=2)),
                    ReportPosition("U2", Location(65.8, 21.7)), RetireUnit("U2"),
                    UpdateUnit("U2", "n", "b", Location(65.8, 21.7))):
        with pytest.raises(InvalidCommand, match="unit U2 is retired"):
            core.do(refused)
    assert region_commands(parse_region(data), core.state) == []  # stays retired, quietly


def test_a_retired_unit_back_in_the_file_is_registered_again_with_its_history() -> None:
    core = Core()
    load(core, parse_region(good()))
    fewer = good()
    del fewer["units"][1]
    del fewer["rota"][1]
    load(core, parse_region(fewer), at=1)
    events = load(core, parse_region(good()), at=2)
    assert [type(e) for e in events] == [UnitRegistered]
    u2 = core.state.units["U2"]
    assert not u2.retired and u2.status is UnitStatus.OFF_DUTY
    assert [type(env.event).__name__ for env in core.log if
            getattr(env.event, "unit_id", None) == "U2"] == [
        "UnitRegistered", "UnitRetired", "UnitRegistered"]
    assert DispatchState.replay(core.log).snapshot() == core.state.snapshot()


def test_a_unit_on_a_callout_is_not_retired_and_the_refusal_says_why() -> None:
    core = Core()
    load(core, parse_region(good()))
    core.do(StartShift("U2", ("nurse A",), T0 + timedelta(hours=8)))
    callout_id = core.do(ReceiveAlarm(ALARM)).callout_id
    assert callout_id is not None
    core.do(Assign(callout_id, "U2"))
    data = good()
    del data["units"][1]
    del data["rota"][1]
    (retire,) = region_commands(parse_region(data), core.state)
    assert retire == RetireUnit("U2", reason=RETIRE_REASON)
    with pytest.raises(InvalidCommand, match=f"unit U2 is on callout {callout_id}: record"):
        core.do(retire)
    assert not core.state.units["U2"].retired


def test_registration_fields_are_checked_by_the_rules_too() -> None:
    core = Core()
    where = Location(65.58, 22.15)
    for command, field in [(RegisterUnit("U1", "", "b", where), "name"),
                           (RegisterUnit("U1", "n", "b", where, seats=0), "seats"),
                           (RegisterUnit("U1", "n", "b", where, competences=("a", "a")),
                            "competences")]:
        with pytest.raises(InvalidCommand) as info:
            core.do(command)
        assert info.value.field == field
    core.do(RegisterUnit("U1", "n", "b", where))
    with pytest.raises(InvalidCommand, match="already has these values"):
        core.do(UpdateUnit("U1", "n", "b", where))
    with pytest.raises(InvalidCommand, match="already registered"):
        core.do(RegisterUnit("U1", "n", "b", where))


def test_old_unit_registrations_load_without_competences_or_seats() -> None:
    old = {"type": "UnitRegistered", "at": T0.isoformat(), "actor": "system", "unit_id": "U1",
           "name": "MAE", "base": "B", "position": {"lat": 65.0, "lon": 21.0, "label": "",
                                                    "resolved_from": ""}}
    event = event_from_dict(old)
    assert isinstance(event, UnitRegistered)
    assert (event.competences, event.seats) == ((), None)
    assert event_from_dict(event_to_dict(event)) == event


def test_a_region_looks_up_its_bases_and_units_by_id() -> None:
    region = parse_region(good())
    assert region.base("boden").name == "Boden bas" and region.unit("U2").base == "boden"
    with pytest.raises(KeyError):
        region.base("kiruna")
    with pytest.raises(KeyError):
        region.unit("U9")
    assert region.summary() == ("Testland: 2 bases, 2 units, 2 rota shifts, 1 facilities "
                                "(Europe/Stockholm)")


@pytest.mark.parametrize(("first", "second", "clash"), [
    (("mon-fri", "07:00", "15:00"), ("mon-fri", "15:00", "23:00"), False),  # back to back
    (("mon-fri", "07:00", "15:00"), ("fri", "14:00", "22:00"), True),
    (("mon", "22:00", "06:00"), ("tue", "05:00", "13:00"), True),  # night into the morning
    (("sun", "22:00", "06:00"), ("mon", "05:30", "12:00"), True),  # across the week's end
    (("sun", "22:00", "06:00"), ("mon", "06:00", "12:00"), False),
    (("weekends", "08:00", "20:00"), ("weekdays", "08:00", "20:00"), False),
])
def test_two_shifts_of_one_unit_at_the_same_time_are_refused(
    first: tuple[str, str, str], second: tuple[str, str, str], clash: bool,
) -> None:
    data = good()
    data["rota"] = [dict(zip(("days", "start", "end"), spec, strict=True), unit="U1")
                    for spec in (first, second)]
    if not clash:
        assert len(parse_region(data).rota) == 2
        return
    found = problems(data)
    assert found == {"rota[1]": "overlaps rota[0]: unit U1 would be on two shifts at once"}
    data["rota"][1]["unit"] = "U2"  # another unit may work then
    assert len(parse_region(data).rota) == 2
