"""Optimised designs as ready-to-run scenario files: the baseline's TOML with new bases and units.

The file keeps everything else of the baseline (demand, roads, policy, service, economics) so
the simulator compares like with like; relative paths (the map or the matrix's nodes and times,
every replayed log, the follow-up bookings) are rewritten relative to the folder the new file
goes in, so it runs from any working directory. :func:`to_toml` writes the small subset of TOML a
scenario uses (text, numbers, booleans, dates, lists, tables and arrays of tables).
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from routing.location import LocationResult
from simulations.errors import ScenarioError
from simulations.optimise_model import Candidate, PatternSpec, shift_table
from simulations.spec import ReplayDemand, Scenario

__all__ = ["design_data", "to_toml"]


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"TOML has no {value!r}")
        return repr(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _emit(table: dict[str, Any], prefix: str, lines: list[str]) -> None:
    for key, value in table.items():
        if not isinstance(value, dict) and not _is_table_array(value):
            lines.append(f"{key} = {_scalar(value)}")
    for key, value in table.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            lines += ["", f"[{name}]"]
            _emit(value, name, lines)
        elif _is_table_array(value):
            for item in value:
                lines += ["", f"[[{name}]]"]
                _emit(item, name, lines)


def to_toml(data: dict[str, Any], *, header: Sequence[str] = ()) -> str:
    """``data`` as TOML text, with ``header`` lines as comments on top."""
    lines = [f"# {h}" for h in header]
    _emit(data, "", lines)
    text = "\n".join(lines).strip("\n") + "\n"
    tomllib.loads(text)  # what we write must read back
    return text


def _rebase(path: str | None, out_dir: Path) -> str | None:
    if path is None:
        return None
    try:
        return os.path.relpath(path, out_dir.resolve())
    except ValueError:  # another drive on Windows
        return path


def design_data(
    scenario: Scenario,
    result: LocationResult,
    sites: Sequence[Candidate],
    patterns: Sequence[PatternSpec],
    *,
    name: str,
    description: str,
    out_dir: Path,
) -> dict[str, Any]:
    """The baseline scenario's TOML with the bases and units of ``result`` (each car with the
    crew of the baseline's first unit), to be written in ``out_dir``."""
    try:
        data: dict[str, Any] = tomllib.loads(Path(scenario.source).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(
            "file", f"cannot re-read the scenario: {exc}", source=scenario.source
        ) from None
    data["name"] = name
    data["description"] = description
    map_table = data["map"] if isinstance(data.get("map"), dict) else {}
    if scenario.map_path is not None:
        map_table["path"] = _rebase(scenario.map_path, out_dir)
    if scenario.matrix is not None:
        map_table["nodes"] = _rebase(scenario.matrix.nodes, out_dir)
        map_table["matrix"] = _rebase(scenario.matrix.matrix, out_dir)
    if map_table:
        data["map"] = map_table
    if isinstance(scenario.demand, ReplayDemand):  # every log, one per seed
        paths = [_rebase(p, out_dir) for p in scenario.demand.paths]
        data["demand"]["csv"] = paths if isinstance(data["demand"]["csv"], list) else paths[0]
    followups = data.get("followups")
    if isinstance(followups, dict) and isinstance(followups.get("csv"), str):
        bookings = Path(scenario.source).parent / followups["csv"]  # as the loader reads it
        followups["csv"] = _rebase(str(bookings.resolve()), out_dir)
    by_id = {c.id: c for c in sites}
    pattern = {p.id: p for p in patterns}
    bases: list[dict[str, Any]] = []
    for sid in result.open_sites:
        c = by_id[sid]
        if c.by_name:
            bases.append({"id": c.id, "place": c.place})
        elif c.node:
            bases.append({"id": c.id, "node": c.node})
        else:
            bases.append(
                {"id": c.id, "place": c.place, "lat": round(c.lat, 6), "lon": round(c.lon, 6)}
            )
    units: list[dict[str, Any]] = []
    crew = list(scenario.units[0].crew)  # every car gets the baseline's first crew
    for st in result.staffing:
        for _ in range(st.cars):
            uid = f"MAE-{st.site_id[:16].upper()}-{len(units) + 1}"
            shifts = [shift_table(s) for s in pattern[st.pattern_id].shifts]
            units.append({"id": uid, "base": st.site_id, "crew": crew, "shifts": shifts})
    data["bases"] = bases
    data["units"] = units
    return data
