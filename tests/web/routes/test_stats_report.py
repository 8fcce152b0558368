"""``GET /api/stats/report``: the whole monthly report for managers and dispatchers, JSON for
the page or HTML / XLSX / CSV downloads, always suppressed; folded off the loop from the stored
log and kept up to date with what is logged after; the crew's care answers reach it."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from tests.dispatch._stats_month import MONTH
from tests.web._stats_data import store_month
from tests.web.conftest import Server, thread_server

STOCKHOLM = ZoneInfo("Europe/Stockholm")


@pytest.fixture
def month_server(db: Path, tokens: dict[str, str]) -> Iterator[Server]:
    store_month(db)
    srv = thread_server(db, tokens)
    yield srv
    srv.stop()


def _table(body: dict[str, object], key: str) -> dict[str, list[object]]:
    tables = body["tables"]
    assert isinstance(tables, list)
    found = next(t for t in tables if t["key"] == key)
    return {str(r[0]): r[1:] for r in found["rows"]}


def test_the_report_for_managers_and_dispatchers_only(month_server: Server) -> None:
    for who in ("manager", "dispatcher"):
        with month_server.http(who) as client:
            r = client.get("/api/stats/report", params={"month": MONTH})
            assert r.status_code == 200, who
            body = r.json()
            assert body["callouts"] == 61 and body["timezone"] == "Europe/Stockholm"
            assert _table(body, "callouts_by_agencies")["other + police"] == ["<5", "<5"]
            assert _table(body, "callouts_by_agency_count")["joint: 3 agencies"][0] == 12
    for who in ("crew_sun", "police"):
        with month_server.http(who) as client:
            assert client.get("/api/stats/report", params={"month": MONTH}).status_code == 403
    with month_server.http(None) as anonymous:
        assert anonymous.get("/api/stats/report", params={"month": MONTH}).status_code == 401
    with month_server.http("manager") as manager:
        bad = manager.get("/api/stats/report", params={"month": "2026-13"})
        assert bad.status_code == 422 and bad.json()["field"] == "month"
        assert manager.get("/api/stats/report",
                           params={"month": MONTH, "format": "pdf"}).status_code == 422


def test_downloads_as_xlsx_csv_and_html(month_server: Server) -> None:
    with month_server.http("manager") as manager:
        xlsx = manager.get("/api/stats/report", params={"month": MONTH, "format": "xlsx"})
        assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert 'filename="mae-stats-2026-11.xlsx"' in xlsx.headers["content-disposition"]
        book = load_workbook(io.BytesIO(xlsx.content))
        rows = [[c.value for c in r] for r in book["callouts_by_agencies"].iter_rows()]
        assert ["other + police", "<5", "<5"] in rows
        zipped = manager.get("/api/stats/report", params={"month": MONTH, "format": "csv"})
        with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
            text = archive.read("2026-11/alarms_by_agency.csv").decode()
        assert text.splitlines()[0] == "agency,alarms,callouts" and "other,<5,<5" in text
        page = manager.get("/api/stats/report", params={"month": MONTH, "format": "html"})
        assert page.headers["content-type"].startswith("text/html")
        assert "<svg" in page.text and "fri text" not in page.text


def test_events_logged_after_a_report_reach_the_next_one_with_care_answers(
        server: Server) -> None:
    month = datetime.now(STOCKHOLM).strftime("%Y-%m")
    with server.http("manager") as manager:
        before = manager.get("/api/stats/report", params={"month": month}).json()
    with server.http("police") as police:
        cid = police.post("/api/alarms", json={
            "reference": "ST-R1", "priority": 1, "category": "psychosis",
            "location": {"place": "Boden"}, "patient": {"children": "yes"}}).json()["callout_id"]
    disp, crew = server.socket("/ws/dispatch", "dispatcher"), server.socket("/ws/crew",
                                                                            "crew_sun")
    disp.ready()
    crew.ready()
    assert disp.request({"type": "assign", "callout_id": cid,
                         "unit_id": "MAE-SUNDERBY"})["type"] == "ok"
    assert crew.request({"type": "ack", "callout_id": cid})["type"] == "ok"
    for status in ("en_route", "on_scene"):
        assert crew.request({"type": "status", "status": status})["type"] == "ok"
    bad = crew.request({"type": "outcome", "callout_id": cid, "kind": "stayed_home",
                        "sip_requested": "maybe"})
    assert bad["type"] == "error" and "sip_requested" in bad["field"]
    assert crew.request({"type": "outcome", "callout_id": cid, "kind": "stayed_home",
                         "children_present": "yes", "children_informed": "yes",
                         "concern_report": "no", "sip_requested": "yes"})["type"] == "ok"
    disp.close()
    crew.close()
    with server.http("manager") as manager:
        after = manager.get("/api/stats/report", params={"month": month}).json()
        history = manager.get(f"/api/callouts/{cid}/history").json()
    assert after["seq"] > before["seq"] and after["callouts"] == before["callouts"] + 1
    outcome = next(e["event"]["outcome"] for e in history["events"]
                   if e["event"]["type"] == "OutcomeRecorded")
    assert outcome["children_present"] == "yes" and outcome["sip_requested"] == "yes"
    assert outcome["care_contact_informed"] == "unknown"  # not answered: unknown
    care = _table(after, "care")
    assert care["children present at the visit"][0] == "<5"  # one yes: suppressed
    assert care["named care contact informed"][2] == "<5"
    assert _table(after, "response_by_municipality")["Boden"][0] == "<5"


def test_a_store_that_stops_answering_gives_a_json_503_never_a_500(redis_folder: Path,
                                                                  tmp_path: Path) -> None:
    from tests.redis_server import RedisServer
    from tests.web.conftest import ManualClock, free_port, serve_app
    from web.app import create_app
    from web.redis_auth import RedisPrincipalStore
    from web.settings import Settings

    redis_server = RedisServer(redis_folder, appendonly=True).start()
    url = redis_server.url()
    principals = RedisPrincipalStore(url)
    tokens = {"manager": principals.create(role="manager", name="m")[1]}
    principals.close()
    port = free_port()
    db = tmp_path / "unused.sqlite3"
    app = create_app(Settings(database=db, port=port, store=url, storage_probe_interval_s=0.2,
                              tick_interval_s=60), clock=ManualClock())
    server = serve_app(app, port, db, tokens)
    try:
        with server.http("manager") as manager:
            assert manager.get("/api/stats/report", params={"month": MONTH}).status_code == 200
            redis_server.kill()
            reply = manager.get("/api/stats/report", params={"month": MONTH})
            assert reply.status_code == 503, reply.text
            assert reply.headers["content-type"].startswith("application/json")
            assert reply.json()["error"] == "storage_unavailable"
    finally:
        server.stop()
        redis_server.stop()
