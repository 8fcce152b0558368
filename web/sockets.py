"""The three WebSockets: ``/ws/agency``, ``/ws/dispatch`` and ``/ws/crew``.

Every socket logs in as :mod:`web.wsauth` describes (subprotocol ``mae.bearer.<token>`` or a
first ``auth`` frame; never ``?token=``) and may pass ``?since=<seq>`` to resume: it then gets
exactly the events after ``seq`` it may see, otherwise a snapshot; then ``{"type": "ready",
"seq": n}`` and live messages (with ``?batch=1`` messages that queued up together arrive in
one ``{"type": "batch", "messages": [...]}`` frame). Backlogs are read and rendered in pages
off the event loop; a ``since`` older than the retained window gets a snapshot.
Messages are JSON objects with a ``type``; a reply carries the
request's ``id``. A bad message gets an ``error`` reply naming the field and the socket stays
open; a bad token or role closes it (4401/4403), and so does revoking the token while the socket
is open (:mod:`web.connections`).

All outgoing messages of a connection go through its subscription queue, so replies come after
the events they caused, in order, from one sender task.

Crew messages (ack, status, position, outcome) may carry an ``op`` id made by the tablet's
outbox: the reply then echoes ``op`` and says ``duplicate`` (true when the server had already
accepted that op: same seq, nothing appended). A position is not logged (:mod:`web.positions`):
its reply says ``kept`` (false: too soon after the last one, ignored) and an op on it is only
echoed. A command refused because the write queue is full gets an error with status 503 and
``retry_after_s``; the socket stays open. A status may name the ``callout_id`` it was made
for, and is refused if the unit is no longer on that callout.

Shifts: a crew signs on with ``shift_start`` (``crew``: ``[{name, role}]``; the end is
``ends_at``, else ``hours`` from now, else the end of its rota shift; with no rota shift it must
give one) and off with ``shift_end``. ``rota`` asks for the rota status (a crew: its own unit's;
a dispatcher: every unit's); the dispatchers also get ``rota_due`` messages listing the units due
by the rota with no crew signed on whenever that list changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, timedelta
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from dispatch.commands import (
    Acknowledge,
    AddNote,
    Assign,
    CancelCallout,
    EndShift,
    MergeCallouts,
    Reassign,
    RecordOutcome,
    ReopenCallout,
    ReportStatus,
    RequestAssist,
    SendMessage,
    SplitCallout,
    StartShift,
)
from dispatch.errors import InvalidCommand
from dispatch.model import CARE_QUESTIONS, CrewMember, Outcome
from dispatch.rota import sign_on_competences
from dispatch.state import DispatchState
from mae.errors import MaeError
from web.auth import Action, Principal, Principals, authorize
from web.connections import Connections, Handle
from web.errors import BadMessage, Unauthorized, describe
from web.eventstore import StorageUnavailable
from web.intake import submit_alarm
from web.routes.visits import report_visit
from web.schemas import (
    AGENCY_MESSAGES,
    CREW_MESSAGES,
    DISPATCH_MESSAGES,
    AckMsg,
    AlarmMsg,
    AssignMsg,
    AssistMsg,
    CancelMsg,
    CrewMessageMsg,
    DispatchMessageMsg,
    FollowUpsMsg,
    HistoryMsg,
    MergeMsg,
    NoteMsg,
    OutcomeMsg,
    PositionMsg,
    RecommendMsg,
    ReopenMsg,
    ShiftStartMsg,
    SplitMsg,
    StatusMsg,
    VisitMsg,
    parse_message,
)
from web.service import Backlog, DispatchService, Guard, Subscription
from web.views import dumps, location_view, option_view
from web.visibility import Viewer
from web.wsauth import accept_authenticated

__all__ = ["REVALIDATE_S", "batch_param", "client_frames", "decode_frame", "refuse", "revocable",
           "router", "since_param"]

logger = logging.getLogger(__name__)

router = APIRouter()

CLOSE_TOO_SLOW = 1013
CLOSE_TOO_BIG = 1009
MAX_MESSAGE_CHARS = 64_000
REVALIDATE_S = 15.0  # an idle socket's revocations are looked at this often (and per message)

Reply = dict[str, Any]
Handler = Callable[["Connection", Any], Awaitable[Reply]]


class Connection:
    """One open socket: its principal, client address and subscription."""

    def __init__(self, ws: WebSocket, service: DispatchService, principal: Principal) -> None:
        self.ws = ws
        self.service = service
        self.principal = principal
        client = ws.client
        self.client = f"{client.host}:{client.port}" if client else "unknown"
        self.sub: Subscription | None = None

    def send(self, message: Reply) -> None:
        if self.sub is not None:
            self.sub.push(dumps(message))

    async def run_command(self, command: Any, action: str, target: dict[str, Any], *,
                          op: str | None = None, guard: Guard | None = None) -> Reply:
        done = await self.service.run(command, principal=self.principal, client=self.client,
                                      action=action, target=target, op=op, guard=guard)
        reply: Reply = {"type": "ok", "callout_id": done.decision.callout_id,
                        "seq": done.last_seq}
        if op is not None:
            reply.update(op=op, duplicate=done.decision.duplicate)
        return reply


def since_param(ws: WebSocket) -> int | None:
    """The ``since=`` query value: None when absent, else ASCII digits (``"²".isdigit()`` is
    true but ``int("²")`` fails), or BadMessage naming ``since``."""
    raw = ws.query_params.get("since")
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise BadMessage("since", "must be a whole number >= 0 (the last seq you received)")
    return int(raw)


async def _sender(conn: Connection, plan: Backlog) -> None:
    """Send the backlog page by page (read off the loop), then the live queue; a batching
    client gets each page, and whatever piled up meanwhile, as one frame."""
    ws, sub = conn.ws, conn.sub
    assert sub is not None
    async for page in conn.service.backlog(plan):
        for frame in sub.frames(page):
            await ws.send_text(frame)
    while True:
        live = await sub.next_frame()
        if live is None:
            await ws.close(CLOSE_TOO_SLOW, "too far behind: reconnect with since=<last seq>")
            return
        await ws.send_text(live)


def batch_param(ws: WebSocket) -> bool:
    """``?batch=1``: the client unpacks ``{"type":"batch","messages":[...]}`` frames (the
    pages do), so several queued messages may travel in one frame; absent or 0: one per frame."""
    raw = ws.query_params.get("batch")
    if raw is None or raw in ("", "0"):
        return False
    if raw == "1":
        return True
    raise BadMessage("batch", "must be 1 (send batch frames) or 0")


async def refuse(ws: WebSocket, exc: MaeError) -> None:
    """Tell the client why in one error message, then close with the matching code."""
    info = describe(exc)
    await ws.send_text(json.dumps({"type": "error", "status": info.status, **info.reply()}))
    await ws.close(info.close_code, info.message[:120])


def revocable(ws: WebSocket, principal: Principal, sub: Subscription) -> Handle:
    """Register the socket under its principal: a revocation stops its subscription at once
    (nothing more is queued, what was queued is dropped) and :func:`client_frames` closes it."""

    def stop() -> None:
        sub.dropped = True  # push() is a no-op from now on
        while not sub.queue.empty():
            sub.queue.get_nowait()

    handle = Handle(principal.principal_id, stop)
    connections: Connections = ws.app.state.connections
    connections.add(handle)
    return handle


async def _still_active(principals: Principals, principal_id: str) -> bool:
    """Whether the socket's token is still good (a worker thread: Redis is a round trip).
    While the principals' store cannot be read the socket stays open (a revocation sent
    through this service closes it at once anyway, see :mod:`web.connections`): closing
    every board during a disk or Redis fault would leave the dispatchers blind, and the
    check runs again on the next frame."""
    try:
        return await asyncio.to_thread(principals.is_active, principal_id)
    except StorageUnavailable as exc:
        logger.warning("cannot re-check principal %s: %s", principal_id, exc.detail)
        return True


async def client_frames(ws: WebSocket, principal: Principal, principals: Principals,
                        tasks: set[asyncio.Task[Any]], handle: Handle | None = None,
                        ) -> AsyncIterator[str]:
    """The client's text frames (bytes decoded) until it leaves or one of ``tasks`` (its
    sender, playback) ends. A revocation of the token closes the socket with 4401 at once
    (``handle``, see :mod:`web.connections`); before every frame, and every ``REVALIDATE_S``
    while idle, the revocations are looked at again on the loop (``Connections.sweep``: a
    revocation made in another process stops the next frame), so no frame costs a thread hop
    and a token lookup. Without a ``handle`` the token is read again in a worker thread."""
    connections: Connections = ws.app.state.connections
    receive: asyncio.Future[Any] | None = None
    revoked = asyncio.ensure_future(handle.revoked.wait()) if handle is not None else None
    watched = {*tasks, revoked} if revoked is not None else set(tasks)
    try:
        while True:
            if receive is None:
                receive = asyncio.ensure_future(ws.receive())
            done, _ = await asyncio.wait({receive, *watched}, timeout=REVALIDATE_S,
                                         return_when=asyncio.FIRST_COMPLETED)
            if not await _still_valid(connections, principal, principals, handle):
                await refuse(ws, Unauthorized("the token was revoked"))
                return
            if receive not in done:
                if done:  # a task ended: the client is too slow or gone, or playback failed
                    return
                continue  # only the revalidation timer
            message = receive.result()
            receive = None
            if message["type"] == "websocket.disconnect":
                return
            text: str | None = message.get("text")
            if text is None:
                raw: bytes = message.get("bytes") or b""
                text = raw.decode("utf-8", errors="replace")
            limit: int = ws.app.state.settings.max_ws_frame_bytes
            if len(text) > limit // 4 and len(text.encode()) > limit:
                await ws.close(CLOSE_TOO_BIG, f"message larger than {limit} bytes "
                               "(max_ws_frame_bytes)")
                return
            yield text
    finally:
        if receive is not None:
            receive.cancel()
        if revoked is not None:
            revoked.cancel()
        if handle is not None:
            connections.discard(handle)


async def _still_valid(connections: Connections, principal: Principal, principals: Principals,
                       handle: Handle | None) -> bool:
    """Whether the socket's token still stands: with a registered ``handle``, after a sweep of
    the revocations on the loop (cheap: SQLite asks ``PRAGMA data_version`` first, Redis is
    told by pub/sub); else by reading the token in a worker thread."""
    if handle is None:
        return await _still_active(principals, principal.principal_id)
    try:
        connections.sweep()
    except (sqlite3.Error, OSError, StorageUnavailable) as exc:  # as _still_active: stay open
        logger.warning("cannot look at revocations for %s: %s", principal.principal_id, exc)
    return not handle.revoked.is_set()


async def _serve(ws: WebSocket, action: Action, kinds: dict[str, Any],
                 handlers: dict[str, Handler]) -> None:
    service: DispatchService = ws.app.state.service
    principals: Principals = ws.app.state.principals
    principal = await accept_authenticated(ws, action)
    if principal is None:
        return
    try:
        conn = Connection(ws, service, principal)
        since = since_param(ws)
        if since is not None and since > service.last_seq:  # seen on another instance
            await service.catch_up()
        await service.ready_for(principal)  # off the loop, while a start decodes history
        conn.sub, plan = service.subscribe(principal, since, batch=batch_param(ws))
    except MaeError as exc:
        await refuse(ws, exc)
        return
    handle = revocable(ws, principal, conn.sub)
    sender = asyncio.create_task(_sender(conn, plan))
    try:
        async for text in client_frames(ws, principal, principals, {sender}, handle):
            await _handle(conn, text, kinds, handlers)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        service.unsubscribe(conn.sub)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await sender
        if (ws.application_state is WebSocketState.CONNECTED
                and ws.client_state is WebSocketState.CONNECTED):
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await ws.close()


def decode_frame(text: str, *, max_chars: int = MAX_MESSAGE_CHARS) -> tuple[Any, Any]:
    """A client's frame as (JSON value, reply id): the id is echoed only when it is a string or
    integer of at most 64 characters. Raises BadMessage for oversized or non-JSON frames."""
    if len(text) > max_chars:
        raise BadMessage("", f"a message is at most {max_chars} characters")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python goes
        raise BadMessage("", "a message is one JSON object") from None
    raw_id = data.get("id") if isinstance(data, dict) else None
    ok = isinstance(raw_id, str | int) and not isinstance(raw_id, bool) and len(str(raw_id)) <= 64
    return data, raw_id if ok else None


async def _handle(conn: Connection, text: str, kinds: dict[str, Any],
                  handlers: dict[str, Handler]) -> None:
    msg_id: Any = None
    reply: Reply
    try:
        data, msg_id = decode_frame(text)
        msg = parse_message(data, kinds)
        reply = await handlers[msg.type](conn, msg)  # type: ignore[attr-defined]
    except MaeError as exc:
        info = describe(exc)
        reply = {"type": "error", "status": info.status, **info.reply()}
    except Exception:
        logger.exception("socket message failed (%s)", conn.principal.principal_id)
        reply = {"type": "error", "status": 500, "error": "internal", "field": None,
                 "message": "internal error; the request changed nothing"}
    reply["id"] = msg_id
    conn.send(reply)


# -- dispatch ---------------------------------------------------------------------------------


async def _assign(conn: Connection, msg: AssignMsg) -> Reply:
    authorize(conn.principal, Action.DISPATCH_COMMAND)
    eta = msg.eta_s if msg.eta_s is not None else await conn.service.advise(
        lambda a: a.eta_s(msg.unit_id, msg.callout_id))
    cls = Assign if msg.type == "assign" else Reassign
    return await conn.run_command(cls(msg.callout_id, msg.unit_id, eta), msg.type,
                                  {"callout_id": msg.callout_id, "unit_id": msg.unit_id})


async def _cancel(conn: Connection, msg: CancelMsg) -> Reply:
    authorize(conn.principal, Action.DISPATCH_COMMAND)
    return await conn.run_command(CancelCallout(msg.callout_id, msg.reason, msg.code), "cancel",
                                  {"callout_id": msg.callout_id, "code": msg.code})


async def _reopen(conn: Connection, msg: ReopenMsg) -> Reply:
    authorize(conn.principal, Action.DISPATCH_COMMAND)
    return await conn.run_command(ReopenCallout(msg.callout_id), "reopen",
                                  {"callout_id": msg.callout_id})


async def _dispatch_message(conn: Connection, msg: DispatchMessageMsg) -> Reply:
    authorize(conn.principal, Action.DISPATCH_COMMAND)
    return await conn.run_command(SendMessage(msg.unit_id, msg.text), "message",
                                  {"unit_id": msg.unit_id})


async def _merge(conn: Connection, msg: MergeMsg) -> Reply:
    authorize(conn.principal, Action.DISPATCH_COMMAND)
    return await conn.run_command(MergeCallouts(msg.target_id, msg.source_id), "merge",
                                  {"target_id": msg.target_id, "source_id": msg.source_id})


async def _split(conn: Connection, msg: SplitMsg) -> Reply:
    authorize(conn.principal, Action.DISPATCH_COMMAND)
    return await conn.run_command(SplitCallout(msg.callout_id, msg.alarm_id), "split",
                                  {"callout_id": msg.callout_id, "alarm_id": msg.alarm_id})


async def _note(conn: Connection, msg: NoteMsg) -> Reply:
    authorize(conn.principal, Action.DISPATCH_COMMAND)
    return await conn.run_command(AddNote(msg.callout_id, msg.text), "note",
                                  {"callout_id": msg.callout_id})


async def _recommend(conn: Connection, msg: RecommendMsg) -> Reply:
    authorize(conn.principal, Action.DISPATCH_ADVICE)
    target = {"callout_id": msg.callout_id}
    try:
        options, current = await conn.service.advise(
            lambda a: (a.recommend(msg.callout_id), a.on_the_way(msg.callout_id)))
    except MaeError as exc:
        await conn.service.record(conn.principal, "recommend", target, conn.client,
                            f"refused {describe(exc).code}")
        raise
    await conn.service.record(conn.principal, "recommend", {**target, "options": len(options)},
                        conn.client, "ok")
    units = conn.service.state.units
    return {"type": "recommendation", "callout_id": msg.callout_id,
            "seq": conn.service.last_seq,
            "options": [{**option_view(o), "missed_ack": units[o.unit_id].missed_ack
                         if o.unit_id in units else None} for o in options],
            # the unit that has the callout, while on its way: its ETA from where it is now
            "current": option_view(current) if current is not None else None}


async def _propose(conn: Connection, msg: Any) -> Reply:
    authorize(conn.principal, Action.DISPATCH_ADVICE)
    proposal = await conn.service.advise(lambda a: a.propose())
    await conn.service.record(conn.principal, "propose", {"options": len(proposal.pairs)},
                        conn.client, "ok")
    return {"type": "proposal", "seq": conn.service.last_seq,
            "pairs": [{"callout_id": c, "unit_id": u, "eta_s": e} for c, u, e in proposal.pairs],
            "waiting": list(proposal.waiting)}


async def _ping(conn: Connection, msg: Any) -> Reply:
    """The last seq and the service's clock (``at``, running ``speed`` times the wall clock's
    pace), from which the pages learn the service's time."""
    clock = conn.service.clock
    return {"type": "pong", "seq": conn.service.last_seq, "at": clock.now().isoformat(),
            "speed": float(getattr(clock, "speed", 1.0))}


