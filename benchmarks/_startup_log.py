"""A realistic event log of any length, written straight into a service database.

Callouts follow the real workflow through the dispatch core (``decide``): an alarm with a
note and patient facts (a third joined by a second agency's alarm), assignment,
acknowledgement, driving with position reports, on scene, a note, sometimes a transport, an
outcome (sometimes with a follow-up visit) and back to available; shifts end and restart now
and then. Rows go in with ``executemany`` in big transactions, so a 1M-event log takes about
half a minute. Used by ``bench_startup.py``.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dispatch.commands import (
    Acknowledge,
    AddNote,
    Assign,
    Command,
    EndShift,
    ReceiveAlarm,
    RecordOutcome,
    RegisterUnit,
    ReportPosition,
    ReportStatus,
    StartShift,
    decide,
)
from dispatch.events import Envelope, event_to_dict
from dispatch.model import (
    AgeBand,
    Agency,
    Alarm,
    Category,
    Children,
    Location,
    Outcome,
    OutcomeKind,
    Patient,
    Priority,
    Sex,
)
from dispatch.state import DispatchState
from dispatch.status import UnitStatus
from web.eventstore import SqliteEventStore

__all__ = ["T0", "build_log", "events"]

T0 = datetime(2022, 1, 1, 6, 0, tzinfo=UTC)
BASES = {"MAE-LULEA": (65.584, 22.154), "MAE-PITEA": (65.317, 21.48),
         "MAE-BODEN": (65.825, 21.689)}
UNITS = [f"{b}-{i}" for b in BASES for i in (1, 2)]
NOTES = ("Anhörig oroad, patienten har slutat ta sin medicin och pratar om att inte orka.",
         "Polis på plats, patienten lugn men förvirrad. Hund i lägenheten.",
         "Uppföljning efter utskrivning förra veckan; bor ensam, två barn varannan vecka.")


def events(n: int, seed: int = 1) -> Iterator[Envelope]:
    """The first ``n`` envelopes of a realistic log (deterministic for a seed)."""
    rnd = random.Random(seed)
    state = DispatchState()
    now = T0
    emitted = 0

    def do(command: Command) -> Iterator[Envelope]:
        nonlocal emitted
        for event in decide(state, command, now=now, actor="bench").events:
            env = Envelope(state.last_seq + 1, event)
            state.apply(env)
            emitted += 1
            yield env

    for unit in UNITS:
        home = unit.rsplit("-", 1)[0]
        yield from do(RegisterUnit(unit, unit.title(), home, Location(*BASES[home])))
        yield from do(StartShift(unit, ("Sjuksköterska A", "Skötare B"),
                                 now + timedelta(days=9999)))
    ref = 0
    while emitted < n:
        now += timedelta(minutes=rnd.randint(20, 60))
        unit = rnd.choice(UNITS)
        base = BASES[unit.rsplit("-", 1)[0]]
        spot = Location(base[0] + rnd.uniform(-0.3, 0.3), base[1] + rnd.uniform(-0.5, 0.5),
                        label=f"Storgatan {rnd.randint(1, 99)}", resolved_from="typed address")
        ref += 1
        alarm = Alarm(agency=rnd.choice([Agency.AMBULANCE, Agency.POLICE, Agency.PSYCHIATRY]),
                      reference=f"R{ref}", received_at=now, location=spot,
                      priority=rnd.choice(list(Priority)), category=rnd.choice(list(Category)),
                      patient=Patient(age_band=rnd.choice([AgeBand.YOUNG, AgeBand.ADULT]),
                                      sex=rnd.choice([Sex.FEMALE, Sex.MALE]),
                                      children=Children.NO),
                      note=rnd.choice(NOTES))
        yield from do(ReceiveAlarm(alarm))
        callout = state.alarm_callout[alarm.alarm_id]
        if rnd.random() < 0.3:
            ref += 1
            now += timedelta(minutes=2)
            yield from do(ReceiveAlarm(Alarm(
                agency=Agency.POLICE, reference=f"R{ref}", received_at=now, location=spot,
                priority=Priority.URGENT, category=Category.AGITATION, note=rnd.choice(NOTES))))
        if (state.callouts[callout].status.value != "waiting"
                or not state.units[unit].status.is_free):
            continue
        steps: list[Command] = [Assign(callout, unit, rnd.uniform(300, 3000)),
                                Acknowledge(unit, callout),
                                ReportStatus(unit, UnitStatus.EN_ROUTE)]
        steps += [ReportPosition(unit, Location(base[0] + rnd.uniform(-0.3, 0.3),
                                                base[1] + rnd.uniform(-0.5, 0.5)))
                  for _ in range(4)]
        steps += [ReportStatus(unit, UnitStatus.ON_SCENE), AddNote(callout, rnd.choice(NOTES))]
        if rnd.random() < 0.15:
            steps += [ReportStatus(unit, UnitStatus.TRANSPORTING),
                      ReportStatus(unit, UnitStatus.AT_FACILITY, "Sunderby sjukhus"),
                      RecordOutcome(unit, callout, Outcome(OutcomeKind.TRANSPORTED_MAE,
                                                           facility="Sunderby sjukhus"))]
        else:
            follow = now + timedelta(days=2) if rnd.random() < 0.2 else None
            steps.append(RecordOutcome(unit, callout, Outcome(OutcomeKind.STAYED_HOME,
                                                              follow_up_at=follow)))
        steps.append(ReportStatus(unit, UnitStatus.AVAILABLE))
        if rnd.random() < 0.05:
            steps += [EndShift(unit), StartShift(unit, ("Sjuksköterska C", "Skötare D"),
                                                 now + timedelta(days=9999))]
        for command in steps:
            now += timedelta(minutes=rnd.randint(1, 8))
            yield from do(command)


def build_log(path: Path, n: int, *, seed: int = 1, batch: int = 20_000) -> int:
    """Write a fresh database at ``path`` holding exactly ``n`` events; returns ``n``."""
    path.unlink(missing_ok=True)
    SqliteEventStore(path).close()  # the service's own schema
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    rows: list[tuple[int, str, str, str]] = []
    written = 0

    def flush() -> None:
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO events (seq, type, at, data) VALUES (?,?,?,?)", rows)
        conn.execute("COMMIT")
        rows.clear()

    for env in events(n, seed):
        if env.seq > n:
            break
        data = event_to_dict(env.event)
        rows.append((env.seq, data["type"], data["at"], json.dumps(data, ensure_ascii=False)))
        written += 1
        if len(rows) >= batch:
            flush()
    flush()
    conn.close()
    return written
