"""The one command-line entry point, ``mae``, with a subcommand per package.

Each package contributes its subcommands through a ``register(subparsers)`` function in its own
``cli.py``; this module only wires them together and turns :class:`MaeError` into one clear line
on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from mae.errors import MaeError

__all__ = ["build_parser", "main"]


#: Commands that must start fast (scripts create tokens in loops): only the package that owns
#: them is imported, not the solvers and map code every other package pulls in.
QUICK = {"tokens": "web.cli"}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``mae`` argument parser with every package's subcommands (only the owning
    package's when ``command`` is one of :data:`QUICK`)."""
    if command in QUICK:
        parser = argparse.ArgumentParser(prog="mae")
        parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
        sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
        importlib.import_module(QUICK[command]).register(sub)
        return parser
    from mae import overview
    from maps import cli as maps_cli
    from routing import cli as routing_cli
    from simulations import cli as simulations_cli
    from web import cli as web_cli
    from web import region_cli, stats_cli

    parser = argparse.ArgumentParser(
        prog="mae",
        description="MAE Dispatch: dispatch and routing for mobile acute psychiatry units.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    overview.register(sub)
    maps_cli.register(sub)
    routing_cli.register(sub)
    simulations_cli.register(sub)
    web_cli.register(sub)
    region_cli.register(sub)
    stats_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mae`` with ``argv``; returns the process exit code."""
    given = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in given if not a.startswith("-")), None)
    parser = build_parser(command)
    args = parser.parse_args(given)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except MaeError as exc:
        print(f"mae: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mae: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
