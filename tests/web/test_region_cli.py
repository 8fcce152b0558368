"""``mae region check`` and ``mae serve --region``: problems one per line by dotted key; a real
service on a real SQLite file registers, updates and retires units through logged events, and
loading the same file again logs nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from mae.cli import main
from tests.web.conftest import ROOT, free_port, make_tokens, wait_healthy
from web.eventstore import SqliteEventStore
from web.regions import BUNDLED_REGION

BAD = """
name = "Bad"
[[bases]]
id = "a"
name = "A"
lat = 21.0
lon = 65.0
[[units]]
id = "U1"
name = "x"
base = "b"
seats = 0
[[rota]]
unit = "U2"
days = "mon-fry"
start = "7"
end = "21:30"
"""


def test_check_prints_a_one_line_summary_of_a_good_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["region", "check", str(BUNDLED_REGION)]) == 0
    out, err = capsys.readouterr()
    assert out == ("ok: Norrbotten: 3 bases, 3 units, 3 rota shifts, 0 facilities "
                   "(Europe/Stockholm); 3 MAE bases on the map\n")
    assert err == ""


def test_check_prints_every_problem_on_its_own_line_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BAD, encoding="utf-8")
    assert main(["region", "check", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    keys = [line.removeprefix(f"{path}: ").split(": ")[0] for line in err.splitlines()]
    assert keys == ["bases[0].lat", "units[0].base", "units[0].seats", "rota[0].unit",
                    "rota[0].days", "rota[0].start"]
    assert f"{path}: units[0].base: unknown base 'b' (the bases: a)" in err.splitlines()


def test_check_refuses_a_base_off_the_map_and_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    text = BUNDLED_REGION.read_text(encoding="utf-8").replace(
        "lat = 65.3260\nlon = 21.4640", "lat = 59.33\nlon = 18.07")  # Piteå's base in Stockholm
    path = tmp_path / "moved.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["region", "check", str(path)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"{path}: bases[1].lat: (59.33, 18.07) is off the map")
    assert main(["region", "check", str(tmp_path / "none.toml")]) == 1
    assert "file: cannot read" in capsys.readouterr().err


def test_serve_refuses_a_bad_region_before_it_listens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BAD, encoding="utf-8")
    db = tmp_path / "never.sqlite3"
    assert main(["serve", "--region", str(path), "--database", str(db), "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mae: error: the region file has 6 problems:\n")
    assert "rota[0].days: unknown weekday name 'fry'" in err
    assert not db.exists()


def serve_once(db: Path, token: str, region: Path | None, *,
               env_region: Path | None = None) -> list[dict[str, Any]]:
    """Start ``mae serve`` on ``db`` (the region by option or by MAE_REGION), read the units
    through the API with ``token``, stop it cleanly; returns the units."""
    port = free_port()
    env = {**os.environ, "MAE_TICK_INTERVAL_S": "5"}
    if env_region is not None:
        env["MAE_REGION"] = str(env_region)
    argv = [sys.executable, "-m", "mae.cli", "serve", "--database", str(db), "--port", str(port)]
    if region is not None:
        argv += ["--region", str(region)]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, proc=proc)
        reply = httpx.get(f"{base}/api/units", timeout=10,
                          headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 200
        units: list[dict[str, Any]] = reply.json()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert b"Application shutdown complete" in err and b"Traceback" not in err, err.decode()
    return units


def logged(db: Path) -> list[tuple[str, str]]:
    store = SqliteEventStore(db)
    try:
        return [(type(env.event).__name__, str(getattr(env.event, "unit_id", "")))
                for env in store.read()]
    finally:
        store.close()


GALLIVARE_UNIT = ('[[units]]\nid = "MAE-GALLIVARE"\nname = "MAE Gällivare"\nbase = "gallivare"\n'
                  'competences = ["nurse"]\nseats = 3\n\n')
GALLIVARE_ROTA = ('[[rota]]\nunit = "MAE-GALLIVARE"\ndays = "mon-fri"\nstart = "08:00"\n'
                  'end = "20:00"\n\n')


def test_serve_with_a_region_registers_updates_and_retires_keeping_the_history(
    tmp_path: Path,
) -> None:
    db = tmp_path / "mae.sqlite3"
    token = make_tokens(db)["dispatcher"]
    region = tmp_path / "region.toml"
    text = BUNDLED_REGION.read_text(encoding="utf-8")
    region.write_text(text, encoding="utf-8")
    units = serve_once(db, token, region)
    assert sorted(u["unit_id"] for u in units) == ["MAE-GALLIVARE", "MAE-PITEA", "MAE-SUNDERBY"]
    assert all(u["status"] == "off_duty" and u["seats"] == 3 and not u["retired"]
               for u in units)
    first = logged(db)
    assert first == [("UnitRegistered", "MAE-SUNDERBY"), ("UnitRegistered", "MAE-PITEA"),
                     ("UnitRegistered", "MAE-GALLIVARE")]

    serve_once(db, token, None, env_region=region)  # the same file again, through MAE_REGION
    assert logged(db) == first  # nothing new

    assert GALLIVARE_UNIT in text and GALLIVARE_ROTA in text
    fewer = text.replace(GALLIVARE_UNIT, "").replace(GALLIVARE_ROTA, "").replace(
        'name = "MAE Piteå"', 'name = "MAE Piteå älvdal"')
    region.write_text(fewer, encoding="utf-8")
    units = serve_once(db, token, region)
    assert logged(db) == [*first, ("UnitUpdated", "MAE-PITEA"),
                          ("UnitRetired", "MAE-GALLIVARE")]
    by_id = {u["unit_id"]: u for u in units}
    assert by_id["MAE-GALLIVARE"]["retired"] is True  # kept, marked retired
    assert by_id["MAE-PITEA"]["name"] == "MAE Piteå älvdal"
