"""The SQLite event log: atomic ordered appends, optimistic check, reads survive reopening."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatch.events import ShiftEnded, UnitRegistered
from dispatch.model import Location
from tests.web.conftest import T0
from web.eventstore import EventStore, SqliteEventStore, StoreConflict


def unit(i: int) -> UnitRegistered:
    return UnitRegistered(at=T0, unit_id=f"U{i}", name="u", base="b", position=Location(65, 22))


def test_appends_are_numbered_and_read_back_after_reopening(tmp_path: Path) -> None:
    store = SqliteEventStore(tmp_path / "log.sqlite3")
    assert isinstance(store, EventStore) and store.last_seq == 0
    first = store.append([unit(1), unit(2)], expected_last_seq=0)
    assert [e.seq for e in first] == [1, 2]
    store.append([ShiftEnded(at=T0, unit_id="U1")], expected_last_seq=2)
    store.close()
    again = SqliteEventStore(tmp_path / "log.sqlite3")
    assert again.last_seq == 3
    assert [(e.seq, type(e.event).__name__) for e in again.read(1)] == [
        (2, "UnitRegistered"), (3, "ShiftEnded")]
    assert next(again.read(0)).event == unit(1)
    again.close()


def test_a_stale_writer_is_refused_and_stores_nothing(tmp_path: Path) -> None:
    a = SqliteEventStore(tmp_path / "log.sqlite3")
    b = SqliteEventStore(tmp_path / "log.sqlite3")
    a.append([unit(1)], expected_last_seq=0)
    with pytest.raises(StoreConflict):
        b.append([unit(2), unit(3)], expected_last_seq=0)
    assert [e.seq for e in a.read()] == [1]
    a.close()
    b.close()
