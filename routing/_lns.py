"""Ruin-and-recreate improvement of visit routes (SISR), compiled with numba.

Works on the node-level model that :mod:`routing._ortools` also solves (a
:class:`~routing._spec.RoutingSpec`): integer arc costs, service times, visit windows,
vehicle start/end nodes, ready times and shift ends, one break per vehicle, capacities,
allowed vehicles per visit and optional visits with a postponement penalty. Each iteration
removes a few strings of consecutive visits from routes near a random seed visit (slack
induction by string removals, Christiaens & Vanden Berghe 2020), re-inserts them and every
postponed visit greedily at the cheapest feasible place while skipping a few places at random
("blinks"), and accepts the result by simulated annealing; the best plan seen is kept.

Why our own search: OR-Tools' guided local search spends about 0.2 s per step on 100 visits
(benchmarks/README.md); this loop makes thousands of cheap moves in that time. Time windows
without a break are checked in O(1) per insertion from earliest and latest start times; a
route with a break is re-scheduled in O(length) with the break in the best gap (the same rule
as :func:`routing.plan.schedule_route`). The search is deterministic for a seed and an
iteration budget; with a time limit it stops at the limit.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from routing._jit import F64, I64, Bools, nogil_kernel
from routing._spec import RoutingSpec
from routing.errors import InvalidProblem

__all__ = ["LnsOptions", "LnsResult", "improve", "route_cost", "warm_up"]

_INF = 1 << 60


@dataclass(frozen=True, slots=True)
class LnsOptions:
    """SISR settings: mean visits removed per ruin, longest string, blink rate, temperatures.

    Temperatures are multiples of a quarter of the mean travel between visits; they fall
    geometrically from ``t_start`` to ``t_end`` over the run. Defaults were measured on the
    Solomon set (benchmarks/README.md). ``iterations`` caps the run (the time limit still
    applies): a run that ends on this cap is the same for the same seed on any machine.
    ``restarts`` splits the budget into that many independent runs from the same start (the
    best wins): on small, rugged days it guards against one run stuck in a poor basin.
    """

    removed: float = 10.0
    max_string: float = 20.0
    blink: float = 0.01
    t_start: float = 1.0
    t_end: float = 0.03
    iterations: int | None = None
    restarts: int = 1

    def __post_init__(self) -> None:
        if self.restarts < 1:
            raise InvalidProblem("restarts must be at least 1")
        if self.iterations is not None and self.iterations < 0:
            raise InvalidProblem("iterations must be >= 0")
        if self.removed < 1 or self.max_string < 1:
            raise InvalidProblem("removed and max_string must be at least 1")
        if not 0.0 <= self.blink < 1.0:
            raise InvalidProblem("blink must be in [0, 1)")
        if not 0.0 < self.t_end <= self.t_start:
            raise InvalidProblem("temperatures must satisfy 0 < t_end <= t_start")


@dataclass(frozen=True, slots=True)
class LnsResult:
    """Best routes found (nodes per vehicle), their cost (travel plus penalties), facts."""

    routes: list[list[int]]
    cost: int
    iterations: int
    improvements: int
    feasible_starts: tuple[bool, ...]


# -- scheduling ---------------------------------------------------------------------------------


@nogil_kernel
def _end_with_break(v: int, row: I64, length: int, ins: int, ins_pos: int, cost: I64,
                    service: I64, ws: I64, we: I64, vstart: I64, vend: I64, vready: I64,
                    blo: I64, bhi: I64, bdur: I64) -> int:
    """Earliest end of route ``row[:length]`` (``ins`` put at ``ins_pos`` if >= 0) with its break.

    Dynamic programme over two states, break still to take or taken; the break goes in the gap
    that ends the day earliest, and may interrupt a drive. Returns _INF when infeasible.
    """
    inf = _INF
    t0 = vready[v]
    t1 = inf
    prev = vstart[v]
    total = length + (1 if ins >= 0 else 0)
    i = 0
    for step in range(total + 1):
        if step == total:
            nxt = vend[v]
        elif ins >= 0 and step == ins_pos:
            nxt = ins
        else:
            nxt = row[i]
            i += 1
        leg = cost[prev, nxt]
        n1 = inf
        if t1 < inf:
            n1 = t1 + leg
        n0 = inf
        if t0 < inf:
            n0 = t0 + leg
            b = max(t0, blo[v])
            if b <= bhi[v]:
                arr = t0 + leg
                if b < arr:
                    arr += bdur[v]
                r = max(arr, b + bdur[v])
                if r < n1:
                    n1 = r
        if step == total:
            return n1
        if n0 < inf:
            s = max(n0, ws[nxt])
            n0 = s + service[nxt] if s <= we[nxt] else inf
        if n1 < inf:
            s = max(n1, ws[nxt])
            n1 = s + service[nxt] if s <= we[nxt] else inf
        if n0 >= inf and n1 >= inf:
            return inf
        t0 = n0
        t1 = n1
        prev = nxt
    return inf


@nogil_kernel
def _refresh(v: int, routes: I64, rlen: I64, node_route: I64, node_pos: I64, load: I64,
             rcost: I64, early: I64, late: I64, cost: I64, service: I64, ws: I64, we: I64,
             demand: I64, vstart: I64, vend: I64, vready: I64, vendmax: I64) -> bool:
    """Recompute route ``v``'s positions, load, cost and start-time bounds (no break).

    ``early[v, i]`` is the earliest start at position ``i``; ``late[v, i]`` the latest start
    there (``late[v, length]``: latest arrival at the end). Returns whether the route meets
    its windows and shift end, ignoring the break.
    """
    n = rlen[v]
    t = vready[v]
    prev = vstart[v]
    c = 0
    ld = 0
    ok = True
    for i in range(n):
        u = routes[v, i]
        node_route[u] = v
        node_pos[u] = i
        c += cost[prev, u]
        ld += demand[u]
        s = max(t + cost[prev, u], ws[u])
        if s > we[u]:
            ok = False
        early[v, i] = s
        t = s + service[u]
        prev = u
    if n > 0:
        c += cost[prev, vend[v]]
        if t + cost[prev, vend[v]] > vendmax[v]:
            ok = False
    rcost[v] = c
    load[v] = ld
    nxt = vend[v]
    lt = vendmax[v]
    late[v, n] = lt
    for i in range(n - 1, -1, -1):
        u = routes[v, i]
        lt = min(we[u], lt - cost[u, nxt] - service[u])
        late[v, i] = lt
        nxt = u
    return ok


@nogil_kernel
def _route_ok(v: int, routes: I64, rlen: I64, ok_nobreak: bool, has_brk: Bools, cost: I64,
              service: I64, ws: I64, we: I64, vstart: I64, vend: I64, vready: I64,
              vendmax: I64, blo: I64, bhi: I64, bdur: I64) -> bool:
    if not ok_nobreak:
        return False
    if rlen[v] == 0 or not has_brk[v]:
        return True
    end = _end_with_break(v, routes[v], rlen[v], -1, 0, cost, service, ws, we, vstart, vend,
                          vready, blo, bhi, bdur)
    return bool(end <= vendmax[v])


# -- the search ---------------------------------------------------------------------------------


@nogil_kernel
def _remove_positions(v: int, first: int, count: int, keep_from: int, keep_count: int,
                      routes: I64, rlen: I64, node_route: I64, removed: I64,
                      n_removed: int) -> int:
    """Remove ``count`` visits from position ``first`` except ``keep_count`` from ``keep_from``."""
    n = rlen[v]
    w = first
    for i in range(first, n):
        u = routes[v, i]
        inside = i < first + count
        kept = keep_from <= i < keep_from + keep_count
        if inside and not kept:
            node_route[u] = -1
            removed[n_removed] = u
            n_removed += 1
        else:
            routes[v, w] = u
            w += 1
    rlen[v] = w
    return n_removed


@nogil_kernel
def _iterate(iters: int, temp: float, seed: int, removed_avg: float, max_string: float,
             blink: float, cost: I64, service: I64, ws: I64, we: I64, demand: I64,
             penalty: I64, visits: I64, adj: I64, allowed: Bools, vclass: I64, n_classes: int,
             vstart: I64, vend: I64, vready: I64, vendmax: I64, cap: I64, has_brk: Bools,
             blo: I64, bhi: I64, bdur: I64, far: F64, must: Bools,
             c_routes: I64, c_rlen: I64, c_node_route: I64, c_node_pos: I64, c_load: I64,
             c_rcost: I64, c_early: I64, c_late: I64,
             b_routes: I64, b_rlen: I64, stats: I64) -> None:
    """Run ``iters`` SISR iterations at temperature ``temp`` from the current solution.

    ``stats`` holds [current cost, best cost, iterations done, improvements of the best].
    The current solution (``c_*``) and the best (``b_*``) are updated in place.
    """
    np.random.seed(seed)
    n_veh = c_rlen.shape[0]
    n_vis = visits.shape[0]
    routes = c_routes.copy()
    rlen = c_rlen.copy()
    node_route = c_node_route.copy()
    node_pos = c_node_pos.copy()
    load = c_load.copy()
    rcost = c_rcost.copy()
    early = c_early.copy()
    late = c_late.copy()
    removed = np.empty(n_vis, np.int64)
    order_key = np.empty(n_vis, np.float64)
    pending = np.empty(n_vis, np.int64)
    touched = np.zeros(n_veh, np.bool_)
    touched_list = np.empty(n_veh, np.int64)
    empty_seen = np.zeros(n_classes, np.bool_)
    just_removed = np.zeros(node_route.shape[0], np.bool_)
    # Blinks: the gap to the next skipped place is geometric, one draw per blink.
    log_keep = math.log(1.0 - blink) if blink > 0.0 else 0.0
    to_blink = _INF
    if blink > 0.0:
        to_blink = int(math.log(1.0 - np.random.random()) / log_keep)
    cur_cost = stats[0]
    best_cost = stats[1]
    for _ in range(iters):
        # ---- ruin: strings from routes near a random seed visit
        n_touched = 0
        assigned = 0
        nonempty = 0
        for v in range(n_veh):
            assigned += rlen[v]
            if rlen[v] > 0:
                nonempty += 1
        n_removed = 0
        if assigned > 0:
            avg_len = assigned / nonempty
            ls_max = min(max_string, avg_len)
            ks_max = 4.0 * removed_avg / (1.0 + ls_max) - 1.0
            ks = int(np.random.random() * ks_max) + 1
            seed_visit = visits[np.random.randint(n_vis)]
            ruined = 0
            for j in range(adj.shape[1]):
                c = adj[seed_visit, j]
                v = node_route[c]
                if v < 0 or touched[v]:
                    continue
                touched[v] = True
                touched_list[n_touched] = v
                n_touched += 1
                n = rlen[v]
                lmax = min(float(n), ls_max)
                size = int(np.random.random() * lmax) + 1
                pos = node_pos[c]
                if np.random.random() < 0.5 or size >= n:
                    lo = max(0, pos - size + 1)
                    hi = min(pos, n - size)
                    first = lo + np.random.randint(hi - lo + 1)
                    n_removed = _remove_positions(v, first, size, 0, 0, routes, rlen,
                                                  node_route, removed, n_removed)
                else:
                    keep = 1
                    while size + keep < n and np.random.random() < 0.5:
                        keep += 1
                    span = size + keep
                    lo = max(0, pos - span + 1)
                    hi = min(pos, n - span)
                    first = lo + np.random.randint(hi - lo + 1)
                    keep_from = first + np.random.randint(span - keep + 1)
                    n_removed = _remove_positions(v, first, span, keep_from, keep, routes,
                                                  rlen, node_route, removed, n_removed)
                _refresh(v, routes, rlen, node_route, node_pos, load, rcost, early, late,
                         cost, service, ws, we, demand, vstart, vend, vready, vendmax)
                ruined += 1
                if ruined >= ks:
                    break
        # ---- recreate: removed visits and every postponed one, in a random sort order
        n_pend = 0
        for k in range(n_removed):
            pending[n_pend] = removed[k]
            n_pend += 1
            just_removed[removed[k]] = True
        for k in range(n_vis):
            u = visits[k]
            if node_route[u] < 0 and not just_removed[u]:
                pending[n_pend] = u
                n_pend += 1
        for k in range(n_removed):
            just_removed[removed[k]] = False
        # A visit that must be planned but was left out before this ruin goes in first.
        missing_must = False
        for k in range(n_removed, n_pend):
            if must[pending[k]]:
                missing_must = True
        pick = np.random.random() * 11.0
        for k in range(n_pend):
            u = pending[k]
            jitter = np.random.random()
            if pick < 4.0:
                order_key[k] = jitter
            elif pick < 8.0:
                order_key[k] = -demand[u] + jitter * 1e-3
            elif pick < 10.0:
                order_key[k] = -far[u] + jitter * 1e-3
            else:
                order_key[k] = far[u] + jitter * 1e-3
            if missing_must and must[u]:
                order_key[k] -= 1e15
        order = np.argsort(order_key[:n_pend])
        for k in range(n_pend):
            u = pending[order[k]]
            best_delta = _INF
            best_v = -1
            best_p = -1
            empty_seen[:] = False
            for v in range(n_veh):
                if not allowed[u, v] or load[v] + demand[u] > cap[v]:
                    continue
                n = rlen[v]
                if n == 0:
                    if empty_seen[vclass[v]]:
                        continue
                    empty_seen[vclass[v]] = True
                for p in range(n + 1):
                    if to_blink == 0:
                        to_blink = int(math.log(1.0 - np.random.random()) / log_keep)
                        continue
                    to_blink -= 1
                    prev = vstart[v] if p == 0 else routes[v, p - 1]
                    nxt = vend[v] if p == n else routes[v, p]
                    if p > 0 and early[v, p - 1] + service[prev] > we[u]:
                        break  # starts only grow along a route: no later place fits
                    if n == 0:
                        delta = cost[prev, u] + cost[u, nxt]
                    else:
                        delta = cost[prev, u] + cost[u, nxt] - cost[prev, nxt]
                    if delta >= best_delta:
                        continue
                    depart = vready[v] if p == 0 else early[v, p - 1] + service[prev]
                    s = max(depart + cost[prev, u], ws[u])
                    if s > we[u]:
                        continue
                    if s + service[u] + cost[u, nxt] > late[v, p]:
                        continue
                    if has_brk[v]:
                        end = _end_with_break(v, routes[v], n, u, p, cost, service, ws, we,
                                              vstart, vend, vready, blo, bhi, bdur)
                        if end > vendmax[v]:
                            continue
                    best_delta = delta
                    best_v = v
                    best_p = p
            if best_v < 0 or (penalty[u] >= 0 and best_delta >= penalty[u]):
                continue
            v = best_v
            n = rlen[v]
            for i in range(n, best_p, -1):
                routes[v, i] = routes[v, i - 1]
            routes[v, best_p] = u
            rlen[v] = n + 1
            _refresh(v, routes, rlen, node_route, node_pos, load, rcost, early, late, cost,
                     service, ws, we, demand, vstart, vend, vready, vendmax)
            if not touched[v]:
                touched[v] = True
                touched_list[n_touched] = v
                n_touched += 1
        # ---- evaluate: every touched route must still be feasible (removals may break a
        # window when travel times break the triangle inequality)
        feasible = True
        for k in range(n_touched):
            v = touched_list[k]
            ok = _refresh(v, routes, rlen, node_route, node_pos, load, rcost, early, late,
                          cost, service, ws, we, demand, vstart, vend, vready, vendmax)
            if not _route_ok(v, routes, rlen, ok, has_brk, cost, service, ws, we, vstart,
                             vend, vready, vendmax, blo, bhi, bdur):
                feasible = False
                break
        new_cost = 0
        if feasible:
            for v in range(n_veh):
                new_cost += rcost[v]
            for k in range(n_vis):
                u = visits[k]
                if node_route[u] < 0:
                    new_cost += penalty[u] if penalty[u] >= 0 else 0
        accept = feasible and (
            new_cost < cur_cost - temp * math.log(1.0 - np.random.random()))
        if accept:
            src_routes, src_rlen, src_load, src_rcost, src_early, src_late = (
                routes, rlen, load, rcost, early, late)
            dst_routes, dst_rlen, dst_load, dst_rcost, dst_early, dst_late = (
                c_routes, c_rlen, c_load, c_rcost, c_early, c_late)
            dst_node_route, dst_node_pos = c_node_route, c_node_pos
            cur_cost = new_cost
        else:
            src_routes, src_rlen, src_load, src_rcost, src_early, src_late = (
                c_routes, c_rlen, c_load, c_rcost, c_early, c_late)
            dst_routes, dst_rlen, dst_load, dst_rcost, dst_early, dst_late = (
                routes, rlen, load, rcost, early, late)
            dst_node_route, dst_node_pos = node_route, node_pos
        for k in range(n_touched):
            v = touched_list[k]
            for i in range(dst_rlen[v]):
                dst_node_route[dst_routes[v, i]] = -1
        for k in range(n_touched):
            v = touched_list[k]
            n = src_rlen[v]
            dst_rlen[v] = n
            dst_load[v] = src_load[v]
            dst_rcost[v] = src_rcost[v]
            for i in range(n):
                u = src_routes[v, i]
                dst_routes[v, i] = u
                dst_node_route[u] = v
                dst_node_pos[u] = i
                dst_early[v, i] = src_early[v, i]
            for i in range(n + 1):
                dst_late[v, i] = src_late[v, i]
            touched[v] = False
        if accept and new_cost < best_cost:
            best_cost = new_cost
            b_routes[:, :] = c_routes
            b_rlen[:] = c_rlen
            stats[3] += 1
        stats[2] += 1
    stats[0] = cur_cost
    stats[1] = best_cost


# -- driver -------------------------------------------------------------------------------------


def route_cost(spec: RoutingSpec, vehicle: int, nodes: list[int]) -> int:
    """Arc cost of ``vehicle`` driving ``nodes`` (0 for an empty route)."""
    if not nodes:
        return 0
    path = [spec.starts[vehicle], *nodes, spec.ends[vehicle]]
    return sum(spec.cost[a][b] for a, b in itertools.pairwise(path))


@dataclass(slots=True)
class _Arrays:
    cost: I64
    service: I64
    ws: I64
    we: I64
    demand: I64
    penalty: I64
    visits: I64
    adj: I64
    allowed: Bools
    vclass: I64
    n_classes: int
    vstart: I64
    vend: I64
    vready: I64
    vendmax: I64
    cap: I64
    has_brk: Bools
    blo: I64
    bhi: I64
    bdur: I64
    far: F64
    must: Bools


def _arrays(spec: RoutingSpec) -> _Arrays:
    n = len(spec.cost)
    n_veh = len(spec.starts)
    cost = np.asarray(spec.cost, dtype=np.int64)
    visits = np.array([i for i in range(n) if spec.penalty[i] is not None], dtype=np.int64)
    penalty = np.array([-1 if p is None else p for p in spec.penalty], dtype=np.int64)
    ws = np.array([w[0] for w in spec.node_window], dtype=np.int64)
    we = np.array([w[1] for w in spec.node_window], dtype=np.int64)
    allowed = np.ones((n, n_veh), dtype=np.bool_)
    for i, cands in enumerate(spec.allowed):
        if cands is not None:
            allowed[i, :] = False
            allowed[i, cands] = True
    demand = np.zeros(n, np.int64) if spec.demand is None else np.asarray(spec.demand, np.int64)
    cap = (np.full(n_veh, _INF, np.int64) if spec.capacity is None
           else np.asarray(spec.capacity, np.int64))
    brk = [b if b is not None else (0, 0, 0) for b in spec.breaks]
    sym = cost + cost.T
    if len(visits):
        sub = sym[:, visits]
        adj = visits[np.argsort(sub, axis=1, kind="stable")]
    else:
        adj = np.zeros((n, 0), np.int64)
    keys: dict[tuple[Any, ...], int] = {}
    vclass = np.empty(n_veh, np.int64)
    for v in range(n_veh):
        key = (spec.starts[v], spec.ends[v], spec.vehicle_start_window[v][0],
               spec.vehicle_end_max[v], spec.breaks[v], int(cap[v]),
               tuple(bool(x) for x in allowed[:, v]))
        vclass[v] = keys.setdefault(key, len(keys))
    far = cost[spec.starts[0], :].astype(np.float64) if n_veh else np.zeros(n)
    return _Arrays(
        cost=cost, service=np.asarray(spec.service, np.int64), ws=ws, we=we, demand=demand,
        penalty=penalty, visits=visits, adj=np.ascontiguousarray(adj), allowed=allowed,
        vclass=vclass, n_classes=len(keys), vstart=np.asarray(spec.starts, np.int64),
        vend=np.asarray(spec.ends, np.int64),
        vready=np.array([w[0] for w in spec.vehicle_start_window], np.int64),
        vendmax=np.asarray(spec.vehicle_end_max, np.int64), cap=cap,
        has_brk=np.array([b is not None for b in spec.breaks], np.bool_),
        blo=np.array([b[0] for b in brk], np.int64), bhi=np.array([b[1] for b in brk], np.int64),
        bdur=np.array([b[2] for b in brk], np.int64), far=far,
        # A penalty above any route cost means the visit must be planned (routing.plan).
        must=penalty > int(cost.max(axis=1).sum()))


_compiled: list[bool] = []


def warm_up() -> None:
    """Compile (or load from numba's cache) every kernel on a two-visit problem, once.

    :func:`improve` calls it before starting its clock, so compiling is not taken from the
    search time; a service may call it at start-up.
    """
    if _compiled:
        return
    cost = [[0, 5, 5], [5, 0, 5], [5, 5, 0]]
    spec = RoutingSpec(
        cost=cost, transit=cost, service=[0, 0, 0], starts=[0], ends=[0],
        vehicle_start_window=[(0, 100)], vehicle_end_max=[100],
        node_window=[(0, 0), (0, 100), (0, 100)], penalty=[None, 50, None],
        allowed=[None, None, None], breaks=[(0, 100, 1)], demand=None, capacity=None,
        horizon=101)
    _compiled.append(True)
    improve(spec, [[[1, 2]]], time_limit_s=60.0, iterations=2)


def _chunk(index: int) -> int:
    return min(256, 8 << min(index, 5))


def improve(
    spec: RoutingSpec,
    starts: Sequence[list[list[int]]],
    *,
    time_limit_s: float,
    seed: int = 0,
    iterations: int | None = None,
    options: LnsOptions | None = None,
    on_improve: Callable[[int, int], None] | None = None,
) -> LnsResult:
    """Improve the cheapest feasible of ``starts`` (visit nodes per vehicle) by SISR.

    Runs within the time or iteration budget. Without a feasible start the search begins from
    a greedy insertion of every visit. The result is never worse than any feasible start.
    ``on_improve(cost, iterations)`` is called with the start's cost, then whenever the best
    cost falls. With ``iterations``
    set and reached before the time limit, the run is deterministic for ``seed``.
    """
    warm_up()
    began = time.monotonic()
    opts = options or LnsOptions()
    if iterations is None:
        iterations = opts.iterations
    a = _arrays(spec)
    n_veh = len(spec.starts)
    n_vis = len(a.visits)
    width = max(1, n_vis)
    routes = np.zeros((n_veh, width), np.int64)
    rlen = np.zeros(n_veh, np.int64)
    node_route = np.full(len(spec.cost), -1, np.int64)
    node_pos = np.zeros(len(spec.cost), np.int64)
    load = np.zeros(n_veh, np.int64)
    rcost = np.zeros(n_veh, np.int64)
    early = np.zeros((n_veh, width), np.int64)
    late = np.zeros((n_veh, width + 1), np.int64)

    visit_set = {int(u) for u in a.visits}

    def fill(seqs: list[list[int]]) -> bool:
        rlen[:] = 0
        node_route[:] = -1
        flat = [u for seq in seqs for u in seq]
        if len(flat) != len(set(flat)) or not set(flat) <= visit_set:
            return False
        ok = True
        for v, seq in enumerate(seqs):
            routes[v, : len(seq)] = seq
            rlen[v] = len(seq)
            fine = _refresh(v, routes, rlen, node_route, node_pos, load, rcost, early, late,
                            a.cost, a.service, a.ws, a.we, a.demand, a.vstart, a.vend, a.vready,
                            a.vendmax)
            ok = ok and load[v] <= a.cap[v] and all(a.allowed[u, v] for u in seq) and bool(
                _route_ok(v, routes, rlen, fine, a.has_brk, a.cost, a.service, a.ws, a.we,
                          a.vstart, a.vend, a.vready, a.vendmax, a.blo, a.bhi, a.bdur))
        return ok

    def total() -> int:
        unassigned = [int(a.penalty[u]) for u in a.visits if node_route[u] < 0]
        return int(rcost.sum()) + sum(unassigned)

    feasible: list[bool] = []
    chosen: list[list[int]] | None = None
    chosen_cost = 0
    for cand in starts:
        ok = len(cand) == n_veh and fill(cand)
        feasible.append(ok)
        if ok and (chosen is None or total() < chosen_cost):
            chosen, chosen_cost = cand, total()
    started = chosen is not None
    first: list[list[int]] = chosen if chosen is not None else [[] for _ in range(n_veh)]
    fill(first)
    start_cost = total()
    best_routes = routes.copy()
    best_rlen = rlen.copy()
    # The temperature scale depends on the problem only, so every start anneals alike.
    mean_arc = float(np.mean(a.cost[np.ix_(a.visits, a.visits)])) / 4 if n_vis else 1.0
    mean_arc = mean_arc or 1.0
    t_hi, t_lo = opts.t_start * mean_arc, opts.t_end * mean_arc
    removed = opts.removed
    stats = np.array([start_cost, start_cost, 0, 0], np.int64)
    if not started:
        stats[1] = _INF  # the first recreate is always the best so far
    if started and on_improve is not None:
        on_improve(start_cost, 0)
    chunk_index = 0
    rng = np.random.default_rng(seed)
    for run in range(opts.restarts if n_vis else 0):
        # Independent annealing runs from the same start share the budget; the best wins.
        if run > 0:
            fill(first)
            stats[0] = start_cost
        run_began = time.monotonic()
        run_time = (time_limit_s - (run_began - began)) / (opts.restarts - run)
        run_iters = None
        if iterations is not None:
            run_iters = (iterations - int(stats[2])) // (opts.restarts - run)
        done_before = int(stats[2])
        while True:
            frac = (time.monotonic() - run_began) / run_time if run_time > 0 else 1.0
            if run_iters is not None:
                if stats[2] - done_before >= run_iters:
                    break
                frac = max(frac, (stats[2] - done_before) / run_iters)
            if frac >= 1.0:
                break
            temp = t_hi * (t_lo / t_hi) ** frac if t_hi > 0 else 0.0
            count = _chunk(chunk_index)
            if run_iters is not None:
                count = min(count, run_iters - (int(stats[2]) - done_before))
            before = int(stats[1])
            _iterate(count, temp, int(rng.integers(1 << 31)), removed, opts.max_string,
                     opts.blink, a.cost, a.service, a.ws, a.we, a.demand, a.penalty, a.visits,
                     a.adj, a.allowed, a.vclass, a.n_classes, a.vstart, a.vend, a.vready,
                     a.vendmax, a.cap, a.has_brk, a.blo, a.bhi, a.bdur, a.far, a.must,
                     routes, rlen, node_route, node_pos, load, rcost, early, late,
                     best_routes, best_rlen, stats)
            chunk_index += 1
            if on_improve is not None and stats[1] < before:
                on_improve(int(stats[1]), int(stats[2]))
    best = [[int(x) for x in best_routes[v, : best_rlen[v]]] for v in range(n_veh)]
    best_cost = sum(route_cost(spec, v, r) for v, r in enumerate(best))
    placed = {u for r in best for u in r}
    best_cost += sum(int(a.penalty[u]) for u in a.visits if int(u) not in placed)
    return LnsResult(routes=best, cost=best_cost, iterations=int(stats[2]),
                     improvements=int(stats[3]), feasible_starts=tuple(feasible))
