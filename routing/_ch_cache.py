"""All units to one callout, remembering the units' upward search spaces (compiled).

Upward search spaces of sources are cached: a unit that has not moved since the last alarm
costs a scan of its ~100 cached labels instead of a search. The cache is an open-addressing
table keyed by the exact seeds (nodes, times, lengths) of a point, pointing into one pool of
``(node, time, length)`` labels (:class:`routing._ch_arrays.LabelCache`); it is emptied at once
when either fills up. Sources met for the first time are answered together in one pass without
a priority queue (:func:`_sweep`).
"""

from __future__ import annotations

import numpy as np

from routing._ch_arrays import Hierarchy, LabelCache, Seeds
from routing._ch_query import reset, search, search_space
from routing._jit import F64, I32, I64, INF, U8, kernel

__all__ = ["many_to_one_cached"]


def many_to_one_cached(
    h: Hierarchy, *, sources: Seeds, target: Seeds,
    settled: I64, level: I32, mark: U8, per_level: I64, cache: LabelCache,
) -> tuple[F64, F64]:
    """Time and length from each source point to the one target point, reusing the upward
    search spaces of sources seen before (see :func:`_many_to_one_cached`).

    ``settled`` (2n), ``mark`` (n, all 0) and ``per_level`` (one a level) are scratch;
    ``level`` is each node's level in the hierarchy.
    """
    (fo, ft, fw, fl, _), (bo, bt, bw, bl, _), fwd, bwd, heap = h
    return _many_to_one_cached(
        fo, ft, fw, fl, bo, bt, bw, bl,
        sources.off, sources.nodes, sources.t, sources.length,
        target.nodes, target.t, target.length,
        fwd.dist, fwd.length, fwd.par, fwd.touched, bwd.dist, bwd.length, bwd.par, bwd.touched,
        heap.node, heap.key, heap.pos, settled, level, mark, per_level,
        cache.key, cache.key_f, cache.val, cache.meta, cache.node, cache.t, cache.length,
    )


@kernel
def _slot(
    c_key: I64, c_kf: F64, m: int, nodes: I64, t0: F64, l0: F64, lo: int
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


@kernel
def _sweep(
    fo: I64, ft: I32, fw: F64, fl: F64,
    s_off: I64, s_nodes: I64, s_t: F64, s_l: F64, todo: I64, n_todo: int,
    bd: F64, blen: F64, d: F64, dl: F64, stack: I64, out_t: F64, out_l: F64,
    level: I32, mark: U8, per_level: I64,
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


@kernel
def _many_to_one_cached(
    fo: I64, ft: I32, fw: F64, fl: F64, bo: I64, bt: I32, bw: F64, bl: F64,
    s_off: I64, s_nodes: I64, s_t: F64, s_l: F64,
    t_nodes: I64, t_t: F64, t_l: F64,
    fd: F64, flen: F64, fpar: I64, ftouch: I64,
    bd: F64, blen: F64, bpar: I64, btouch: I64,
    hnode: I64, hkey: F64, hpos: I64, settled: I64, level: I32, mark: U8, per_level: I64,
    c_key: I64, c_kf: F64, c_val: I64, c_meta: I64, p_node: I32, p_t: F64, p_l: F64,
) -> tuple[F64, F64]:
    """Like :func:`routing._ch_query.many_to_one`, reusing the search spaces of sources seen
    before.

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
    nb, _, _, _ = search(bo, bt, bw, bl, fo, ft, fw, t_nodes, t_t, t_l, 0, len(t_nodes),
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
            nf, ns = search_space(fo, ft, fw, fl, bo, bt, bw, s_nodes, s_t, s_l, lo, lo + m,
                                  fd, flen, fpar, ftouch, hnode, hkey, hpos, settled)
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
            reset(fd, ftouch, nf)
        out_t[i] = best
        out_l[i] = best_l
    if n_todo:
        _sweep(fo, ft, fw, fl, s_off, s_nodes, s_t, s_l, todo, n_todo, bd, blen, fd, flen,
               settled, out_t, out_l, level, mark, per_level)
    reset(bd, btouch, nb)
    return out_t, out_l
