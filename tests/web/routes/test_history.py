"""``/api/history``: finished callouts found by id, reference or place and filtered by priority,
agency, status and day; a day's callouts as CSV without patient free text; only for watchers."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

from tests.web.conftest import Server
from tests.web.routes.test_stats import NOTE, REASON, _closed_callout


def test_finished_callouts_are_found_and_filtered(server: Server) -> None:
    cid, other = _closed_callout(server)
    with server.http("police") as police:
        still_open = police.post("/api/alarms", json={
            "reference": "ST-3", "priority": 1, "category": "psychosis",
            "location": {"place": "Luleå"}}).json()["callout_id"]
    with server.http("dispatcher") as http:
        # the service's day of the callouts in its time zone (not the test's clock)
        today = http.get("/api/history", params={"q": cid}).json()["callouts"][0][
            "created_at"][:10]
        def ids(**params: str | int) -> list[str]:
            reply = http.get("/api/history", params=params)
            assert reply.status_code == 200, reply.text
            return [c["callout_id"] for c in reply.json()["callouts"]]

        assert set(ids()) == {cid, other}  # the open one is not history yet
        assert still_open not in ids()
        assert ids(q="st-1") == [cid] and ids(q="kalix") == [other] and ids(q=cid) == [cid]
        assert ids(q="boden st-2") == []  # every word must match
        assert ids(priority=2) == [other] and ids(status="closed") == [cid]
        assert ids(agency="police", status="cancelled") == [other] and ids(agency="ambulance") == []
        assert set(ids(date=today)) == {cid, other} and ids(date="2020-01-01") == []
        row = http.get("/api/history", params={"q": "ST-1"}).json()["callouts"][0]
        assert row["outcome"] == "referred_primary_care" and row["response_min"] is not None
        bad = http.get("/api/history", params={"date": "15/1"})
        assert bad.status_code == 422 and bad.json()["field"] == "date"

        export = http.get("/api/history/export.csv", params={"date": today})
        assert export.status_code == 200
        assert export.headers["content-type"].startswith("text/csv")
        assert f"mae-{today}.csv" in export.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(export.text)))
        assert [r["callout_id"] for r in rows] == [cid, other, still_open]
        assert rows[1]["status"] == "cancelled" and rows[0]["references"] == "ST-1"
        assert NOTE not in export.text and REASON not in export.text
        # another day is that day's (the date was once ignored: every export was today's)
        other_day = http.get("/api/history/export.csv", params={"date": "2020-01-01"})
        assert other_day.status_code == 200 and "mae-2020-01-01.csv" in other_day.headers[
            "content-disposition"]
        assert list(csv.DictReader(io.StringIO(other_day.text))) == []
    with server.http("manager") as manager:  # no places for a manager
        assert manager.get("/api/history").status_code == 403
        assert manager.get("/api/history/export.csv").status_code == 403


def test_the_history_row_counts_the_response_from_the_crew_s_press() -> None:
    """The history list and its CSV take "on scene" at the crew's press time (an offline
    press that reached the service 10 min later does not lengthen the response)."""
    from dispatch.commands import Acknowledge, Assign, ReceiveAlarm, ReportStatus
    from dispatch.status import UnitStatus
    from tests.dispatch.conftest import T0, Core
    from tests.dispatch.test_commands import alarm, on_shift
    from web.routes.history import _row

    minute = timedelta(minutes=1)
    core = Core()
    on_shift(core)
    cid = core.do(ReceiveAlarm(alarm())).callout_id or ""
    core.do(Assign(cid, "U1"), now=T0 + minute)
    core.do(Acknowledge("U1", cid), now=T0 + minute)
    back = T0 + 30 * minute
    core.do(ReportStatus("U1", UnitStatus.EN_ROUTE, pressed_at=T0 + 2 * minute), now=back)
    core.do(ReportStatus("U1", UnitStatus.ON_SCENE, pressed_at=T0 + 20 * minute), now=back)
    row = _row(core.state, core.state.callout(cid), ZoneInfo("Europe/Stockholm"))
    assert row["response_min"] == 20.0
