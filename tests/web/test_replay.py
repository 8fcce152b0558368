"""The replay view: a simulated day's event log played over /ws/replay with the /ws/dispatch
protocol, checked against folding the same log directly; and the dispatcher page playing it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from dispatch.events import Envelope, event_from_dict
from dispatch.state import DispatchState
from maps.bundled import load_bundled
from simulations.engine import simulate
from simulations.export import slice_log, write_event_log
from simulations.scenario import scenario_from_dict
from tests.web.conftest import Server, Sock, bearer, make_tokens, screenshot, thread_server
from web import playback
from web.auth import PrincipalStore, Role
from web.views import board_snapshot, track_eta
from web.visibility import Viewer

NAME = "events-replay-test-seed3"

# Two cars on duty around the clock and many alarms, so three simulated hours hold every kind
# of step: alarms, assignments, acknowledgements, drives, outcomes, positions.
SCENARIO: dict[str, Any] = {
    "name": "replay test", "start": "2026-01-05", "days": 1, "timezone": "UTC",
    "roads": {"season": "summer"},
    "policy": {"kind": "closest_idle", "max_response_min": 180, "fallback": "source"},
    "service": {"ack_s": 30, "turnout_min": 5, "on_scene_min": 40, "on_scene_sd_min": 0,
                "at_facility_min": 20, "at_facility_sd_min": 0},
    "bases": [{"id": "pitea", "place": "Piteå älvdals sjukhus"},
              {"id": "sunderbyn", "place": "Sunderby sjukhus"}],
    "units": [{"id": "MAE-PIT", "base": "pitea",
               "shifts": [{"start": "00:00", "end": "00:00", "days": "all"}]},
              {"id": "MAE-SUN", "base": "sunderbyn",
               "shifts": [{"start": "00:00", "end": "00:00", "days": "all"}]}],
    "demand": {"kind": "synthetic", "alarms_per_year": 30_000, "hour_profile": [1] * 24},
}


@pytest.fixture(scope="module")
def log() -> list[Envelope]:
    """The first three hours of a simulated day (a prefix of a log is a log)."""
    graph = load_bundled()
    result = simulate(scenario_from_dict(SCENARIO, graph=graph), graph=graph, seed=3,
                      keep_log=True, log_positions=True)  # as --export-log: the cars move
    assert result.log is not None
    return slice_log(result.log, result.log[0].event.at + timedelta(hours=3))


@pytest.fixture(scope="module")
def replay_dir(tmp_path_factory: pytest.TempPathFactory, log: list[Envelope]) -> Path:
    directory = tmp_path_factory.mktemp("replays")
    write_event_log(log, directory / f"{NAME}.jsonl")
    lines = (directory / f"{NAME}.jsonl").read_text(encoding="utf-8").splitlines()
    (directory / "broken.jsonl").write_text("\n".join([*lines[:2], "{not json", *lines[3:]]),
                                            encoding="utf-8")
    (directory / "gap.jsonl").write_text("\n".join([lines[0], lines[2]]), encoding="utf-8")
    (directory.parent / "outside.jsonl").write_text(lines[0], encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, replay_dir: Path) -> Iterator[Server]:
    db = tmp_path_factory.mktemp("db") / "dispatch.sqlite3"
    server = thread_server(db, make_tokens(db), replay_dir=replay_dir)
    yield server
    server.stop()


def open_replay(srv: Server, who: str = "dispatcher", name: str = NAME,
                since: int | None = None) -> Sock:
    url = f"{srv.ws}/ws/replay?name={name}"
    if since is not None:
        url += f"&since={since}"
    return Sock(connect(url, subprotocols=bearer(srv.tokens[who]), open_timeout=10,
                        close_timeout=2))


def board_at(log: list[Envelope], at: datetime) -> dict[str, Any]:
    """The snapshot a dispatcher should see at ``at``: the log folded directly."""
    state = DispatchState()
    eta_at: dict[str, datetime] = {}
    for env in log:
        if env.event.at > at:
            break
        state.apply(env)
        track_eta(eta_at, env.event)
    snap = board_snapshot(state, with_text=True, eta_at=eta_at)
    board: dict[str, Any] = json.loads(json.dumps(snap))  # as it travels: ISO strings, lists
    return board


def t(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def test_boards_saved_along_the_log_equal_folding_from_the_start(
    replay_dir: Path, log: list[Envelope], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backwards seek starts from a board saved along the log (every 7 events here): each
    gives the state of folding from the start, and a board handed out never changes a saved
    one."""
    monkeypatch.setattr(playback, "CHECKPOINT_EVERY", 7)
    monkeypatch.setattr(playback, "_cache", {})  # read afresh, not the servers' copy
    replay = playback.load_replay(replay_dir, NAME)
    assert [k for k, _ in replay.checkpoints] == list(range(0, len(log) + 1, 7))
    for n in range(len(log) + 1):
        board = replay.board_after(n)
        direct = DispatchState.replay(log[:n])
        assert board.state.snapshot() == direct.snapshot()
        assert board.state.open_callouts() == direct.open_callouts()
    board = replay.board_after(14)
    board.apply(log[14])
    assert replay.board_after(14).state.snapshot() == DispatchState.replay(log[:14]).snapshot()
    player = playback.Player(replay, Viewer(Role.DISPATCHER))
    player.start(None)
    player.seek(log[-1].event.at)
    back = log[0].event.at + timedelta(minutes=100)
    (snap,) = player.seek(back)
    assert json.loads(snap) == board_at(log, back)


