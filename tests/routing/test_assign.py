"""Callout assignment: optimal against brute force, shift ends respected, who waits."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from routing.assign import assign
from routing.problems import AssignmentProblem, AssignUnit, Callout
from routing.validate import validate_assignment

DATA = Path(__file__).resolve().parent.parent / "data" / "routing"
H = 3600


def load(name: str) -> AssignmentProblem:
    raw = json.loads((DATA / f"{name}.json").read_text())
    units = tuple(AssignUnit(**{**u, "competences": frozenset(u.get("competences", ()))})
                  for u in raw["units"])
    callouts = tuple(Callout(**{**c, "needs": frozenset(c.get("needs", ()))})
                     for c in raw["callouts"])
    return AssignmentProblem(now_s=raw["now_s"], units=units, callouts=callouts,
                             travel_s=raw["travel_s"])


def brute_force(problem: AssignmentProblem) -> int:
    """Minimum objective over every partial one-to-one mapping of callouts to units."""
    n_u = len(problem.units)
    best: int | None = None
    for choice in itertools.product(range(-1, n_u), repeat=len(problem.callouts)):
        used = [u for u in choice if u >= 0]
        if len(used) != len(set(used)):
            continue
        total = 0
        for c, u in enumerate(choice):
            weight = problem.weights[problem.callouts[c].priority]
            if u < 0:
                total += weight * problem.waiting_penalty_s
            elif problem.allowed(u, c):
                total += weight * (problem.start_s(u) + problem.travel_s[u][c] - problem.now_s)
            else:
                break
        else:
            best = total if best is None else min(best, total)
    assert best is not None
    return best


def test_named_instance_is_assigned_optimally() -> None:
    problem = load("assign_three_units_four_callouts")
    result = assign(problem)
    assert validate_assignment(problem, result) == []
    assert result.objective == brute_force(problem)


def test_callouts_outnumbering_units_say_which_callout_waits() -> None:
    problem = load("assign_three_units_four_callouts")
    result = assign(problem)
    pairs = {a.callout_id: a.unit_id for a in result.assignments}
    # U2 ends its shift at 11:00 and can only fit the routine callout; the doctor unit U3 is
    # worth more on the acute callout than on the doctor callout, which therefore waits.
    assert pairs == {"c_acute": "U3", "c_urgent": "U1", "c_routine": "U2"}
    assert result.waiting == ("c_doctor",)
    assert result.idle_units == ()


def test_with_one_unit_the_acute_callout_goes_first() -> None:
    unit = AssignUnit(id="U1", available_at_s=0, shift_end_s=8 * H)
    callouts = (Callout(id="routine", priority=3, on_scene_s=H),
                Callout(id="acute", priority=1, on_scene_s=H),
                Callout(id="urgent", priority=2, on_scene_s=H))
    problem = AssignmentProblem(now_s=0, units=(unit,), callouts=callouts,
                                travel_s=[[300, 2400, 1200]])
    result = assign(problem)
    assert [a.callout_id for a in result.assignments] == ["acute"]
    assert result.waiting == ("urgent", "routine")


def test_unit_is_never_sent_past_its_shift_end() -> None:
    problem = load("assign_three_units_four_callouts")
    result = assign(problem)
    for a in result.assignments:
        unit = next(u for u in problem.units if u.id == a.unit_id)
        callout = next(c for c in problem.callouts if c.id == a.callout_id)
        assert a.arrival_s + callout.on_scene_s <= unit.shift_end_s
    # U2's shift ends at 11:00: the acute callout (20 min away, 1 h on scene) is not for it.
    assert ("U2", "c_acute") not in {(a.unit_id, a.callout_id) for a in result.assignments}


def test_soon_available_unit_departs_when_it_is_free() -> None:
    unit = AssignUnit(id="U1", available_at_s=10 * H + 900, shift_end_s=18 * H)
    callout = Callout(id="c1", priority=1, on_scene_s=H)
    problem = AssignmentProblem(now_s=10 * H, units=(unit,), callouts=(callout,),
                                travel_s=[[600]])
    (a,) = assign(problem).assignments
    assert (a.depart_s, a.arrival_s, a.response_s) == (10 * H + 900, 10 * H + 1500, 1500)


def test_no_allowed_unit_leaves_the_callout_waiting_and_the_unit_idle() -> None:
    unit = AssignUnit(id="U1", available_at_s=0, shift_end_s=H)
    callout = Callout(id="c1", priority=1, on_scene_s=H)
    problem = AssignmentProblem(now_s=0, units=(unit,), callouts=(callout,), travel_s=[[60]])
    result = assign(problem)
    assert result.assignments == ()
    assert result.waiting == ("c1",)
    assert result.idle_units == ("U1",)


@st.composite
def problems(draw: st.DrawFn) -> AssignmentProblem:
    n_u = draw(st.integers(1, 4))
    n_c = draw(st.integers(0, 4))
    units = tuple(
        AssignUnit(id=f"U{i}", available_at_s=draw(st.integers(0, 2 * H)),
                   shift_end_s=draw(st.integers(2 * H, 8 * H)),
                   competences=frozenset(draw(st.sets(st.sampled_from(["doctor", "nurse"])))))
        for i in range(n_u))
    callouts = tuple(
        Callout(id=f"c{j}", priority=draw(st.integers(1, 3)),
                on_scene_s=draw(st.integers(0, 3 * H)),
                needs=frozenset(draw(st.sets(st.sampled_from(["doctor", "nurse"]), max_size=1))))
        for j in range(n_c))
    travel = [[draw(st.integers(0, 2 * H)) for _ in range(n_c)] for _ in range(n_u)]
    return AssignmentProblem(now_s=H, units=units, callouts=callouts, travel_s=travel)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(problems())
def test_random_small_problems_match_brute_force(problem: AssignmentProblem) -> None:
    result = assign(problem)
    assert validate_assignment(problem, result) == []
    assert result.objective == brute_force(problem)