# Read-only extras for the dispatcher page: a callout's timeline and the planned follow-ups.
HISTORY_LIMIT = 500


async def _history(conn: Connection, msg: HistoryMsg) -> Reply:
    authorize(conn.principal, Action.DISPATCH_ADVICE)
    found = await conn.service.history(Viewer.of(conn.principal), msg.callout_id,
                                       limit=HISTORY_LIMIT)
    who = {e["event"].get("actor") for e in found.events}
    principals: Principals = conn.ws.app.state.principals
    listed = await asyncio.to_thread(principals.principals)  # off the loop (Redis: I/O)
    actors = {p.principal_id: p.name for p, _ in listed if p.principal_id in who}
    return {"type": "history", "callout_id": msg.callout_id, "seq": found.seq,
            "events": found.events, "actors": actors, "truncated": found.truncated}


async def _follow_ups(conn: Connection, msg: FollowUpsMsg) -> Reply:
    authorize(conn.principal, Action.DISPATCH_ADVICE)
    now = conn.service.clock.now()
    items = [{"callout_id": f.callout_id, "at": f.at.isoformat(), "requested_by": f.requested_by,
              "location": location_view(f.location)}
             for f in conn.service.state.follow_ups
             if now - timedelta(days=1) <= f.at <= now + timedelta(days=2)]
    return {"type": "follow_ups", "at": now.isoformat(), "seq": conn.service.last_seq,
            "follow_ups": sorted(items, key=lambda f: f["at"])}


