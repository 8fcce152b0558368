"""Renaming a built hierarchy's nodes for the queries (compiled): levels, then new ids.

After the build, nodes get new ids by descending level in the hierarchy and, within a level,
along a space-filling curve over the map (the order itself is chosen in :mod:`routing.ch`). The
top of the hierarchy, which every query visits, then sits together at the front of every array,
neighbours on the map share cache lines, and every upward arc leads to a lower id.
"""

from __future__ import annotations

import numpy as np

from routing._ch_arrays import Csr
from routing._jit import F64, I32, I64, nogil_kernel

__all__ = ["levels", "renumber"]


def levels(rank: I64, up: Csr, down: Csr) -> I64:
    """Each node's level: 0 at the bottom, else one more than its highest lower neighbour.

    Sorting nodes by descending level is a topological order of the upward arcs, like the
    rank, but leaves the nodes of one level free to be ordered for memory locality.
    """
    return _levels(rank, up.off, up.to, down.off, down.to)


def renumber(g: Csr, new: I64) -> Csr:
    """The graph ``g`` with node ``v`` renamed ``new[v]`` (a permutation)."""
    return Csr(*_renumber(g.off, g.to, g.t, g.length, g.mid, new))


@nogil_kernel
def _levels(rank: I64, fo: I64, ft: I32, bo: I64, bt: I32) -> I64:
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


@nogil_kernel
def _renumber(
    off: I64, to: I32, t: F64, ln: F64, mid: I32, new: I64
) -> tuple[I64, I32, F64, F64, I32]:
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
