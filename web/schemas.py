"""The pydantic models of the web edge: request bodies and socket messages (``…In``) and
response bodies (``…Out``). They check shape and ranges; the core checks the rules. Nothing
outside ``web/`` sees these: routes and sockets convert them to core values at once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from dispatch.model import (
    MAX_CREW,
    MAX_CREW_NAME_CHARS,
    MAX_NOTE_CHARS,
    MAX_REASON_CHARS,
    NOT_PRINTABLE,
    AgeBand,
    Answer,
    Category,
    Children,
    CrewRole,
    OutcomeKind,
    Priority,
    Sex,
    is_printable,
)
from dispatch.status import UnitStatus
from web.errors import BadMessage

__all__ = [
    "AGENCY_MESSAGES",
    "CREW_MESSAGES",
    "DISPATCH_MESSAGES",
    "SAFE_REFERENCE",
    "AlarmAckOut",
    "AlarmIn",
    "AlarmStatusOut",
    "AuditOut",
    "CalloutHistoryOut",
    "CalloutOut",
    "CalloutSummaryOut",
    "CoverageOut",
    "CoveredPlaceOut",
    "CrewMemberIn",
    "CrewMemberOut",
    "ErrorOut",
    "FacilityOut",
    "FreeUnitOut",
    "HealthOut",
    "LocationIn",
    "LocationOut",
    "MapOut",
    "MonthStatsOut",
    "PatientIn",
    "PlaceMatchOut",
    "PlaceOut",
    "PrincipalOut",
    "ReachOut",
    "ReplayOut",
    "RoadOut",
    "RotaOut",
    "RotaShiftOut",
    "RotaUnitOut",
    "RouteOut",
    "StatsOut",
    "StepOut",
    "StorageOut",
    "TokenCreatedOut",
    "TokenIn",
    "UnitOut",
    "VisitAckOut",
    "VisitCancelIn",
    "VisitIn",
    "VisitMoveIn",
    "VisitMsg",
    "VisitOut",
    "VisitPinIn",
    "VisitPlanOut",
    "VisitReportIn",
    "field_name",
    "parse_message",
    "validation_errors",
]

#: An agency's reference (and a CAP identifier or sender): no path separators, no leading dot.
SAFE_REFERENCE = r"^[A-Za-z0-9][A-Za-z0-9._:@+-]*$"
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:/-]+$")]
MessageId = Annotated[str, Field(max_length=64)] | Annotated[int, Field(ge=0, le=2**53)] | None
#: One competence of a crew or unit (e.g. ``doctor``).
def _printable(value: str) -> str:
    """Refuse text with control or formatting characters (:func:`is_printable`)."""
    if not is_printable(value):
        raise ValueError(NOT_PRINTABLE)
    return value


#: A name or a word shown to people (a crew member, a token's holder, a competence).
Printable = Annotated[str, AfterValidator(_printable)]
Competence = Annotated[Printable, Field(min_length=1, max_length=40)]
OpId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
                            description="a client-made id (a UUID) that makes the message "
                            "exactly-once: a repeat returns the first reply, duplicate=true")]


def _whole_priority(value: Any) -> Any:
    """Refuse a priority given as text or true/false: ``"1"`` and ``true`` are a client's
    mistake, not a priority (pydantic's lax mode would take them as 1)."""
    if isinstance(value, (str, bool, float)):
        raise ValueError("must be the number 1, 2 or 3 (not text, true/false or a fraction)")
    return value


#: An alarm's priority as a client sends it: the number 1, 2 or 3.
WholePriority = Annotated[Priority, BeforeValidator(_whole_priority)]
def _in_the_years_commands_take(value: datetime) -> datetime:
    """Refuse a time whose own year is outside 2000-2099 before anything converts it: at
    datetime's ends a time zone's offset overflows (year 1 at +23:59 has no UTC time), which
    was a 500. The core checks the exact range in UTC (``dispatch.model.check_time``)."""
    if not 2000 <= value.year <= 2099:
        raise ValueError("must be a time in the years 2000-2099")
    return value


#: A time as a client sends it: ISO 8601 with its offset, in the years 2000-2099.
Time = Annotated[AwareDatetime, AfterValidator(_in_the_years_commands_take)]
#: Coordinates as a client sends them: JSON numbers (text such as ``"65.5"`` is refused).
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, strict=True)]
Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, strict=True)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# -- shared pieces --------------------------------------------------------------------------


