"""Recommend which unit goes to which waiting callout (a one-shot optimal assignment).

Each unit takes at most one callout and each callout at most one unit, with a linear cost, so
this is a bipartite matching: OR-Tools' linear sum assignment solves it exactly in
microseconds and deterministically, with no time limit to tune (CP-SAT or a MIP would only be
needed for side constraints linking several pairs, which dispatch does not have).

Cost of unit ``u`` on callout ``c``: ``weight[priority] * response_s`` where ``response_s`` is
``max(now, available_at) + travel - now``. A pair is allowed only when the unit has the
callout's competences and ``arrival + on_scene_s <= shift_end`` (the shift-end rule; the drive
home afterwards is not counted). A callout left waiting costs ``weight * waiting_penalty_s``,
so callouts wait only when units run out, and then the least pressing wait first.
"""

from __future__ import annotations

from routing._ortools import min_cost_perfect_matching
from routing.problems import Assignment, AssignmentProblem, AssignmentResult
from routing.validate import check_assignment

__all__ = ["assign"]


def assign(problem: AssignmentProblem) -> AssignmentResult:
    """The optimal recommendation for ``problem``, validated before it is returned."""
    n_c, n_u = len(problem.callouts), len(problem.units)
    size = n_c + n_u
    # Left: callouts, then one "idle" slot per unit. Right: units, then one "waits" slot
    # per callout. Every left node can always be matched, so a perfect matching exists.
    arcs: list[tuple[int, int, int]] = []
    for c, callout in enumerate(problem.callouts):
        weight = problem.weights[callout.priority]
        for u in range(n_u):
            if problem.allowed(u, c):
                response = problem.start_s(u) + problem.travel_s[u][c] - problem.now_s
                arcs.append((c, u, weight * response))
        arcs.append((c, n_u + c, weight * problem.waiting_penalty_s))
    for u in range(n_u):
        arcs.append((n_c + u, u, 0))
        arcs.extend((n_c + u, n_u + c, 0) for c in range(n_c))
    mates = min_cost_perfect_matching(size, arcs) if size else []

    assignments: list[Assignment] = []
    waiting: list[int] = []
    busy: set[int] = set()
    objective = 0
    for c, callout in enumerate(problem.callouts):
        weight = problem.weights[callout.priority]
        u = mates[c]
        if u >= n_u:
            waiting.append(c)
            objective += weight * problem.waiting_penalty_s
            continue
        busy.add(u)
        depart = problem.start_s(u)
        arrival = depart + problem.travel_s[u][c]
        objective += weight * (arrival - problem.now_s)
        assignments.append(Assignment(unit_id=problem.units[u].id, callout_id=callout.id,
                                      depart_s=depart, arrival_s=arrival,
                                      response_s=arrival - problem.now_s))
    waiting.sort(key=lambda c: (problem.callouts[c].priority, c))
    result = AssignmentResult(
        assignments=tuple(assignments),
        waiting=tuple(problem.callouts[c].id for c in waiting),
        idle_units=tuple(u.id for i, u in enumerate(problem.units) if i not in busy),
        objective=objective,
    )
    return check_assignment(problem, result)