def test_lists_the_logs_for_watchers_only(srv: Server, log: list[Envelope]) -> None:
    with srv.http("planner") as http:
        reply = http.get("/api/replays")
    assert reply.status_code == 200
    by_name = {r["name"]: r for r in reply.json()}
    assert set(by_name) == {NAME, "broken", "gap"}
    ours = by_name[NAME]
    assert ours["events"] == len(log) and ours["problem"] is None
    assert t(ours["first_at"]) == log[0].event.at and t(ours["last_at"]) == log[-1].event.at
    for who in ("crew_sun", "police"):
        with srv.http(who) as http:
            refused = http.get("/api/replays")
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden"


def test_snapshot_at_start_then_playing_delivers_every_event_in_order(
    srv: Server, log: list[Envelope]
) -> None:
    """Played to the end at high speed, the events received fold into exactly the state of
    folding the whole log."""
    sock = open_replay(srv)
    snap = sock.recv()
    start = log[0].event.at
    assert snap["type"] == "snapshot" and snap == board_at(log, start)
    first = snap["seq"]
    assert first >= 4 and {u["unit_id"] for u in snap["units"]} == {"MAE-PIT", "MAE-SUN"}
    assert sock.recv() == {"type": "ready", "seq": first}
    clock = sock.recv()
    assert clock["type"] == "clock" and t(clock["at"]) == start and clock["playing"] is False
    assert t(clock["end"]) == log[-1].event.at and clock["name"] == NAME

    assert sock.request({"type": "speed", "speed": 3600})["speed"] == 3600
    assert sock.request({"type": "play"})["playing"] is True
    clocks = []
    while True:
        msg = sock.recv(timeout=30)
        if msg["type"] == "clock":
            clocks.append(t(msg["at"]))
            if not msg["playing"]:
                break
    assert clocks == sorted(clocks) and clocks[-1] == log[-1].event.at and len(clocks) > 3
    assert sock.seqs == list(range(first + 1, len(log) + 1))  # every event once, in order

    state = DispatchState.replay(log[:first])
    for msg in sock.messages:
        if msg["type"] == "event":
            state.apply(Envelope(msg["seq"], event_from_dict(msg["event"])))
    assert state.snapshot() == DispatchState.replay(log).snapshot()
    pong = sock.request({"type": "ping"})
    assert pong["type"] == "pong" and pong["seq"] == len(log)
    sock.close()


