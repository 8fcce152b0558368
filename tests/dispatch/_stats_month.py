"""A generated November 2026 whose every count is known: one :class:`Spec` per callout, driven
through the real core (``decide`` → log → apply) into an event log.

The specs vary agencies, places, categories, priorities, patients, outcomes, care answers,
response times and follow-ups by simple cycles, so the tests compute each table's expected
counts from the specs alone. Earlier months hold a few callouts each for the 12-month trend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dispatch.commands import (
    Acknowledge,
    Assign,
    BookVisit,
    CancelCallout,
    CancelVisit,
    Command,
    FinishVisit,
    MarkVisitNotMet,
    MergeCallouts,
    MoveVisit,
    ReceiveAlarm,
    RecordDayPlan,
    RecordOutcome,
    RegisterUnit,
    ReportStatus,
    StartShift,
    StartVisit,
    decide,
)
from dispatch.decision import Decision
from dispatch.events import Envelope
from dispatch.model import (
    AgeBand,
    Agency,
    Alarm,
    Answer,
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

TZ = ZoneInfo("Europe/Stockholm")
MONTH = "2026-11"
START = datetime(2026, 11, 1, tzinfo=TZ)
N = 60  # callouts in November

#: Where alarms come from: a position and the municipality it lies in ("unknown": Umeå, in
#: Västerbotten). Each place's unit, and that unit's base.
PLACES = {
    "Luleå": (Location(65.5848, 22.1547), "MAE-SUNDERBY"),
    "Piteå": (Location(65.3172, 21.4794), "MAE-PITEA"),
    "Kiruna": (Location(67.8558, 20.2253), "MAE-GALLIVARE"),
    "unknown": (Location(63.8258, 20.2630), "MAE-SUNDERBY"),
}
UNITS = {"MAE-SUNDERBY": "sunderbyn", "MAE-PITEA": "pitea", "MAE-GALLIVARE": "gallivare"}
AGENCIES = ((Agency.POLICE,), (Agency.AMBULANCE,), (Agency.PSYCHIATRY,),
            (Agency.POLICE, Agency.AMBULANCE),
            (Agency.POLICE, Agency.AMBULANCE, Agency.PSYCHIATRY))
CATEGORIES = (Category.SUICIDE_RISK, Category.PSYCHOSIS, Category.WORRIED_RELATIVE)
PRIORITIES = (Priority.ACUTE, Priority.URGENT, Priority.NON_URGENT, Priority.URGENT)
SEXES = (Sex.FEMALE, Sex.MALE, Sex.UNKNOWN)
AGES = AgeBand.current()
CHILDREN = (Children.YES, Children.NO, Children.NO, Children.UNKNOWN, Children.NO)
ENDS: tuple[OutcomeKind | str, ...] = (
    OutcomeKind.STAYED_HOME, OutcomeKind.STAYED_HOME, OutcomeKind.TRANSPORTED_MAE,
    OutcomeKind.TRANSPORTED_AMBULANCE, OutcomeKind.REFERRED_PRIMARY_CARE,
    OutcomeKind.ADMITTED_VOLUNTARY, OutcomeKind.COMPULSORY_CARE, "cancelled",
    OutcomeKind.STAYED_HOME, OutcomeKind.TRANSPORTED_POLICE)
ANSWERS = (Answer.YES, Answer.NO, Answer.UNKNOWN)


@dataclass(frozen=True)
class Spec:
    """One callout as planned: what the tables must find."""

    at: datetime
    place: str
    agencies: tuple[Agency, ...]
    category: Category
    priority: Priority
    patient: Patient
    end: OutcomeKind | str  # an outcome, "cancelled" or "open"
    response_min: int | None
    care: dict[str, Answer] = field(default_factory=dict)
    follow_up_at: datetime | None = None
    merged_in: Agency | None = None  # a second callout merged into this one, by this agency

    @property
    def unit(self) -> str:
        return PLACES[self.place][1]

    @property
    def alarms(self) -> tuple[Agency, ...]:
        return (*self.agencies, *((self.merged_in,) if self.merged_in else ()))


def november() -> list[Spec]:
    """The month's callouts, 11 hours apart from 03:00 on 1 November (local)."""
    specs = []
    for i in range(N):
        at = (START + timedelta(hours=3 + 11 * i)).astimezone(UTC)
        end = "open" if i >= N - 2 else ENDS[i % len(ENDS)]
        closed = isinstance(end, OutcomeKind)
        care = {"children_present": ANSWERS[i % 3], "children_informed": ANSWERS[(i + 1) % 3],
                "concern_report": Answer.YES if i % 5 == 0 else Answer.NO,
                "sip_requested": Answer.YES if i % 4 == 0 else Answer.UNKNOWN,
                "care_contact_informed": ANSWERS[i % 2]} if closed else {}
        specs.append(Spec(
            at=at, place=list(PLACES)[i % 4], agencies=AGENCIES[i % 5],
            category=CATEGORIES[i % 3], priority=PRIORITIES[i % 4],
            patient=Patient(AGES[i % 6], SEXES[i % 3], CHILDREN[i % 5]), end=end,
            response_min=10 + (i * 7) % 50 if closed else None, care=care,
            follow_up_at=at + timedelta(days=6) if closed and i % 6 == 0 else None,
            merged_in=Agency.OTHER if i == 0 else None))
    return specs