async def _dispatch_rota(conn: Connection, msg: Any) -> Reply:
    """Every unit's rota shift now and next, and which are due but not signed on."""
    return conn.service.rota_status()


_DISPATCH: dict[str, Handler] = {
    "assign": _assign, "reassign": _assign, "cancel": _cancel, "reopen": _reopen,
    "message": _dispatch_message,
    "merge": _merge, "split": _split,
    "note": _note, "recommend": _recommend, "propose": _propose, "ping": _ping,
    "history": _history, "follow_ups": _follow_ups, "rota": _dispatch_rota,
}


@router.websocket("/ws/dispatch")
async def dispatch_socket(ws: WebSocket) -> None:
    await _serve(ws, Action.DISPATCH_SOCKET, DISPATCH_MESSAGES, _DISPATCH)


# -- crew -------------------------------------------------------------------------------------


def _unit(conn: Connection) -> str:
    unit_id = conn.principal.unit_id
    if unit_id is None:  # pragma: no cover - Principal forbids it
        raise BadMessage("unit", "this principal is bound to no unit")
    return unit_id


async def _ack(conn: Connection, msg: AckMsg) -> Reply:
    unit = _unit(conn)
    return await conn.run_command(Acknowledge(unit, msg.callout_id), "ack",
                                  {"unit_id": unit, "callout_id": msg.callout_id}, op=msg.op)


