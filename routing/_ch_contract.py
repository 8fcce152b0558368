"""Building a contraction hierarchy (compiled): node order, witness searches, shortcuts.

:func:`build` contracts the nodes one by one in the order of a lazily updated priority
(``level + 2 * added / removed arcs + added / removed original-edge hops``); contracting ``v``
adds a shortcut ``u -> w`` unless a witness search, which avoids ``v``, finds a path at least as
fast. A witness search gives up after a set number of settled nodes: a witness not found costs a
shortcut more, never a wrong distance. The result is the node ranks and two CSR graphs over the
graph's node ids: ``fwd`` holds, at node ``x``, the arcs ``x -> y`` to higher-ranked ``y``;
``bwd`` holds, at ``x``, the arcs ``y -> x`` from higher-ranked ``y`` (stored by ``y``).
:mod:`routing._ch_order` then renames the nodes for the queries.
"""

from __future__ import annotations

import numpy as np

from routing._ch_arrays import Csr
from routing._ch_heap import clear_heap, pop, push
from routing._jit import F64, I32, I64, INF, kernel, nogil_kernel

__all__ = ["build"]


# -- dynamic graph used while contracting -----------------------------------------------------
# One pool of neighbour entries; node v owns pool rows start[v] .. start[v] + count[v] - 1.
# pf[e] = (out time, out length, in time, in length): arc v -> nbr and arc nbr -> v (inf: none)
# pi[e] = (nbr, out mid, in mid, out hops, in hops)


@kernel
def _reserve(
    v: int, start: I64, count: I64, cap: I64, pf: F64, pi: I32, used: I64
) -> tuple[F64, I32]:
    """Make room for one more entry of ``v``, moving its block or growing the pool."""
    if count[v] < cap[v]:
        return pf, pi
    new_cap = max(4, 2 * cap[v])
    if used[0] + new_cap > pf.shape[0]:
        size = max(2 * pf.shape[0], used[0] + new_cap)
        pf2 = np.empty((size, 4), dtype=np.float64)
        pi2 = np.empty((size, 5), dtype=np.int32)
        pf2[: used[0]] = pf[: used[0]]
        pi2[: used[0]] = pi[: used[0]]
        pf, pi = pf2, pi2
    s = start[v]
    for k in range(count[v]):
        pf[used[0] + k] = pf[s + k]
        pi[used[0] + k] = pi[s + k]
    start[v] = used[0]
    cap[v] = new_cap
    used[0] += new_cap
    return pf, pi


@kernel
def _set_arc(
    u: int, w: int, t: float, length: float, mid: int, hops: int, start: I64, count: I64, cap: I64,
    pf: F64, pi: I32, used: I64,
) -> tuple[F64, I32]:
    """Add arc ``u -> w`` or lower its time if it exists and is slower."""
    for side in range(2):
        a = u if side == 0 else w
        b = w if side == 0 else u
        col = 0 if side == 0 else 2
        found = -1
        for e in range(start[a], start[a] + count[a]):
            if pi[e, 0] == b:
                found = e
                break
        if found < 0:
            pf, pi = _reserve(a, start, count, cap, pf, pi, used)
            found = start[a] + count[a]
            count[a] += 1
            pi[found, 0] = b
            pf[found, 0] = INF
            pf[found, 2] = INF
            pf[found, 1] = 0.0
            pf[found, 3] = 0.0
            pi[found, 1] = -1
            pi[found, 2] = -1
            pi[found, 3] = 0
            pi[found, 4] = 0
        if t < pf[found, col]:
            pf[found, col] = t
            pf[found, col + 1] = length
            pi[found, 1 + side] = mid
            pi[found, 3 + side] = hops
    return pf, pi


@kernel
def _witness(
    u: int, v: int, bound: float, limit: int, start: I64, count: I64, pf: F64, pi: I32, dist: F64,
    touched: I64, hnode: I64, hkey: F64, hpos: I64, mark: I64, stamp: int, targets: int,
) -> int:
    """Dijkstra from ``u`` avoiding ``v``, up to ``bound`` or ``limit`` settled nodes, or until
    the ``targets`` nodes marked ``stamp`` are all settled."""
    dist[u] = 0.0
    touched[0] = u
    nt = 1
    size = push(hnode, hkey, hpos, 0, u, 0.0)
    settled = 0
    while size > 0:
        x, k, size = pop(hnode, hkey, hpos, size)
        if k > bound:
            break
        settled += 1
        if settled > limit:
            break
        if mark[x] == stamp:
            targets -= 1
            if targets == 0:
                break
        for e in range(start[x], start[x] + count[x]):
            wt = pf[e, 0]
            if wt == INF:
                continue
            y = pi[e, 0]
            if y == v:
                continue
            nd = k + wt
            if nd < dist[y]:
                if dist[y] == INF:
                    touched[nt] = y
                    nt += 1
                dist[y] = nd
                size = push(hnode, hkey, hpos, size, y, nd)
    clear_heap(hnode, hpos, size)
    return nt


