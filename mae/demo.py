"""``mae demo``: what the README's main command runs.

Until the live service lands this is the map demo: it loads the bundled Norrbotten network and
shows what it knows and what it can answer — the road network, the MAE bases, and how much of
the county's population each base reaches within 30/60/90 minutes in summer and in winter.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from maps.cli import describe, load_map_arg
from maps.graph import RoadGraph
from maps.traveltime import TravelTimeModel
from routing.engine import TravelTimes

__all__ = ["coverage_table", "register"]

_LIMITS_MIN = (30, 60, 90)


def register(subparsers: Any) -> None:
    """Add ``demo`` to the ``mae`` parser."""
    demo = subparsers.add_parser(
        "demo", help="show the bundled Norrbotten map and MAE base coverage",
        description="Load the bundled Norrbotten map and print its summary and the population "
        "the MAE bases reach within 30, 60 and 90 minutes, in summer and in winter.",
    )
    demo.add_argument("--map", type=Path, default=None,
                      help="a .maegraph file (default: the bundled Norrbotten map)")
    demo.set_defaults(func=_demo)


def coverage_table(graph: RoadGraph, *, model: TravelTimeModel | None = None) -> list[str]:
    """Lines of a table: population within each limit of the nearest MAE base, by season."""
    model = model or TravelTimeModel()
    bases = [f for f in graph.facilities if f.is_a("mae_base")]
    if not bases:
        return ["no MAE bases on this map"]
    people = [p for p in graph.places if p.population > 0]
    pop = np.array([p.population for p in people], dtype=float)
    total = pop.sum()
    lines = [f"MAE bases: {', '.join(b.name for b in bases)}",
             "population within reach of the nearest base (driving without blue lights):",
             f"  {'season':<8}" + "".join(f"{'≤' + str(m) + ' min':>16}" for m in _LIMITS_MIN)]
    for season, winter in (("summer", False), ("winter", True)):
        travel = TravelTimes(graph, model, winter=winter)
        times = travel.matrix([travel.at_node(b.node) for b in bases],
                              [travel.at_node(p.node) for p in people]).durations_s
        nearest = times.min(axis=0)
        cells = []
        for limit in _LIMITS_MIN:
            reached = pop[nearest <= limit * 60].sum()
            cells.append(f"{reached:>9,.0f} {100 * reached / total:>4.0f}%")
        lines.append(f"  {season:<8}" + "".join(f"{c:>16}" for c in cells))
    return lines


def _demo(args: argparse.Namespace) -> int:
    graph = load_map_arg(args.map)
    print(describe(graph))
    print()
    print("\n".join(coverage_table(graph)))
    print()
    print("Try: mae route Luleå Jokkmokk --winter   |   mae maps info --places")
    return 0
