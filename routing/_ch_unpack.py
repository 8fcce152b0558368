"""The fastest path between two points on a contraction hierarchy, as original edges (compiled).

The query is the usual pair of upward searches with parent pointers; the hierarchy path from
the source seed over the meeting node to the target seed is then unpacked, shortcut by shortcut
through the node each one bypasses, with an explicit stack, and every consecutive node pair is
mapped back to its fastest edge of the original graph.
"""

from __future__ import annotations

import numpy as np

from routing._ch_arrays import Hierarchy, Seeds
from routing._ch_query import reset, search
from routing._jit import F64, I32, I64, INF, kernel

__all__ = ["route"]


def route(
    h: Hierarchy, *, source: Seeds, target: Seeds, old: I64, g_off: I64, g_to: I64, g_t: F64,
) -> tuple[float, float, int, int, I64]:
    """Fastest path between two points: (time, length, source seed, target seed, edges).

    ``old`` maps the hierarchy's node ids back to the graph's, whose CSR is ``g_off``/``g_to``
    with edge times ``g_t``. Without a path the seeds are -1 and the time infinite.
    """
    (fo, ft, fw, fl, fm), (bo, bt, bw, bl, bm), fwd, bwd, heap = h
    return _route(
        old, fo, ft, fw, fl, fm, bo, bt, bw, bl, bm,
        source.nodes, source.t, source.length, target.nodes, target.t, target.length,
        fwd.dist, fwd.length, fwd.par, fwd.touched, bwd.dist, bwd.length, bwd.par, bwd.touched,
        heap.node, heap.key, heap.pos, g_off, g_to, g_t,
    )


@kernel
def _arc_mid(
    a: int, b: int,
    fo: I64, ft: I32, fw: F64, fm: I32, bo: I64, bt: I32, bw: F64, bm: I32,
) -> int:
    """The node that arc ``a -> b`` of the hierarchy bypasses, or -1 for an original arc.

    Higher ranks have lower ids: an upward arc (``a > b``) is stored at ``a`` in the upward
    graph, a downward one at ``b`` in the downward graph; of parallel arcs the fastest counts.
    """
    if a > b:
        off, to, w, mids, at, other = fo, ft, fw, fm, a, b
    else:
        off, to, w, mids, at, other = bo, bt, bw, bm, b, a
    mid = -1
    t = INF
    for e in range(off[at], off[at + 1]):
        if to[e] == other and w[e] < t:
            t = w[e]
            mid = mids[e]
    return mid


@kernel
def _route(
    old: I64,
    fo: I64, ft: I32, fw: F64, fl: F64, fm: I32,
    bo: I64, bt: I32, bw: F64, bl: F64, bm: I32,
    s_nodes: I64, s_t: F64, s_l: F64,
    t_nodes: I64, t_t: F64, t_l: F64,
    fd: F64, flen: F64, fpar: I64, ftouch: I64,
    bd: F64, blen: F64, bpar: I64, btouch: I64,
    hnode: I64, hkey: F64, hpos: I64,
    g_off: I64, g_to: I64, g_t: F64,
) -> tuple[float, float, int, int, I64]:
    nb, _, _, _ = search(bo, bt, bw, bl, fo, ft, fw, t_nodes, t_t, t_l, 0, len(t_nodes),
                         bd, blen, bpar, btouch, hnode, hkey, hpos, bd, blen, False)
    nf, best, best_l, meet = search(fo, ft, fw, fl, bo, bt, bw, s_nodes, s_t, s_l,
                                    0, len(s_nodes), fd, flen, fpar, ftouch,
                                    hnode, hkey, hpos, bd, blen, True)
    edges = np.empty(0, dtype=np.int64)
    s_seed = -1
    t_seed = -1
    if meet >= 0:
        # hierarchy path: source seed .. meet .. target seed
        up: list[int] = []
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
        stack: list[tuple[int, int]] = []
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
    reset(fd, ftouch, nf)
    reset(bd, btouch, nb)
    return best, best_l, s_seed, t_seed, edges