def test_seek_forwards_sends_events_and_backwards_a_fresh_snapshot(
    srv: Server, log: list[Envelope]
) -> None:
    sock = open_replay(srv)
    first = sock.recv()["seq"]
    sock.ready()
    middle = log[0].event.at + timedelta(minutes=95)
    reply = sock.request({"type": "seek", "at": middle.isoformat()})
    assert reply["type"] == "ok" and t(reply["at"]) == middle and reply["playing"] is False
    upto = sum(1 for env in log if env.event.at <= middle)
    assert sock.seqs == list(range(first + 1, upto + 1))

    back = log[0].event.at + timedelta(minutes=40)
    sock.request({"type": "seek", "at": back.isoformat().replace("+00:00", "Z")})
    snaps = [m for m in sock.messages if m["type"] == "snapshot"]
    assert len(snaps) == 2 and snaps[-1] == board_at(log, back)
    assert snaps[-1]["seq"] < upto and snaps[-1] != board_at(log, middle)

    sock.seqs.clear()  # a snapshot starts the count afresh
    end = log[-1].event.at
    assert t(sock.request({"type": "seek", "at": end.isoformat()})["at"]) == end
    assert sock.seqs == list(range(snaps[-1]["seq"] + 1, len(log) + 1))
    sock.close()


