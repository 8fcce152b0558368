"""The arrays a contraction hierarchy and its queries pass to the kernels, grouped and named.

The compiled kernels take flat arrays (numba's dispatcher checks plain arrays fastest); these
named tuples are what :mod:`routing.ch` holds and what the typed query functions take by
keyword, each unpacked in field order into the kernel's positional parameters. So the order of
same-dtype arrays (a time beside a length) is written once, here, and mypy checks each field's
dtype against the kernel parameter it lands on.
"""

from __future__ import annotations

from typing import NamedTuple

from routing._jit import F64, I32, I64

__all__ = ["Csr", "Heap", "Hierarchy", "LabelCache", "Seeds", "Side"]


class Csr(NamedTuple):
    """One direction of the hierarchy: at node ``x`` arcs ``off[x]:off[x + 1]``, each to a
    higher node ``to`` with a time, a length in metres and the bypassed node ``mid`` (-1: an
    original edge)."""

    off: I64
    to: I32
    t: F64
    length: F64
    mid: I32


class Seeds(NamedTuple):
    """Seeds of several points in hierarchy ids: point ``i`` owns ``off[i]:off[i + 1]``."""

    off: I64
    nodes: I64
    t: F64
    length: F64


class Side(NamedTuple):
    """Scratch of one search direction, n-sized: labels (infinite between queries), their
    lengths, parents (``-1 - seed`` at a seed) and the nodes touched, for resetting."""

    dist: F64
    length: F64
    par: I64
    touched: I64


class Heap(NamedTuple):
    """An indexed binary heap over the nodes: entries, keys, and each node's position or -1."""

    node: I64
    key: F64
    pos: I64


class LabelCache(NamedTuple):
    """The many-to-one search-space cache: table (seed count or 0 for free and two seed nodes;
    seed times and lengths; pool start and label count), its counters (pool used, entries,
    times emptied, hits) and the label pool."""

    key: I64
    key_f: F64
    val: I64
    meta: I64
    node: I32
    t: F64
    length: F64


class Hierarchy(NamedTuple):
    """What every query takes: the renumbered upward and downward graphs, the scratch of the
    forward and backward searches, and the heap they share."""

    up: Csr
    down: Csr
    fwd: Side
    bwd: Side
    heap: Heap