@kernel
def _contract(
    v: int, simulate: bool, limit: int, start: I64, count: I64, cap: I64, pf: F64, pi: I32,
    used: I64, dist: F64, touched: I64, hnode: I64, hkey: F64, hpos: I64, stats: I64, mark: I64,
) -> tuple[F64, I32]:
    """Add (or, simulating, count) the shortcuts that removing ``v`` needs.

    ``stats`` receives (shortcuts, their hops, removed arcs, removed hops).
    """
    added = 0
    added_hops = 0
    removed = 0
    removed_hops = 0
    n_mark = len(mark) - 1  # the last entry counts stamps
    s0 = start[v]
    c0 = count[v]
    for a in range(s0, s0 + c0):
        if pf[a, 0] < INF:
            removed += 1
            removed_hops += pi[a, 3]
        if pf[a, 2] < INF:
            removed += 1
            removed_hops += pi[a, 4]
    for a in range(s0, s0 + c0):
        c1 = pf[a, 2]
        if c1 == INF:
            continue
        u = pi[a, 0]
        bound = -1.0
        mark[n_mark] += 1
        stamp = mark[n_mark]
        targets = 0
        for b in range(s0, s0 + c0):
            if pf[b, 0] < INF and pi[b, 0] != u:
                bound = max(bound, c1 + pf[b, 0])
                if mark[pi[b, 0]] != stamp:
                    mark[pi[b, 0]] = stamp
                    targets += 1
        if bound < 0:
            continue
        nt = _witness(u, v, bound, limit, start, count, pf, pi, dist, touched, hnode, hkey, hpos,
                      mark, stamp, targets)
        for b in range(s0, s0 + c0):
            c2 = pf[b, 0]
            w = pi[b, 0]
            if c2 == INF or w == u:
                continue
            via = c1 + c2
            if dist[w] > via:
                hops = pi[a, 4] + pi[b, 3]
                added += 1
                added_hops += hops
                if not simulate:
                    pf, pi = _set_arc(
                        u, w, via, pf[a, 3] + pf[b, 1], v, hops,
                        start, count, cap, pf, pi, used,
                    )
        for i in range(nt):
            dist[touched[i]] = INF
    stats[0] = added
    stats[1] = added_hops
    stats[2] = removed
    stats[3] = removed_hops
    return pf, pi


@kernel
def _priority(level: int, stats: I64) -> float:
    if stats[2] == 0:
        return float(level)
    return float(level + 2.0 * stats[0] / stats[2] + stats[1] / max(1, stats[3]))


def build(
    n: int, offsets: I64, targets: I64, times: F64, lengths: F64, sim_limit: int, limit: int
) -> tuple[I64, Csr, Csr]:
    """Order and contract all nodes of the CSR graph ``offsets`` / ``targets``; returns each
    node's rank and the upward (``fwd``) and downward (``bwd``) graphs.

    ``sim_limit`` and ``limit`` bound the settled nodes of a witness search while estimating a
    priority and while contracting.
    """
    out = _build(n, offsets, targets, times, lengths, sim_limit, limit)
    return out[0], Csr(*out[1:6]), Csr(*out[6:11])


