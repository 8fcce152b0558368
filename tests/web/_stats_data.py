"""The generated month of ``tests/dispatch/_stats_month.py`` stored in a service's SQLite file,
for the statistics' CLI, REST and page tests."""

from __future__ import annotations

from pathlib import Path

from dispatch.events import Envelope
from tests.dispatch._stats_month import all_specs, event_log
from web.eventstore import SqliteEventStore


def store_month(db: Path) -> list[Envelope]:
    """Append the generated log to the (empty) event store in ``db``; returns it."""
    log = event_log(all_specs())
    store = SqliteEventStore(db)
    try:
        store.append([env.event for env in log], expected_last_seq=0)
    finally:
        store.close()
    return log
