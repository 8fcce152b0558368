"""Queries on a contraction hierarchy (compiled): upward searches that meet at the top.

A query searches only *upward* from both ends: forward over the upward graph ``up`` from the
sources, backward over the downward graph ``down`` from the targets, and the best meeting node
gives the time. Stall-on-demand prunes a label that an arc from a higher node already beats.
Scratch arrays are n-sized and reused: a search records the nodes it touches and resets only
those. The forward and backward directions run the same kernels with the graphs swapped.

The public functions are typed and take the named arrays of :mod:`routing._ch_arrays` by
keyword; each unpacks them into its compiled kernel. The cached many-to-one query is in
:mod:`routing._ch_cache`, route unpacking in :mod:`routing._ch_unpack`.
"""

from __future__ import annotations

import numpy as np

from routing._ch_arrays import Csr, Heap, Hierarchy, Seeds, Side
from routing._ch_heap import clear_heap, pop, push
from routing._jit import F64, I32, I64, INF, kernel

__all__ = ["many_to_many", "many_to_one", "one_to_many", "reset", "search", "search_space"]


def many_to_one(h: Hierarchy, *, sources: Seeds, target: Seeds) -> tuple[F64, F64]:
    """Time and length from each source point to the one target point, searching afresh."""
    return _against(h.down, h.bwd, target, h.up, h.fwd, sources, h.heap)


def one_to_many(h: Hierarchy, *, source: Seeds, targets: Seeds) -> tuple[F64, F64]:
    """Time and length from the one source point to each target point."""
    return _against(h.up, h.fwd, source, h.down, h.bwd, targets, h.heap)


def _against(
    g: Csr, g_side: Side, one: Seeds, m: Csr, m_side: Side, many: Seeds, heap: Heap
) -> tuple[F64, F64]:
    """:func:`_one_against_many`: ``one`` searched over ``g``, each of ``many`` over ``m``."""
    go, gt, gw, gl, _ = g
    mo, mt, mw, ml, _ = m
    return _one_against_many(
        go, gt, gw, gl, mo, mt, mw, ml,
        one.nodes, one.t, one.length, many.off, many.nodes, many.t, many.length,
        g_side.dist, g_side.length, g_side.par, g_side.touched,
        m_side.dist, m_side.length, m_side.par, m_side.touched,
        heap.node, heap.key, heap.pos,
    )


def many_to_many(
    h: Hierarchy, *, sources: Seeds, targets: Seeds, bucket_first: I64
) -> tuple[F64, F64]:
    """Time and length matrices (sources x targets) by bucket-based many-to-many search;
    ``bucket_first`` is n-sized scratch, all -1 between queries."""
    (fo, ft, fw, fl, _), (bo, bt, bw, bl, _), fwd, bwd, heap = h
    return _many_to_many(
        fo, ft, fw, fl, bo, bt, bw, bl,
        sources.off, sources.nodes, sources.t, sources.length,
        targets.off, targets.nodes, targets.t, targets.length,
        fwd.dist, fwd.length, fwd.par, fwd.touched, bwd.dist, bwd.length, bwd.par, bwd.touched,
        heap.node, heap.key, heap.pos, bucket_first,
    )


@kernel
def _seed(
    nodes: I64, t0: F64, l0: F64, lo: int, hi: int,
    dist: F64, lens: F64, par: I64, touched: I64,
    hnode: I64, hkey: F64, hpos: I64,
) -> tuple[int, int]:
    """Labels for seeds ``lo..hi`` (the best of repeated nodes) and a heap holding them;
    returns (touched count, heap size)."""
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
            par[x] = -1 - (i - lo)
            size = push(hnode, hkey, hpos, size, x, t0[i])
    return nt, size


@kernel
def search(
    g_off: I64, g_to: I32, g_t: F64, g_l: F64,
    s_off: I64, s_to: I32, s_t: F64,
    nodes: I64, t0: F64, l0: F64, lo: int, hi: int,
    dist: F64, lens: F64, par: I64, touched: I64,
    hnode: I64, hkey: F64, hpos: I64,
    other: F64, other_len: F64, prune: bool,
) -> tuple[int, float, float, int]:
    """Upward Dijkstra over ``g`` from seeds ``lo..hi``, stalling on the reverse graph ``s``.

    With ``prune`` it stops once no label can beat the best meeting with ``other`` (the other
    direction's distances); otherwise it exhausts the upward search space.
    Returns (touched count, best time, its length, meeting node).
    """
    nt, size = _seed(nodes, t0, l0, lo, hi, dist, lens, par, touched, hnode, hkey, hpos)
    best = INF
    best_l = INF
    meet = -1
    while size > 0:
        x, k, size = pop(hnode, hkey, hpos, size)
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
            if dist[s_to[e]] + s_t[e] < k:
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
                size = push(hnode, hkey, hpos, size, y, nd)
    clear_heap(hnode, hpos, size)
    return nt, best, best_l, meet


