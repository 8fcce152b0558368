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


#: The package module that registers each command. A command run imports only its owner, not
#: the solvers, map code and simulator every other package pulls in: ``mae serve`` starts without
#: SciPy or the simulator, ``mae tokens`` in scripts without the service. ``mae --help`` and an
#: unknown command build the whole parser (``tests/mae/test_cli.py`` holds this table to it).
COMMANDS = {
    "demo": "mae.overview",
    "maps": "maps.cli",
    "route": "routing.cli",
    "simulate": "simulations.cli",
    "optimise": "simulations.cli",
    "serve": "web.cli",
    "tokens": "web.cli",
    "store": "web.cli",
    "retention": "web.cli",
    "cluster": "web.cli",
    "region": "web.region_cli",
    "stats": "web.stats_cli",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``mae`` argument parser: with the owning package's subcommands only when
    ``command`` is one of :data:`COMMANDS`, else with every package's."""
    parser = argparse.ArgumentParser(
        prog="mae",
        description="MAE Dispatch: dispatch and routing for mobile acute psychiatry units.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    owners = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(
        COMMANDS.values()))
    for owner in owners:
        importlib.import_module(owner).register(sub)
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
