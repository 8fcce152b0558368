"""``/metrics`` (web/metrics.py): who may scrape it, and that commands, latency, subscribers,
the write queue, socket messages and storage errors move the numbers."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from dispatch.commands import RegisterUnit
from dispatch.model import Location
from maps.bundled import load_bundled
from maps.graph import RoadGraph
from tests.web.conftest import ManualClock, Server, thread_server
from web.eventstore import SqliteEventStore, StorageUnavailable
from web.service import DispatchService

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
            asyncio.run(service.execute(unit, actor="system"))
        text = service.metrics.render().decode()
        assert _value(text, "mae_storage_errors_total", kind="locked") == 1
        assert _value(text, "mae_write_queue_depth") == 0
        blocker.execute("ROLLBACK")
        asyncio.run(service.execute(unit, actor="system"))
        text = service.metrics.render().decode()
        assert _value(text, "mae_commands_total", type="RegisterUnit", result="ok") == 1
        assert _value(text, "mae_storage_errors_total", kind="locked") == 1
    finally:
        blocker.close()
        service.close()
        store.close()
