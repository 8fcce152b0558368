"""How long ``mae tokens create`` takes, against the way it ran before and the floor.

Each row creates crew tokens for a unit registered in a real SQLite event log of ``--events``
events, in a fresh Python process each time (what a person or a provisioning script pays):

- ``mae tokens create``: the command as shipped (only ``web.cli`` is imported; the unit check
  is one SQL query on the log);
- ``full parser (before)``: the same command through the parser that imports every package's
  CLI, as ``mae`` did before (that pulled in the solvers and numba: most of the second);
- ``python -c pass``: an empty interpreter start, the floor for any command.

The table shows median and p95 seconds over ``--repeat`` runs after one warm-up, and each row's
ratio to the shipped command.

Run: ``.venv/bin/python benchmarks/bench_tokens.py [--repeat N] [--events N]``
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_BEFORE = (
    "import sys; from mae.cli import build_parser; "
    "a = build_parser().parse_args(sys.argv[1:]); sys.exit(a.func(a))"
)


def _seed(db: Path, events: int) -> None:
    """A log of ``events`` rows: one unit registered first, then position reports."""
    from web.eventstore import SqliteEventStore

    SqliteEventStore(db).close()  # the real schema
    conn = sqlite3.connect(db)
    reg = {"type": "UnitRegistered", "v": 1, "at": "2026-01-01T00:00:00+00:00",
           "unit_id": "MAE-PITEA", "name": "Piteå", "base": "Piteå",
           "position": {"lat": 65.3, "lon": 21.5, "label": "", "resolved_from": ""}}
    rows = [(1, reg["type"], reg["at"], json.dumps(reg))]
    for seq in range(2, events + 1):
        pos = {"type": "UnitPositionReported", "v": 1, "at": reg["at"], "unit_id": "MAE-PITEA",
               "position": reg["position"]}
        rows.append((seq, pos["type"], pos["at"], json.dumps(pos)))
    conn.executemany("INSERT INTO events (seq, type, at, data) VALUES (?,?,?,?)", rows)
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    from web.tokens import ensure_unit_index

    ensure_unit_index(db)  # as the service does at start


def _time(argv: list[str], repeat: int) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = []
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        if i:  # the first run warms the page cache
            out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per row (default 7)")
    parser.add_argument("--events", type=int, default=100_000,
                        help="events in the log the unit check reads (default 100000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite3"
        _seed(db, args.events)
        create = ["tokens", "create", "--role", "crew", "--unit", "MAE-PITEA", "--name",
                  "bench", "--database", str(db)]
        rows = {
            "mae tokens create": _time([sys.executable, "-m", "mae", *create], args.repeat),
            "full parser (before)": _time([sys.executable, "-c", _BEFORE, *create], args.repeat),
            "python -c pass": _time([sys.executable, "-c", "pass"], args.repeat),
        }
    ours = statistics.median(rows["mae tokens create"])
    print(f"log of {args.events} events, {args.repeat} runs each")
    print(f"{'command':<24}{'median s':>10}{'p95 s':>9}{'x ours':>8}")
    print("-" * 51)
    for name, times in rows.items():
        med = statistics.median(times)
        p95 = sorted(times)[max(0, round(0.95 * len(times)) - 1)]
        print(f"{name:<24}{med:>10.3f}{p95:>9.3f}{med / ours:>8.2f}")


if __name__ == "__main__":
    main()
