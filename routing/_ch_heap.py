"""Indexed binary heap over node ids, for the compiled searches (decrease- and increase-key).

Three flat arrays: ``hnode`` (the entries), ``hkey`` (their keys) and ``hpos`` (each node's
place in the heap, -1 when absent; it must be all -1 between searches, which :func:`clear_heap`
restores after a search that stops early).
"""

from __future__ import annotations

from routing._jit import F64, I64, kernel

__all__ = ["clear_heap", "pop", "push"]


@kernel
def _sift_up(hnode: I64, hkey: F64, hpos: I64, i: int) -> None:
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


@kernel
def _sift_down(hnode: I64, hkey: F64, hpos: I64, i: int, size: int) -> None:
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


@kernel
def push(hnode: I64, hkey: F64, hpos: I64, size: int, node: int, key: float) -> int:
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


@kernel
def pop(hnode: I64, hkey: F64, hpos: I64, size: int) -> tuple[int, float, int]:
    """Remove the entry with the smallest key; returns (node, key, new size)."""
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


@kernel
def clear_heap(hnode: I64, hpos: I64, size: int) -> None:
    """Forget the ``size`` entries still in the heap (a search that stopped early)."""
    for i in range(size):
        hpos[hnode[i]] = -1
