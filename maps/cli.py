"""``mae maps …``: inspect the loaded map and build maps from OpenStreetMap."""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from maps.errors import MapBuildError
from maps.graph import RoadClass, RoadGraph, load_graph, save_graph

__all__ = ["describe", "load_map_arg", "parse_bbox", "register"]


def register(subparsers: Any) -> None:
    """Add ``maps info`` and ``maps build`` to the ``mae`` parser."""
    maps = subparsers.add_parser("maps", help="inspect and build road maps")
    sub = maps.add_subparsers(dest="maps_command", metavar="ACTION", required=True)

    info = sub.add_parser(
        "info", help="print a map's size, bounds, places and facilities",
        description="Print the size, bounds, road classes, places and facilities of a map.",
    )
    info.add_argument("--map", type=Path, default=None,
                      help="a .maegraph file (default: the bundled Norrbotten map)")
    info.add_argument("--places", action="store_true", help="list every place")
    info.set_defaults(func=_info)

    build = sub.add_parser(
        "build", help="build a map from OpenStreetMap (online or from a file)",
        description="Build a road graph in the MAE format from OpenStreetMap: online through "
        "osmnx (--place), offline from an .osm/.osm.pbf extract (--osm-file), or the bundled "
        "Norrbotten map from its authored tables (--bundled).",
    )
    src = build.add_mutually_exclusive_group(required=True)
    src.add_argument("--place", help='a place OpenStreetMap knows, e.g. "Norrtälje kommun, Sweden"')
    src.add_argument("--osm-file", type=Path, help="an .osm or .osm.pbf extract (works offline)")
    src.add_argument("--bundled", action="store_true",
                     help="recompile maps/data/norrbotten.maegraph from maps/data/norrbotten/*.csv")
    build.add_argument("--bbox", type=parse_bbox, default=None,
                       help="with --osm-file: keep only roads inside "
                       "MIN_LON,MIN_LAT,MAX_LON,MAX_LAT")
    build.add_argument("--name", default=None, help="the map's display name")
    build.add_argument("--out", type=Path, default=None,
                       help="output .maegraph file (default: derived from the name)")
    build.set_defaults(func=_build)


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """Parse ``MIN_LON,MIN_LAT,MAX_LON,MAX_LAT`` (the GeoJSON order) and check it is a real box."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        raise argparse.ArgumentTypeError(
            f"bbox {text!r} must be four numbers MIN_LON,MIN_LAT,MAX_LON,MAX_LAT"
        )
    try:
        w, s, e, n = (float(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"bbox {text!r} has a value that is not a number"
        ) from None
    if not all(math.isfinite(v) for v in (w, s, e, n)):
        raise argparse.ArgumentTypeError(f"bbox {text!r} must be finite numbers")
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise argparse.ArgumentTypeError(
            f"bbox {text!r}: need -180 <= MIN_LON < MAX_LON <= 180 "
            "and -90 <= MIN_LAT < MAX_LAT <= 90"
        )
    return (w, s, e, n)


def load_map_arg(path: Path | None) -> RoadGraph:
    """The map a ``--map`` option names, or the bundled Norrbotten map."""
    if path is None:
        from maps.bundled import load_bundled

        return load_bundled()
    return load_graph(path)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "map"


def _info(args: argparse.Namespace) -> int:
    graph = load_map_arg(args.map)
    print(describe(graph, all_places=args.places))
    return 0


def describe(graph: RoadGraph, *, all_places: bool = False) -> str:
    """A human-readable summary of ``graph``."""
    lat0, lon0, lat1, lon1 = graph.bounds()
    km = float(graph.edge_length_m.sum()) / 1000.0
    lines = [
        f"map:        {graph.name}",
        f"source:     {graph.meta.get('source', 'unknown')}",
        f"nodes:      {graph.n_nodes:,}",
        f"edges:      {graph.n_edges:,} directed ({km:,.0f} km of directed road)",
        f"bounds:     lat {lat0:.4f}..{lat1:.4f}, lon {lon0:.4f}..{lon1:.4f}",
        "road classes:",
    ]
    counts = np.bincount(graph.edge_class, minlength=len(RoadClass))
    for cls in RoadClass:
        if counts[cls]:
            lines.append(f"  {cls.name.lower():<13}{int(counts[cls]):>9,} edges")
    places = sorted(graph.places, key=lambda p: (-p.population, p.name))
    pop = sum(p.population for p in places)
    lines.append(f"places:     {len(places)} (population {pop:,})")
    shown = places if all_places else places[:15]
    for p in shown:
        alt = f" ({'/'.join(p.alt_names)})" if p.alt_names else ""
        where = f", {p.municipality}" if p.municipality else ""
        lines.append(f"  {p.name}{alt}{where}: {p.population:,} [{p.kind}]")
    if len(shown) < len(places):
        lines.append(f"  … and {len(places) - len(shown)} more (--places lists all)")
    lines.append(f"facilities: {len(graph.facilities)}")
    for f in graph.facilities:
        kinds = ", ".join((f.kind, *f.kinds))
        lines.append(f"  {f.name} ({kinds}) at {f.place or f'{f.lat:.4f},{f.lon:.4f}'}")
    return "\n".join(lines)


def _build(args: argparse.Namespace) -> int:
    if args.bbox is not None and args.osm_file is None:
        raise MapBuildError("--bbox goes with --osm-file (an online build takes the place's area)")
    if args.bundled:
        from maps.bundled import BUNDLED_PATH, compile_bundled

        out = args.out or BUNDLED_PATH
        graph = compile_bundled(out)
    else:
        if args.osm_file is not None:
            from maps.osm import build_from_osm_file

            graph = build_from_osm_file(args.osm_file, bbox=args.bbox, name=args.name)
            stem = args.name or args.osm_file.name.split(".")[0]
        else:
            from maps._osm import build_from_place

            graph = build_from_place(args.place, name=args.name)
            stem = args.name or args.place
        out = args.out or Path(_slug(stem) + ".maegraph")
        save_graph(graph, out)
    print(f"wrote {out} ({graph.n_nodes:,} nodes, {graph.n_edges:,} edges, "
          f"{len(graph.places)} places)")
    return 0