def _still_on(unit_id: str, callout_id: str) -> Guard:
    """Refuse a status made for ``callout_id`` (perhaps offline) once the unit left it."""

    def guard(state: DispatchState) -> None:
        unit = state.unit(unit_id)
        if unit.callout_id != callout_id:
            now_on = f"is on {unit.callout_id}" if unit.callout_id else "has no callout"
            raise InvalidCommand("callout_id", f"unit {unit_id} is no longer on callout "
                                 f"{callout_id} (cancelled or reassigned); it {now_on}")

    return guard


async def _status(conn: Connection, msg: StatusMsg) -> Reply:
    unit = _unit(conn)
    guard = _still_on(unit, msg.callout_id) if msg.callout_id is not None else None
    command = ReportStatus(unit, msg.status, msg.facility,
                           msg.pressed_at.astimezone(UTC) if msg.pressed_at else None)
    return await conn.run_command(command, "status",
                                  {"unit_id": unit, "status": msg.status.value},
                                  op=msg.op, guard=guard)


async def _position(conn: Connection, msg: PositionMsg) -> Reply:
    unit = _unit(conn)
    await conn.service.map_ready()
    where = conn.service.resolve(lat=msg.lat, lon=msg.lon, place=None, field="position")
    done = await conn.service.report_position(unit, where, principal=conn.principal,
                                              client=conn.client, op=msg.op)
    reply: Reply = {"type": "ok", "kept": done["kept"], "callout_id": done["callout_id"],
                    "seq": done["seq"]}
    if msg.op is not None:
        reply.update(op=msg.op, duplicate=done["duplicate"])
    return reply


