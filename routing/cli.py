"""``mae route FROM TO``: the fastest route between two places, as a crew's phone would show it.

The lead's ``mae`` entry point calls :func:`register` to add the subcommand; errors are
:class:`~mae.errors.MaeError` subclasses that ``mae`` prints as one line.
"""

from __future__ import annotations

import argparse
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from maps.gazetteer import Gazetteer
from maps.graph import RoadGraph, load_graph
from routing.engine import TravelTimes
from routing.route import Route, StepKind, format_distance, format_duration
from routing.snap import SnappedPoint

__all__ = ["format_route", "register", "resolve_location", "run_route"]

_LATLON = re.compile(r"^\s*(-?\d+(?:\.\d*)?)\s*,\s*(-?\d+(?:\.\d*)?)\s*$")


def register(subparsers: Any) -> None:
    """Add the ``route`` subcommand to an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "route",
        help="fastest route between two places, with time, distance and the roads to take",
        description=(
            "Print the travel time, distance and road-by-road steps of the fastest route "
            "between two places of the map. Places match by name ignoring case and accents "
            "and by their other names (Lulea, Jåhkåmåhkke); a coordinate is written lat,lon."
        ),
    )
    p.add_argument("origin", metavar="FROM", help="place name of the map, or lat,lon")
    p.add_argument("destination", metavar="TO", help="place name of the map, or lat,lon")
    p.add_argument(
        "--at",
        type=parse_time,
        metavar="TIME",
        help="when to drive, ISO format (2026-01-15T08:30): sets rush hour and, unless "
        "--winter or --summer is given, the season",
    )
    season = p.add_mutually_exclusive_group()
    season.add_argument(
        "--winter", dest="winter", action="store_const", const=True, default=None,
        help="winter road conditions (slower) whatever the date",
    )
    season.add_argument(
        "--summer", dest="winter", action="store_const", const=False,
        help="summer road conditions whatever the date",
    )
    p.add_argument(
        "--emergency", action="store_true",
        help="emergency driving with blue lights and siren (faster)",
    )
    p.add_argument(
        "--map", type=Path, default=None, metavar="PATH",
        help="road graph file (.maegraph) to use instead of the bundled Norrbotten map",
    )
    p.set_defaults(func=run_route)


def parse_time(text: str) -> datetime:
    """An ISO date-time for ``--at``; argparse reports a bad one as a usage error."""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time; write it like 2026-01-15T08:30"
        ) from None


def resolve_location(
    graph: RoadGraph, text: str, times: TravelTimes, *, gazetteer: Gazetteer | None = None
) -> tuple[SnappedPoint, str]:
    """The point ``text`` names — a place of ``graph`` or ``lat,lon`` — and how to call it.

    Unknown names raise :class:`~maps.errors.UnknownPlace` with the closest names.
    """
    m = _LATLON.match(text)
    if m:
        lat, lon = float(m.group(1)), float(m.group(2))
        return times.snap(lat, lon), f"{lat:.5f}, {lon:.5f}"
    found = (gazetteer or Gazetteer.of(graph)).find(text)
    return times.at_node(found.node), found.name


def format_route(route: Route, origin: str, destination: str) -> str:
    """The route as lines of text: header, totals, numbered steps."""
    lines = [
        f"{origin} → {destination}",
        f"Time: {format_duration(route.duration_s)}   "
        f"Distance: {format_distance(route.distance_m)}",
    ]
    for i, step in enumerate(route.steps, start=1):
        if step.kind is StepKind.DEPART:
            text = f"Start at {origin}"
            if step.distance_m >= 1:
                text += f" ({format_distance(step.distance_m)} off-road to the road)"
        elif step.kind is StepKind.ARRIVE:
            text = f"Arrive at {destination}"
            if step.distance_m >= 1:
                text += f" ({format_distance(step.distance_m)} off-road from the road)"
        else:
            text = ("then " if i > 2 else "") + step.describe()
        lines.append(f"{i:3d}. {text}")
    return "\n".join(lines)


def run_route(args: argparse.Namespace) -> int:
    """Handler of ``mae route``: load the map, route, print; returns the exit code."""
    graph = _load(args.map)
    times = TravelTimes(graph, at=args.at, winter=args.winter, emergency=args.emergency)
    gaz = Gazetteer.of(graph)
    a, a_name = resolve_location(graph, args.origin, times, gazetteer=gaz)
    b, b_name = resolve_location(graph, args.destination, times, gazetteer=gaz)
    route = times.route(a, b)
    situation = ["winter" if times.winter else "summer"]
    if args.emergency:
        situation.append("emergency driving")
    if args.at is not None:
        situation.append(args.at.strftime("%Y-%m-%d %H:%M"))
    print(format_route(route, a_name, b_name))
    print(f"({', '.join(situation)}; map: {graph.name})")
    return 0


def _load(path: Path | None) -> RoadGraph:
    if path is None:
        from maps.bundled import load_bundled

        return load_bundled()
    return load_graph(path)