@nogil_kernel  # built in a worker thread while the service's event loop keeps running
def _build(
    n: int, offsets: I64, targets: I64, times: F64, lengths: F64, sim_limit: int, limit: int
) -> tuple[I64, I64, I32, F64, F64, I32, I64, I32, F64, F64, I32]:
    start = np.zeros(n, dtype=np.int64)
    count = np.zeros(n, dtype=np.int64)
    cap = np.zeros(n, dtype=np.int64)
    deg = np.zeros(n, dtype=np.int64)
    for u in range(n):
        for e in range(offsets[u], offsets[u + 1]):
            deg[u] += 1
            deg[targets[e]] += 1
    total = 0
    for u in range(n):
        start[u] = total
        cap[u] = deg[u] + 2
        total += cap[u]
    pf = np.empty((total + 1024, 4), dtype=np.float64)
    pi = np.empty((total + 1024, 5), dtype=np.int32)
    used = np.array([total], dtype=np.int64)
    for u in range(n):
        for e in range(offsets[u], offsets[u + 1]):
            w = targets[e]
            if w != u:
                pf, pi = _set_arc(
                    u, w, times[e], lengths[e], -1, 1, start, count, cap, pf, pi, used
                )

    dist = np.full(n, INF)
    touched = np.empty(n, dtype=np.int64)
    hnode = np.empty(n, dtype=np.int64)
    hkey = np.empty(n, dtype=np.float64)
    hpos = np.full(n, -1, dtype=np.int64)
    qnode = np.empty(n, dtype=np.int64)
    qkey = np.empty(n, dtype=np.float64)
    qpos = np.full(n, -1, dtype=np.int64)
    stats = np.zeros(4, dtype=np.int64)
    mark = np.zeros(n + 1, dtype=np.int64)
    level = np.zeros(n, dtype=np.int64)
    qsize = 0
    for v in range(n):
        pf, pi = _contract(v, True, sim_limit, start, count, cap, pf, pi, used,
                           dist, touched, hnode, hkey, hpos, stats, mark)
        qsize = push(qnode, qkey, qpos, qsize, v, _priority(0, stats))

    rank = np.full(n, -1, dtype=np.int64)
    cap_out = 2 * total + 16
    arc_i = np.empty((cap_out, 4), dtype=np.int32)  # (node, other, mid, direction)
    arc_f = np.empty((cap_out, 2), dtype=np.float64)
    n_arcs = 0
    order = 0
    while qsize > 0:
        v = qnode[0]
        pf, pi = _contract(v, True, sim_limit, start, count, cap, pf, pi, used,
                           dist, touched, hnode, hkey, hpos, stats, mark)
        p = _priority(level[v], stats)
        if p > qkey[0] and qsize > 1:
            qsize = push(qnode, qkey, qpos, qsize, v, p)
            if qnode[0] != v:
                continue
        v, _, qsize = pop(qnode, qkey, qpos, qsize)
        pf, pi = _contract(v, False, limit, start, count, cap, pf, pi, used,
                           dist, touched, hnode, hkey, hpos, stats, mark)
        rank[v] = order
        order += 1
        s0 = start[v]
        c0 = count[v]
        if n_arcs + 2 * c0 > cap_out:
            cap_out = max(2 * cap_out, n_arcs + 2 * c0)
            arc_i2 = np.empty((cap_out, 4), dtype=np.int32)
            arc_f2 = np.empty((cap_out, 2), dtype=np.float64)
            arc_i2[:n_arcs] = arc_i[:n_arcs]
            arc_f2[:n_arcs] = arc_f[:n_arcs]
            arc_i, arc_f = arc_i2, arc_f2
        for a in range(s0, s0 + c0):
            y = pi[a, 0]
            for side in range(2):
                col = 0 if side == 0 else 2
                if pf[a, col] < INF:
                    arc_i[n_arcs, 0] = v
                    arc_i[n_arcs, 1] = y
                    arc_i[n_arcs, 2] = pi[a, 1 + side]
                    arc_i[n_arcs, 3] = side
                    arc_f[n_arcs, 0] = pf[a, col]
                    arc_f[n_arcs, 1] = pf[a, col + 1]
                    n_arcs += 1
            # drop v from y's list
            for e in range(start[y], start[y] + count[y]):
                if pi[e, 0] == v:
                    last = start[y] + count[y] - 1
                    pf[e] = pf[last]
                    pi[e] = pi[last]
                    count[y] -= 1
                    break
            level[y] = max(level[y], level[v] + 1)
        for a in range(s0, s0 + c0):
            y = pi[a, 0]
            pf, pi = _contract(y, True, sim_limit, start, count, cap, pf, pi, used,
                               dist, touched, hnode, hkey, hpos, stats, mark)
            qsize = push(qnode, qkey, qpos, qsize, y, _priority(level[y], stats))
        count[v] = 0

    fo, ft, fw, fl, fm = _csr(n, arc_i, arc_f, n_arcs, 0)
    bo, bt, bw, bl, bm = _csr(n, arc_i, arc_f, n_arcs, 1)
    return rank, fo, ft, fw, fl, fm, bo, bt, bw, bl, bm


@kernel
def _csr(
    n: int, arc_i: I32, arc_f: F64, n_arcs: int, side: int
) -> tuple[I64, I32, F64, F64, I32]:
    """The arcs of one direction (``arc_i[:, 3] == side``) as a CSR graph, in list order:
    offsets, other node, time, length, bypassed node."""
    off = np.zeros(n + 1, dtype=np.int64)
    for i in range(n_arcs):
        if arc_i[i, 3] == side:
            off[arc_i[i, 0] + 1] += 1
    for u in range(n):
        off[u + 1] += off[u]
    m = off[n]
    to = np.empty(m, dtype=np.int32)
    mid = np.empty(m, dtype=np.int32)
    t = np.empty(m, dtype=np.float64)
    ln = np.empty(m, dtype=np.float64)
    pos = off[:-1].copy()
    for i in range(n_arcs):
        if arc_i[i, 3] == side:
            x = arc_i[i, 0]
            j = pos[x]
            pos[x] += 1
            to[j] = arc_i[i, 1]
            mid[j] = arc_i[i, 2]
            t[j] = arc_f[i, 0]
            ln[j] = arc_f[i, 1]
    return off, to, t, ln, mid