async def _outcome(conn: Connection, msg: OutcomeMsg) -> Reply:
    unit = _unit(conn)
    outcome = Outcome(msg.kind, msg.facility, msg.follow_up_at,
                      **{q: getattr(msg, q) for q in CARE_QUESTIONS})
    return await conn.run_command(RecordOutcome(unit, msg.callout_id, outcome), "outcome",
                                  {"unit_id": unit, "callout_id": msg.callout_id,
                                   "kind": msg.kind.value}, op=msg.op)


#: The latest end a crew may give its shift (a rota shift's end is the rota's).
MAX_SHIFT = timedelta(hours=24)


async def _shift_start(conn: Connection, msg: ShiftStartMsg) -> Reply:
    """Sign on: the crew members, the shift's end (given, or the rota shift's) and its
    competences (given, or the unit's registered ones; a doctor on board adds ``doctor``)."""
    unit = _unit(conn)
    now = conn.service.clock.now()
    if msg.ends_at is not None:
        ends = msg.ends_at.astimezone(UTC)
        if ends > now + MAX_SHIFT:
            raise InvalidCommand("ends_at", "a shift must end within 24 hours")
    elif msg.hours is not None:
        ends = now + timedelta(hours=msg.hours)
    else:
        shift = conn.service.sign_on_shift(unit)
        if shift is None:
            raise InvalidCommand("ends_at", f"unit {unit} has no rota shift now: give the end "
                                 "of this extra shift")
        ends = shift.ends_at
    crew = tuple(CrewMember(m.name, m.role) for m in msg.crew)
    competences = sign_on_competences(conn.service.state, unit, msg.competences)
    return await conn.run_command(StartShift(unit, crew, ends, competences),
                                  "shift_start", {"unit_id": unit, "crew_size": len(crew)},
                                  op=msg.op)


