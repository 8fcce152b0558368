"""Finding 8: failed logins are limited per client address and claimed principal (429 on REST,
close 4429 on sockets), with a larger ceiling per address, and written to the audit log without
the token. Colleagues behind one address are not locked out by one client's wrong tokens."""

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


def test_the_limiter_counts_failures_per_address_and_claim_in_a_sliding_minute() -> None:
    now = [1000.0]
    limiter = LoginLimiter(2, now=lambda: now[0])
    limiter.failed("10.0.0.1", "aaaa")
    limiter.check("10.0.0.1", "aaaa")
    limiter.failed("10.0.0.1", "aaaa")
    with pytest.raises(TooManyLogins) as blocked:
        limiter.check("10.0.0.1", "aaaa")
    assert blocked.value.retry_after_s == 60
    limiter.check("10.0.0.2", "aaaa")  # another address is not affected
    limiter.check("10.0.0.1", "bbbb")  # nor another principal behind the same address
    limiter.check("10.0.0.1")  # nor tokens without a token's shape
    limiter.check_address("10.0.0.1")
    now[0] += 30
    with pytest.raises(TooManyLogins) as still:
        limiter.check("10.0.0.1", "aaaa")
    assert still.value.retry_after_s == 30
    now[0] += 30.5
    limiter.check("10.0.0.1", "aaaa")  # the first failure is more than a minute old


def test_an_address_guessing_at_many_principals_is_refused_as_a_whole() -> None:
    now = [1000.0]
    limiter = LoginLimiter(2, now=lambda: now[0])
    assert limiter.per_address == 20
    for i in range(19):
        limiter.failed("10.0.0.1", f"id{i}")
    limiter.check("10.0.0.1", "someone-else")
    limiter.failed("10.0.0.1", None)
    for claimed in ("someone-else", None):
        with pytest.raises(TooManyLogins):
            limiter.check("10.0.0.1", claimed)
    with pytest.raises(TooManyLogins):
        limiter.check_address("10.0.0.1")
    limiter.check("10.0.0.2", "someone-else")
    now[0] += 61
    limiter.check("10.0.0.1", "someone-else")


def test_a_refused_key_adds_nothing_to_the_address_ceiling() -> None:
    """A phone retrying a revoked token every second counts only until its own key is refused,
    so it alone never brings the address's ceiling down on its colleagues."""
    limiter = LoginLimiter(2, now=lambda: 1000.0)
    gate_failures = 0
    for _ in range(200):
        try:
            limiter.check("10.0.0.1", "phone")
        except TooManyLogins:
            continue
        limiter.failed("10.0.0.1", "phone")
        gate_failures += 1
    assert gate_failures == 2
    limiter.check("10.0.0.1", "colleague")


def _id(srv: Server, role: str) -> str:
    """The principal id in ``role``'s token."""
    return srv.tokens[role].split("_")[1]


def _wrong_for(srv: Server, role: str) -> str:
    """A token claiming ``role``'s principal with a wrong secret."""
    return f"mae_{_id(srv, role)}_" + "wrongsecret" * 3


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
    # the guessed principal is refused, even with its right token: guessing cannot go on
    # beside real use; a colleague behind the same address logs in as before
    guess = _wrong_for(strict, "crew_sun")
    claimed = httpx.Client(base_url=strict.base, headers={"Authorization": f"Bearer {guess}"})
    for _ in range(LIMIT):
        assert claimed.get("/api/units").status_code == 401
    claimed.close()
    with strict.http("crew_sun") as guessed:
        r = guessed.get("/api/units")
        assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
    with strict.http("dispatcher") as colleague:
        assert colleague.get("/api/units").status_code == 200
    # a request without any token is no guess and is not counted (pages before login)
    assert httpx.get(f"{strict.base}/api/health").status_code == 200
    wrong.close()
    with strict.http(None) as anonymous:
        assert anonymous.get("/api/units").status_code == 401

    audit = strict.audit()
    rows = [(e.principal_id, e.role, e.action, e.client, e.result)
            for e in audit.entries(limit=1000) if e.result == "refused unauthorized"]
    audit.close()
    dump = strict.stored_text()
    assert len(rows) == 2 * LIMIT
    assert all(r[1] == "-" and r[2] == "login /api/units" and r[3].startswith("127.0.0.1:")
               for r in rows)
    assert sorted({r[0] for r in rows}) == sorted(["0123456789abcdef", _id(strict, "crew_sun")])
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
        with connect(url, subprotocols=bearer(_wrong_for(strict, "dispatcher")),
                     open_timeout=10) as ws:
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