def earlier() -> list[Spec]:
    """December 2025 to October 2026: 1-3 callouts a month, each stayed home after 20 min."""
    specs = []
    for k in range(11):
        month_start = datetime(2025 + (11 + k) // 12, (11 + k) % 12 + 1, 2, tzinfo=TZ)
        for j in range(k % 3 + 1):
            specs.append(Spec(
                at=(month_start + timedelta(days=j * 5, hours=12)).astimezone(UTC),
                place="Luleå", agencies=(Agency.POLICE,), category=Category.PSYCHOSIS,
                priority=Priority.URGENT, patient=Patient(), end=OutcomeKind.STAYED_HOME,
                response_min=20))
    return specs


def edges() -> list[Spec]:
    """Two callouts half an hour into a local month: 1 November (31 October in UTC) counts in
    November, 1 December (30 November in UTC) does not."""
    return [Spec(at=datetime(2026, month, 1, 0, 30, tzinfo=TZ).astimezone(UTC), place="Piteå",
                 agencies=(Agency.PSYCHIATRY,), category=Category.OTHER,
                 priority=Priority.NON_URGENT, patient=Patient(AgeBand.CHILD, Sex.OTHER),
                 end=OutcomeKind.NO_PATIENT_CONTACT, response_min=15) for month in (11, 12)]


#: What becomes of the k-th planned visit (cycling).
FATES = ("done_in", "done_in", "done_late", "not_met", "cancelled", "open")


@dataclass(frozen=True)
class VisitSpec:
    """One follow-up visit as planned: its first window, what becomes of it, and whether a
    day's plan postpones it or the window is moved (a day later) first."""

    earliest: datetime
    fate: str
    postponed: bool = False
    moved: bool = False

    @property
    def window(self) -> tuple[datetime, datetime]:
        """The final start window (a moved visit's is a day later)."""
        start = self.earliest + timedelta(days=1 if self.moved else 0)
        return start, start + timedelta(hours=2)


def visit_specs() -> list[VisitSpec]:
    """Twelve visits in November, every second day from the 1st at 10:00, and one whose
    window opens on 1 December."""
    specs = [VisitSpec((START + timedelta(days=2 * k, hours=10)).astimezone(UTC),
                       FATES[k % len(FATES)], postponed=k % 4 == 1, moved=k == 2)
             for k in range(12)]
    return [*specs, VisitSpec(datetime(2026, 12, 1, 10, tzinfo=TZ).astimezone(UTC), "open")]


def all_specs() -> list[Spec]:
    return [*earlier(), *november(), *edges()]


class _Core:
    def __init__(self) -> None:
        self.state = DispatchState()
        self.log: list[Envelope] = []

    def do(self, command: Command, now: datetime) -> Decision:
        decision = decide(self.state, command, now=now, actor="generator")
        for event in decision.events:
            env = Envelope(self.state.last_seq + 1, event)
            self.log.append(env)
            self.state.apply(env)
        return decision


def _alarm(spec: Spec, n: int, agency: Agency, link_to: str | None, where: Location) -> Alarm:
    return Alarm(agency=agency, reference=f"G-{n}-{agency.value}", received_at=spec.at,
                 location=where, priority=spec.priority, category=spec.category,
                 patient=spec.patient, note="fri text som aldrig får synas", link_to=link_to)


def event_log(specs: list[Spec], visits: list[VisitSpec] | None = None) -> list[Envelope]:
    """The event log of ``specs`` (and ``visits``, by default :func:`visit_specs`) played
    through the core."""
    visits = visit_specs() if visits is None else visits
    core = _Core()
    first = min(s.at for s in specs) - timedelta(days=1)
    for unit, base in UNITS.items():
        core.do(RegisterUnit(unit, unit, base, PLACES["Luleå"][0]), first)
    ends = max(s.at for s in specs) + timedelta(days=2)  # one long shift: nobody ticks it off
    for unit in UNITS:
        core.do(StartShift(unit, ("Anna",), ends), first)
    for n, spec in enumerate(sorted(specs, key=lambda s: s.at)):
        at, where = spec.at, PLACES[spec.place][0]
        cid = core.do(ReceiveAlarm(_alarm(spec, n, spec.agencies[0], None, where)), at)\
            .callout_id
        assert cid is not None
        for agency in spec.agencies[1:]:
            core.do(ReceiveAlarm(_alarm(spec, n, agency, cid, where)), at)
        if spec.merged_in is not None:  # a callout of its own 5 km away, merged by hand
            away = Location(where.lat + 0.05, where.lon)
            other = core.do(ReceiveAlarm(_alarm(spec, n, spec.merged_in, None, away)), at)
            assert other.callout_id is not None
            core.do(MergeCallouts(cid, other.callout_id), at + timedelta(seconds=30))
        if spec.end == "open":
            continue
        core.do(Assign(cid, spec.unit), at + timedelta(minutes=1))
        core.do(Acknowledge(spec.unit, cid), at + timedelta(minutes=2))
        core.do(ReportStatus(spec.unit, UnitStatus.EN_ROUTE), at + timedelta(minutes=3))
        if spec.end == "cancelled":
            core.do(CancelCallout(cid, "anledning i fritext"), at + timedelta(minutes=5))
            continue
        assert spec.response_min is not None and isinstance(spec.end, OutcomeKind)
        on_scene = at + timedelta(minutes=spec.response_min)
        core.do(ReportStatus(spec.unit, UnitStatus.ON_SCENE), on_scene)
        facility = "Sunderby sjukhus" if spec.end.is_transport else ""
        if spec.end.after_transporting:  # the MAE car drove the patient: reported on the way
            core.do(ReportStatus(spec.unit, UnitStatus.TRANSPORTING),
                    on_scene + timedelta(minutes=10))
            core.do(ReportStatus(spec.unit, UnitStatus.AT_FACILITY, facility),
                    on_scene + timedelta(minutes=25))
        outcome = Outcome(spec.end, facility, spec.follow_up_at, **spec.care)
        core.do(RecordOutcome(spec.unit, cid, outcome), on_scene + timedelta(minutes=30))
        core.do(ReportStatus(spec.unit, UnitStatus.AVAILABLE), on_scene + timedelta(minutes=31))
    for k, visit in enumerate(visits):
        _visit(core, k, visit)
    return core.log


def _visit(core: _Core, k: int, spec: VisitSpec) -> None:
    """Book a visit a day ahead and play its fate (the unit is free: callouts are over)."""
    unit, booked = "MAE-PITEA", spec.earliest - timedelta(days=1)
    vid = core.do(BookVisit(f"V-{k}", PLACES["Piteå"][0], spec.earliest,
                            spec.earliest + timedelta(hours=2), 3600, postpone_cost=600),
                  booked).events[0].visit_id  # type: ignore[attr-defined]
    if spec.moved:
        start, end = spec.window
        core.do(MoveVisit(vid, start, end), booked)
    if spec.postponed:
        day = spec.earliest.astimezone(TZ).strftime("%Y-%m-%d")
        core.do(RecordDayPlan(day, (), postponed=(vid,), cause="test"), booked)
    start, end = spec.window
    if spec.fate in ("done_in", "done_late"):
        began = start + timedelta(minutes=30) if spec.fate == "done_in" else end + \
            timedelta(hours=1)
        core.do(StartVisit(vid, unit), began)
        core.do(FinishVisit(vid, unit), began + timedelta(hours=1))
    elif spec.fate == "not_met":
        core.do(MarkVisitNotMet(vid, None, "ingen hemma"), start)
    elif spec.fate == "cancelled":
        core.do(CancelVisit(vid, "avbokad i fritext"), booked)