class LocationIn(_In):
    """Coordinates, or the name of a place of the loaded map (resolved by its gazetteer)."""

    lat: Lat | None = None
    lon: Lon | None = None
    place: str | None = Field(default=None, min_length=1, max_length=120)

    @model_validator(mode="after")
    def _one_way(self) -> LocationIn:
        if self.place is None and (self.lat is None or self.lon is None):
            raise ValueError("give both lat and lon, or a place name")
        return self


class LocationOut(BaseModel):
    lat: float
    lon: float
    label: str = Field(description="the place name it was resolved to, if any")
    resolved_from: str = Field(description="the name the sender gave, if any")


class PatientIn(_In):
    age_band: AgeBand = Field(
        default=AgeBand.UNKNOWN, json_schema_extra={"enum": [b.value for b in AgeBand.current()]},
        description="0-17, 18-25, 26-44, 45-64, 65+ or unknown (18-24 and 25-44 are "
        "legacy bands of old events, refused for new alarms)")

    @field_validator("age_band")
    @classmethod
    def _current_band(cls, band: AgeBand) -> AgeBand:
        """New alarms record the current bands: a legacy one would mix 25-year-olds in."""
        if band.legacy:
            raise ValueError(f"{band.value} is a legacy band; use one of "
                             + ", ".join(b.value for b in AgeBand.current()))
        return band
    sex: Sex = Sex.UNKNOWN
    children: Children = Children.UNKNOWN


class AlarmIn(_In):
    """An alarm as an agency sends it; the agency comes from its token."""

    reference: str = Field(min_length=1, max_length=64, pattern=SAFE_REFERENCE,
                           description="the agency's own id: letters, digits and ._:@+- "
                           "(no slashes, no leading dot)")
    location: LocationIn
    priority: WholePriority
    category: Category
    # a factory, not a default instance: pydantic deep-copies a model default on every alarm
    # sent without a patient (about 4 % of the event loop in the service benchmark)
    patient: PatientIn = Field(default_factory=PatientIn)
    note: str = Field(default="", max_length=MAX_NOTE_CHARS,
                      description="free text for the crew; never logged")
    police_on_scene: bool = Field(default=False, strict=True)
    ambulance_on_scene: bool = Field(default=False, strict=True)
    link_to: Id | None = Field(default=None, description="a callout id this alarm is about")
    callback: str = Field(default="", max_length=30, pattern=r"^(\+?[0-9][0-9 -]{1,28}[0-9])?$",
                          description="a phone number the crew may call back (optional; "
                          "erased by retention)")


# -- REST responses --------------------------------------------------------------------------


class ErrorOut(BaseModel):
    error: str
    field: str | None
    message: str
    suggestions: list[str] | None = None
    errors: list[dict[str, str]] | None = None


class AlarmAckOut(BaseModel):
    alarm_id: str
    callout_id: str
    duplicate: bool = Field(description="true when this reference was already received")
    seq: int = Field(description="the log position the alarm is durable at")
    location: LocationOut


class AlarmStatusOut(BaseModel):
    alarm_id: str
    agency: str
    reference: str
    received_at: datetime
    location: LocationOut
    callout_id: str
    status: str
    priority: int
    unit_id: str | None
    eta_s: float | None
    eta_at: datetime | None
    eta_remaining_s: float | None


class CrewMemberOut(BaseModel):
    name: str
    role: str = Field(description="nurse, doctor, driver, student, other; unknown for shifts "
                      "logged before roles were recorded")


class UnitOut(BaseModel):
    unit_id: str
    name: str
    base: str
    status: str
    status_since: datetime | None
    position: LocationOut
    position_at: datetime | None
    callout_id: str | None
    shift_ends_at: datetime | None
    crew_size: int
    crew: list[CrewMemberOut] = Field(description="who is on board this shift (staff)")
    competences: list[str]
    registered_competences: list[str] = Field(
        default_factory=list, description="the unit's own competences (its registration)")
    seats: int | None = Field(default=None, description="seats in the car; null: not recorded")
    retired: bool = Field(default=False, description="retired units are kept for the history")
    missed_ack: str | None = Field(default=None, description="the callout whose assignment "
                                   "it last let time out unacknowledged, if it has not "
                                   "acknowledged one since")


