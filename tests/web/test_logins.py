"""Finding 8: failed logins are limited per client address (429 on REST, close 4429 on
sockets) and written to the audit log without the token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.web.conftest import BOTH_STORES, Server, bearer, make_tokens, thread_server
from web.errors import TooManyLogins
from web.logins import LoginLimiter, client_ip

pytestmark = BOTH_STORES

LIMIT = 3
WRONG = "mae_0123456789abcdef_" + "guessedsecret" * 3


@pytest.fixture
def strict(tmp_path: Path) -> Iterator[Server]:
    db = tmp_path / "strict.sqlite3"
    srv = thread_server(db, make_tokens(db), login_failures_per_minute=LIMIT)
    yield srv
    srv.stop()


def test_the_limiter_counts_failures_per_address_in_a_sliding_minute() -> None:
    now = [1000.0]
    limiter = LoginLimiter(2, now=lambda: now[0])
    limiter.failed("10.0.0.1")
    limiter.check("10.0.0.1")
    limiter.failed("10.0.0.1")
    with pytest.raises(TooManyLogins) as blocked:
        limiter.check("10.0.0.1")
    assert blocked.value.retry_after_s == 60
    limiter.check("10.0.0.2")  # another address is not affected
    now[0] += 30
    with pytest.raises(TooManyLogins) as still:
        limiter.check("10.0.0.1")
    assert still.value.retry_after_s == 30
    now[0] += 30.5
    limiter.check("10.0.0.1")  # the first failure is more than a minute old


def test_client_ip_drops_the_port() -> None:
    assert client_ip("10.0.0.7:51234") == "10.0.0.7"
    assert client_ip("[::1]:8000") == "::1"
    assert client_ip("unknown") == "unknown"


def test_rest_gets_429_after_the_limit_and_each_failure_is_audited(strict: Server) -> None:
    wrong = httpx.Client(base_url=strict.base, headers={"Authorization": f"Bearer {WRONG}"})
    for _ in range(LIMIT):
        r = wrong.get("/api/units")
        assert r.status_code == 401
    r = wrong.get("/api/units")
    assert r.status_code == 429 and r.json()["error"] == "too_many_failed_logins"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    # from this address even a good token waits: guessing cannot go on beside real use
    with strict.http("dispatcher") as good:
        assert good.get("/api/units").status_code == 429
    # a request without any token is no guess and is not counted (pages before login)
    assert httpx.get(f"{strict.base}/api/health").status_code == 200
    wrong.close()
    with strict.http(None) as anonymous:
        assert anonymous.get("/api/units").status_code == 429

    audit = strict.audit()
    rows = [(e.principal_id, e.role, e.action, e.client, e.result)
            for e in audit.entries(limit=1000) if e.result == "refused unauthorized"]
    audit.close()
    dump = strict.stored_text()
    assert len(rows) == LIMIT
    assert all(r[0] == "0123456789abcdef" and r[1] == "-" and r[2] == "login /api/units"
               and r[3].startswith("127.0.0.1:") for r in rows)
    assert "guessedsecret" not in dump  # never the token


def test_wrong_tokens_with_a_body_count_too_and_get_429(strict: Server) -> None:
    """A body's token is checked before the body is read (web.limits): through the same gate."""
    wrong = httpx.Client(base_url=strict.base, headers={"Authorization": f"Bearer {WRONG}"})
    for _ in range(LIMIT):
        assert wrong.post("/api/alarms", json={"reference": "x"}).status_code == 401
    r = wrong.post("/api/alarms", json={"reference": "x"})
    assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.json()["error"] == "too_many_failed_logins"
    wrong.close()
    audit = strict.audit()
    count = sum(1 for e in audit.entries(limit=1000)
                if e.action == "login /api/alarms" and e.result == "refused unauthorized")
    audit.close()
    assert count == LIMIT


def test_sockets_close_4429_after_the_limit(strict: Server) -> None:
    url = f"{strict.ws}/ws/dispatch"
    for _ in range(LIMIT):
        with connect(url, subprotocols=bearer(WRONG), open_timeout=10) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ws.recv(timeout=5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    with connect(url, subprotocols=bearer(strict.tokens["dispatcher"]), open_timeout=10) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429
        assert "too many failed logins" in closed.value.rcvd.reason
