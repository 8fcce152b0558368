"""``/metrics`` (web/metrics.py): who may scrape it, and that commands, latency, subscribers,
the write queue, socket messages, storage errors and position reports move the numbers."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from dispatch.commands import RegisterUnit
from dispatch.model import Location
from maps.bundled import load_bundled
from maps.graph import RoadGraph
from tests.web.conftest import ManualClock, Server, thread_server
from web.auth import Principal, Role
from web.eventstore import SqliteEventStore, StorageUnavailable
from web.positions import PositionStore
from web.service import DispatchService

T = TypeVar("T")
METRICS_TOKEN = "scrape-me-0123456789"
ALARM = {"reference": "M-1", "priority": 1, "category": "psychosis",
         "location": {"place": "Kalix"}, "note": "Grannen hörde skrik"}


@pytest.fixture
def metered(db: Path, tokens: dict[str, str]) -> Iterator[Server]:
    srv = thread_server(db, tokens, demo_units=True, metrics_token=METRICS_TOKEN)
    yield srv
    srv.stop()


def _value(text: str, name: str, **labels: str) -> float:
    """The sample ``name{labels}`` in a Prometheus text page (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if match is None or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if found == labels:
            return float(match.group(3))
    return 0.0


def _scrape(server: Server) -> str:
    with server.http("admin") as admin:
        r = admin.get("/metrics")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        return r.text


def test_only_admins_and_the_metrics_token_may_scrape(metered: Server) -> None:
    with metered.http(None) as anonymous:
        assert anonymous.get("/metrics").status_code == 401
        wrong = anonymous.get("/metrics", headers={"Authorization": "Bearer nope-nope-nope-nope"})
        assert wrong.status_code == 401
        scraper = anonymous.get("/metrics",
                                headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert scraper.status_code == 200 and "mae_commands_total" in scraper.text
    for who in ("dispatcher", "police", "crew_sun"):
        with metered.http(who) as c:
            assert c.get("/metrics").status_code == 403, who
    assert "mae_write_queue_depth" in _scrape(metered)


def test_commands_latency_subscribers_and_socket_messages_are_counted(metered: Server) -> None:
    before = _scrape(metered)
    assert _value(before, "mae_commands_total", type="RegisterUnit", result="ok") == 3
    assert _value(before, "mae_subscribers", role="dispatcher") == 0
    sock = metered.socket("/ws/dispatch", "dispatcher")
    crew = metered.socket("/ws/crew", "crew_sun")
    sock.ready()
    crew.ready()
    with metered.http("police") as police:
        assert police.post("/api/alarms", json=ALARM).status_code == 201
        assert police.post("/api/alarms", json=ALARM).status_code == 200  # a retry
    refused = sock.request({"type": "assign", "callout_id": "C999999", "unit_id": "MAE-PITEA"})
    assert refused["type"] == "error"
    after = _scrape(metered)
    assert _value(after, "mae_commands_total", type="ReceiveAlarm", result="ok") == 1
    assert _value(after, "mae_commands_total", type="ReceiveAlarm", result="duplicate") == 1
    assert _value(after, "mae_commands_total", type="Assign",
                  result=refused["error"]) == 1
    assert _value(after, "mae_command_seconds_count", type="ReceiveAlarm") == 2
    assert _value(after, "mae_subscribers", role="dispatcher") == 1
    assert _value(after, "mae_subscribers", role="crew") == 1
    assert _value(after, "mae_write_queue_depth") == 0
    sent = _value(after, "mae_ws_messages_sent_total")
    assert sent >= 4  # two snapshots, two ready, the alarm's events, the reply
    assert str(ALARM["note"]) not in after  # labels are kinds, never patient text
    sock.close()
    crew.close()


def _run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run`` in a thread of its own: the session's Playwright browser keeps a loop
    running in the main thread once a browser test ran."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def test_a_failing_store_counts_a_storage_error(tmp_path: Path) -> None:
    """A real SQLite fault: another connection holds the write lock past the busy timeout."""
    db = tmp_path / "busy.sqlite3"
    store = SqliteEventStore(db)
    graph: RoadGraph = load_bundled()
    service = DispatchService(store, graph=graph, clock=ManualClock())
    store._write.execute("PRAGMA busy_timeout=50")
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    unit = RegisterUnit("MAE-X", "MAE X", "base", Location(65.58, 22.15))
    try:
        with pytest.raises(StorageUnavailable):
            _run(lambda: service.execute(unit, actor="system"))
        text = service.metrics.render().decode()
        assert _value(text, "mae_storage_errors_total", kind="locked") == 1
        assert _value(text, "mae_write_queue_depth") == 0
        blocker.execute("ROLLBACK")
        _run(lambda: service.execute(unit, actor="system"))
        text = service.metrics.render().decode()
        assert _value(text, "mae_commands_total", type="RegisterUnit", result="ok") == 1
        assert _value(text, "mae_storage_errors_total", kind="locked") == 1
    finally:
        blocker.close()
        service.close()
        store.close()


def test_position_reports_kept_dropped_and_waiting_are_exported(tmp_path: Path) -> None:
    """``mae_positions_kept``/``_dropped`` follow the per-unit rate limit and
    ``mae_positions_pending`` is the reports kept but not yet stored, back to 0 once flushed."""
    db = tmp_path / "positions.sqlite3"
    store = SqliteEventStore(db)
    positions = PositionStore(db)
    clock = ManualClock()
    service = DispatchService(store, graph=load_bundled(), clock=clock, positions=positions,
                              position_min_interval_s=2.0)
    crew = Principal("p1", "Piteå car", Role.CREW, unit_id="MAE-X")

    async def scenario() -> list[str]:
        await service.execute(RegisterUnit("MAE-X", "MAE X", "base", Location(65.58, 22.15)),
                              actor="system")
        pages = [service.metrics.render().decode()]
        for dt, lat in ((0.0, 65.59), (0.5, 65.60), (0.5, 65.61), (2.0, 65.62)):
            clock.advance(dt)
            await service.report_position("MAE-X", Location(lat, 22.15), principal=crew,
                                          client="test")
        pages.append(service.metrics.render().decode())
        await service.flush_positions()
        pages.append(service.metrics.render().decode())
        return pages

    try:
        before, reported, flushed = _run(scenario)
    finally:
        service.close()
        positions.close()
        store.close()
    assert _value(before, "mae_positions_kept_total") == 0
    assert "mae_positions_kept_total 0.0" in before  # exported before any report
    assert _value(reported, "mae_positions_kept_total") == 2
    assert _value(reported, "mae_positions_dropped_total") == 2
    assert _value(reported, "mae_positions_pending") >= 1
    assert _value(flushed, "mae_positions_pending") == 0
    assert _value(flushed, "mae_positions_kept_total") == 2


def test_no_position_metrics_while_positions_are_logged_as_events(tmp_path: Path) -> None:
    """Without a position table every report is a logged command: no position counters."""
    store = SqliteEventStore(tmp_path / "events.sqlite3")
    service = DispatchService(store, graph=load_bundled(), clock=ManualClock())
    try:
        assert "mae_positions" not in service.metrics.render().decode()
    finally:
        service.close()
        store.close()
