"""Replay of an event log on the dispatcher map: ``GET /api/replays`` and ``/ws/replay``.

A log put in ``Settings.replay_dir`` (e.g. from ``mae simulate --export-log``) is played over
the /ws/dispatch protocol, so the dispatcher page shows it as it shows the live board: a
snapshot, ``ready``, then ``event`` messages, plus ``{"type": "clock", "at", "speed",
"playing", "start", "end", "name"}``. The client sends ``play``, ``pause``, ``{"type": "speed",
"speed": x}``, ``{"type": "seek", "at": iso}`` and ``clock`` (just asks); each gets a reply
with its ``id`` and the clock. Seeking forwards sends the events in between, backwards a fresh
snapshot. The :class:`~web.playback.Player` does the work; this module's task moves its
simulated clock by speed x wall time, in steps a :class:`Pace` hands out (:class:`WallPace`:
one every ``TICK_S``; an app may be given another, so tests step playback by hand).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Request, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from mae.errors import MaeError
from web.auth import Action, Principal, Principals
from web.deps import RoleFirstRoute, require
from web.errors import BadMessage, describe
from web.playback import Player, list_replays, load_replay
from web.routes._common import errors
from web.schemas import ReplayOut
from web.service import Subscription
from web.sockets import client_frames, decode_frame, revocable, since_param
from web.views import dumps
from web.visibility import Viewer
from web.wsauth import accept_authenticated

__all__ = ["Pace", "WallPace", "router"]

logger = logging.getLogger(__name__)

router = APIRouter(route_class=RoleFirstRoute)

TICK_S = 0.2  # wall seconds between playback steps
MAX_STEP_S = 1.0  # wall time one step may cover (a stalled loop does not jump ahead)
MAX_MESSAGE_CHARS = 4_000


class Pace(Protocol):
    """When playback steps and how much wall time each step covers."""

    def restart(self) -> None:
        """Playing starts (again) now: time spent paused is not played."""

    async def step(self) -> float:
        """Wait for the next step; returns the wall seconds it covers."""
        ...


class WallPace:
    """A step every ``TICK_S`` of the event loop's clock, covering the time since the last one
    (at most ``MAX_STEP_S``, so a stalled loop does not jump ahead)."""

    def __init__(self) -> None:
        self._last = 0.0

    def restart(self) -> None:
        self._last = asyncio.get_running_loop().time()

    async def step(self) -> float:
        await asyncio.sleep(TICK_S)
        now = asyncio.get_running_loop().time()
        step, self._last = min(now - self._last, MAX_STEP_S), now
        return step


@router.get("/api/replays", response_model=list[ReplayOut], responses=errors(), tags=["replay"])
def get_replays(
    request: Request, _: Annotated[Principal, Depends(require(Action.DISPATCH_SOCKET))]
) -> list[dict[str, Any]]:
    """The event logs the dispatcher map can replay (``Settings.replay_dir``): name, number of
    events, first and last event time, and what is wrong with a log that cannot be read."""
    return list_replays(request.app.state.settings.replay_dir)


def _error(exc: MaeError, msg_id: Any = None) -> str:
    info = describe(exc)
    return dumps({"type": "error", "status": info.status, **info.reply(), "id": msg_id})


def _handle(player: Player | None, problem: BadMessage | None, text: str) -> list[str]:
    """The messages answering one client message; the reply (carrying its ``id``) last."""
    msg_id: Any = None
    try:
        data, msg_id = decode_frame(text, max_chars=MAX_MESSAGE_CHARS)
        if not isinstance(data, dict):
            raise BadMessage("", "a message is a JSON object with a 'type' field")
        if data.get("type") == "ping":
            seq = player.board.state.last_seq if player is not None else 0
            return [dumps({"type": "pong", "seq": seq, "id": msg_id})]
        if player is None:
            assert problem is not None
            raise problem
        out = player.control(data)
        return [*out, dumps({**player.clock(), "type": "ok", "id": msg_id})]
    except MaeError as exc:
        return [_error(exc, msg_id)]
    except Exception:
        logger.exception("replay message failed")
        return [dumps({"type": "error", "status": 500, "error": "internal", "field": None,
                        "message": "internal error; the replay did not change", "id": msg_id})]


async def _send(ws: WebSocket, sub: Subscription) -> None:
    while True:
        item = await sub.queue.get()
        if item is None:
            await ws.close(1013, "too far behind: reconnect with since=<last seq>")
            return
        await ws.send_text(item)


def _advance(player: Player, wall_s: float) -> list[str]:
    """One playback step's messages: the events it plays, then the clock."""
    return [*player.advance(wall_s), dumps(player.clock())]


async def _play(player: Player, sub: Subscription, wake: asyncio.Event, pace: Pace,
                turn: asyncio.Lock) -> None:
    """Move the simulated clock by speed x wall time while playing; wait while the client
    is behind (more than a quarter of its queue). Each step is folded and rendered in a
    worker thread, holding ``turn`` (the player is the client's messages' too)."""
    pace.restart()
    while True:
        if not player.playing:
            wake.clear()
            await wake.wait()
            pace.restart()
            continue
        step = await pace.step()
        if not player.playing or sub.queue.qsize() > sub.queue.maxsize // 4:
            continue
        async with turn:  # queued before a client's message may take its turn
            for text in await asyncio.to_thread(_advance, player, step):
                sub.push(text)


@router.websocket("/ws/replay")
async def replay_socket(ws: WebSocket) -> None:
    """Play the log ``?name=`` over the /ws/dispatch protocol (planners, dispatchers, admins).
    A log that is unknown or broken gets an error naming ``name`` and the socket stays open."""
    principal = await accept_authenticated(ws, Action.DISPATCH_SOCKET)
    if principal is None:
        return
    principals: Principals = ws.app.state.principals
    settings = ws.app.state.settings
    player: Player | None = None
    problem: BadMessage | None = None
    initial: list[str] = []
    try:
        since = since_param(ws)
        try:
            log = await asyncio.to_thread(load_replay, settings.replay_dir,
                                          ws.query_params.get("name"))
        except BadMessage as exc:
            problem = exc
            initial = [_error(exc)]
        else:
            player = Player(log, Viewer.of(principal))
            initial = await asyncio.to_thread(player.start, since)
    except MaeError as exc:
        info = describe(exc)
        await ws.send_text(_error(exc))
        await ws.close(info.close_code, info.message[:120])
        return
    sub = Subscription(Viewer.of(principal), maxsize=settings.queue_size)
    for first in initial:
        sub.push(first)
    handle = revocable(ws, principal, sub)
    wake = asyncio.Event()
    # Seeking folds up to a saved board's distance of events and renders a snapshot: in a
    # worker thread, one of the client's messages or playback steps at a time, so the loop
    # serves every other client meanwhile.
    turn = asyncio.Lock()
    sender = asyncio.create_task(_send(ws, sub))
    tasks = {sender}
    if player is not None:
        pace: Pace = ws.app.state.replay_pace()
        tasks.add(asyncio.create_task(_play(player, sub, wake, pace, turn)))
    try:
        async for text in client_frames(ws, principal, principals, tasks, handle):
            async with turn:
                for out in await asyncio.to_thread(_handle, player, problem, text):
                    sub.push(out)
            if player is not None and player.playing:
                wake.set()
        for task in tasks - {sender}:
            if task.done() and not task.cancelled() and task.exception() is not None:
                logger.error("replay playback failed", exc_info=task.exception())
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if (ws.application_state is WebSocketState.CONNECTED
                and ws.client_state is WebSocketState.CONNECTED):
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await ws.close()
