"""Compiled (numba) kernels of the contraction hierarchy: node ordering, contraction, queries.

Kept apart from :mod:`routing.ch` so the only numba-specific code sits in one module; every
function here works on flat NumPy arrays and plain numbers. ``cache=True`` keeps the compiled
machine code between processes (next to this file, or in numba's user cache directory).

Conventions: the hierarchy is two CSR graphs over the nodes. ``fwd`` holds, at node ``x``, the
arcs ``x -> y`` to higher-ranked ``y``; ``bwd`` holds, at ``x``, the arcs ``y -> x`` from
higher-ranked ``y`` (stored by ``y``). Every arc has a time, a length in metres, and ``mid``: the
node a shortcut bypasses, or -1 for an arc of the original graph.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

__all__ = [
    "build",
    "many_to_many",
    "many_to_one",
    "one_to_many",
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
) -> int:
    """Dijkstra from ``u`` avoiding ``v``, up to ``bound`` or ``limit`` settled nodes."""
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
) -> tuple[Any, Any]:
    """Add (or, simulating, count) the shortcuts that removing ``v`` needs.

    ``stats`` receives (shortcuts, their hops, removed arcs, removed hops).
    """
    added = 0
    added_hops = 0
    removed = 0
    removed_hops = 0
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
        for b in range(s0, s0 + c0):
            if pf[b, 0] < INF and pi[b, 0] != u:
                bound = max(bound, c1 + pf[b, 0])
        if bound < 0:
            continue
        nt = _witness(u, v, bound, limit, start, count, pf, pi, dist, touched, hnode, hkey, hpos)
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
    level = np.zeros(n, dtype=np.int64)
    qsize = 0
    for v in range(n):
        pf, pi = _contract(v, True, sim_limit, start, count, cap, pf, pi, used,
                           dist, touched, hnode, hkey, hpos, stats)
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
                           dist, touched, hnode, hkey, hpos, stats)
        p = _priority(level[v], stats)
        if p > qkey[0] and qsize > 1:
            qsize = _push(qnode, qkey, qpos, qsize, v, p)
            if qnode[0] != v:
                continue
        v, _, qsize = _pop(qnode, qkey, qpos, qsize)
        pf, pi = _contract(v, False, limit, start, count, cap, pf, pi, used,
                           dist, touched, hnode, hkey, hpos, stats)
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
                               dist, touched, hnode, hkey, hpos, stats)
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
    a: int, b: int, rank: Any,
    fo: Any, ft: Any, fw: Any, fm: Any, bo: Any, bt: Any, bw: Any, bm: Any,
) -> int:
    """The node that arc ``a -> b`` of the hierarchy bypasses, or -1 for an original arc."""
    mid = -1
    t = INF
    if rank[a] < rank[b]:
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
    rank: Any,
    fo: Any, ft: Any, fw: Any, fl: Any, fm: Any,
    bo: Any, bt: Any, bw: Any, bl: Any, bm: Any,
    s_nodes: Any, s_t: Any, s_l: Any,
    t_nodes: Any, t_t: Any, t_l: Any,
    fd: Any, flen: Any, fpar: Any, ftouch: Any,
    bd: Any, blen: Any, bpar: Any, btouch: Any,
    hnode: Any, hkey: Any, hpos: Any,
    g_off: Any, g_to: Any, g_t: Any,
) -> tuple[float, float, int, int, Any]:
    """Fastest path between seed sets: (time, length, source seed, target seed, edges)."""
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
            m = _arc_mid(a, b, rank, fo, ft, fw, fm, bo, bt, bw, bm)
            if m < 0:
                nodes.append(b)
            else:
                stack.append((m, b))
                stack.append((a, m))
        edges = np.empty(len(nodes) - 1, dtype=np.int64)
        for i in range(len(nodes) - 1):
            a = nodes[i]
            b = nodes[i + 1]
            t = INF
            for e in range(g_off[a], g_off[a + 1]):
                if g_to[e] == b and g_t[e] < t:
                    t = g_t[e]
                    edges[i] = e
    _reset(fd, ftouch, nf)
    _reset(bd, btouch, nb)
    return best, best_l, s_seed, t_seed, edges