class RotaShiftOut(BaseModel):
    starts_at: datetime
    ends_at: datetime


class RotaUnitOut(BaseModel):
    unit_id: str
    current: RotaShiftOut | None = Field(description="its rota shift now")
    next: RotaShiftOut | None = Field(description="its next rota shift")
    sign_on: RotaShiftOut | None = Field(
        description="the shift a sign-on now is for (now, or starting within the hour); null: "
        "an extra shift, whose end the crew gives")
    due_not_signed_on: bool = Field(description="its rota shift has started, nobody signed on")


class RotaOut(BaseModel):
    at: datetime
    timezone: str = Field(description="the zone the rota's local times are in")
    units: list[RotaUnitOut]


class NoteOut(BaseModel):
    at: datetime
    actor: str
    text: str


class OutcomeOut(BaseModel):
    kind: str
    facility: str
    follow_up_at: datetime | None
    children_present: str = "unknown"
    children_informed: str = "unknown"
    concern_report: str = "unknown"
    sip_requested: str = "unknown"
    care_contact_informed: str = "unknown"


class CalloutAlarmOut(BaseModel):
    alarm_id: str
    agency: str
    reference: str
    received_at: datetime
    location: LocationOut
    priority: int
    category: str
    patient: dict[str, str]
    note: str
    callback: str = ""
    police_on_scene: bool
    ambulance_on_scene: bool


class CalloutOut(BaseModel):
    callout_id: str
    status: str
    priority: int
    created_at: datetime
    location: LocationOut
    alarm_ids: list[str]
    alarms: list[CalloutAlarmOut]
    unit_id: str | None
    eta_s: float | None
    eta_at: datetime | None
    ack_deadline: datetime | None
    ack_overdue: bool
    merged_into: str | None
    on_scene_at: datetime | None = Field(
        default=None, description="when its unit was first on scene (the crew's press time)")
    cancelled_at: datetime | None = Field(default=None, description="when it was cancelled")
    outcome: OutcomeOut | None
    notes: list[NoteOut]


class AuditOut(BaseModel):
    at: datetime
    principal_id: str
    role: str
    action: str
    target: dict[str, Any]
    client: str
    result: str


class StorageOut(BaseModel):
    store: str = Field(description="events, audit or positions")
    ok: bool
    error: str | None = Field(default=None, description="what the store said (disk full…)")


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    seq: int
    units: int
    open_callouts: int
    write_queue: int = Field(default=0, description="commands waiting for the writer")
    accepting_writes: bool = Field(default=True, description="false while commands are "
                                   "refused: the writer halted, or the event log failing "
                                   "its writes")
    storage: list[StorageOut] = Field(default_factory=list,
                                      description="the stores failing now (empty when all work)")
    routing_prepared: bool = Field(default=True, description="false while routing for some "
                                   "traffic situation is still prepared in the background "
                                   "(answers meanwhile come from plain search)")
    history_loaded: bool = Field(default=True, description="false while a start still decodes "
                                 "the closed history in the background (commands and reads of "
                                 "closed callouts wait for it, about a second)")
    planning: Literal["here", "elsewhere", "off"] = Field(
        default="off", description="who plans the day's follow-up visits: this instance, "
        "another one (it holds the planner lease on the shared Redis store; while Redis does "
        "not answer, possibly none until it does), or nobody here (MAE_PLANNING=false)")


class ReplayOut(BaseModel):
    """One replay log; ``problem`` says what is wrong with one that cannot be read."""

    name: str
    events: int
    first_at: datetime | None
    last_at: datetime | None
    problem: str | None = None


# -- socket messages -------------------------------------------------------------------------


class _Msg(_In):
    id: MessageId = None


class AlarmMsg(_Msg, AlarmIn):
    type: Literal["alarm"]


class AssignMsg(_Msg):
    type: Literal["assign", "reassign"]
    callout_id: Id
    unit_id: Id
    eta_s: float | None = Field(default=None, ge=0, le=7 * 86400, allow_inf_nan=False,
                                strict=True)


