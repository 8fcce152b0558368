"""The audit log on a real redis-server: newest first, per principal, identifiers only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.web.conftest import T0
from web.audit import Audit, AuditLog
from web.auth import Principal, Role
from web.redis_audit import RedisAuditLog


@pytest.fixture(params=["sqlite", "redis"])
def audit(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Audit]:
    log: Audit = AuditLog(tmp_path / "a.sqlite3") if request.param == "sqlite" \
        else RedisAuditLog(request.getfixturevalue("redis_url"))
    yield log
    log.close()


def test_rows_come_back_newest_first_with_identifiers_only(audit: Audit) -> None:
    anna = Principal("a" * 16, "Anna", Role.DISPATCHER)
    bo = Principal("b" * 16, "Bo", Role.ADMIN)
    audit.record(at=T0, principal=anna, action="assign",
                 target={"callout_id": "C1", "unit_id": "U1", "note": "patient text"},
                 client="1.2.3.4:5")
    audit.record(at=T0 + timedelta(seconds=1), principal=bo, action="token.revoke",
                 target={"target_id": anna.principal_id}, client="x", result="ok")
    audit.record_failed_login(at=T0 + timedelta(seconds=2), claimed_id=None, client="y",
                              action="login /api/units", result="refused unauthorized")
    rows = audit.entries()
    assert [(r.principal_id, r.action) for r in rows] == [
        ("-", "login /api/units"), (bo.principal_id, "token.revoke"),
        (anna.principal_id, "assign")]
    assert rows[2].target == {"callout_id": "C1", "unit_id": "U1"}  # no free text
    assert rows[2].at == T0 and rows[2].client == "1.2.3.4:5" and rows[2].role == "dispatcher"
    assert [r.action for r in audit.entries(limit=1)] == ["login /api/units"]
    assert [r.action for r in audit.entries(principal_id=anna.principal_id)] == ["assign"]
