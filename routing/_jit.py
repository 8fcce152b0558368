"""``@kernel``: numba's ``njit(cache=True)`` with the function's own signature kept for mypy.

numba ships no type information, so a function decorated with plain ``@njit`` is ``Any`` to
mypy and every call to it goes unchecked. :func:`kernel` compiles exactly as ``njit(cache=True)``
does but is typed ``F -> F``, so mypy sees the decorated function as written: every parameter of
a kernel is annotated with the array aliases below (``I32``, ``I64``, ``F64``, ``U8``,
``Bools``), and passing a float array where an int64 one belongs, or an int64 one where int32
belongs, is a mypy error at the caller, in Python and between kernels alike. (The number of
dimensions is not checked: NumPy's stubs leave the shape open.) numba ignores the annotations.

Arrays of the same dtype (a time and a length, say) are still interchangeable to mypy; the
query modules group them into named tuples (:mod:`routing._ch_arrays`) and take those by keyword,
so that order is fixed by name rather than by position.

Kernels may call kernels of other modules (imported by name); note that numba's on-disk cache
is keyed by each function's own file, so after editing a kernel, the cached callers in other
modules keep the old copy until their cache files (``__pycache__/*.nbi``, ``*.nbc``) are removed;
``dev.py`` removes them whenever a kernel source has changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = ["F64", "I32", "I64", "INF", "U8", "Bools", "kernel", "nogil_kernel"]

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]
Bools = npt.NDArray[np.bool_]

INF = np.inf

_F = TypeVar("_F", bound=Callable[..., Any])


def kernel(fn: _F) -> _F:
    """Compile ``fn`` in nopython mode with the on-disk cache; mypy keeps its signature."""
    return cast(_F, njit(cache=True)(fn))


def nogil_kernel(fn: _F) -> _F:
    """:func:`kernel` that releases the GIL while it runs (kernels called from worker threads)."""
    return cast(_F, njit(cache=True, nogil=True)(fn))
