"""``compile_kernels`` (what ``dev.py test`` runs beside the linters) reaches every kind of
query's kernels: in a process of its own, each entry kernel has a compiled version after it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: The kernels Python calls directly (the others are compiled into these).
ENTRIES = {
    "routing._ch_contract": ["_build"],
    "routing._ch_order": ["_levels", "_renumber"],
    "routing._ch_cache": ["_many_to_one_cached"],
    "routing._ch_query": ["_one_against_many", "_many_to_many"],
    "routing._ch_unpack": ["_route"],
    "routing._lns": ["_iterate", "_refresh", "_route_ok"],
}

CHECK = f"""
import importlib
from routing.kernels import compile_kernels
compile_kernels()
for module, names in {ENTRIES!r}.items():
    mod = importlib.import_module(module)
    for name in names:
        print(module, name, len(getattr(mod, name).signatures))
"""


def test_compile_kernels_compiles_each_entry_kernel_in_a_fresh_process() -> None:
    done = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    counts = {tuple(line.split()[:2]): int(line.split()[2]) for line in done.stdout.splitlines()}
    assert len(counts) == sum(len(v) for v in ENTRIES.values())
    assert all(n > 0 for n in counts.values()), counts