async def _crew_rota(conn: Connection, msg: Any) -> Reply:
    """The crew's own unit's rota: its shift now and next, and what a sign-on now is for."""
    unit = _unit(conn)
    status = conn.service.rota_status()
    mine = [u for u in status["units"] if u["unit_id"] == unit]
    return {**status, "units": mine}



async def _assist(conn: Connection, msg: AssistMsg) -> Reply:
    """The assist (panic) button: logged at once with the phone's position (also kept as the
    unit's latest position), so every dispatcher is alerted loudly."""
    unit = _unit(conn)
    where = None
    if msg.lat is not None and msg.lon is not None:
        await conn.service.map_ready()
        where = conn.service.resolve(lat=msg.lat, lon=msg.lon, place=None, field="position")
    return await conn.run_command(RequestAssist(unit, where), "assist", {"unit_id": unit},
                                  op=msg.op)


async def _crew_message(conn: Connection, msg: CrewMessageMsg) -> Reply:
    unit = _unit(conn)  # the audit gets who and which unit, never the text
    return await conn.run_command(SendMessage(unit, msg.text, from_crew=True), "message",
                                  {"unit_id": unit}, op=msg.op)


async def _shift_end(conn: Connection, msg: Any) -> Reply:
    unit = _unit(conn)
    return await conn.run_command(EndShift(unit), "shift_end", {"unit_id": unit})


