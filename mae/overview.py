"""``mae demo``: the bundled map and MAE base coverage as text.

It loads the road network (the bundled Norrbotten map unless ``--map`` names another) and shows
what it knows and what it can answer: the road network, the MAE bases, and how much of the
population the nearest base reaches within each coverage threshold of
:mod:`dispatch.coverage` (30/60/90 minutes), in summer and in winter. The live demo of the
service, ``mae serve --demo``, is :mod:`web.live_demo`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dispatch.coverage import DEFAULT_THRESHOLDS, Thresholds, coverage, populated
from maps.cli import describe, load_map_arg
from maps.graph import RoadGraph
from maps.traveltime import TravelTimeModel
from routing.engine import TravelTimes

__all__ = ["coverage_table", "register"]


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


def coverage_table(
    graph: RoadGraph, *, model: TravelTimeModel | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> list[str]:
    """Lines of a table: population within each threshold of the nearest MAE base, by season."""
    model = model or TravelTimeModel()
    bases = [f for f in graph.facilities if f.is_a("mae_base")]
    if not bases:
        return ["no MAE bases on this map"]
    people = populated(graph.places)
    lines = [f"MAE bases: {', '.join(b.name for b in bases)}",
             "population within reach of the nearest base (driving without blue lights):",
             f"  {'season':<8}" + "".join(f"{'≤' + m + ' min':>16}" for m in thresholds.labels)]
    for season, winter in (("summer", False), ("winter", True)):
        travel = TravelTimes(graph, model, winter=winter)
        reach = coverage(travel, [travel.at_node(b.node) for b in bases], people,
                         thresholds=thresholds)
        cells = [f"{n:>9,.0f} {100 * share:>4.0f}%"
                 for n, share in zip(reach.within, reach.shares, strict=True)]
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
