"""``mae serve --log-json`` (web/logs.py): every log line is one JSON object, the access log is
included, and no line carries patient text or a token."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.web.conftest import ROOT, free_port, wait_healthy
from web.logs import JsonFormatter

NOTE = "Pappa Sven hotar att hoppa från bron"
ALARM = {"reference": "LOG-1", "priority": 1, "category": "suicide_risk",
         "location": {"place": "Kalix"}, "note": NOTE, "patient": {"age_band": "18-25"}}


def test_json_log_lines_parse_and_carry_no_patient_fields(db: Path,
                                                         tokens: dict[str, str]) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mae.cli", "serve", "--database", str(db), "--port", str(port),
         "--demo-units", "--log-json"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc=proc)
        police = {"Authorization": f"Bearer {tokens['police']}"}
        r = httpx.post(f"{base}/api/alarms", json=ALARM, headers=police, timeout=10)
        assert r.status_code == 201, r.text
        bad = httpx.post(f"{base}/api/alarms", json={**ALARM, "priority": 0}, headers=police,
                         timeout=10)
        assert bad.status_code == 422
        httpx.get(f"{base}/api/health?token={tokens['dispatcher']}", timeout=10)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    lines = [line for line in err.decode().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"ts", "level", "logger", "msg"} <= set(r) for r in records)
    messages = [r["msg"] for r in records]
    assert any(r["logger"] == "web.writer" and "replayed" in r["msg"] for r in records)
    assert any(r["logger"] == "uvicorn.access" and "POST /api/alarms" in r["msg"]
               for r in records)
    text = "\n".join(lines)
    assert NOTE not in text and "18-25" not in text and "suicide" not in text
    assert tokens["dispatcher"] not in text and "token=***" in " ".join(messages)


def test_the_formatter_keeps_ids_and_leaves_out_exception_messages() -> None:
    try:
        raise ValueError(NOTE)
    except ValueError:
        import sys as _sys

        record = logging.LogRecord("web.x", logging.ERROR, __file__, 1, "assign failed (%s)",
                                   ("C000001",), _sys.exc_info())
    record.unit_id = "MAE-PITEA"
    record.note = NOTE  # not an id field: left out
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "assign failed (C000001)" and line["unit_id"] == "MAE-PITEA"
    assert line["exc_type"] == "ValueError" and line["exc_where"].startswith("test_logs.py:")
    assert NOTE not in json.dumps(line)