async def _visit(conn: Connection, msg: VisitMsg) -> Reply:
    """A visit started, done or not met (web.routes.visits.report_visit); exactly-once with
    an ``op``, like a status, so the crew page's outbox sends it after a gap."""
    done = await report_visit(conn.service, conn.principal, conn.client, msg.visit_id,
                              msg.action, unit_id=None, reason=msg.reason, op=msg.op)
    reply: Reply = {"type": "ok", "visit_id": done["visit_id"], "seq": done["seq"],
                    "callout_id": None}
    if msg.op is not None:
        reply.update(op=msg.op, duplicate=done["duplicate"])
    return reply


_CREW: dict[str, Handler] = {
    "ack": _ack, "status": _status, "position": _position, "outcome": _outcome,
    "shift_start": _shift_start, "shift_end": _shift_end, "ping": _ping, "rota": _crew_rota,
    "assist": _assist, "message": _crew_message,
    "visit": _visit,
}


@router.websocket("/ws/crew")
async def crew_socket(ws: WebSocket) -> None:
    await _serve(ws, Action.CREW_SOCKET, CREW_MESSAGES, _CREW)


# -- agency -----------------------------------------------------------------------------------


async def _alarm(conn: Connection, msg: AlarmMsg) -> Reply:
    ack = await submit_alarm(conn.service, conn.principal, msg, client=conn.client)
    return {"type": "alarm_ack", **ack}


_AGENCY: dict[str, Handler] = {"alarm": _alarm, "ping": _ping}


@router.websocket("/ws/agency")
async def agency_socket(ws: WebSocket) -> None:
    await _serve(ws, Action.AGENCY_SOCKET, AGENCY_MESSAGES, _AGENCY)
