"""Compiled (numba) kernels of the contraction hierarchy: node ordering, contraction, queries.

Kept apart from :mod:`routing.ch` so the only numba-specific code sits in one module; every
function here works on flat NumPy arrays and plain numbers. ``cache=True`` keeps the compiled
machine code between processes (next to this file, or in numba's user cache directory).

Conventions: the hierarchy is two CSR graphs over the nodes. ``fwd`` holds, at node ``x``, the
arcs ``x -> y`` to higher-ranked ``y``; ``bwd`` holds, at ``x``, the arcs ``y -> x`` from
higher-ranked ``y`` (stored by ``y``). Every arc has a time, a length in metres, and ``mid``: the
node a shortcut bypasses, or -1 for an arc of the original graph. :func:`build` returns them over
the graph's node ids; :func:`renumber` then renames the nodes by descending :func:`levels` (and,
within a level, along a space-filling curve), so the top of the hierarchy, which every query
visits, sits together at the front of every array, neighbours on the map sit near each other,
and every arc leads up to a lower id.

Upward search spaces of sources are cached (:func:`many_to_one_cached`): a unit that has not
moved since the last alarm costs a scan of its ~100 cached labels instead of a search. The cache
is an open-addressing table keyed by the exact seeds (nodes, times, lengths) of a point, pointing
into one pool of ``(node, time, length)`` labels; it is emptied at once when either fills up.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

__all__ = [
    "build",
    "levels",
    "many_to_many",
    "many_to_one",
    "many_to_one_cached",
    "one_to_many",
    "renumber",
    "route",
]

INF = np.inf


# -- indexed binary heap (decrease- and increase-key) ----------------------------------------


@njit(cache=True)
def _sift_up(hnode: Any, hkey: Any, hpos: Any, i: int) -> None:
    node = hnode[i]
    key = hkey[i]
    while i > 0:
        p = (i - 1) >> 1
        if hkey[p] <= key:
            break
        hnode[i] = hnode[p]
        hkey[i] = hkey[p]
        hpos[hnode[i]] = i
        i = p
    hnode[i] = node
    hkey[i] = key
    hpos[node] = i


@njit(cache=True)
def _sift_down(hnode: Any, hkey: Any, hpos: Any, i: int, size: int) -> None:
    node = hnode[i]
    key = hkey[i]
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and hkey[c + 1] < hkey[c]:
            c += 1
        if hkey[c] >= key:
            break
        hnode[i] = hnode[c]
        hkey[i] = hkey[c]
        hpos[hnode[i]] = i
        i = c
    hnode[i] = node
    hkey[i] = key
    hpos[node] = i


@njit(cache=True)
def _push(hnode: Any, hkey: Any, hpos: Any, size: int, node: int, key: float) -> int:
    """Insert ``node`` or change its key (either way); returns the new heap size."""
    i = hpos[node]
    if i >= 0:
        old = hkey[i]
        hkey[i] = key
        if key < old:
            _sift_up(hnode, hkey, hpos, i)
        elif key > old:
            _sift_down(hnode, hkey, hpos, i, size)
        return size
    hnode[size] = node
    hkey[size] = key
    hpos[node] = size
    _sift_up(hnode, hkey, hpos, size)
    return size + 1


@njit(cache=True)
def _pop(hnode: Any, hkey: Any, hpos: Any, size: int) -> tuple[int, float, int]:
    node = hnode[0]
    key = hkey[0]
    hpos[node] = -1
    size -= 1
    if size > 0:
        hnode[0] = hnode[size]
        hkey[0] = hkey[size]
        hpos[hnode[0]] = 0
        _sift_down(hnode, hkey, hpos, 0, size)
    return node, key, size


@njit(cache=True)
def _clear_heap(hnode: Any, hpos: Any, size: int) -> None:
    for i in range(size):
        hpos[hnode[i]] = -1


# -- dynamic graph used while contracting -----------------------------------------------------
# One pool of neighbour entries; node v owns pool rows start[v] .. start[v] + count[v] - 1.
# pf[e] = (out time, out length, in time, in length): arc v -> nbr and arc nbr -> v (inf: none)
# pi[e] = (nbr, out mid, in mid, out hops, in hops)


@njit(cache=True)
def _reserve(
    v: int, start: Any, count: Any, cap: Any, pf: Any, pi: Any, used: Any
) -> tuple[Any, Any]:
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


@njit(cache=True)
def _set_arc(
    u: int,
    w: int,
    t: float,
    length: float,
    mid: int,
    hops: int,
    start: Any,
    count: Any,
    cap: Any,
    pf: Any,
    pi: Any,
    used: Any,
) -> tuple[Any, Any]:
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


@njit(cache=True)
def _witness(
    u: int,
    v: int,
    bound: float,
    limit: int,
    start: Any,
    count: Any,
    pf: Any,
    pi: Any,
    dist: Any,
    touched: Any,
    hnode: Any,
    hkey: Any,
    hpos: Any,
    mark: Any,
    stamp: int,
    targets: int,
) -> int:
    """Dijkstra from ``u`` avoiding ``v``, up to ``bound`` or ``limit`` settled nodes, or until
    the ``targets`` nodes marked ``stamp`` are all settled."""
    dist[u] = 0.0
    touched[0] = u
    nt = 1
    size = _push(hnode, hkey, hpos, 0, u, 0.0)
    settled = 0
    while size > 0:
        x, k, size = _pop(hnode, hkey, hpos, size)
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
                size = _push(hnode, hkey, hpos, size, y, nd)
    _clear_heap(hnode, hpos, size)
    return nt


@njit(cache=True)
def _contract(
    v: int,
    simulate: bool,
    limit: int,
    start: Any,
    count: Any,
    cap: Any,
    pf: Any,
    pi: Any,
    used: Any,
    dist: Any,
    touched: Any,
    hnode: Any,
    hkey: Any,
    hpos: Any,
    stats: Any,
    mark: Any,
) -> tuple[Any, Any]:
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


@njit(cache=True)
def _priority(level: int, stats: Any) -> float:
    if stats[2] == 0:
        return float(level)
    return float(level + 2.0 * stats[0] / stats[2] + stats[1] / max(1, stats[3]))


@njit(cache=True)
def build(
    n: int, offsets: Any, targets: Any, times: Any, lengths: Any, sim_limit: int, limit: int
) -> tuple[Any, ...]:
    """Order and contract all nodes; returns ``rank`` and the ``fwd`` / ``bwd`` CSR graphs."""
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
        qsize = _push(qnode, qkey, qpos, qsize, v, _priority(0, stats))

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
            qsize = _push(qnode, qkey, qpos, qsize, v, p)
            if qnode[0] != v:
                continue
        v, _, qsize = _pop(qnode, qkey, qpos, qsize)
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
            qsize = _push(qnode, qkey, qpos, qsize, y, _priority(level[y], stats))
        count[v] = 0

    # two CSR graphs from the arc list
    fwd_off = np.zeros(n + 1, dtype=np.int64)
    bwd_off = np.zeros(n + 1, dtype=np.int64)
    for i in range(n_arcs):
        if arc_i[i, 3] == 0:
            fwd_off[arc_i[i, 0] + 1] += 1
        else:
            bwd_off[arc_i[i, 0] + 1] += 1
    for u in range(n):
        fwd_off[u + 1] += fwd_off[u]
        bwd_off[u + 1] += bwd_off[u]
    nf = fwd_off[n]
    nb = bwd_off[n]
    fwd_to = np.empty(nf, dtype=np.int32)
    fwd_mid = np.empty(nf, dtype=np.int32)
    fwd_t = np.empty(nf, dtype=np.float64)
    fwd_l = np.empty(nf, dtype=np.float64)
    bwd_to = np.empty(nb, dtype=np.int32)
    bwd_mid = np.empty(nb, dtype=np.int32)
    bwd_t = np.empty(nb, dtype=np.float64)
    bwd_l = np.empty(nb, dtype=np.float64)
    fpos = fwd_off[:-1].copy()
    bpos = bwd_off[:-1].copy()
    for i in range(n_arcs):
        x = arc_i[i, 0]
        if arc_i[i, 3] == 0:
            j = fpos[x]
            fpos[x] += 1
            fwd_to[j] = arc_i[i, 1]
            fwd_mid[j] = arc_i[i, 2]
            fwd_t[j] = arc_f[i, 0]
            fwd_l[j] = arc_f[i, 1]
        else:
            j = bpos[x]
            bpos[x] += 1
            bwd_to[j] = arc_i[i, 1]
            bwd_mid[j] = arc_i[i, 2]
            bwd_t[j] = arc_f[i, 0]
            bwd_l[j] = arc_f[i, 1]
    return (rank, fwd_off, fwd_to, fwd_t, fwd_l, fwd_mid,
            bwd_off, bwd_to, bwd_t, bwd_l, bwd_mid)


@njit(cache=True)
def levels(rank: Any, fo: Any, ft: Any, bo: Any, bt: Any) -> Any:
    """Each node's level: 0 at the bottom, else one more than its highest lower neighbour.

    Sorting nodes by descending level is a topological order of the upward arcs, like the
    rank, but leaves the nodes of one level free to be ordered for memory locality.
    """
    n = len(rank)
    order = np.argsort(rank)
    lev = np.zeros(n, dtype=np.int64)
    for i in range(n):
        x = order[i]
        for e in range(fo[x], fo[x + 1]):
            lev[ft[e]] = max(lev[ft[e]], lev[x] + 1)
        for e in range(bo[x], bo[x + 1]):
            lev[bt[e]] = max(lev[bt[e]], lev[x] + 1)
    return lev


@njit(cache=True)
def renumber(off: Any, to: Any, t: Any, ln: Any, mid: Any, new: Any) -> tuple[Any, ...]:
    """The CSR graph ``off/to/t/ln/mid`` with node ``v`` renamed ``new[v]`` (a permutation)."""
    n = len(off) - 1
    old = np.empty(n, dtype=np.int64)
    for v in range(n):
        old[new[v]] = v
    n_off = np.zeros(n + 1, dtype=np.int64)
    for x in range(n):
        v = old[x]
        n_off[x + 1] = n_off[x] + off[v + 1] - off[v]
    m = n_off[n]
    n_to = np.empty(m, dtype=np.int32)
    n_mid = np.empty(m, dtype=np.int32)
    n_t = np.empty(m, dtype=np.float64)
    n_l = np.empty(m, dtype=np.float64)
    for x in range(n):
        v = old[x]
        j = n_off[x]
        for e in range(off[v], off[v + 1]):
            n_to[j] = new[to[e]]
            n_mid[j] = new[mid[e]] if mid[e] >= 0 else -1
            n_t[j] = t[e]
            n_l[j] = ln[e]
            j += 1
    return n_off, n_to, n_t, n_l, n_mid


# -- queries -----------------------------------------------------------------------------------


@njit(cache=True)
def _seed(
    nodes: Any, t0: Any, l0: Any, lo: int, hi: int,
    dist: Any, lens: Any, par: Any, touched: Any, nt: int,
    hnode: Any, hkey: Any, hpos: Any,
) -> tuple[int, int]:
    size = 0
    for i in range(lo, hi):
        x = nodes[i]
        if t0[i] < dist[x]:
            if dist[x] == INF:
                touched[nt] = x
                nt += 1
            dist[x] = t0[i]
            lens[x] = l0[i]
            par[x] = -1 - (i - lo)
            size = _push(hnode, hkey, hpos, size, x, t0[i])
    return nt, size


@njit(cache=True)
def _search(
    g_off: Any, g_to: Any, g_t: Any, g_l: Any,
    s_off: Any, s_to: Any, s_t: Any,
    nodes: Any, t0: Any, l0: Any, lo: int, hi: int,
    dist: Any, lens: Any, par: Any, touched: Any,
    hnode: Any, hkey: Any, hpos: Any,
    other: Any, other_len: Any, prune: bool,
) -> tuple[int, float, float, int]:
    """Upward Dijkstra from seeds ``lo..hi`` with stall-on-demand.

    With ``prune`` it stops once no label can beat the best meeting with ``other`` (the other
    direction's distances); otherwise it exhausts the upward search space.
    Returns (touched count, best time, its length, meeting node).
    """
    nt, size = _seed(nodes, t0, l0, lo, hi, dist, lens, par, touched, 0, hnode, hkey, hpos)
    best = INF
    best_l = INF
    meet = -1
    while size > 0:
        x, k, size = _pop(hnode, hkey, hpos, size)
        if prune:
            if k >= best:
                break
            ot = other[x]
            if ot < INF and k + ot < best:
                best = k + ot
                best_l = lens[x] + other_len[x]
                meet = x
        stalled = False
        for e in range(s_off[x], s_off[x + 1]):
            y = s_to[e]
            if dist[y] + s_t[e] < k:
                stalled = True
                break
        if stalled:
            continue
        for e in range(g_off[x], g_off[x + 1]):
            y = g_to[e]
            nd = k + g_t[e]
            if nd < dist[y]:
                if dist[y] == INF:
                    touched[nt] = y
                    nt += 1
                dist[y] = nd
                lens[y] = lens[x] + g_l[e]
                par[y] = x
                size = _push(hnode, hkey, hpos, size, y, nd)
    _clear_heap(hnode, hpos, size)
    return nt, best, best_l, meet


@njit(cache=True)
def _reset(dist: Any, touched: Any, nt: int) -> None:
    for i in range(nt):
        dist[touched[i]] = INF


@njit(cache=True)
def many_to_one(
    fo: Any, ft: Any, fw: Any, fl: Any, bo: Any, bt: Any, bw: Any, bl: Any,
    s_off: Any, s_nodes: Any, s_t: Any, s_l: Any,
    t_nodes: Any, t_t: Any, t_l: Any,
    fd: Any, flen: Any, fpar: Any, ftouch: Any,
    bd: Any, blen: Any, bpar: Any, btouch: Any,
    hnode: Any, hkey: Any, hpos: Any,
) -> tuple[Any, Any]:
    """Time and length from each source (seed runs ``s_off``) to one target."""
    k = len(s_off) - 1
    out_t = np.full(k, INF)
    out_l = np.full(k, INF)
    nb, _, _, _ = _search(bo, bt, bw, bl, fo, ft, fw, t_nodes, t_t, t_l, 0, len(t_nodes),
                          bd, blen, bpar, btouch, hnode, hkey, hpos, bd, blen, False)
    for i in range(k):
        nf, best, best_l, _ = _search(fo, ft, fw, fl, bo, bt, bw, s_nodes, s_t, s_l,
                                      s_off[i], s_off[i + 1], fd, flen, fpar, ftouch,
                                      hnode, hkey, hpos, bd, blen, True)
        out_t[i] = best
        out_l[i] = best_l
        _reset(fd, ftouch, nf)
    _reset(bd, btouch, nb)
    return out_t, out_l


@njit(cache=True)
def _space(
    g_off: Any, g_to: Any, g_t: Any, g_l: Any,
    s_off: Any, s_to: Any, s_t: Any,
    nodes: Any, t0: Any, l0: Any, lo: int, hi: int,
    dist: Any, lens: Any, touched: Any,
    hnode: Any, hkey: Any, hpos: Any, settled: Any,
) -> tuple[int, int]:
    """Whole upward search space from seeds ``lo..hi`` with stall-on-demand.

    Leaves the labels in ``dist``/``lens`` and lists the settled, unstalled nodes (the only
    ones a shortest path can meet at) in ``settled``; returns (touched count, settled count).
    """
    nt = 0
    size = 0
    for i in range(lo, hi):
        x = nodes[i]
        if t0[i] < dist[x]:
            if dist[x] == INF:
                touched[nt] = x
                nt += 1
            dist[x] = t0[i]
            lens[x] = l0[i]
            size = _push(hnode, hkey, hpos, size, x, t0[i])
    ns = 0
    while size > 0:
        x, k, size = _pop(hnode, hkey, hpos, size)
        stalled = False
        for e in range(s_off[x], s_off[x + 1]):
            if dist[s_to[e]] + s_t[e] < k:
                stalled = True
                break
        if stalled:
            continue
        settled[ns] = x
        ns += 1
        for e in range(g_off[x], g_off[x + 1]):
            y = g_to[e]
            nd = k + g_t[e]
            if nd < dist[y]:
                if dist[y] == INF:
                    touched[nt] = y
                    nt += 1
                dist[y] = nd
                lens[y] = lens[x] + g_l[e]
                size = _push(hnode, hkey, hpos, size, y, nd)
    return nt, ns


@njit(cache=True)
def _slot(
    c_key: Any, c_kf: Any, m: int, nodes: Any, t0: Any, l0: Any, lo: int
) -> int:
    """The cache slot holding seeds ``lo..lo+m`` (>= 0), or ``-1 - free slot`` if none does."""
    n1 = nodes[lo + 1] if m == 2 else -1
    t1 = t0[lo + 1] if m == 2 else 0.0
    w1 = l0[lo + 1] if m == 2 else 0.0
    mask = c_key.shape[0] - 1
    s: int = (nodes[lo] * 1000003 + n1 * 7919 + m) & mask
    while c_key[s, 0] != 0:
        if (c_key[s, 0] == m and c_key[s, 1] == nodes[lo] and c_key[s, 2] == n1
                and c_kf[s, 0] == t0[lo] and c_kf[s, 1] == l0[lo]
                and c_kf[s, 2] == t1 and c_kf[s, 3] == w1):
            return s
        s = (s + 1) & mask
    c_key[s, 1] = nodes[lo]
    c_key[s, 2] = n1
    c_kf[s, 0] = t0[lo]
    c_kf[s, 1] = l0[lo]
    c_kf[s, 2] = t1
    c_kf[s, 3] = w1
    return -1 - s


@njit(cache=True)
def _sweep(
    fo: Any, ft: Any, fw: Any, fl: Any,
    s_off: Any, s_nodes: Any, s_t: Any, s_l: Any, todo: Any, n_todo: int,
    bd: Any, blen: Any, d: Any, dl: Any, stack: Any, out_t: Any, out_l: Any,
    level: Any, mark: Any, per_level: Any,
) -> None:
    """Times to the target of sources ``todo[:n_todo]`` in one pass without a priority queue.

    Collects every node reachable upward from their seeds (``mark``: one byte a node, so the
    collection stays in cache), then, from the top level of the hierarchy down,
    ``d[x] = min(bd[x], min over upward arcs x -> y of t + d[y])``: the best upward path from
    ``x`` to a node of the target's backward space. Arcs always lead to a higher ``level``, so
    bucketing by level (``per_level`` counts) is order enough. One pass over the union of 50
    units' upward spaces (which share the top of the hierarchy) costs about half of 50 separate
    searches. ``d`` is infinite on entry and again on return.
    """
    nu = 0
    for a in range(n_todo):
        i = todo[a]
        for j in range(s_off[i], s_off[i + 1]):
            x = s_nodes[j]
            if mark[x] == 0:
                mark[x] = 1
                stack[nu] = x
                nu += 1
    j = 0
    while j < nu:
        x = stack[j]
        j += 1
        for e in range(fo[x], fo[x + 1]):
            y = ft[e]
            if mark[y] == 0:
                mark[y] = 1
                stack[nu] = y
                nu += 1
    # bucket the collected nodes by level, highest first, behind them in ``stack``
    top = len(per_level) - 1
    per_level[:] = 0
    for a in range(nu):
        per_level[top - level[stack[a]]] += 1
    pos = nu
    for lv in range(top + 1):
        c = per_level[lv]
        per_level[lv] = pos
        pos += c
    for a in range(nu):
        x = stack[a]
        b = top - level[x]
        stack[per_level[b]] = x
        per_level[b] += 1
    for a in range(nu, 2 * nu):
        x = stack[a]
        best = bd[x]
        best_l = blen[x]
        for e in range(fo[x], fo[x + 1]):
            c = fw[e] + d[ft[e]]
            if c < best:
                best = c
                best_l = fl[e] + dl[ft[e]]
        d[x] = best
        dl[x] = best_l
    for a in range(n_todo):
        i = todo[a]
        for j in range(s_off[i], s_off[i + 1]):
            x = s_nodes[j]
            c = s_t[j] + d[x]
            if c < out_t[i]:
                out_t[i] = c
                out_l[i] = s_l[j] + dl[x]
    for a in range(nu):
        x = stack[a]
        d[x] = INF
        mark[x] = 0


@njit(cache=True)
def many_to_one_cached(
    fo: Any, ft: Any, fw: Any, fl: Any, bo: Any, bt: Any, bw: Any, bl: Any,
    s_off: Any, s_nodes: Any, s_t: Any, s_l: Any,
    t_nodes: Any, t_t: Any, t_l: Any,
    fd: Any, flen: Any, ftouch: Any,
    bd: Any, blen: Any, bpar: Any, btouch: Any,
    hnode: Any, hkey: Any, hpos: Any, settled: Any, level: Any, mark: Any, per_level: Any,
    c_key: Any, c_kf: Any, c_val: Any, c_meta: Any, p_node: Any, p_t: Any, p_l: Any,
) -> tuple[Any, Any]:
    """Like :func:`many_to_one`, reusing the upward search spaces of sources seen before.

    A source met for the first time is answered by :func:`_sweep` together with the other new
    ones and remembered as seen; met again with the very same seeds (the unit has not moved),
    its whole upward search space is computed once and its labels kept, and from then on it
    costs a scan of those labels. ``c_key`` (slots x 3: seed count or 0 for free, two seed
    nodes), ``c_kf`` (slots x 4: seed times and lengths) and ``c_val`` (slots x 2: pool start
    and label count, -1 while only seen) form the table; ``c_meta`` holds (pool used, entries,
    times emptied, hits); ``p_*`` is the label pool. Sources with other than one or two seeds
    are always swept.
    """
    k = len(s_off) - 1
    out_t = np.full(k, INF)
    out_l = np.full(k, INF)
    nb, _, _, _ = _search(bo, bt, bw, bl, fo, ft, fw, t_nodes, t_t, t_l, 0, len(t_nodes),
                          bd, blen, bpar, btouch, hnode, hkey, hpos, bd, blen, False)
    slots = c_key.shape[0]
    pool = len(p_node)
    todo = np.empty(k, dtype=np.int64)
    n_todo = 0
    for i in range(k):
        lo = s_off[i]
        m = s_off[i + 1] - lo
        if m != 1 and m != 2:
            todo[n_todo] = i
            n_todo += 1
            continue
        slot = _slot(c_key, c_kf, m, s_nodes, s_t, s_l, lo)
        if slot < 0:  # new: sweep it, and remember it was seen
            if 2 * (c_meta[1] + 1) > slots:
                c_key[:, 0] = 0
                c_meta[0] = 0
                c_meta[1] = 0
                c_meta[2] += 1
                slot = _slot(c_key, c_kf, m, s_nodes, s_t, s_l, lo)
            s = -1 - slot
            c_key[s, 0] = m
            c_val[s, 1] = -1
            c_meta[1] += 1
            todo[n_todo] = i
            n_todo += 1
            continue
        best = INF
        best_l = INF
        if c_val[slot, 1] >= 0:  # labels kept
            c_meta[3] += 1
            for e in range(c_val[slot, 0], c_val[slot, 0] + c_val[slot, 1]):
                c = p_t[e] + bd[p_node[e]]
                if c < best:
                    best = c
                    best_l = p_l[e] + blen[p_node[e]]
        else:  # seen once before: keep its labels from now on
            nf, ns = _space(fo, ft, fw, fl, bo, bt, bw, s_nodes, s_t, s_l, lo, lo + m,
                            fd, flen, ftouch, hnode, hkey, hpos, settled)
            for j in range(ns):
                x = settled[j]
                c = fd[x] + bd[x]
                if c < best:
                    best = c
                    best_l = flen[x] + blen[x]
            if ns <= pool:
                if c_meta[0] + ns > pool:
                    c_key[:, 0] = 0
                    c_meta[0] = 0
                    c_meta[1] = 0
                    c_meta[2] += 1
                    slot = -1 - _slot(c_key, c_kf, m, s_nodes, s_t, s_l, lo)
                    c_key[slot, 0] = m
                    c_meta[1] += 1
                start = c_meta[0]
                c_val[slot, 0] = start
                c_val[slot, 1] = ns
                for j in range(ns):
                    x = settled[j]
                    p_node[start + j] = x
                    p_t[start + j] = fd[x]
                    p_l[start + j] = flen[x]
                c_meta[0] = start + ns
            _reset(fd, ftouch, nf)
        out_t[i] = best
        out_l[i] = best_l
    if n_todo:
        _sweep(fo, ft, fw, fl, s_off, s_nodes, s_t, s_l, todo, n_todo, bd, blen, fd, flen,
               settled, out_t, out_l, level, mark, per_level)
    _reset(bd, btouch, nb)
    return out_t, out_l


@njit(cache=True)
def one_to_many(
    fo: Any, ft: Any, fw: Any, fl: Any, bo: Any, bt: Any, bw: Any, bl: Any,
    s_nodes: Any, s_t: Any, s_l: Any,
    t_off: Any, t_nodes: Any, t_t: Any, t_l: Any,
    fd: Any, flen: Any, fpar: Any, ftouch: Any,
    bd: Any, blen: Any, bpar: Any, btouch: Any,
    hnode: Any, hkey: Any, hpos: Any,
) -> tuple[Any, Any]:
    """Time and length from one source to each target (seed runs ``t_off``)."""
    k = len(t_off) - 1
    out_t = np.full(k, INF)
    out_l = np.full(k, INF)
    nf, _, _, _ = _search(fo, ft, fw, fl, bo, bt, bw, s_nodes, s_t, s_l, 0, len(s_nodes),
                          fd, flen, fpar, ftouch, hnode, hkey, hpos, fd, flen, False)
    for i in range(k):
        nb, best, best_l, _ = _search(bo, bt, bw, bl, fo, ft, fw, t_nodes, t_t, t_l,
                                      t_off[i], t_off[i + 1], bd, blen, bpar, btouch,
                                      hnode, hkey, hpos, fd, flen, True)
        out_t[i] = best
        out_l[i] = best_l
        _reset(bd, btouch, nb)
    _reset(fd, ftouch, nf)
    return out_t, out_l


@njit(cache=True)
def many_to_many(
    fo: Any, ft: Any, fw: Any, fl: Any, bo: Any, bt: Any, bw: Any, bl: Any,
    s_off: Any, s_nodes: Any, s_t: Any, s_l: Any,
    t_off: Any, t_nodes: Any, t_t: Any, t_l: Any,
    fd: Any, flen: Any, fpar: Any, ftouch: Any,
    bd: Any, blen: Any, bpar: Any, btouch: Any,
    hnode: Any, hkey: Any, hpos: Any, bucket_first: Any,
) -> tuple[Any, Any]:
    """Time and length matrices (sources x targets) by bucket-based many-to-many search."""
    ks = len(s_off) - 1
    kt = len(t_off) - 1
    out_t = np.full((ks, kt), INF)
    out_l = np.full((ks, kt), INF)
    cap = 1024
    b_node = np.empty(cap, dtype=np.int64)
    b_tgt = np.empty(cap, dtype=np.int64)
    b_t = np.empty(cap, dtype=np.float64)
    b_l = np.empty(cap, dtype=np.float64)
    nbk = 0
    for j in range(kt):
        nb, _, _, _ = _search(bo, bt, bw, bl, fo, ft, fw, t_nodes, t_t, t_l,
                              t_off[j], t_off[j + 1], bd, blen, bpar, btouch,
                              hnode, hkey, hpos, bd, blen, False)
        if nbk + nb > cap:
            cap = max(2 * cap, nbk + nb)
            b_node = np.concatenate((b_node[:nbk], np.empty(cap - nbk, dtype=np.int64)))
            b_tgt = np.concatenate((b_tgt[:nbk], np.empty(cap - nbk, dtype=np.int64)))
            b_t = np.concatenate((b_t[:nbk], np.empty(cap - nbk, dtype=np.float64)))
            b_l = np.concatenate((b_l[:nbk], np.empty(cap - nbk, dtype=np.float64)))
        for i in range(nb):
            x = btouch[i]
            b_node[nbk] = x
            b_tgt[nbk] = j
            b_t[nbk] = bd[x]
            b_l[nbk] = blen[x]
            nbk += 1
        _reset(bd, btouch, nb)
    order = np.argsort(b_node[:nbk], kind="mergesort")
    sn = b_node[:nbk][order]
    sj = b_tgt[:nbk][order]
    st = b_t[:nbk][order]
    sl = b_l[:nbk][order]
    for i in range(nbk - 1, -1, -1):
        bucket_first[sn[i]] = i
    for i in range(ks):
        nf, _, _, _ = _search(fo, ft, fw, fl, bo, bt, bw, s_nodes, s_t, s_l,
                              s_off[i], s_off[i + 1], fd, flen, fpar, ftouch,
                              hnode, hkey, hpos, fd, flen, False)
        for a in range(nf):
            x = ftouch[a]
            e = bucket_first[x]
            if e < 0:
                continue
            dx = fd[x]
            lx = flen[x]
            while e < nbk and sn[e] == x:
                c = dx + st[e]
                j = sj[e]
                if c < out_t[i, j]:
                    out_t[i, j] = c
                    out_l[i, j] = lx + sl[e]
                e += 1
        _reset(fd, ftouch, nf)
    for i in range(nbk):
        bucket_first[sn[i]] = -1
    return out_t, out_l


@njit(cache=True)
def _arc_mid(
    a: int, b: int,
    fo: Any, ft: Any, fw: Any, fm: Any, bo: Any, bt: Any, bw: Any, bm: Any,
) -> int:
    """The node that arc ``a -> b`` of the hierarchy bypasses, or -1 for an original arc."""
    mid = -1
    t = INF
    if a > b:  # upward: higher ranks have lower ids
        for e in range(fo[a], fo[a + 1]):
            if ft[e] == b and fw[e] < t:
                t = fw[e]
                mid = fm[e]
    else:
        for e in range(bo[b], bo[b + 1]):
            if bt[e] == a and bw[e] < t:
                t = bw[e]
                mid = bm[e]
    return mid


@njit(cache=True)
def route(
    old: Any,
    fo: Any, ft: Any, fw: Any, fl: Any, fm: Any,
    bo: Any, bt: Any, bw: Any, bl: Any, bm: Any,
    s_nodes: Any, s_t: Any, s_l: Any,
    t_nodes: Any, t_t: Any, t_l: Any,
    fd: Any, flen: Any, fpar: Any, ftouch: Any,
    bd: Any, blen: Any, bpar: Any, btouch: Any,
    hnode: Any, hkey: Any, hpos: Any,
    g_off: Any, g_to: Any, g_t: Any,
) -> tuple[float, float, int, int, Any]:
    """Fastest path between seed sets: (time, length, source seed, target seed, edges).

    ``old`` maps the hierarchy's node ids back to the graph's, whose CSR is ``g_off``/``g_to``.
    """
    nb, _, _, _ = _search(bo, bt, bw, bl, fo, ft, fw, t_nodes, t_t, t_l, 0, len(t_nodes),
                          bd, blen, bpar, btouch, hnode, hkey, hpos, bd, blen, False)
    nf, best, best_l, meet = _search(fo, ft, fw, fl, bo, bt, bw, s_nodes, s_t, s_l,
                                     0, len(s_nodes), fd, flen, fpar, ftouch,
                                     hnode, hkey, hpos, bd, blen, True)
    edges = np.empty(0, dtype=np.int64)
    s_seed = -1
    t_seed = -1
    if meet >= 0:
        # hierarchy path: source seed .. meet .. target seed
        up = []
        x = meet
        while fpar[x] >= 0:
            up.append(x)
            x = fpar[x]
        up.append(x)
        s_seed = -1 - fpar[x]
        path = up[::-1]
        x = meet
        while bpar[x] >= 0:
            x = bpar[x]
            path.append(x)
        t_seed = -1 - bpar[x]
        # unpack shortcuts with an explicit stack
        nodes = [path[0]]
        stack = []
        for i in range(len(path) - 1, 0, -1):
            stack.append((path[i - 1], path[i]))
        while len(stack) > 0:
            a, b = stack.pop()
            m = _arc_mid(a, b, fo, ft, fw, fm, bo, bt, bw, bm)
            if m < 0:
                nodes.append(b)
            else:
                stack.append((m, b))
                stack.append((a, m))
        edges = np.empty(len(nodes) - 1, dtype=np.int64)
        for i in range(len(nodes) - 1):
            a = old[nodes[i]]
            b = old[nodes[i + 1]]
            t = INF
            for e in range(g_off[a], g_off[a + 1]):
                if g_to[e] == b and g_t[e] < t:
                    t = g_t[e]
                    edges[i] = e
    _reset(fd, ftouch, nf)
    _reset(bd, btouch, nb)
    return best, best_l, s_seed, t_seed, edges