class CancelMsg(_Msg):
    type: Literal["cancel"]
    callout_id: Id
    reason: str = Field(default="", max_length=MAX_REASON_CHARS)
    code: str = Field(default="", max_length=32, description="why, from a short list: "
                      "not_needed, duplicate, other_agency, patient_not_found, wrong_alarm, "
                      "other (needs a reason in words)")


class ReopenMsg(_Msg):
    type: Literal["reopen"]
    callout_id: Id


class MergeMsg(_Msg):
    type: Literal["merge"]
    target_id: Id
    source_id: Id


class SplitMsg(_Msg):
    type: Literal["split"]
    callout_id: Id
    alarm_id: Id


class NoteMsg(_Msg):
    type: Literal["note"]
    callout_id: Id
    text: str = Field(min_length=1, max_length=MAX_NOTE_CHARS)


class RecommendMsg(_Msg):
    type: Literal["recommend"]
    callout_id: Id


class ProposeMsg(_Msg):
    type: Literal["propose"]


class PingMsg(_Msg):
    type: Literal["ping"]


class AssistMsg(_Msg):
    """The crew's assist (panic) button, with the phone's last position if it has one."""

    type: Literal["assist"]
    lat: Lat | None = None
    lon: Lon | None = None
    op: OpId | None = None


class CrewMessageMsg(_Msg):
    """A short message from the crew to the dispatchers (never logged)."""

    type: Literal["message"]
    text: str = Field(min_length=1, max_length=280)
    op: OpId | None = None


class DispatchMessageMsg(_Msg):
    """A short message from a dispatcher to one unit's crew (never logged)."""

    type: Literal["message"]
    unit_id: Id
    text: str = Field(min_length=1, max_length=280)


class AckMsg(_Msg):
    type: Literal["ack"]
    callout_id: Id
    op: OpId | None = None


class StatusMsg(_Msg):
    type: Literal["status"]
    status: UnitStatus
    facility: str = Field(default="", max_length=120)
    callout_id: Id | None = Field(default=None, description="the callout this status is for; "
                                  "refused if the unit is no longer on it")
    pressed_at: Time | None = Field(
        default=None, description="when the crew pressed it (service time), if it waited "
        "offline; recorded bounded: not before the unit's last status, not in the future")
    op: OpId | None = None


class PositionMsg(_Msg):
    type: Literal["position"]
    lat: Lat
    lon: Lon
    op: OpId | None = None


class OutcomeMsg(_Msg):
    type: Literal["outcome"]
    op: OpId | None = None
    callout_id: Id
    kind: OutcomeKind
    facility: str = Field(default="", max_length=120)
    follow_up_at: Time | None = None
    children_present: Answer = Field(default=Answer.UNKNOWN, description="children present "
                                     "at the visit")
    children_informed: Answer = Field(default=Answer.UNKNOWN, description="children spoken "
                                      "with or informed")
    concern_report: Answer = Field(default=Answer.UNKNOWN, description="a concern report to "
                                   "social services made (orosanmälan)")
    sip_requested: Answer = Field(default=Answer.UNKNOWN, description="a coordinated "
                                  "individual plan (SIP) asked for")
    care_contact_informed: Answer = Field(default=Answer.UNKNOWN, description="a named care "
                                          "contact informed")


class CrewMemberIn(_In):
    """One person on board: a member of staff, by name, and what they do."""

    name: Printable = Field(min_length=1, max_length=MAX_CREW_NAME_CHARS)
    role: CrewRole


class ShiftStartMsg(_Msg):
    """Sign on: who is on board, and until when. The end is ``ends_at``, else ``hours`` from
    now, else the end of the unit's rota shift (now, or starting within the hour); a sign-on
    with no rota shift (an extra shift) must give one of the two. With an ``op`` it is
    exactly-once, so the crew page queues it offline like a status."""

    type: Literal["shift_start"]
    crew: list[CrewMemberIn] = Field(
        min_length=1, max_length=MAX_CREW,
        description="members {name, role}; a bare name (older clients) has role unknown")

    @field_validator("crew", mode="before")
    @classmethod
    def _bare_names(cls, value: Any) -> Any:
        """Older clients send bare names: each is a member whose role is unknown."""
        if isinstance(value, list):
            return [{"name": v, "role": CrewRole.UNKNOWN.value} if isinstance(v, str) else v
                    for v in value]
        return value

    ends_at: Time | None = None
    hours: float | None = Field(default=None, gt=0, le=24, allow_inf_nan=False, strict=True)
    competences: list[Competence] | None = Field(
        default=None, max_length=20,
        description="what the crew on board can do this shift (the page offers the unit's "
        "registered competences, e.g. doctor); left out: the unit's registered competences")
    op: OpId | None = None


