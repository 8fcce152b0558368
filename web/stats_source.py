"""Where the monthly statistics read their events, and the report made from them.

One event log, three ways in: the service's SQLite file (``--database``), a Redis store
(``--store``), or a JSON-lines export (``--log``: a simulation's exported log,
:mod:`simulations.export`). All feed the same :class:`~dispatch.stats_fold.StatsFold`, so a
live month and a simulated one give the same tables. Municipalities come from
:func:`maps.municipalities.norrbotten`; bases from the units the log registered. Everything
here blocks: the app calls it from a worker thread (:class:`LiveStats`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from dispatch.events import Envelope
from dispatch.region import DEFAULT_TIMEZONE
from dispatch.stats import MonthStats, monthly_counts
from dispatch.stats_fold import StatsFold
from dispatch.stats_report import MonthReport, month_report
from web.errors import BadMessage

__all__ = ["DEFAULT_TIMEZONE", "LiveStats", "fold_source", "report_of"]


def _read_store(read: Callable[[int], Iterable[Envelope]], fold: StatsFold) -> StatsFold:
    fold.feed(read(fold.last_seq))
    return fold


def fold_source(*, database: Path | None = None, store: str | None = None,
                log: Path | None = None) -> StatsFold:
    """The whole log of exactly one source folded. Raises :class:`BadMessage` naming the
    option when the source is missing or not one."""
    given = [n for n, v in (("--database", database), ("--store", store), ("--log", log))
             if v is not None]
    if len(given) != 1:
        raise BadMessage("source", "give exactly one of --database, --store or --log")
    fold = StatsFold()
    if log is not None:
        from simulations.export import read_event_log

        if not log.is_file():
            raise BadMessage("--log", f"{log} is not a file")
        fold.feed(read_event_log(log))
        return fold
    if store is not None:
        from web.redislog import RedisEventStore

        redis = RedisEventStore(store)
        try:
            return _read_store(redis.read, fold)
        finally:
            redis.close()
    assert database is not None
    if not database.is_file():
        raise BadMessage("--database", f"{database} is not a file")
    from web.eventstore import SqliteEventStore

    sqlite = SqliteEventStore(database)
    try:
        return _read_store(sqlite.read, fold)
    finally:
        sqlite.close()


def report_of(fold: StatsFold, month: str, tz: tzinfo | str = DEFAULT_TIMEZONE) -> MonthReport:
    """The month's report from a fold: Norrbotten's municipalities, the log's bases."""
    from maps.municipalities import norrbotten  # shapely and pyarrow: not at service start

    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    places = norrbotten()
    bases = sorted({u.base for u in fold.state.units.values() if not u.retired})
    return month_report(fold.facts(), month, tz=zone, locate=places.name_at,
                        municipalities=places.names, bases=bases,
                        visits=fold.visit_facts(), timezone=str(zone))


class LiveStats:
    """The service's own fold, kept between requests: each report first folds only the events
    logged since the last one (read from the store in the calling worker thread)."""

    def __init__(self, read: Callable[[int], Iterable[Envelope]]) -> None:
        self._read = read
        self._fold = StatsFold()
        self._lock = threading.Lock()

    def report(self, month: str, tz: tzinfo) -> tuple[int, MonthReport]:
        """The log position the report is as of, and the report (blocking)."""
        with self._lock:
            _read_store(self._read, self._fold)
            return self._fold.last_seq, report_of(self._fold, month, tz)

    def counts(self, tz: tzinfo, *, since: str | None = None,
               until: str | None = None) -> tuple[int, list[MonthStats]]:
        """The log position, and the per-month counts of ``GET /api/stats`` from the same fold
        and local months as the report (blocking)."""
        with self._lock:
            _read_store(self._read, self._fold)
            return self._fold.last_seq, monthly_counts(self._fold.facts(), tz=tz, since=since,
                                                       until=until)
