"""``mae region check FILE``: check a region file (and that its places lie on the map) without
starting the service; every problem on its own line, named by its dotted key."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dispatch.region import RegionError

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add ``region`` (with ``check``) to the ``mae`` parser."""
    region = subparsers.add_parser(
        "region", help="check a region file (bases, units, rota, facilities)",
        description="A region file (TOML) declares a region's bases, units, rota and map "
        "facilities; `mae serve --region FILE` loads it. See README.md, 'Starting a real "
        "region', and regions/norrbotten.toml for an example.")
    sub = region.add_subparsers(dest="region_command", metavar="ACTION", required=True)
    check = sub.add_parser(
        "check", help="check a region file: every problem on its own line, exit 1 if any",
        description="Check a region file whole: each problem is printed on its own line as "
        "FILE: dotted.key: problem (exit code 1); a good file prints a one-line summary.")
    check.add_argument("file", type=Path, help="the region file (TOML)")
    check.add_argument("--map", dest="map_path", type=Path, default=None,
                       help="a .maegraph map the bases and facilities must lie on (default: "
                       "the bundled Norrbotten map)")
    check.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    from web.app import load_graph
    from web.regions import read_region, with_region_facilities
    from web.settings import Settings

    graph = load_graph(Settings(map_path=args.map_path))
    try:
        region = read_region(args.file, graph=graph)
    except RegionError as exc:
        for line in exc.lines():
            print(f"{args.file}: {line}", file=sys.stderr)
        return 1
    on_map = with_region_facilities(graph, region)
    bases = sum(1 for f in on_map.facilities if f.is_a("mae_base"))
    print(f"ok: {region.summary()}; {bases} MAE bases on the map")
    return 0
