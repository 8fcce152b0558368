"""Write ``log_v1.jsonl``: one short Norrbotten afternoon shift driven through ``decide``.

Every command goes through :func:`dispatch.commands.decide` and every event it returns is folded
into the state before the next command, exactly as the service does; each line is
``{"seq": n, **event_to_dict(event)}``, the form the live log and replay files use. The shift
produces at least one event of each of the fifteen event types.

``log_v1.jsonl`` was written by this script before events carried a schema version, so its lines
have no ``"v"`` key: it is what a log from that time looks like, and it is kept as it is (never
regenerated) so the tests show such a log still loads. Run today, the script writes the same
events with ``"v": 1`` (until the rules or an event's schema change). From the repository root::

    .venv/bin/python tests/data/events/make_log_v1.py /tmp/log.jsonl   # never over log_v1.jsonl
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dispatch.commands import (
    Acknowledge,
    AddNote,
    Assign,
    CancelCallout,
    Command,
    EndShift,
    MergeCallouts,
    Reassign,
    ReceiveAlarm,
    RecordOutcome,
    RegisterUnit,
    ReportPosition,
    ReportStatus,
    SplitCallout,
    StartShift,
    Tick,
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

__all__ = ["T0", "shift_log"]

T0 = datetime(2026, 1, 15, 14, 0, tzinfo=UTC)

SUNDERBY = Location(65.6305, 21.9960, label="Sunderby sjukhus")
PITEA = Location(65.3172, 21.4794, label="Piteå")
GALLIVARE = Location(67.1339, 20.6528, label="Gällivare")
LULEA = Location(65.5842, 22.1547, label="Luleå")
LULEA_NEAR = Location(65.5853, 22.1560)  # about 140 m from LULEA
PITEA_EAST = Location(65.3180, 21.4905)  # about 520 m from PITEA
BODEN = Location(65.8252, 21.6886, label="Boden")
HALFWAY = Location(65.6080, 22.0750)

ADMIN = "a1c0ffee00000001"
DISPATCHER = "d15a7c4e00000002"
POLICE = "b0117ce000000003"
AMBULANCE = "a3b01a0000000004"
PSYCHIATRY = "9591c4a700000005"
CREW_SUNDERBY = "c4e35b0000000006"
CREW_PITEA = "c4e3e17a00000007"
PSYK_AKUT = "Sunderby sjukhus, psykiatrisk akutmottagning"


def _alarm(agency: Agency, ref: str, minute: int, where: Location, priority: Priority,
           category: Category, patient: Patient | None = None, *, link_to: str | None = None,
           police_on_scene: bool = False) -> ReceiveAlarm:
    return ReceiveAlarm(Alarm(
        agency=agency, reference=ref, received_at=T0 + timedelta(minutes=minute),
        location=where, priority=priority, category=category, patient=patient or Patient(),
        police_on_scene=police_on_scene, link_to=link_to,
    ))


def _script() -> list[tuple[float, str, Command]]:
    """(minutes after 14:00, actor, command) for the whole shift, in order."""
    woman = Patient(AgeBand.LEGACY_ADULT, Sex.FEMALE, Children.YES)
    man = Patient(AgeBand.MIDDLE, Sex.MALE, Children.NO)
    ends = T0 + timedelta(hours=8)
    return [
        (0, ADMIN, RegisterUnit("MAE-SUNDERBY", "MAE Sunderbyn", "Sunderbyn", SUNDERBY)),
        (0, ADMIN, RegisterUnit("MAE-PITEA", "MAE Piteå", "Piteå", PITEA)),
        (0, ADMIN, RegisterUnit("MAE-GALLIVARE", "MAE Gällivare", "Gällivare", GALLIVARE)),
        (0, CREW_SUNDERBY, StartShift("MAE-SUNDERBY", ("ssk-1", "ssk-2"), ends, ("lpt",))),
        (0, CREW_PITEA, StartShift("MAE-PITEA", ("ssk-3", "ssk-4"), ends)),
        (0, ADMIN, StartShift("MAE-GALLIVARE", ("ssk-5", "ssk-6"), T0 + timedelta(hours=2))),
        (5, CREW_SUNDERBY, ReportPosition("MAE-SUNDERBY", SUNDERBY)),
        # Police and ambulance about one person in Luleå: the second alarm joins the first.
        (12, POLICE, _alarm(Agency.POLICE, "P-26-1001", 12, LULEA, Priority.URGENT,
                            Category.SUICIDE_RISK, woman, police_on_scene=True)),
        (14, AMBULANCE, _alarm(Agency.AMBULANCE, "A-77", 14, LULEA_NEAR, Priority.ACUTE,
                               Category.SUICIDE_RISK, woman)),
        (15, DISPATCHER, Assign("C000001", "MAE-SUNDERBY", 780.0)),
        (16 + 5 / 60, "system", Tick()),  # not acknowledged within the minute
        (16.5, DISPATCHER, Assign("C000001", "MAE-SUNDERBY", 760.0)),
        (16 + 50 / 60, CREW_SUNDERBY, Acknowledge("MAE-SUNDERBY", "C000001")),
        (17, CREW_SUNDERBY, ReportStatus("MAE-SUNDERBY", UnitStatus.EN_ROUTE)),
        (24, CREW_SUNDERBY, ReportPosition("MAE-SUNDERBY", HALFWAY)),
        (29, CREW_SUNDERBY, ReportStatus("MAE-SUNDERBY", UnitStatus.ON_SCENE)),
        (30, DISPATCHER, AddNote("C000001", "Police on scene; door code given by phone.")),
        # Two alarms in Piteå half a kilometre apart: the dispatcher merges them by hand.
        (31, POLICE, _alarm(Agency.POLICE, "P-26-1002", 31, PITEA, Priority.URGENT,
                            Category.PSYCHOSIS, man)),
        (33, AMBULANCE, _alarm(Agency.AMBULANCE, "A-78", 33, PITEA_EAST, Priority.URGENT,
                               Category.AGITATION, man)),
        (34, DISPATCHER, Assign("C000003", "MAE-PITEA", 420.0)),
        (35, DISPATCHER, MergeCallouts("C000002", "C000003")),
        (35.5, DISPATCHER, Assign("C000002", "MAE-PITEA", 400.0)),
        # Psychiatry links its alarm to the Piteå callout; it turns out to be another person.
        (36, PSYCHIATRY, _alarm(Agency.PSYCHIATRY, "X-501", 36, PITEA, Priority.NON_URGENT,
                                Category.WORRIED_RELATIVE, link_to="C000002")),
        (38, DISPATCHER, SplitCallout("C000002", "psychiatry/X-501")),
        (40, DISPATCHER, CancelCallout("C000004", "handled by phone")),
        (41, CREW_PITEA, ReportStatus("MAE-PITEA", UnitStatus.EN_ROUTE)),  # acknowledges too
        (47, CREW_PITEA, ReportStatus("MAE-PITEA", UnitStatus.ON_SCENE)),
        (65, CREW_SUNDERBY, ReportStatus("MAE-SUNDERBY", UnitStatus.TRANSPORTING)),
        (80, CREW_SUNDERBY, ReportStatus("MAE-SUNDERBY", UnitStatus.AT_FACILITY, PSYK_AKUT)),
        (85, CREW_SUNDERBY, RecordOutcome("MAE-SUNDERBY", "C000001",
                                          Outcome(OutcomeKind.TRANSPORTED_MAE, PSYK_AKUT))),
        (90, CREW_PITEA, RecordOutcome("MAE-PITEA", "C000002", Outcome(
            OutcomeKind.STAYED_HOME, follow_up_at=T0 + timedelta(hours=20)))),
        (92, CREW_PITEA, ReportStatus("MAE-PITEA", UnitStatus.RETURNING)),
        (95, CREW_SUNDERBY, ReportStatus("MAE-SUNDERBY", UnitStatus.AVAILABLE)),
        # A Boden alarm first goes to the returning Piteå car, then to the closer one.
        (105, POLICE, _alarm(Agency.POLICE, "P-26-1003", 105, BODEN, Priority.NON_URGENT,
                             Category.INTOXICATION)),
        (106, DISPATCHER, Assign("C000005", "MAE-PITEA", 2400.0)),
        (107, DISPATCHER, Reassign("C000005", "MAE-SUNDERBY", 1500.0)),
        (107.5, CREW_SUNDERBY, Acknowledge("MAE-SUNDERBY", "C000005")),
        (108, CREW_SUNDERBY, ReportStatus("MAE-SUNDERBY", UnitStatus.EN_ROUTE)),
        (120, "system", Tick()),  # Gällivare's shift is over
        (133, CREW_SUNDERBY, ReportStatus("MAE-SUNDERBY", UnitStatus.ON_SCENE)),
        (150, CREW_SUNDERBY, RecordOutcome("MAE-SUNDERBY", "C000005",
                                           Outcome(OutcomeKind.REFERRED_SOCIAL_SERVICES))),
        (151, CREW_SUNDERBY, ReportStatus("MAE-SUNDERBY", UnitStatus.RETURNING)),
        (155, CREW_PITEA, ReportStatus("MAE-PITEA", UnitStatus.UNAVAILABLE)),  # refuelling
        (170, CREW_PITEA, ReportStatus("MAE-PITEA", UnitStatus.AVAILABLE)),
        (180, CREW_PITEA, EndShift("MAE-PITEA")),
    ]


def shift_log() -> list[Envelope]:
    """The shift's event log, from running its commands through ``decide``."""
    state = DispatchState()
    log: list[Envelope] = []
    for minutes, actor, command in _script():
        now = T0 + timedelta(minutes=minutes)
        for event in decide(state, command, now=now, actor=actor).events:
            envelope = Envelope(state.last_seq + 1, event)
            state.apply(envelope)
            log.append(envelope)
    return log


def main(out: Path) -> None:
    with out.open("w", encoding="utf-8") as fh:
        for env in shift_log():
            line = json.dumps({"seq": env.seq, **event_to_dict(env.event)},
                              ensure_ascii=False, separators=(",", ":"))
            fh.write(line + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
