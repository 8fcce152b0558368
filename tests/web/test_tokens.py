"""``mae tokens``: a crew token only for a registered unit that is not retired; list and revoke;
the token is shown once and only its hash is stored."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dispatch.commands import DispatchConfig, RegisterUnit, decide
from dispatch.model import Location
from dispatch.state import DispatchState
from tests.web.conftest import BOTH_STORES, ROOT, redis_text
from web.auth import PrincipalStore
from web.cli import DEFAULT_DATABASE
from web.errors import BadMessage
from web.eventstore import SqliteEventStore
from web.redislog import RedisEventStore
from web.settings import Settings
from web.tokens import create_token, unit_standing

AT = "2026-01-15T14:00:00+00:00"
POSITION = {"lat": 65.58, "lon": 22.15, "label": "", "resolved_from": ""}


def log_units(db: Path, *events: tuple[str, str]) -> None:
    """Store (type, unit_id) registration events in a real event log, in order."""
    SqliteEventStore(db).close()
    conn = sqlite3.connect(db)
    start = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
    for i, (kind, unit) in enumerate(events, start=start + 1):
        data = {"type": kind, "v": 1, "at": AT, "actor": "region", "unit_id": unit}
        if kind == "UnitRegistered":
            data |= {"name": unit, "base": "Luleå", "position": POSITION}
        conn.execute("INSERT INTO events (seq, type, at, data) VALUES (?,?,?,?)",
                     (i, kind, AT, json.dumps(data)))
    conn.commit()
    conn.close()


def mae(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "mae", "tokens", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_unit_standing_follows_the_last_registration_event(tmp_path: Path) -> None:
    db = tmp_path / "d.sqlite3"
    assert unit_standing(db, "MAE-PITEA") is None  # no file at all
    log_units(db)
    assert unit_standing(db, "MAE-PITEA") is None  # a log without the unit
    log_units(db, ("UnitRegistered", "MAE-PITEA"), ("UnitRegistered", "MAE-KALIX"),
              ("UnitRetired", "MAE-KALIX"))
    assert unit_standing(db, "MAE-PITEA") == "active"
    assert unit_standing(db, "MAE-KALIX") == "retired"
    log_units(db, ("UnitRegistered", "MAE-KALIX"))  # back in the region file
    assert unit_standing(db, "MAE-KALIX") == "active"
    assert unit_standing(db, "MAE-PITE") is None  # exact ids only


def test_create_token_refuses_unknown_and_retired_units(tmp_path: Path) -> None:
    db = tmp_path / "d.sqlite3"
    log_units(db, ("UnitRegistered", "MAE-PITEA"), ("UnitRegistered", "MAE-KALIX"),
              ("UnitRetired", "MAE-KALIX"))
    store = PrincipalStore(db)
    with pytest.raises(BadMessage, match="not registered"):
        create_token(store, db, role="crew", name="x", unit_id="MAE-NOWHERE")
    with pytest.raises(BadMessage, match="retired"):
        create_token(store, db, role="crew", name="x", unit_id="MAE-KALIX")
    with pytest.raises(BadMessage) as missing:
        create_token(store, db, role="crew", name="x")
    assert missing.value.field == "unit"
    principal, token = create_token(store, db, role="crew", name="Piteå car",
                                    unit_id="MAE-PITEA")
    assert store.authenticate(token) == principal
    assert [p.principal_id for p, _ in store.principals()] == [principal.principal_id]
    store.close()


@pytest.mark.parametrize("name", ["Anna\u0000", "\u202eannA", "Anna\nBerg"])
def test_a_token_holders_name_must_be_printable(tmp_path: Path, name: str) -> None:
    """A NUL, or a right-to-left override that makes the name read backwards on every page
    and in every log, is refused naming the field; nothing is stored."""
    db = tmp_path / "d.sqlite3"
    log_units(db, ("UnitRegistered", "MAE-PITEA"))
    store = PrincipalStore(db)
    with pytest.raises(BadMessage, match="printable") as refused:
        create_token(store, db, role="dispatcher", name=name)
    assert refused.value.field == "name"
    assert list(store.principals()) == []
    store.close()


def register_in_redis(url: str, unit_id: str) -> None:
    """Register a unit in the Redis event log, as the service would."""
    log = RedisEventStore(url)
    state = DispatchState()
    for envelope in log.read(0):
        state.apply(envelope)
    events = decide(state, RegisterUnit(unit_id, unit_id, "Luleå", Location(65.58, 22.15)),
                    now=datetime(2026, 1, 15, tzinfo=UTC), actor="t",
                    config=DispatchConfig()).events
    log.append(events, expected_last_seq=log.last_seq)
    log.close()


@BOTH_STORES
def test_cli_create_list_revoke(tmp_path: Path, service_store: str | None) -> None:
    db = tmp_path / "d.sqlite3"
    where = ["--database", str(db)] + (["--store", service_store] if service_store else [])
    if service_store is None:
        log_units(db, ("UnitRegistered", "MAE-PITEA"))
    else:
        register_in_redis(service_store, "MAE-PITEA")
    refused = mae("create", "--role", "crew", "--unit", "MAE-LULEA", "--name", "x", *where)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "MAE-LULEA" in refused.stderr
    assert "not registered" in refused.stderr and "Traceback" not in refused.stderr

    made = mae("create", "--role", "crew", "--unit", "MAE-PITEA", "--name", "Piteå car",
               *where)
    assert made.returncode == 0, made.stderr
    header, token = made.stdout.splitlines()
    principal_id = token.split("_")[1]
    assert principal_id in header and "MAE-PITEA" in header
    secret = token.split("_", 2)[2]
    stored = db.read_bytes() if service_store is None else redis_text(service_store).encode()
    assert principal_id.encode() in stored and secret.encode() not in stored  # only the hash

    listed = mae("list", *where)
    assert listed.returncode == 0
    assert principal_id in listed.stdout and "crew" in listed.stdout
    assert token not in listed.stdout and "(revoked)" not in listed.stdout
    assert mae("revoke", principal_id, *where).returncode == 0
    assert "(revoked)" in mae("list", *where).stdout
    again = mae("revoke", principal_id, *where)
    assert again.returncode == 1


def test_cli_reads_the_database_from_the_environment_like_settings(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    assert Settings().database == DEFAULT_DATABASE
    db = tmp_path / "env.sqlite3"
    monkeypatch.setenv("MAE_DATABASE", str(db))
    assert mae("create", "--role", "dispatcher", "--name", "Anna").returncode == 0
    store = PrincipalStore(db)
    assert [p.name for p, _ in store.principals()] == ["Anna"]
    store.close()


def test_the_token_command_does_not_import_the_solvers(tmp_path: Path) -> None:
    """What made a token take a second: the full parser imported routing (numba, OR-Tools)."""
    code = ("import sys; from mae.cli import main; "
            f"main(['tokens', 'list', '--database', {str(tmp_path / 'd.sqlite3')!r}]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('routing', 'numba', 'ortools', 'simulations', 'maps', 'pydantic')))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
