"""A tiny named map and scenario builders with travel times that can be worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from maps.graph import Facility, Place, RoadClass, RoadGraph, save_graph

# Four towns on primary roads (no rush-hour slowing): Alpha-Beta 30 km at 60 km/h (1800 s),
# Beta-Gamma 30 km at 90 km/h (1200 s), Alpha-Delta 150 km at 60 km/h (9000 s).
NODES = {"Alpha": (65.0, 20.0), "Beta": (65.0, 20.6), "Gamma": (65.0, 21.2),
         "Delta": (66.3, 20.0)}
ROADS = (("Alpha", "Beta", 30_000.0, 60.0), ("Beta", "Gamma", 30_000.0, 90.0),
         ("Alpha", "Delta", 150_000.0, 60.0))
POPULATION = {"Alpha": 1000, "Beta": 500, "Gamma": 200, "Delta": 100}
MUNICIPALITY = {"Alpha": "Alphaby", "Beta": "Alphaby", "Gamma": "Gammaby", "Delta": "Deltaby"}
T0 = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday; the tiny scenarios run in UTC


def tiny_graph() -> RoadGraph:
    names = list(NODES)
    src, dst, length, speed = [], [], [], []
    for a, b, m, v in ROADS:
        for u, w in ((a, b), (b, a)):
            src.append(names.index(u))
            dst.append(names.index(w))
            length.append(m)
            speed.append(v)
    places = [Place(n, *NODES[n], node=i, population=POPULATION[n],
                    municipality=MUNICIPALITY[n]) for i, n in enumerate(names)]
    hospital = Facility("Alpha sjukhus", "hospital", *NODES["Alpha"], node=0, place="Alpha",
                        kinds=("psychiatric_emergency", "mae_base"))
    return RoadGraph.from_edges(
        node_lat=[NODES[n][0] for n in names], node_lon=[NODES[n][1] for n in names],
        source=src, target=dst, length_m=length, speed_kmh=speed,
        road_class=[int(RoadClass.PRIMARY)] * len(src), places=places, facilities=[hospital],
        meta={"name": "tiny"},
    )


def save_tiny(directory: Path) -> Path:
    return save_graph(tiny_graph(), directory / "tiny.maegraph")


def tiny_scenario(**overrides: Any) -> dict[str, Any]:
    """A scenario dict: one unit at Alpha on duty around the clock, deterministic times."""
    data: dict[str, Any] = {
        "name": "tiny",
        "start": "2026-01-05",
        "days": 3,
        "timezone": "UTC",
        "roads": {"season": "summer", "offroad_speed_kmh": 30},
        "policy": {"kind": "closest_idle", "max_response_min": 300, "fallback": "source"},
        "service": {"ack_s": 30, "turnout_min": 5, "on_scene_min": 60, "on_scene_sd_min": 0,
                    "at_facility_min": 20, "at_facility_sd_min": 0},
        "bases": [{"id": "alpha", "place": "Alpha sjukhus"}],
        "units": [{"id": "U1", "base": "alpha",
                   "shifts": [{"start": "00:00", "end": "00:00", "days": "all"}]}],
        "demand": {"kind": "synthetic", "alarms_per_year": 100},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


MATRIX_DIR = Path(__file__).parents[1] / "data" / "matrix"


def matrix_scenario(log: Path | None = None, **overrides: Any) -> dict[str, Any]:
    """A scenario on the tiny matrix region of ``tests/data/matrix``: one base at node A, a
    hospital at node C, ``count`` identical cars around the clock, no acknowledge or turnout
    delay (so a response is the matrix's minutes), replaying ``log`` when given."""
    data: dict[str, Any] = {
        "name": "tiny matrix",
        "start": "2026-01-05",
        "days": 1,
        "timezone": "UTC",
        "map": {"nodes": str(MATRIX_DIR / "nodes.csv"), "matrix": str(MATRIX_DIR / "times.csv"),
                "crs": "EPSG:28992"},
        "facilities": [{"name": "Hospital C", "kind": "hospital", "node": "C"}],
        "bases": [{"id": "a", "node": "A"}],
        "units": [{"id": "AMB", "base": "a", "count": 1, "shifts": "24/7"}],
        "service": {"ack_s": 0, "turnout_min": 0, "transport_to": "hospital",
                    "on_scene_min": 20, "on_scene_sd_min": 0, "at_facility_min": 10,
                    "at_facility_sd_min": 0},
        "demand": ({"kind": "replay", "csv": str(log)} if log is not None
                   else {"kind": "synthetic", "alarms_per_year": 3000}),
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data
