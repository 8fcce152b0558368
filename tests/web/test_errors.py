"""How errors are answered: a client's mistake is a 4xx that names it, a server fault a 500."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.errors import (
    InvalidProblem,
    InvalidQuery,
    NotInPlan,
    SnapError,
    SolverFailed,
    SolverUnavailable,
)
from tests.web.conftest import current_store, free_port, make_tokens, serve_app
from web.errors import Busy, describe
from web.eventstore import DatabaseLocked, StorageUnavailable, StoreConflict


@pytest.mark.parametrize("exc", [InvalidQuery("seed arrays disagree"), NotInPlan("U1"),
                                 SolverUnavailable("no OR-Tools"), SolverFailed("status 2")])
def test_routing_faults_only_the_server_can_cause_are_internal(exc: Exception) -> None:
    info = describe(exc)
    assert (info.status, info.code, info.close_code) == (500, "internal", 1011)
    assert str(exc) not in info.message  # internals are not echoed to the client


@pytest.mark.parametrize("exc", [SnapError("65.0, 22.0 is 9 km from a road"),
                                 InvalidProblem("visits[0].window: ends before it starts")])
def test_routing_errors_about_the_request_are_rejections(exc: Exception) -> None:
    info = describe(exc)
    assert (info.status, info.code) == (400, "rejected")
    assert info.message == str(exc)


@pytest.mark.parametrize(("exc", "status", "code"), [
    (StoreConflict("the event log ends at 7, not 6"), 409, "store_conflict"),
    (StorageUnavailable("events", "database or disk is full"), 503, "storage_unavailable"),
    (DatabaseLocked("db in use"), 503, "database_locked"),
    (Busy("queue full"), 503, "busy"),
])
def test_store_conflicts_and_faults_are_never_a_400_and_say_when_to_retry(
        exc: Exception, status: int, code: str) -> None:
    """Integrations retry a 409/503 but treat a 400 as their own bad input and give up."""
    info = describe(exc)
    assert (info.status, info.code) == (status, code)
    headers = info.headers()
    assert headers is not None and int(headers["Retry-After"]) >= 1
    assert info.reply()["retry_after_s"] == int(headers["Retry-After"])


def test_an_unexpected_fault_is_a_json_500_that_does_not_quote_it(tmp_path: Path) -> None:
    """A bug (not the client's mistake) still answers JSON like every other error, and the
    exception's text (which may quote input) stays in the server's log."""
    from web.app import create_app
    from web.settings import Settings

    db = tmp_path / "db.sqlite3"
    port = free_port()
    app = create_app(Settings(database=db, port=port, store=current_store()))

    async def broken() -> None:
        raise RuntimeError("quoted input: Anna Berg")

    app.add_api_route("/api/broken", broken)
    srv = serve_app(app, port, db, make_tokens(db))
    try:
        with srv.http("dispatcher") as c:
            reply = c.get("/api/broken")
    finally:
        srv.stop()
    assert reply.status_code == 500
    assert reply.json()["error"] == "internal" and "Anna" not in reply.text