def test_a_long_forward_seek_sends_the_board_at_that_time_and_the_socket_stays(
    srv: Server, log: list[Envelope], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past more than SEEK_EVENTS_MAX events a forward seek sends one snapshot of the board at
    the time sought (a seek across months of a year's log sent every event, overflowed the
    socket's queue and closed it, and the page started the replay again from its
    beginning); a short one still sends the events, from the snapshot on."""
    monkeypatch.setattr(playback, "SEEK_EVENTS_MAX", 5)
    sock = open_replay(srv)
    sock.recv()
    sock.ready()
    far = log[0].event.at + timedelta(minutes=150)
    assert sum(1 for env in log if env.event.at <= far) > 5
    reply = sock.request({"type": "seek", "at": far.isoformat()})
    assert reply["type"] == "ok" and t(reply["at"]) == far
    assert sock.seqs == []  # no event one by one
    snap = [m for m in sock.messages if m["type"] == "snapshot"][-1]
    assert snap == board_at(log, far)
    near = next(env.event.at for env in log if env.event.at > far)  # the next event's time
    sock.request({"type": "seek", "at": near.isoformat()})
    assert sock.seqs and sock.seqs[0] == snap["seq"] + 1
    assert sock.request({"type": "ping"})["type"] == "pong"  # still open
    sock.close()


class ManualPace:
    """Playback steps handed out by the test instead of the wall clock: the socket's playback
    task waits in :meth:`step` until :meth:`give` (from the test's thread) supplies one."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.steps: asyncio.Queue[float] = asyncio.Queue()

    def restart(self) -> None:
        self.loop = asyncio.get_running_loop()

    async def step(self) -> float:
        return await self.steps.get()

    def give(self, wall_s: float) -> None:
        """Hand the playback one step of ``wall_s`` seconds. Returns once the server's loop
        has queued it: a playback task waiting for a step has then already taken it and the
        socket's turn (the task it wakes runs before this call's completion is reported), and
        queues what the step played before it gives the turn up, so a reply to a later
        request comes after all of that."""

        async def put() -> None:
            self.steps.put_nowait(wall_s)

        assert self.loop is not None, "the replay socket's playback has not started"
        asyncio.run_coroutine_threadsafe(put(), self.loop).result(timeout=10)


def test_pause_stops_the_events(tmp_path: Path, replay_dir: Path, log: list[Envelope]) -> None:
    """Playback moves only in steps the test hands out, so timing plays no part: a step while
    playing moves the clock and sends the events up to it; after pause the playback still
    takes a step but moves nothing and sends nothing; on play again the next step continues
    exactly where pause left it."""
    paces: list[ManualPace] = []

    def make_pace() -> ManualPace:
        paces.append(ManualPace())
        return paces[-1]

    db = tmp_path / "dispatch.sqlite3"
    server = thread_server(db, make_tokens(db), replay_dir=replay_dir, replay_pace=make_pace)
    try:
        sock = open_replay(server)
        first = sock.ready()["seq"]
        start = t(sock.until(lambda m: m["type"] == "clock")["at"])
        step = timedelta(minutes=30)  # speed 600 for 3 s
        played, resumed = start + step, start + 2 * step
        upto = sum(1 for env in log if env.event.at <= played)
        later = sum(1 for env in log if env.event.at <= resumed)
        assert first < upto < later  # each step of the test has events to send
        assert sock.request({"type": "speed", "speed": 600})["speed"] == 600
        assert sock.request({"type": "play"})["playing"] is True
        (pace,) = paces

        pace.give(3.0)
        moved = sock.until(lambda m: m["type"] == "clock")
        assert t(moved["at"]) == played and moved["playing"] is True
        assert sock.seqs == list(range(first + 1, upto + 1))

        paused = sock.request({"type": "pause"})
        assert paused["playing"] is False and t(paused["at"]) == played
        pace.give(3.0)  # the playback was waiting for a step: it takes this one at once
        seen = len(sock.messages)
        asked = sock.request({"type": "clock"})
        assert pace.steps.empty()  # taken while paused...
        assert t(asked["at"]) == played and asked["playing"] is False  # ...and nothing played
        clock, reply = sock.messages[seen:]  # nothing came before the reply but its clock
        assert clock["type"] == "clock" and t(clock["at"]) == played and reply is asked
        assert sock.seqs == list(range(first + 1, upto + 1))

        assert sock.request({"type": "play"})["playing"] is True
        pace.give(3.0)
        moved = sock.until(lambda m: m["type"] == "clock")
        assert t(moved["at"]) == resumed and moved["playing"] is True
        assert sock.seqs == list(range(first + 1, later + 1))
        assert sock.request({"type": "ping"})["type"] == "pong"
        sock.close()
    finally:
        server.stop()


@pytest.mark.parametrize(("message", "field"), [
    ({"type": "speed", "speed": 0.1}, "speed"),
    ({"type": "speed", "speed": 5000}, "speed"),
    ({"type": "speed", "speed": "fast"}, "speed"),
    ({"type": "speed"}, "speed"),
    ({"type": "seek", "at": "yesterday"}, "at"),
    ({"type": "seek", "at": "2026-01-05T01:00:00"}, "at"),
    ({"type": "seek", "at": "2025-12-31T12:00:00+00:00"}, "at"),
    ({"type": "seek", "at": 12}, "at"),
    ({"type": "jump"}, "type"),
    ({"type": "play", "loud": True}, "loud"),
])
def test_bad_control_messages_name_the_field_and_the_socket_stays_open(
    srv: Server, message: dict[str, Any], field: str
) -> None:
    sock = open_replay(srv)
    sock.ready()
    before = sock.until(lambda m: m["type"] == "clock")
    reply = sock.request(message)
    assert reply["type"] == "error" and reply["field"] == field, reply
    assert reply["status"] == 422 and reply["message"]
    assert sock.request({"type": "ping"})["type"] == "pong"
    state = sock.request({"type": "pause"})
    assert (state["at"], state["speed"]) == (before["at"], before["speed"])  # nothing changed
    sock.conn.send("not json")
    assert sock.recv()["type"] == "error"
    sock.close()


@pytest.mark.parametrize(("name", "says"), [
    ("nothing-here", "there is no replay log 'nothing-here'"),
    ("..%2Foutside", "letters, digits"),
    ("outside", "there is no replay log"),
    ("", "give the name"),
    ("broken", "broken: line 3 is not a valid event"),
    ("gap.jsonl", "gap: line 2 is not a valid event: event 3 applied after 1"),
])
def test_unknown_or_broken_log_is_an_error_on_name(srv: Server, name: str, says: str) -> None:
    """The socket stays open (a reconnecting page would only meet the same error) and every
    request gets the same answer; nothing else is sent."""
    sock = open_replay(srv, name=name)
    error = sock.recv()
    assert error["type"] == "error" and error["field"] == "name" and says in error["message"]
    assert error["id"] is None
    again = sock.request({"type": "play"})
    assert again["field"] == "name" and again["message"] == error["message"]
    assert sock.request({"type": "ping"})["type"] == "pong"
    assert not any(m["type"] in ("snapshot", "event", "clock") for m in sock.messages)
    sock.close()


@pytest.mark.parametrize("who", ["planner", "admin"])
def test_planners_and_admins_may_watch(srv: Server, log: list[Envelope], who: str) -> None:
    sock = open_replay(srv, who=who)
    assert sock.recv() == board_at(log, log[0].event.at)  # the simulated log has no free text
    sock.close()


@pytest.mark.parametrize(("who", "code"), [("crew_sun", 4403), ("police", 4403),
                                           ("nobody", 4401)])
def test_crew_and_agency_tokens_are_refused(srv: Server, who: str, code: int) -> None:
    token = srv.tokens.get(who, "mae_0000000000000000_" + "x" * 30)
    sock = Sock(connect(f"{srv.ws}/ws/replay?name={NAME}", subprotocols=bearer(token),
                        open_timeout=10))
    error = sock.recv()
    assert error["type"] == "error" and error["error"] in ("forbidden", "unauthorized")
    with pytest.raises(ConnectionClosed) as closed:
        sock.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code


def test_a_token_revoked_while_watching_is_cut_off(srv: Server, log: list[Envelope]) -> None:
    store = PrincipalStore(srv.db)  # a principal of its own: the server is shared
    principal, token = store.create(name="revoked planner", role="planner")
    sock = Sock(connect(f"{srv.ws}/ws/replay?name={NAME}", subprotocols=bearer(token),
                        open_timeout=10))
    sock.recv()  # the snapshot
    assert store.revoke(principal.principal_id)
    store.close()
    sock.conn.send(json.dumps({"type": "clock", "id": "c"}))
    error = sock.until(lambda m: m.get("type") == "error")
    assert error["status"] == 401 and "revoked" in error["message"]
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            sock.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_resume_with_since_sends_only_later_events(srv: Server, log: list[Envelope]) -> None:
    """A page reconnecting with since=n continues at event n's time, with no snapshot."""
    n = 20
    sock = open_replay(srv, since=n)
    ready = sock.ready()
    assert ready["seq"] >= n and not any(m["type"] == "snapshot" for m in sock.messages)
    assert sock.seqs == list(range(n + 1, ready["seq"] + 1))
    assert all(log[s - 1].event.at == log[n - 1].event.at for s in sock.seqs)
    clock = sock.recv()
    assert clock["type"] == "clock" and t(clock["at"]) == log[n - 1].event.at
    sock.close()
    late = open_replay(srv, since=len(log) + 1)
    assert late.recv()["field"] == "since"
    with pytest.raises(ConnectionClosed):
        late.recv()


def test_dispatcher_page_plays_the_replay(srv: Server, browser: Any, log: list[Envelope]) -> None:
    """/dispatch?replay=NAME: the page shows the replay controls; played at high speed, callouts
    appear, a unit moves on the map and the time slider follows the simulated clock to the
    end; dragging the slider back seeks (a fresh snapshot: no callout is open at the start)."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and "Content Security Policy" in m.text else None)
    try:
        page.goto(f"{srv.base}/dispatch?replay={NAME}#token={srv.tokens['dispatcher']}")
        controls = page.locator("#replay-controls")
        play = controls.get_by_role("button", name="Spela")
        play.wait_for(timeout=15_000)
        # styled by the site's own stylesheet (the page's CSP refuses an inline one)
        page.wait_for_function("() => getComputedStyle(document.querySelector("
                               "'#replay-controls .mae-replay')).display === 'flex'")
        slider = controls.get_by_role("slider", name="Simulerad tid")
        page.wait_for_function("() => document.querySelectorAll('.unit-marker').length === 2")
        # the history lists the live service's finished callouts: not offered in a replay
        expect(page.locator("#history-button")).to_be_hidden()
        start = log[0].event.at.timestamp() * 1000
        page.wait_for_function("(v) => Number(document.querySelector("
                               "'#replay-controls input[type=range]').value) === v", arg=start)
        assert page.locator(".callout-marker").count() == 0
        before = page.eval_on_selector_all(".unit-marker", "els => els.map(e => e.style.transform)")
        controls.get_by_label("Hastighet").select_option("1800")
        play.click()
        controls.get_by_role("button", name="Pausa").wait_for()
        page.wait_for_function("() => document.querySelectorAll('.callout-marker').length > 0",
                               timeout=20_000)
        page.wait_for_function(
            "(before) => [...document.querySelectorAll('.unit-marker')]"
            ".some((e, i) => e.style.transform !== before[i])", arg=before, timeout=20_000)
        controls.get_by_text("Slutet av loggen").wait_for(timeout=30_000)
        end, step = log[-1].event.at.timestamp() * 1000, float(slider.get_attribute("step") or 0)
        assert end - step < float(slider.input_value()) <= end  # the last step of the slider
        assert play.is_visible()  # back to "Spela" at the end
        screenshot(page, "replay-desktop")
        slider.fill(str(start))  # what dragging to the far left does: input, then change
        page.wait_for_function("() => document.querySelectorAll('.callout-marker').length === 0")
        # paused, the header's clock shows the replay's time and stands still (it ran on at
        # wall-clock pace, and lagged the replay's time while it played)
        shown = log[0].event.at.astimezone(ZoneInfo("Europe/Stockholm")).strftime("%H:%M:%S")
        expect(page.locator("#server-clock")).to_have_text(shown)
        page.wait_for_timeout(2_100)
        expect(page.locator("#server-clock")).to_have_text(shown, timeout=100)
        # a time typed to the minute (the slider's step is a thousandth of the log)
        stockholm = ZoneInfo("Europe/Stockholm")
        chosen = (log[0].event.at + timedelta(minutes=97)).astimezone(stockholm)
        controls.get_by_label("Gå till").fill(chosen.strftime("%Y-%m-%dT%H:%M"))
        controls.get_by_role("button", name="Gå", exact=True).click()
        expect(page.locator("#server-clock")).to_have_text(chosen.strftime("%H:%M:00"))
        controls.get_by_label("Gå till").fill(
            (log[-1].event.at + timedelta(days=2)).astimezone(stockholm).strftime("%Y-%m-%dT%H:%M"))
        controls.get_by_role("button", name="Gå", exact=True).click()
        expect(controls.locator("[data-replay-status]")).to_contain_text("Välj en tid mellan")
        expect(page.locator("#server-clock")).to_have_text(chosen.strftime("%H:%M:00"))
        assert controls.locator("[data-replay-time]").inner_text().strip() != ""
        page.goto(f"{srv.base}/dispatch?replay=nothing-here")  # the token is remembered
        controls.get_by_text(
            "Uppspelningen fungerar inte: Uppspelningslogg: saknas eller har fel form.").wait_for()
        assert controls.get_by_role("button", name="Spela").is_disabled()
        page.get_by_role("button", name="English").click()
        assert controls.get_by_role("button", name="Play").is_disabled()
        assert not errors, errors
    finally:
        page.close()