@kernel
def search_space(
    g_off: I64, g_to: I32, g_t: F64, g_l: F64,
    s_off: I64, s_to: I32, s_t: F64,
    nodes: I64, t0: F64, l0: F64, lo: int, hi: int,
    dist: F64, lens: F64, par: I64, touched: I64,
    hnode: I64, hkey: F64, hpos: I64, settled: I64,
) -> tuple[int, int]:
    """The whole upward search space from seeds ``lo..hi``, as :func:`search` explores it.

    Leaves the labels in ``dist``/``lens`` and lists the settled, unstalled nodes (the only
    ones a shortest path can meet at) in ``settled``; returns (touched count, settled count).
    Its loop mirrors :func:`search` on purpose: with the stall check and the relaxation shared
    as small (even numba-inlined) kernels, queries ran 14-48 % slower (benchmarks/README.md).
    """
    nt, size = _seed(nodes, t0, l0, lo, hi, dist, lens, par, touched, hnode, hkey, hpos)
    ns = 0
    while size > 0:
        x, k, size = pop(hnode, hkey, hpos, size)
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
                par[y] = x
                size = push(hnode, hkey, hpos, size, y, nd)
    return nt, ns


@kernel
def reset(dist: F64, touched: I64, nt: int) -> None:
    """Make the labels of the ``nt`` touched nodes infinite again."""
    for i in range(nt):
        dist[touched[i]] = INF


@kernel
def _one_against_many(
    go: I64, gt: I32, gw: F64, gl: F64, ho: I64, ht: I32, hw: F64, hl: F64,
    one_nodes: I64, one_t: F64, one_l: F64,
    m_off: I64, m_nodes: I64, m_t: F64, m_l: F64,
    od: F64, olen: F64, opar: I64, otouch: I64,
    md: F64, mlen: F64, mpar: I64, mtouch: I64,
    hnode: I64, hkey: F64, hpos: I64,
) -> tuple[F64, F64]:
    """Time and length between one point and each of many (seed runs ``m_off``).

    The one point's whole upward space over ``g`` first, then a pruned search over ``h`` from
    each of the many against it: many-to-one is this with ``g`` the downward graph, one-to-many
    with ``g`` the upward one. ``o*`` and ``m*`` are the two directions' scratch.
    """
    k = len(m_off) - 1
    out_t = np.full(k, INF)
    out_l = np.full(k, INF)
    n1, _, _, _ = search(go, gt, gw, gl, ho, ht, hw, one_nodes, one_t, one_l, 0, len(one_nodes),
                         od, olen, opar, otouch, hnode, hkey, hpos, od, olen, False)
    for i in range(k):
        nm, best, best_l, _ = search(ho, ht, hw, hl, go, gt, gw, m_nodes, m_t, m_l,
                                     m_off[i], m_off[i + 1], md, mlen, mpar, mtouch,
                                     hnode, hkey, hpos, od, olen, True)
        out_t[i] = best
        out_l[i] = best_l
        reset(md, mtouch, nm)
    reset(od, otouch, n1)
    return out_t, out_l


@kernel
def _many_to_many(
    fo: I64, ft: I32, fw: F64, fl: F64, bo: I64, bt: I32, bw: F64, bl: F64,
    s_off: I64, s_nodes: I64, s_t: F64, s_l: F64,
    t_off: I64, t_nodes: I64, t_t: F64, t_l: F64,
    fd: F64, flen: F64, fpar: I64, ftouch: I64,
    bd: F64, blen: F64, bpar: I64, btouch: I64,
    hnode: I64, hkey: F64, hpos: I64, bucket_first: I64,
) -> tuple[F64, F64]:
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
        nb, _, _, _ = search(bo, bt, bw, bl, fo, ft, fw, t_nodes, t_t, t_l,
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
        reset(bd, btouch, nb)
    order = np.argsort(b_node[:nbk], kind="mergesort")
    sn = b_node[:nbk][order]
    sj = b_tgt[:nbk][order]
    st = b_t[:nbk][order]
    sl = b_l[:nbk][order]
    for i in range(nbk - 1, -1, -1):
        bucket_first[sn[i]] = i
    for i in range(ks):
        nf, _, _, _ = search(fo, ft, fw, fl, bo, bt, bw, s_nodes, s_t, s_l,
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
        reset(fd, ftouch, nf)
    for i in range(nbk):
        bucket_first[sn[i]] = -1
    return out_t, out_l
