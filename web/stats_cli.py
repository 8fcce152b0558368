"""``mae stats``: one month's report from a live log or a simulation's exported log, written as
HTML with plots, a CSV per table and an XLSX workbook.

Counts under 5 are suppressed (``"<5"``). ``--no-suppress`` shows them, for the manager role
only: the CLI knows the role from a manager token (``--token``, or the ``MAE_TOKEN``
environment variable, which keeps it out of the shell history), checked against the principals
of the same ``--database`` or ``--store`` the events are read from (a ``--log`` file has no
principals, so it cannot be unsuppressed). A revoked token, or one of another role, is refused.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from maps.traveltime import DEFAULT_TIMEZONE
from web.errors import BadMessage

__all__ = ["register"]

_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def register(subparsers: Any) -> None:
    """Add ``mae stats`` to the ``mae`` command line."""
    stats = subparsers.add_parser(
        "stats", help="one month's statistics as HTML, CSV and XLSX",
        description="Write one month's statistics report (callouts by agency, category, "
        "priority, outcome, response time by municipality and base, patients, children and "
        "care, hour x weekday, follow-ups, the last 12 months) into --out: report.html with "
        "plots, report.xlsx and one CSV per table. Counts under 5 show as <5.")
    stats.add_argument("--month", required=True, help="the month, YYYY-MM (local time)")
    source = stats.add_mutually_exclusive_group(required=True)
    source.add_argument("--database", type=Path,
                        help="the service's SQLite file (its events are read only; with "
                        "--no-suppress the token check opens it as the service does)")
    source.add_argument("--store", help="the service's Redis store, redis://HOST:PORT/DB")
    source.add_argument("--log", type=Path, help="an exported event log (JSON lines), e.g. "
                        "a simulation's (simulations/export.py)")
    stats.add_argument("--out", type=Path, required=True, help="folder to write into (one "
                       "that already holds a report is refused unless --replace is given)")
    stats.add_argument("--replace", action="store_true",
                       help="write over the report already in --out")
    stats.add_argument("--timezone", default=DEFAULT_TIMEZONE,
                       help="the zone months and hours are counted in (default: %(default)s)")
    stats.add_argument("--no-suppress", action="store_true",
                       help="show counts under 5 (manager only: needs a manager token in "
                       "--token or MAE_TOKEN, checked against --database or --store)")
    stats.add_argument("--token", default=None, help="a manager token for --no-suppress "
                       "(prefer the MAE_TOKEN environment variable)")
    stats.set_defaults(func=_stats)


def _check_manager(args: argparse.Namespace) -> None:
    """Refuse ``--no-suppress`` unless a manager token of this store vouches for it."""
    token = args.token or os.environ.get("MAE_TOKEN")
    if args.log is not None:
        raise BadMessage("--no-suppress", "needs --database or --store, whose principals "
                         "check the manager token (a --log file has none)")
    if not token:
        raise BadMessage("--no-suppress", "is for the manager role: give a manager token "
                         "in --token or MAE_TOKEN")
    if args.database is not None:  # before the token store opens (and writes) it
        from web.stats_source import check_database

        check_database(args.database)
    from web.auth import Role
    from web.tokens import open_token_stores

    principals, _, close = open_token_stores(args.store, args.database)
    try:
        principal = principals.authenticate(token)
    finally:
        close()
    if principal.role is not Role.MANAGER:
        raise BadMessage("--no-suppress", f"is for the manager role, not {principal.role.value}")


def _stats(args: argparse.Namespace) -> int:
    if not _MONTH.fullmatch(args.month):
        raise BadMessage("--month", f"{args.month!r} is not a month as YYYY-MM")
    try:
        zone = ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadMessage("--timezone", f"{args.timezone!r} is not a time zone") from None
    from web.stats_render import check_out, write_report
    from web.stats_source import fold_source, report_of

    check_out(args.out, replace=args.replace)  # before the whole log is folded
    if args.no_suppress:
        _check_manager(args)

    fold = fold_source(database=args.database, store=args.store, log=args.log)
    report = report_of(fold, args.month, zone)
    written = write_report(report, args.out, suppressed=not args.no_suppress,
                           replace=args.replace)
    print(f"{report.callouts} callouts in {report.month}: {len(written)} files in {args.out}"
          f"{' (UNSUPPRESSED)' if args.no_suppress else ''}", file=sys.stderr)
    for path in written:
        print(path)
    return 0
