"""``open_stores``: SQLite by default (one instance: the file is locked), Redis when the setting
``store`` names one (many instances share it: a token made, a position reported or a token
revoked at one instance counts at every instance)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from websockets.exceptions import ConnectionClosed

from dispatch.events import DayPlanned, Envelope
from dispatch.model import Location
from tests.redis_server import RedisServer, acl_user, drop_acl_user
from tests.web.conftest import (
    ROOT,
    ManualClock,
    Server,
    free_port,
    open_principals,
    thread_server,
)
from web.eventstore import DatabaseLocked
from web.redislog import RedisEventStore
from web.settings import Settings
from web.stores import open_stores

NEAR = {"lat": 65.83, "lon": 21.69}


def test_sqlite_is_the_default_and_locks_its_file(tmp_path: Path) -> None:
    settings = Settings(database=tmp_path / "one.sqlite3")
    stores = open_stores(settings)
    try:
        assert stores.kind == "sqlite"
        with pytest.raises(DatabaseLocked):
            open_stores(settings)
    finally:
        stores.close()
    open_stores(settings).close()  # released on close


def test_redis_stores_are_shared_and_never_locked(tmp_path: Path, redis_url: str) -> None:
    settings = Settings(database=tmp_path / "unused.sqlite3", store=redis_url)
    one, two = open_stores(settings), open_stores(settings)
    try:
        assert (one.kind, two.kind) == ("redis", "redis")
        principal, token = one.principals.create(role="dispatcher", name="Anna")
        assert two.principals.authenticate(token) == principal
        assert not (tmp_path / "unused.sqlite3").exists()  # nothing lands in the file
    finally:
        one.close()
        two.close()


@pytest.mark.parametrize("value", ["postgres://x/1", "mae.sqlite3", "http://127.0.0.1:6379"])
def test_a_store_that_is_not_redis_is_refused_naming_the_setting(value: str) -> None:
    with pytest.raises(ValidationError) as bad:
        Settings(store=value)
    assert bad.value.errors()[0]["loc"] == ("store",)


def test_sqlite_names_no_store() -> None:
    assert Settings(store="sqlite").store is None


#: 08:00 in Stockholm on Thursday 15 January 2026: the bundled rota's day shifts have begun.
MORNING = datetime(2026, 1, 15, 7, 0, tzinfo=UTC)


@pytest.fixture
def pair(tmp_path: Path, redis_url: str) -> Iterator[tuple[Server, Server]]:
    """Two instances on one Redis (the second started once the first has loaded the region)."""
    yield from two_instances(tmp_path, redis_url)


@pytest.fixture
def morning_pair(tmp_path: Path, redis_url: str) -> Iterator[tuple[Server, Server]]:
    """Two instances whose service clock stands at :data:`MORNING`, so visits booked for the
    next hours have a unit on shift whenever the test runs."""
    yield from two_instances(tmp_path, redis_url, clock=ManualClock(MORNING))


def two_instances(tmp_path: Path, redis_url: str, **settings: Any
                  ) -> Iterator[tuple[Server, Server]]:
    db = tmp_path / "unused.sqlite3"
    principals = open_principals(db, redis_url)
    tokens = {name: principals.create(name=name, **spec)[1] for name, spec in {
        "dispatcher": {"role": "dispatcher"}, "admin": {"role": "admin"},
        "crew_sun": {"role": "crew", "unit_id": "MAE-SUNDERBY"}}.items()}
    principals.close()
    first = thread_server(db, tokens, demo_units=True, store=redis_url,
                          position_broadcast_s=0.05, **settings)
    try:
        second = thread_server(db, tokens, demo_units=True, store=redis_url,
                               position_broadcast_s=0.05, **settings)
    except BaseException:
        first.stop()
        raise
    yield first, second
    second.stop()
    first.stop()


def test_a_position_reported_at_one_instance_reaches_dispatchers_at_another(
        pair: tuple[Server, Server]) -> None:
    first, second = pair
    watcher = second.socket("/ws/dispatch", "dispatcher")
    watcher.ready()
    crew = first.socket("/ws/crew", "crew_sun")
    crew.ready()
    assert crew.request({"type": "position", **NEAR})["kept"] is True
    moved = watcher.until(lambda m: m.get("type") == "unit_positions"
                          and any(p["unit_id"] == "MAE-SUNDERBY" for p in m["positions"]))
    (shown,) = [p for p in moved["positions"] if p["unit_id"] == "MAE-SUNDERBY"]
    assert (shown["position"]["lat"], shown["position"]["lon"]) == (NEAR["lat"], NEAR["lon"])
    with second.http("dispatcher") as http:  # the other instance's state has it too
        unit = http.get("/api/units/MAE-SUNDERBY").json()
    assert Location(unit["position"]["lat"], unit["position"]["lon"]) == \
        Location(NEAR["lat"], NEAR["lon"])
    crew.close()
    watcher.close()


def test_revoking_at_one_instance_closes_the_sockets_at_every_instance(
        pair: tuple[Server, Server]) -> None:
    first, second = pair
    here, there = first.socket("/ws/crew", "crew_sun"), second.socket("/ws/crew", "crew_sun")
    here.ready()
    there.ready()
    principal_id = first.tokens["crew_sun"].split("_")[1]
    with first.http("admin") as admin:
        assert admin.delete(f"/api/admin/tokens/{principal_id}").status_code == 200
    codes = []
    for sock in (here, there):
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                sock.recv(timeout=3.0)
        codes.append(closed.value.rcvd.code if closed.value.rcvd else None)
    assert codes == [4401, 4401]  # within the 3 s each recv waits: not at a reconnect
    with second.http(None) as anonymous:
        anonymous.headers["Authorization"] = f"Bearer {first.tokens['crew_sun']}"
        assert anonymous.get("/api/units").status_code == 401


def test_serve_refuses_a_store_no_redis_answers_at_in_one_line() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "mae", "serve", "--store", url, "--port", "0"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert "--store" in done.stderr and url in done.stderr and "Traceback" not in done.stderr


def shared_log(url: str) -> list[Envelope]:
    log = RedisEventStore(url)
    try:
        return list(log.read(0))
    finally:
        log.close()


def planning_of(server: Server) -> str:
    return str(httpx.get(f"{server.base}/api/health", timeout=5.0).json()["planning"])


def test_one_instance_of_a_cluster_plans_and_another_takes_over_when_it_stops(
        morning_pair: tuple[Server, Server], redis_url: str) -> None:
    """The planner lease on the shared Redis (``web/redis_lease.py``): ``/api/health`` says
    which instance plans; when it stops, it hands the lease over and the other plans. (The
    service clock stands in the morning: at night no unit is on shift to take the visit.)"""
    pair = morning_pair
    first, second = pair
    deadline = time.monotonic() + 20
    while sorted(planning_of(s) for s in pair) != ["elsewhere", "here"]:
        assert time.monotonic() < deadline, [planning_of(s) for s in pair]
        time.sleep(0.05)
    planner = first if planning_of(first) == "here" else second
    other = second if planner is first else first
    now = MORNING
    with other.http("dispatcher") as http:  # booked at the instance that does not plan
        booked = http.post("/api/visits", json={
            "patient_ref": "P-cluster", "location": {"lat": 65.62, "lon": 22.0},
            "earliest_start": (now + timedelta(minutes=30)).isoformat(),
            "latest_start": (now + timedelta(hours=3)).isoformat(), "duration_min": 30,
            "postponable": False})
        assert booked.status_code == 201, booked.text
        visit_id = booked.json()["visit_id"]

        def planned_here(server: Server) -> bool:
            with server.http("dispatcher") as h:
                seen = [v for v in h.get("/api/visits").json() if v["visit_id"] == visit_id]
            return bool(seen) and seen[0]["planned_unit"] is not None

        deadline = time.monotonic() + 30
        while not (planned_here(other) and planned_here(planner)):  # the holder planned it
            assert time.monotonic() < deadline, str([
                (type(e.event).__name__, getattr(e.event, "cause", ""),
                 getattr(e.event, "postponed", ""), getattr(e.event, "unplaced", ""))
                for e in shared_log(redis_url) if "Visit" in type(e.event).__name__
                or "Day" in type(e.event).__name__]) + str([planning_of(s) for s in pair])
            time.sleep(0.1)
    plans = [e.event for e in shared_log(redis_url) if isinstance(e.event, DayPlanned)]
    assert plans and visit_id in [s.visit_id for r in plans[-1].routes for s in r.stops]
    planner.stop()
    while planning_of(other) != "here":
        assert time.monotonic() < deadline + 20, planning_of(other)
        time.sleep(0.05)


def test_a_single_sqlite_instance_plans_and_planning_off_is_reported(tmp_path: Path) -> None:
    for planning, expected in ((True, "here"), (False, "off")):
        server = thread_server(tmp_path / f"{planning}.sqlite3", {}, store=None,
                               planning=planning)
        try:
            deadline = time.monotonic() + 20
            while planning_of(server) != expected:
                assert time.monotonic() < deadline, planning_of(server)
                time.sleep(0.05)
        finally:
            server.stop()


#: The Redis rights README.md ("What the Redis user needs") asks for, without and with the
#: optional ones that let a stopping instance wake its own blocking reads.
ACL_NEEDED = ["~mae:*", "resetchannels", "&mae:positions", "&mae:revocations", "+@all",
              "-@dangerous"]
ACL_WAKE = ["&mae:*:wake:*", "+client|setname", "+client|list", "+client|unblock"]


@pytest.mark.parametrize("rights", [ACL_NEEDED, ACL_NEEDED + ACL_WAKE], ids=["needed", "wake"])
def test_a_service_runs_with_the_redis_rights_the_readme_names(
        tmp_path: Path, redis_server: RedisServer, redis_url: str, rights: list[str]) -> None:
    import redis

    admin = redis.Redis.from_url(redis_url)
    acl_user(admin, "maesvc", "on", ">pw", *rights)
    db_index = redis_url.rsplit("/", 1)[1]
    store = f"redis://maesvc:pw@127.0.0.1:{redis_server.port}/{db_index}"
    db = tmp_path / "acl.sqlite3"
    try:
        principals = open_principals(db, store)
        try:
            _, police = principals.create(name="police", role="agency", agency="police")
            _, admin_token = principals.create(name="admin", role="admin")
            crew, _ = principals.create(name="crew", role="crew", unit_id="MAE-PITEA")
        finally:
            principals.close()
        srv = thread_server(db, {"police": police, "admin": admin_token}, demo_units=True,
                            store=store)
        try:
            with srv.http("police") as c:
                r = c.post("/api/alarms", json={"reference": "P-1", "priority": 1,
                                                "category": "suicide_risk",
                                                "location": {"lat": 65.584, "lon": 22.154}})
                assert r.status_code == 201, r.text
                assert c.get("/api/health").json()["storage"] == []
            with srv.http("admin") as c:
                assert c.delete(f"/api/admin/tokens/{crew.principal_id}").status_code == 200
        finally:
            srv.stop()
    finally:
        drop_acl_user(admin, "maesvc")
        admin.close()
