"""``mae serve`` runs the dispatch service (``--demo``: the live demo of :mod:`web.live_demo`);
``mae tokens …`` manages principals' tokens; ``mae retention run`` erases old patient details;
``mae store copy`` (:mod:`web.store_cli`) moves the event log between SQLite and Redis."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from web import store_cli
from web.auth import Principals, Role
from web.errors import BadMessage
from web.tokens import create_token, open_token_stores

__all__ = ["TokenRedactor", "register"]

_ENV = "(default from MAE_{0} or {1})"
_STORE_HELP = ("redis://HOST:PORT/DB: keep the event log, tokens, audit, snapshots and positions "
               "in Redis, shared by every instance given the same URL (default from MAE_STORE, "
               "else everything in the SQLite --database file)")


def register(subparsers: Any) -> None:
    """Add ``serve`` and ``tokens`` to the ``mae`` parser."""
    serve = subparsers.add_parser(
        "serve", help="run the real-time dispatch service (REST + WebSockets)",
        description="Run the dispatch service. Events, principals and the audit log live in one "
        "SQLite file; a restart replays the log and continues. Options default to MAE_… "
        "environment variables.",
    )
    serve.add_argument("--host", default=None, help="interface to listen on " +
                       _ENV.format("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=None, help="TCP port " +
                       _ENV.format("PORT", "8000"))
    serve.add_argument("--database", type=Path, default=None,
                       help="SQLite file " + _ENV.format("DATABASE", "mae-dispatch.sqlite3"))
    serve.add_argument("--store", default=None, help=_STORE_HELP)
    serve.add_argument("--map", dest="map_path", type=Path, default=None,
                       help="a .maegraph map " + _ENV.format("MAP_PATH", "the bundled map"))
    serve.add_argument("--region", type=Path, default=None,
                       help="a region file (TOML) to load at start: its units are registered "
                       "or updated, units not in it retired " + _ENV.format("REGION", "none"))
    serve.add_argument("--demo-units", action="store_true", default=None,
                       help="for trying the pages: load the region (the bundled Norrbotten file "
                       "unless --region; like --region, units not in it are retired) and put "
                       "its off-duty units on a demo shift")
    serve.add_argument("--ack-timeout", dest="ack_timeout_s", type=float, default=None,
                       help="seconds a crew has to acknowledge " + _ENV.format("ACK_TIMEOUT_S",
                                                                                "60"))
    serve.add_argument("--permessage-deflate", action="store_true", default=None,
                       help="compress WebSocket frames (off by default: costs broadcast "
                       "throughput for little gain on small JSON)")
    serve.add_argument("--log-json", action="store_true", default=None,
                       help="log JSON lines, ids only (default: plain text; or MAE_LOG_JSON=1)")
    _demo_options(serve)
    serve.set_defaults(func=_serve)

    tokens = subparsers.add_parser("tokens", help="create, list and revoke access tokens")
    sub = tokens.add_subparsers(dest="tokens_command", metavar="ACTION", required=True)
    create = sub.add_parser(
        "create", help="create a principal and print its token once",
        description="Create a principal and print its bearer token. Only a hash is stored: "
        "the token cannot be shown again.",
    )
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--agency", default=None,
                        help="with --role agency: the agency (ambulance, police, psychiatry, "
                        "other)")
    create.add_argument("--unit", default=None, help="with --role crew: the unit id (a unit "
                        "registered in the dispatch log and not retired)")
    create.add_argument("--name", required=True, help="who holds the token")
    create.add_argument("--database", type=Path, default=None, help="SQLite file " +
                        _ENV.format("DATABASE", "mae-dispatch.sqlite3"))
    create.add_argument("--store", default=None, help=_STORE_HELP)
    create.set_defaults(func=_tokens_create)
    listing = sub.add_parser("list", help="list principals (never tokens)",
                             description="One line per principal: id, role, agency or unit, "
                             "name, and (revoked) for revoked tokens.")
    listing.add_argument("--database", type=Path, default=None, help="SQLite file " +
                         _ENV.format("DATABASE", "mae-dispatch.sqlite3"))
    listing.add_argument("--store", default=None, help=_STORE_HELP)
    listing.set_defaults(func=_tokens_list)
    revoke = sub.add_parser("revoke", help="revoke a principal's token",
                            description="Revoke a principal's token. A running service closes "
                            "that principal's open sockets within about half a second.")
    revoke.add_argument("principal_id", help="the id `mae tokens list` shows")
    revoke.add_argument("--database", type=Path, default=None, help="SQLite file " +
                        _ENV.format("DATABASE", "mae-dispatch.sqlite3"))
    revoke.add_argument("--store", default=None, help=_STORE_HELP)
    revoke.set_defaults(func=_tokens_revoke)
    _register_retention(subparsers)
    store_cli.register(subparsers)
    from web.cluster import register as register_cluster

    register_cluster(subparsers)


def _register_retention(subparsers: Any) -> None:
    retention = subparsers.add_parser(
        "retention", help="erase patient details older than the retention period")
    sub = retention.add_subparsers(dest="retention_command", metavar="ACTION", required=True)
    run = sub.add_parser(
        "run", help="erase free text and address detail of old events, in place",
        description="Erase patient free text (alarm notes, callout notes, cancel reasons) and "
        "address detail (labels, typed addresses; coordinates rounded to about 1 km) of events "
        "older than the retention period, in the event log and its snapshots. Ids, times, "
        "statuses, outcomes, age band, sex and children are kept for statistics. Refuses while "
        "mae serve holds the database (or, with --store, while any instance on that Redis "
        "runs); the run is written to the audit log.",
    )
    run.add_argument("--days", type=int, default=None,
                     help="retention period in days " + _ENV.format("RETENTION_DAYS", "90"))
    run.add_argument("--dry-run", action="store_true",
                     help="count what would be erased and change nothing")
    run.add_argument("--database", type=Path, default=None,
                     help="SQLite file " + _ENV.format("DATABASE", "mae-dispatch.sqlite3"))
    run.add_argument("--store", default=None,
                     help="the shared store instead: redis://HOST:PORT/DB " + _ENV.format(
                         "STORE", "none"))
    run.set_defaults(func=_retention_run)


def _demo_options(serve: argparse.ArgumentParser) -> None:
    demo = serve.add_argument_group(
        "live demo", "--demo runs the service on a fresh temporary database (unless --database "
        "names a new file) with simulated alarms, a dispatcher bot and crews, and prints "
        "ready-to-click page links with tokens. Demo durations are demo seconds.")
    demo.add_argument("--demo", action="store_true",
                      help="run the live demo (what `python3 dev.py run` starts)")
    demo.add_argument("--speed", type=float, default=None,
                      help="how much faster than real time the demo clock runs (default 10)")
    demo.add_argument("--seed", type=int, default=None,
                      help="seed of the alarm feed and the crews' chances (default: random, "
                      "printed so a run can be repeated)")
    demo.add_argument("--alarms-per-hour", type=float, default=None,
                      help="alarms per demo hour on average, steady around the clock "
                      "(default 2; Norrbotten has about 0.2)")
    demo.add_argument("--auto-assign", action=argparse.BooleanOptionalAction, default=None,
                      help="let a dispatcher bot assign the top recommendation when nobody "
                      "did (default on)")
    demo.add_argument("--assign-after", type=float, default=None,
                      help="demo seconds the bot waits for a person to act (default 60)")
    demo.add_argument("--visits-per-unit", type=int, default=None, metavar="N",
                      help="home visits psychiatry books around each unit's base every 6 demo "
                      "hours, for the day planner and the crews' rounds (default 2; 0: none)")
    demo.add_argument("--manual-unit", action="append", default=None, metavar="UNIT",
                      help="leave this unit to a person on /crew (repeatable), e.g. MAE-PITEA")
    demo.add_argument("--quiet", action="store_true", default=None,
                      help="do not print the demo's running commentary")


_DEMO_ONLY = ("speed", "seed", "alarms_per_hour", "auto_assign", "assign_after", "manual_unit",
              "visits_per_unit", "quiet")


def _settings(args: argparse.Namespace, names: tuple[str, ...]) -> Any:
    from web.settings import Settings

    given = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    return Settings(**given)


class TokenRedactor(logging.Filter):
    """Hides ``token=…`` query values in log records (uvicorn logs socket paths)."""

    _pattern = re.compile(r"(token=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(self._pattern.sub(r"\1***", a) if isinstance(a, str) else a
                                for a in (record.args if isinstance(record.args, tuple)
                                          else (record.args,)))
        if isinstance(record.msg, str):
            record.msg = self._pattern.sub(r"\1***", record.msg)
        return True


def _serve_demo(args: argparse.Namespace) -> int:
    from web.demo_config import DemoConfig
    from web.live_demo import random_seed, serve_demo

    given: dict[str, Any] = {
        "speed": args.speed, "alarms_per_hour": args.alarms_per_hour,
        "auto_assign": args.auto_assign, "assign_after_s": args.assign_after,
        "visits_per_unit": args.visits_per_unit,
        "seed": args.seed if args.seed is not None else random_seed(),
        "manual_units": frozenset(args.manual_unit) if args.manual_unit else None,
    }
    config = DemoConfig(**{k: v for k, v in given.items() if v is not None})
    settings = _settings(args, ("host", "port", "map_path", "region", "ack_timeout_s",
                                "permessage_deflate"))
    return serve_demo(settings, config, database=args.database, quiet=bool(args.quiet))


def _serve(args: argparse.Namespace) -> int:
    # The cycle collector stays off through the imports and the log's load (hundreds of
    # thousands of new objects, no cycles among them: each full pass would rescan them all);
    # the app turns it back on once the log is loaded (web/app.py).
    gc.disable()
    import uvicorn

    from web.app import create_app
    from web.serving import run_server

    if args.demo:
        return _serve_demo(args)
    for name in _DEMO_ONLY:
        if getattr(args, name, None) is not None:
            option = "--" + name.replace("_", "-")
            raise BadMessage(option, "is a live-demo option: add --demo")
    settings = _settings(args, ("host", "port", "database", "store", "map_path", "region",
                                "demo_units", "ack_timeout_s", "permessage_deflate", "log_json"))
    graph = None
    if settings.region is not None or settings.demo_units:
        # Check the region file on the map before the port opens: its problems, one per line.
        from web.app import load_graph
        from web.regions import BUNDLED_REGION, read_region

        graph = load_graph(settings)
        read_region(settings.region or BUNDLED_REGION, graph=graph)
    if settings.log_json:
        from web.logs import configure_json_logging

        configure_json_logging()
    from web.eventstore import lock_database

    if settings.store is None:  # Redis: many instances share the store, no lock
        lock_database(settings.database).close()  # refuse in one line, before uvicorn starts
    else:
        _check_redis(settings.store)
    redactor = TokenRedactor()
    for name in ("uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).addFilter(redactor)
    config = uvicorn.Config(
        create_app(settings, graph=graph), host=settings.host, port=settings.port,
        ws_per_message_deflate=settings.permessage_deflate, log_level="info",
        lifespan="on", ws_max_size=settings.max_ws_frame_bytes,
        log_config=None if settings.log_json else uvicorn.config.LOGGING_CONFIG,
    )
    run_server(uvicorn.Server(config))
    return 0


def _check_redis(url: str) -> None:
    """Refuse in one line, before uvicorn starts, a ``--store`` no Redis answers at."""
    import redis

    from web.redis_client import connect

    client = connect(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise BadMessage("--store", f"no Redis answers at {url} ({exc})") from None
    finally:
        client.close()


#: ``Settings().database`` without importing pydantic (a test keeps the two equal).
DEFAULT_DATABASE = Path("mae-dispatch.sqlite3")


def _database(args: argparse.Namespace) -> Path:
    """--database, else MAE_DATABASE, else the default: what ``Settings`` would say, read
    without building it (pydantic is a fifth of a token command's time)."""
    if args.database is not None:
        return Path(args.database)
    return Path(os.environ.get("MAE_DATABASE") or DEFAULT_DATABASE)


def _store_url(args: argparse.Namespace) -> str | None:
    """--store, else MAE_STORE, else None (SQLite); checked without building ``Settings``."""
    url = args.store if args.store is not None else os.environ.get("MAE_STORE")
    if not url or url == "sqlite":
        return None
    from web.redis_client import is_redis_url

    if not is_redis_url(url):
        raise BadMessage("--store", f"{url!r} is not a Redis URL (redis://HOST:PORT/DB)")
    return url


def _stores(args: argparse.Namespace
            ) -> tuple[Principals, Callable[[str], str | None], Callable[[], None]]:
    return open_token_stores(_store_url(args), _database(args))


def _tokens_create(args: argparse.Namespace) -> int:
    store, standing, close = _stores(args)
    try:
        principal, token = create_token(store, standing, role=args.role, name=args.name,
                                        agency=args.agency, unit_id=args.unit)
    finally:
        close()
    bound = principal.agency or principal.unit_id or ""
    print(f"principal {principal.principal_id} ({principal.role.value}"
          f"{' ' + str(bound) if bound else ''}, {principal.name})")
    print(token)
    return 0


def _tokens_list(args: argparse.Namespace) -> int:
    store, _, close = _stores(args)
    try:
        for p, revoked in store.principals():
            bound = p.agency or p.unit_id or ""
            print(f"{p.principal_id}  {p.role.value:<10} {bound!s:<12} {p.name}"
                  f"{'  (revoked)' if revoked else ''}")
    finally:
        close()
    return 0


def _tokens_revoke(args: argparse.Namespace) -> int:
    store, _, close = _stores(args)
    try:
        if not store.revoke(args.principal_id):
            print(f"mae: no active principal {args.principal_id!r}")
            return 1
    finally:
        close()
    print(f"revoked {args.principal_id}")
    return 0


def _retention_run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from pydantic import ValidationError

    from web.retention import run_retention

    try:
        settings = _settings(args, ("database", "store")) if args.days is None else \
            _settings(argparse.Namespace(database=args.database, store=args.store,
                                         retention_days=args.days),
                      ("database", "store", "retention_days"))
    except ValidationError as exc:
        raise BadMessage("--days", "must be a whole number of days from 1 to 36500") from exc
    if settings.store is not None:
        from web.redis_client import connect
        from web.redis_retention import run_redis_retention

        connect(settings.store, field="--store").close()  # a malformed URL: one line
        report = run_redis_retention(settings.store, days=settings.retention_days,
                                     now=datetime.now(UTC), dry_run=args.dry_run)
        print(report.summary())
        return 0
    if not settings.database.exists():
        raise BadMessage("--database", f"no database at {settings.database}")
    report = run_retention(settings.database, days=settings.retention_days,
                           now=datetime.now(UTC), dry_run=args.dry_run)
    print(report.summary())
    return 0
