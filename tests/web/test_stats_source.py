"""Where ``mae stats`` reads its events: the service's SQLite file read-only (an empty, foreign
or non-SQLite file is refused and left as it was), a JSON-lines log whose errors name the file
and line, and the municipalities each log itself names (Norrbotten's only for a Norrbotten log).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dispatch.stats_fold import StatsFold
from simulations.export import write_event_log
from tests.dispatch._stats_month import MONTH, all_specs, event_log
from tests.web._stats_data import store_month
from web.errors import BadMessage
from web.eventstore import SqliteEventStore
from web.stats_source import check_database, fold_source, report_of

NORRBOTTEN = {"Arjeplog", "Arvidsjaur", "Boden", "Gällivare", "Haparanda", "Jokkmokk", "Kalix",
              "Kiruna", "Luleå", "Pajala", "Piteå", "Älvsbyn", "Överkalix", "Övertorneå"}


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file in ``folder`` with a digest of its bytes: what reading must leave alone."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def _refused(path: Path, words: str) -> None:
    folder = path.parent
    before = _snapshot(folder)
    with pytest.raises(BadMessage) as refused:
        fold_source(database=path)
    assert refused.value.field == "--database"
    assert str(path) in str(refused.value) and words in str(refused.value)
    assert "\n" not in str(refused.value)
    with pytest.raises(BadMessage):
        check_database(path)
    assert _snapshot(folder) == before  # no schema written, no -wal or -shm left beside it


# -- --database ---------------------------------------------------------------------------------

def test_an_empty_database_file_is_refused_and_stays_empty(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    _refused(empty, "is empty")
    assert empty.stat().st_size == 0


def test_a_file_that_is_not_sqlite_is_refused_unchanged(tmp_path: Path) -> None:
    text = tmp_path / "notdb.jsonl"
    write_event_log(event_log(all_specs())[:20], text)
    _refused(text, "is not a SQLite database")


def test_a_sqlite_file_without_the_event_log_is_refused_unchanged(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE things (x)")
    conn.commit()
    conn.close()
    _refused(other, "has no events table")


def test_the_service_database_is_read_without_writing_anything(tmp_path: Path) -> None:
    db = tmp_path / "mae.sqlite3"
    log = store_month(db)  # closed: the last connection removed its -wal and -shm
    before = _snapshot(tmp_path)
    fold = fold_source(database=db)
    assert fold.last_seq == len(log)
    assert _snapshot(tmp_path) == before


def test_a_database_the_service_has_open_is_read_with_its_unsaved_events(
        tmp_path: Path) -> None:
    """While the service runs, its latest events may be only in the write-ahead log: the
    read-only reader shares it and sees them."""
    db = tmp_path / "mae.sqlite3"
    log = event_log(all_specs())
    store = SqliteEventStore(db)
    try:
        store.append([env.event for env in log], expected_last_seq=0)
        assert Path(f"{db}-wal").stat().st_size > 0
        assert fold_source(database=db).last_seq == len(log)
    finally:
        store.close()


# -- --log --------------------------------------------------------------------------------------

def test_a_log_with_lines_out_of_order_names_its_file_and_line(tmp_path: Path) -> None:
    path = write_event_log(event_log(all_specs())[:30], tmp_path / "run.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[9], lines[10] = lines[10], lines[9]  # events 11 and 10 swapped
    path.write_text("\n" + "".join(lines), encoding="utf-8")  # a blank first line: line 11
    with pytest.raises(BadMessage) as refused:
        fold_source(log=path)
    message = str(refused.value)
    assert refused.value.field == "--log"
    assert f"{path}: line 11 holds event 11 where event 10 should come" in message


def test_a_log_that_is_not_text_names_the_file(tmp_path: Path) -> None:
    db = tmp_path / "mae.sqlite3"
    store_month(db)
    with pytest.raises(BadMessage, match="not UTF-8 text") as refused:
        fold_source(log=db)
    assert refused.value.field == "--log" and str(db) in str(refused.value)


def test_an_empty_log_is_refused_not_reported_as_a_quiet_month(tmp_path: Path) -> None:
    for text in ("", "\n\n"):
        path = tmp_path / "empty.jsonl"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(BadMessage, match="holds no events") as refused:
            fold_source(log=path)
        assert refused.value.field == "--log"


# -- municipalities -----------------------------------------------------------------------------

def _moved(path: Path, move: Callable[[float, float], tuple[float, float]]) -> Path:
    """The log at ``path`` with every position moved by ``move`` (another map's log)."""
    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            if isinstance(value.get("lat"), float) and isinstance(value.get("lon"), float):
                value["lat"], value["lon"] = move(value["lat"], value["lon"])
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    out = path.with_name(f"moved-{path.name}")
    lines = path.read_text(encoding="utf-8").splitlines()
    out.write_text("".join(json.dumps(walk(json.loads(line))) + "\n" for line in lines),
                   encoding="utf-8")
    return out


def _places(path: Path) -> dict[str, int]:
    table = report_of(fold_source(log=path), MONTH).table("response_by_municipality")
    return {str(row[0]): int(row[1] or 0) for row in table.rows}


@pytest.fixture
def norrbotten_log(tmp_path: Path) -> Path:
    return write_event_log(event_log(all_specs()), tmp_path / "run.jsonl")


def test_a_norrbotten_log_lists_all_its_municipalities_and_names_others(
        norrbotten_log: Path) -> None:
    places = _places(norrbotten_log)
    assert set(places) == NORRBOTTEN | {"Umeå", "unknown", "all"}
    assert places["Boden"] == 0 and places["Umeå"] > 0  # Umeå is in Västerbotten, not unknown
    assert places["unknown"] == 0


def test_a_log_from_outside_sweden_lists_no_norrbotten_municipality(
        norrbotten_log: Path) -> None:
    """A matrix map in Utrecht: no borders are known there, so its callouts are unknown, and
    none of Norrbotten's 14 is listed at 0."""
    utrecht = _moved(norrbotten_log, lambda lat, lon: (lat - 13.5, lon - 16.9))
    places = _places(utrecht)
    assert set(places) == {"unknown", "all"}
    assert places["unknown"] == places["all"] > 0


def test_a_log_from_another_swedish_county_lists_its_own_municipalities(
        norrbotten_log: Path) -> None:
    south = _moved(norrbotten_log, lambda lat, lon: (lat - 6.25, lon - 4.1))  # Luleå: Stockholm
    places = _places(south)
    assert "Stockholm" in places and not NORRBOTTEN & set(places)
    assert sum(n for name, n in places.items() if name != "all") == places["all"]


def test_an_empty_fold_lists_no_municipality() -> None:
    table = report_of(StatsFold(), MONTH).table("response_by_municipality")
    assert [row[0] for row in table.rows] == ["all"]


def test_a_file_that_changes_while_read_unlocked_is_read_again_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No service had the file open, so it is read as immutable (no lock); a service that
    starts and writes during that read makes the statistics read it again, as a WAL reader,
    and they count what is there by then."""
    import web.stats_source as source

    db = tmp_path / "mae.sqlite3"
    log = store_month(db)
    real = source._read_database
    reads: list[bool] = []

    def read(path: Path, fold: StatsFold, *, immutable: bool) -> StatsFold:
        reads.append(immutable)
        if len(reads) == 1:  # a service starts on the file and writes, mid-read
            writer = SqliteEventStore(db)
            writer.append([log[-1].event], expected_last_seq=len(log))
            writer.close()
            fold = real(path, fold, immutable=immutable)
            return fold
        return real(path, fold, immutable=immutable)

    monkeypatch.setattr(source, "_read_database", read)
    fold = fold_source(database=db)
    assert reads == [True, False]
    assert fold.last_seq == len(log) + 1