class ShiftEndMsg(_Msg):
    type: Literal["shift_end"]


class RotaMsg(_Msg):
    """Ask for the rota: each unit's shift now and next, and who is due but not signed on."""

    type: Literal["rota"]


class HistoryMsg(_Msg):
    """Ask for the logged events about one callout (and the callouts merged into it); the
    reply's ``truncated`` says older ones were left out (past the last 500, or older than the
    events the service keeps audiences for, ``backlog_window``)."""

    type: Literal["history"]
    callout_id: Id


class FollowUpsMsg(_Msg):
    """Ask for the follow-up visits planned from a day ago to two days ahead."""

    type: Literal["follow_ups"]


# -- follow-up visits (web/routes/visits.py) --------------------------------------------------

#: A pseudonymous patient reference: never a name or a personal number (the core checks that).
PatientRef = Annotated[str, Field(min_length=1, max_length=32,
                                  pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")]


class VisitIn(_In):
    """Book a follow-up visit: where, the start window (may span days), how long, what it
    needs, and whether (and at what cost) it may be postponed to another day."""

    patient_ref: PatientRef = Field(description="a pseudonymous reference, never a name or "
                                    "personal number")
    location: LocationIn
    earliest_start: Time
    latest_start: Time
    duration_min: int = Field(ge=5, le=480, strict=True)
    competences: list[Competence] = Field(default_factory=list, max_length=20,
                                          description="e.g. doctor")
    staff: int = Field(default=1, ge=1, le=6, strict=True, description="how many staff must go")
    postponable: bool = Field(default=True, strict=True)
    postpone_cost_min: int = Field(default=60, ge=0, le=10080, strict=True,
                                   description="minutes of driving worth avoiding a "
                                   "postponement (when postponable)")


class VisitMoveIn(_In):
    earliest_start: Time
    latest_start: Time
    duration_min: int | None = Field(default=None, ge=5, le=480, strict=True)


class VisitPinIn(_In):
    """Pin a visit for the planner to a unit and/or a start time; nulls unpin."""

    unit_id: Id | None = None
    start: Time | None = None


class VisitCancelIn(_In):
    reason: str = Field(default="", max_length=MAX_REASON_CHARS)


class VisitReportIn(_In):
    """A visit started, done or not met. A crew's unit comes from its token; a dispatcher
    names the unit. ``op`` makes it exactly-once (the crew page's offline outbox)."""

    unit_id: Id | None = None
    reason: str = Field(default="", max_length=MAX_REASON_CHARS)
    op: OpId | None = None


class VisitAckOut(BaseModel):
    visit_id: str
    seq: int
    duplicate: bool = False


class VisitOut(BaseModel):
    visit_id: str
    patient_ref: str
    location: LocationOut
    earliest_start: datetime
    latest_start: datetime
    duration_s: int
    competences: list[str]
    staff: int
    postpone_cost: int | None
    source: str
    agency: str
    callout_id: str | None
    status: str
    booked_at: datetime
    booked_by: str
    changed_at: datetime | None
    changed_by: str
    unit_id: str | None
    pinned_unit: str | None
    pinned_start: datetime | None
    moves: int
    planned_unit: str | None
    planned_start: datetime | None
    planned_arrival: datetime | None
    postponed: bool
    at_risk: bool


class VisitPlanOut(BaseModel):
    """A day's plan: routes per unit (the crew sees its own), postponed and unplaced visits."""

    day: str
    revision: int
    planned_at: datetime | None
    cause: str
    routes: list[dict[str, Any]]
    postponed: list[str]
    unplaced: list[str]
    visits: list[VisitOut]


class VisitMsg(_Msg):
    """A crew's visit report over its socket: ``action`` started, done or not met."""

    type: Literal["visit"]
    action: Literal["start", "done", "not_met"]
    visit_id: Id
    reason: str = Field(default="", max_length=MAX_REASON_CHARS)
    op: OpId | None = None


DISPATCH_MESSAGES: dict[str, type[_Msg]] = {
    "assign": AssignMsg, "reassign": AssignMsg, "cancel": CancelMsg, "reopen": ReopenMsg,
    "merge": MergeMsg, "message": DispatchMessageMsg,
    "split": SplitMsg, "note": NoteMsg, "recommend": RecommendMsg, "propose": ProposeMsg,
    "ping": PingMsg, "history": HistoryMsg, "follow_ups": FollowUpsMsg, "rota": RotaMsg,
}
CREW_MESSAGES: dict[str, type[_Msg]] = {
    "ack": AckMsg, "status": StatusMsg, "position": PositionMsg, "outcome": OutcomeMsg,
    "shift_start": ShiftStartMsg, "shift_end": ShiftEndMsg, "ping": PingMsg, "rota": RotaMsg,
    "assist": AssistMsg, "message": CrewMessageMsg,
    "visit": VisitMsg,
}
AGENCY_MESSAGES: dict[str, type[_Msg]] = {"alarm": AlarmMsg, "ping": PingMsg}


def validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """pydantic's errors as ``{field, message}`` pairs (without the offending input)."""
    return [{"field": field_name(e["loc"]) or "body", "message": e["msg"]}
            for e in exc.errors(include_input=False, include_url=False)]


#: The names pydantic gives the steps of a constrained or validated type in an error's place.
_PYDANTIC_STEP = re.compile(r"constrained-\w+|function-(after|before|wrap|plain)\[.*\]|"
                            r"(tagged-)?union\[.*\]|json-or-python\[.*\]")


def field_name(loc: Sequence[object]) -> str:
    """pydantic's place of an error as the client names the field: ``location.lat``, not
    ``id.constrained-str``."""
    return ".".join(str(p) for p in loc if not _PYDANTIC_STEP.fullmatch(str(p)))


def parse_message(data: Any, kinds: dict[str, type[_Msg]]) -> _Msg:
    """The socket message ``data`` as its model, or :class:`BadMessage` naming the field."""
    if not isinstance(data, dict):
        raise BadMessage("", "a message is a JSON object with a 'type' field")
    kind = data.get("type")
    model = kinds.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise BadMessage("type", f"{kind!r} is not one of {', '.join(sorted(kinds))}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = validation_errors(exc)
        raise BadMessage(errors[0]["field"], errors[0]["message"], errors=errors) from None


# -- map data: /api/map, /api/places, /api/coverage, /api/route (web/routes/mapdata.py) ---------

class RoadOut(BaseModel):
    """A run of one road class and number between junctions, as a polyline to draw."""

    road_class: str = Field(alias="class", description="motorway, trunk, primary ... track")
    ref: str | None = Field(description="the road number (E4, väg 97), if any")
    coords: list[list[float]] = Field(description="[lat, lon] points")


class PlaceOut(BaseModel):
    """A named place of the map with its population."""

    name: str
    lat: float
    lon: float
    population: int
    kind: str
    municipality: str = ""


class FacilityOut(BaseModel):
    """A hospital, psychiatric emergency reception or MAE base."""

    name: str
    kind: str
    kinds: list[str]
    lat: float
    lon: float
    place: str


class MapOut(BaseModel):
    """The loaded map as the pages draw it."""

    name: str
    bounds: list[list[float]]
    tile_url: str | None
    roads: list[RoadOut]
    places: list[PlaceOut]
    bases: list[FacilityOut]
    facilities: list[FacilityOut]


class ReachOut(BaseModel):
    """Whether a road of the loaded map lies within ``limit_m`` of a point (an alarm's
    coordinates are held to the same limit)."""

    lat: float
    lon: float
    reachable: bool
    limit_m: float


class PlaceMatchOut(PlaceOut):
    """A place found by name; ``matched`` is the name (or other name) that matched."""

    matched: str


class FreeUnitOut(BaseModel):
    """A free unit counted by the coverage; ``on_map`` is false when it stands off the roads."""

    unit_id: str
    name: str
    status: str
    lat: float
    lon: float
    on_map: bool


class CoveredPlaceOut(BaseModel):
    """A place with the road minutes from its nearest free unit (null: none reaches it)."""

    name: str
    lat: float
    lon: float
    population: int
    minutes: float | None
    unit_id: str | None


class CoverageOut(BaseModel):
    """Coverage of the map by the free units now: per place, and population per band."""

    at: str
    free_units: list[FreeUnitOut]
    places: list[CoveredPlaceOut]
    bands: dict[str, int]
    population: int


class StepOut(BaseModel):
    """One step of a route for the crew."""

    kind: str
    road: str
    distance_m: float
    duration_s: float
    text: str


class RouteOut(BaseModel):
    """A unit's fastest road route to a callout."""

    unit_id: str
    callout_id: str
    duration_s: float
    distance_m: float
    geometry: list[list[float]]
    steps: list[StepOut]


# -- tokens (admin) and statistics (manager) ---------------------------------------------------


class TokenIn(_In):
    """A new principal: its role, who holds it, and its agency or unit binding."""

    role: str = Field(max_length=20, description="agency, dispatcher, crew, planner, manager "
                      "or admin")
    name: Printable = Field(min_length=1, max_length=100, description="who holds the token")
    agency: str | None = Field(default=None, max_length=20, description="with role agency")
    unit_id: Id | None = Field(default=None, description="with role crew: a registered unit "
                               "that is not retired")


class UnitUpdateIn(_In):
    """A unit's new values (admins): each field given replaces the unit's, an omitted one
    stays; ``seats: null`` clears the seats. The rules are ``UpdateUnit``'s (dispatch)."""

    name: str | None = Field(default=None, min_length=1, max_length=80,
                             description="the display name")
    base: Id | None = Field(default=None, description="a base id of the loaded region file")
    competences: list[Competence] | None = Field(
        default=None, max_length=20, description="the unit's own competences, e.g. [\"doctor\"]")
    seats: int | None = Field(default=None, ge=1, le=20, strict=True,
                              description="seats in the car (a whole number; true is not one)")


class UnitRetireIn(_In):
    """Why a unit leaves the fleet (kept in its history; no patient details)."""

    reason: str = Field(default="", max_length=200)


class UnitRetiredOut(BaseModel):
    unit: UnitOut
    revoked_principals: list[str] = Field(description="crew tokens of the unit revoked now")


class PrincipalOut(BaseModel):
    principal_id: str
    name: str
    role: str
    agency: str | None
    unit_id: str | None
    revoked: bool
    open_sockets: int


class TokenCreatedOut(PrincipalOut):
    token: str = Field(description="the bearer token: shown this once, only its hash is kept")


class MonthStatsOut(BaseModel):
    month: str = Field(description="YYYY-MM (local time of the region)")
    callouts: int
    outcome: dict[str, int]
    sex: dict[str, int]
    age_band: dict[str, int]
    children: dict[str, int]


class StatsOut(BaseModel):
    seq: int = Field(description="the log position the counts are as of")
    months: list[MonthStatsOut]


class StatsColumnOut(BaseModel):
    name: str
    kind: str = Field(description="label, count, share or minutes")


class StatsTableOut(BaseModel):
    key: str = Field(description="names the table's CSV file and XLSX sheet")
    title: str
    note: str
    columns: list[StatsColumnOut]
    rows: list[list[int | float | str | None]] = Field(
        description="each row's first cell is its label; '<5' is a suppressed count")


class StatsReportOut(BaseModel):
    """One month's statistics report, counts under 5 suppressed."""

    seq: int = Field(description="the log position the report is as of")
    month: str
    timezone: str
    callouts: int
    tables: list[StatsTableOut]


class CalloutSummaryOut(BaseModel):
    """A callout as statistics see it: ids, times, status, outcome and patient facts."""

    callout_id: str
    created_at: datetime
    status: str
    priority: int
    category: str | None
    unit_id: str | None
    outcome: str | None
    patient: dict[str, str] | None


class CalloutHistoryOut(BaseModel):
    callout_id: str
    seq: int
    events: list[dict[str, Any]] = Field(description="{seq, event} as the caller may see them "
                                         "(managers: ids, times, statuses, outcomes and patient "
                                         "facts only)")
    truncated: bool
