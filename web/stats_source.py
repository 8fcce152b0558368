"""Where the monthly statistics read their events, and the report made from them.

One event log, three ways in: the service's SQLite file (``--database``, opened read-only:
never created, migrated or written), a Redis store (``--store``), or a JSON-lines export
(``--log``: a simulation's exported log, :mod:`simulations.export`). All feed the same
:class:`~dispatch.stats_fold.StatsFold`, so a live month and a simulated one give the same
tables. A source that is missing, empty, not SQLite, not the service's, or whose events do not
follow one another is a :class:`BadMessage` naming the option, the file and (for a log) the
line. Municipalities are located with Sweden's borders (:func:`maps.municipalities.county`)
and listed as the log names them (:func:`report_of`); bases come from the units the log
registered. Everything here blocks: the app calls it from a worker thread (:class:`LiveStats`).
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from dispatch.errors import DispatchError, EventOutOfSequence
from dispatch.events import Envelope, event_from_dict
from dispatch.region import DEFAULT_TIMEZONE
from dispatch.stats import MonthStats, monthly_counts
from dispatch.stats_fold import StatsFold
from dispatch.stats_report import MonthReport, month_report
from web.errors import BadMessage

if TYPE_CHECKING:
    from maps.municipalities import Municipalities

__all__ = ["DEFAULT_TIMEZONE", "LiveStats", "check_database", "fold_source", "report_of"]

#: How long reading the database waits for another program's lock (``mae retention``).
_BUSY_TIMEOUT_S = 10.0


def _read_store(read: Callable[[int], Iterable[Envelope]], fold: StatsFold) -> StatsFold:
    fold.feed(read(fold.last_seq))
    return fold


def fold_source(*, database: Path | None = None, store: str | None = None,
                log: Path | None = None) -> StatsFold:
    """The whole log of exactly one source folded. Raises :class:`BadMessage` naming the
    option when the source is missing or not one, and the file (and a log's line) whose
    events cannot be read or do not follow one another."""
    given = [n for n, v in (("--database", database), ("--store", store), ("--log", log))
             if v is not None]
    if len(given) != 1:
        raise BadMessage("source", "give exactly one of --database, --store or --log")
    fold = StatsFold()
    if log is not None:
        return _fold_log(log, fold)
    if store is not None:
        from web.redislog import RedisEventStore

        redis = RedisEventStore(store)
        try:
            return _read_store(redis.read, fold)
        finally:
            redis.close()
    assert database is not None
    return _fold_database(database, fold)


# -- a JSON-lines log -----------------------------------------------------------------------------

def _event_lines(path: Path) -> list[int]:
    """The line numbers of ``path``'s events: its non-blank lines, as
    :func:`simulations.export.read_event_log` reads them."""
    with path.open(encoding="utf-8") as fh:
        return [n for n, line in enumerate(fh, start=1) if line.strip()]


def _fold_log(path: Path, fold: StatsFold) -> StatsFold:
    from simulations.export import read_event_log

    if not path.is_file():
        raise BadMessage("--log", f"{path} is not a file")
    try:
        envelopes = read_event_log(path)
        lines = _event_lines(path)
    except UnicodeDecodeError:
        raise BadMessage("--log", f"{path} is not an event log: not UTF-8 text") from None
    except OSError as exc:
        raise BadMessage("--log", f"{path} cannot be read: {exc.strerror or exc}") from None
    if not envelopes:  # an empty report would look like a quiet month
        raise BadMessage("--log", f"{path} holds no events: not an exported event log")
    for line, envelope in zip(lines, envelopes, strict=True):
        try:
            fold.feed((envelope,))
        except EventOutOfSequence as exc:
            raise BadMessage("--log", f"{path}: line {line} holds event {exc.seq} where event "
                             f"{exc.last_seq + 1} should come: a line is missing, repeated or "
                             "out of order") from None
        except DispatchError as exc:
            raise BadMessage("--log", f"{path}: line {line}: {exc}") from None
    return fold


# -- the service's SQLite file, read-only -------------------------------------------------------

def _open_database(path: Path, *, immutable: bool | None = None) -> sqlite3.Connection:
    """A read-only connection to the service database ``path``, checked to hold its event log.

    Opened with SQLite's ``mode=ro``: nothing is created, migrated or written. While a service
    uses the file its write-ahead log (``<db>-wal``) and index (``-shm``) exist and are shared
    as they are; with no ``-wal`` beside it (no service has it open, or it was shut down
    cleanly) the file is read as ``immutable``, because a read-only WAL reader would otherwise
    leave new ``-wal`` and ``-shm`` files beside the input (``immutable`` given: as asked)."""
    if not path.is_file():
        raise BadMessage("--database", f"{path} is not a file")
    if path.stat().st_size == 0:
        raise BadMessage("--database", f"{path} is empty, not the service's SQLite file")
    if immutable is None:
        immutable = not Path(f"{path}-wal").exists()
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro"
                               f"{'&immutable=1' if immutable else ''}", uri=True,
                               timeout=_BUSY_TIMEOUT_S)
    except sqlite3.Error as exc:
        raise BadMessage("--database", f"{path} cannot be opened: {exc}") from None
    try:
        tables = {name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.OperationalError as exc:
        conn.close()
        raise BadMessage("--database", f"{path} cannot be read: {exc}") from None
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise BadMessage("--database", f"{path} is not a SQLite database ({exc})") from None
    if "events" not in tables:
        conn.close()
        raise BadMessage("--database", f"{path} is a SQLite database but not the service's: "
                         "it has no events table")
    return conn


def check_database(path: Path) -> None:
    """Raise :class:`BadMessage` naming ``--database`` unless ``path`` is the service's
    SQLite file (read-only, as :func:`fold_source` reads it)."""
    _open_database(path).close()


def _fingerprint(path: Path) -> tuple[int, int, bool] | None:
    """When ``path`` was last changed, its size and whether a service has it open (a
    ``-wal`` beside it); None once it is gone."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, Path(f"{path}-wal").exists()


def _fold_database(path: Path, fold: StatsFold) -> StatsFold:
    """The database's events folded. A file read as ``immutable`` (no service had it open)
    takes no lock, so a service or ``mae retention`` starting on it meanwhile could change
    pages under the read: when the file changed during such a read, it is read again as a
    WAL reader, which sees one consistent state (and, like the service, may leave ``-wal`` and
    ``-shm`` beside the file)."""
    before = _fingerprint(path)
    if before is None or not path.is_file():
        raise BadMessage("--database", f"{path} is not a file")
    immutable = not before[2]
    try:
        done = _read_database(path, fold, immutable=immutable)
    except BadMessage:
        if not immutable or _fingerprint(path) == before:
            raise
        return _read_database(path, StatsFold(), immutable=False)
    if immutable and _fingerprint(path) != before:
        return _read_database(path, StatsFold(), immutable=False)
    return done


def _read_database(path: Path, fold: StatsFold, *, immutable: bool) -> StatsFold:
    conn = _open_database(path, immutable=immutable)
    try:
        for seq, data in conn.execute("SELECT seq, data FROM events ORDER BY seq"):
            try:
                envelope = Envelope(int(seq), event_from_dict(json.loads(data)))
            except (ValueError, KeyError, TypeError) as exc:
                raise BadMessage("--database", f"{path}: event {seq} is not an event: "
                                 f"{exc}") from None
            try:
                fold.feed((envelope,))
            except DispatchError as exc:
                raise BadMessage("--database", f"{path}: event {seq}: {exc}") from None
    except sqlite3.Error as exc:
        raise BadMessage("--database", f"{path} cannot be read: {exc}") from None
    finally:
        conn.close()
    return fold


# -- the report ---------------------------------------------------------------------------------

@functools.cache
def _sweden() -> Municipalities:
    """Every Swedish municipality, every one counted (shapely and pyarrow: not at service
    start)."""
    from maps.municipalities import county

    return county("")


@functools.lru_cache(maxsize=1 << 16)
def _place_at(lat: float, lon: float) -> str:
    return _sweden().name_at(lat, lon)


def _norrbotten() -> tuple[str, ...]:
    from maps.municipalities import NORRBOTTEN_CODE

    return tuple(sorted(m.name for m in _sweden().all if m.code.startswith(NORRBOTTEN_CODE)))


def _municipalities(fold: StatsFold) -> list[str]:
    """The municipalities the report lists, each even when its month is empty.

    An alarm carries a position, not a municipality, and the log names neither its region nor
    its map: a callout's municipality is the Swedish one its position lies in (SCB's borders,
    :func:`maps.municipalities.county`), or ``unknown`` outside Sweden (the matrix maps of
    other countries: no borders of theirs are known here, so no name is made up). Listed are
    the municipalities the log's callouts lie in, over the whole log so every month lists the
    same; Norrbotten's 14 are all added (the quiet ones at 0) only when the log is from the
    Norrbotten map, i.e. one of its units is based there or, failing units, one of its
    callouts lies there. A log from elsewhere lists no Norrbotten rows."""
    from maps.municipalities import UNKNOWN

    seen = {_place_at(f.lat, f.lon) for f in fold.facts()} - {UNKNOWN}
    bases = {_place_at(where.lat, where.lon) for u in fold.state.units.values()
             if (where := u.base_position or u.position) is not None}
    norrbotten = set(_norrbotten())
    if norrbotten & (bases or seen):
        seen |= norrbotten
    return sorted(seen)


def report_of(fold: StatsFold, month: str, tz: tzinfo | str = DEFAULT_TIMEZONE) -> MonthReport:
    """The month's report from a fold: the municipalities of :func:`_municipalities`, the
    log's bases."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    bases = sorted({u.base for u in fold.state.units.values() if not u.retired})
    return month_report(fold.facts(), month, tz=zone, locate=_place_at,
                        municipalities=_municipalities(fold), bases=bases,
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
