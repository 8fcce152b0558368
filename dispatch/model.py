"""The values the dispatch core talks about: alarms, patients, locations, outcomes, crews.

Everything here is a frozen, slotted dataclass or an enum that checks itself on construction, so
a bad value is refused where it enters (with :class:`InvalidCommand` naming the field) and never
reaches the state. Patient data is the minimum the managers' monthly follow-up needs: age band,
sex and whether children live in the household. The free-text note is kept for the crew and
dispatcher but never logged.
"""

from __future__ import annotations

import enum
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from dispatch.errors import InvalidCommand
from dispatch.fastinit import fast_init

__all__ = [
    "CARE_QUESTIONS",
    "EARLIEST_TIME",
    "LATEST_TIME",
    "MAX_NOTE_CHARS",
    "MAX_REASON_CHARS",
    "NOT_PRINTABLE",
    "AgeBand",
    "Agency",
    "Alarm",
    "Answer",
    "Category",
    "Children",
    "CrewMember",
    "CrewRole",
    "Location",
    "Outcome",
    "OutcomeKind",
    "Patient",
    "Priority",
    "Sex",
    "check_time",
    "crew_members",
    "has_personal_number",
    "is_printable",
    "looks_like_personal_number",
    "parse_enum",
    "redact_personal_numbers",
]

MAX_NOTE_CHARS = 2000
MAX_REASON_CHARS = 200  # a cancel reason
#: A call-back number as typed: empty, or digits with spaces, dashes and a leading +.
PHONE = re.compile(r"(\+?[0-9][0-9 -]{1,28}[0-9])?")
#: A Swedish personal or coordination number written out in a text: YYMMDD and four digits
#: with a dash of any kind (or plus), spaced or not, or a space between them, the same after a
#: century (19/20), or ten or twelve digits run together. Ten run together starting with 0 are
#: left alone: a Swedish phone number (070...) is written so.
_PERSONAL_NUMBER_IN_TEXT = re.compile(
    r"(?<![0-9])(?:(?:19|20)?([0-9]{6})(?:\s*[-+\u2010-\u2015\u2212]\s*|\s)"
    r"|(?:19|20)([0-9]{6})|([1-9][0-9]{5}))([0-9]{4})(?![0-9])")
#: A whole reference shaped like a personal number, check digit or not (a pseudonym never is).
_PERSONAL_NUMBER_SHAPED = re.compile(r"([0-9]{2})?[0-9]{6}[-+]?[0-9]{4}")


def _personal_numbers(text: str) -> list[re.Match[str]]:
    """The personal numbers written in ``text``: date-shaped (a month, and a day or a
    coordination day, 61-91) with the Luhn check digit right."""
    found = []
    for m in _PERSONAL_NUMBER_IN_TEXT.finditer(text):
        digits = (m.group(1) or m.group(2) or m.group(3)) + m.group(4)
        month, day = int(digits[2:4]), int(digits[4:6])
        if not (1 <= month <= 12 and (1 <= day <= 31 or 61 <= day <= 91)):
            continue
        total = 0
        for i, ch in enumerate(digits):
            n = int(ch) * (2 if i % 2 == 0 else 1)
            total += n - 9 if n > 9 else n
        if total % 10 == 0:
            found.append(m)
    return found


#: Why a name or word people read is refused (see :func:`is_printable`).
NOT_PRINTABLE = ("must be printable text: no control or formatting characters (such as NUL "
                 "or a right-to-left override)")


def is_printable(text: str) -> bool:
    """Whether ``text`` has no control or formatting characters: a NUL, or a right-to-left
    override that makes a name read backwards on every page and in every log."""
    return not any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text)


def has_personal_number(text: str) -> bool:
    """Whether ``text`` names someone by personal (or coordination) number. Phone numbers
    (070..., +46 ...) and most dates are not taken for one; a compact date and time written
    like one (``20261207-1932``, ``261207 1932``) is when its last digit happens to pass the
    check, about one in ten: such a text is refused, never stored with a number in it."""
    return bool(_personal_numbers(text))


def redact_personal_numbers(text: str) -> str:
    """``text`` with every personal number :func:`has_personal_number` finds replaced by
    ``[pnr]`` (shorter than any number, so the text stays within its limit): for machine
    intake, which cannot be asked to write it again."""
    for m in reversed(_personal_numbers(text)):
        text = f"{text[:m.start()]}[pnr]{text[m.end():]}"
    return text


def looks_like_personal_number(value: str) -> bool:
    """Whether a whole reference is shaped like a personal number (ten or twelve digits, a
    dash or plus before the last four), check digit or not, or holds one: a pseudonymous
    reference never does."""
    return bool(_PERSONAL_NUMBER_SHAPED.fullmatch(value)) or has_personal_number(value)


MAX_REFERENCE_CHARS = 64
MAX_CREW = 6  # people on board one unit
MAX_CREW_NAME_CHARS = 60


class Agency(enum.StrEnum):
    """Who raised an alarm."""

    AMBULANCE = "ambulance"
    POLICE = "police"
    PSYCHIATRY = "psychiatry"
    OTHER = "other"


class Priority(enum.IntEnum):
    """1 acute, 2 urgent, 3 non-urgent (lower is more urgent)."""

    ACUTE = 1
    URGENT = 2
    NON_URGENT = 3


class Category(enum.StrEnum):
    """What the alarm is about, as the agency judged it."""

    SUICIDE_RISK = "suicide_risk"
    PSYCHOSIS = "psychosis"
    AGITATION = "agitation_violence_risk"
    INTOXICATION = "intoxication_psychiatric"
    WORRIED_RELATIVE = "worried_relative"
    FOLLOW_UP = "follow_up_request"
    OTHER = "other"


class AgeBand(enum.StrEnum):
    """Age groups the monthly follow-up is reported by (0-17 and 18-25 apart, as the region
    reports children and young people).

    ``LEGACY_YOUNG`` and ``LEGACY_ADULT`` are the bands alarms recorded before the split moved
    from 24/25 to 25/26: old events keep replaying with what they said (a 25-year-old recorded
    as "25-44" cannot be re-labelled), new records use :meth:`current` bands only."""

    CHILD = "0-17"
    YOUNG = "18-25"
    ADULT = "26-44"
    MIDDLE = "45-64"
    OLDER = "65+"
    UNKNOWN = "unknown"
    LEGACY_YOUNG = "18-24"
    LEGACY_ADULT = "25-44"

    @property
    def legacy(self) -> bool:
        """Whether this band is only read from old events, never recorded anew."""
        return self in _LEGACY_AGE_BANDS

    @classmethod
    def current(cls) -> tuple[AgeBand, ...]:
        """The bands a new alarm may record, in report order."""
        return tuple(b for b in cls if not b.legacy)


_LEGACY_AGE_BANDS = frozenset({AgeBand.LEGACY_YOUNG, AgeBand.LEGACY_ADULT})


class Sex(enum.StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Children(enum.StrEnum):
    """Whether children live in the patient's household."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class Answer(enum.StrEnum):
    """A yes / no the crew records about the visit, ``unknown`` when not asked or not recorded
    (and for every outcome logged before the question existed)."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class OutcomeKind(enum.StrEnum):
    """How a callout ended, as the crew records it."""

    STAYED_HOME = "stayed_home"
    TRANSPORTED_MAE = "transported_mae"
    TRANSPORTED_AMBULANCE = "transported_ambulance"
    TRANSPORTED_POLICE = "transported_police"
    ADMITTED_VOLUNTARY = "admitted_voluntary"
    COMPULSORY_CARE = "compulsory_care_lpt"
    REFERRED_PRIMARY_CARE = "referred_primary_care"
    REFERRED_SOCIAL_SERVICES = "referred_social_services"
    NO_PATIENT_CONTACT = "no_patient_contact"

    @property
    def is_transport(self) -> bool:
        return self in _TRANSPORTS

    @property
    def after_transporting(self) -> bool:
        """Whether it can be recorded only once the unit has reported TRANSPORTING: the MAE
        car itself carried the patient, and the drive belongs in the callout's record."""
        return self is OutcomeKind.TRANSPORTED_MAE


_TRANSPORTS = frozenset(
    {OutcomeKind.TRANSPORTED_MAE, OutcomeKind.TRANSPORTED_AMBULANCE, OutcomeKind.TRANSPORTED_POLICE}
)


E = TypeVar("E", bound=enum.Enum)


def parse_enum(kind: type[E], value: object, field: str) -> E:
    """``value`` as a member of ``kind``, or :class:`InvalidCommand` listing the choices."""
    if isinstance(value, kind):
        return value
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(str(m.value) for m in kind)
        raise InvalidCommand(field, f"{value!r} is not one of {choices}") from None


#: The times a command may carry: any date arithmetic on them (a month's end, a local day, a
#: window after them) stays far from datetime's year 1 and 9999, where it would overflow.
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2100, 1, 1, tzinfo=UTC)


def check_time(field: str, value: datetime) -> None:
    """:class:`InvalidCommand` naming ``field`` unless ``value`` is a timezone-aware time in
    the years 2000-2099. The rules ask it of the times a command brings; the values' own checks
    ask only for a time zone, so a log written before this limit still reads."""
    _aware(field, value)
    if not EARLIEST_TIME <= value < LATEST_TIME:
        raise InvalidCommand(field, "must be a time in the years 2000-2099")


def _aware(field: str, value: datetime) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidCommand(field, "must be a timezone-aware date and time")


@fast_init
@dataclass(frozen=True, slots=True)
class Location:
    """Where something is: a coordinate and how it was found (typed, or a resolved name)."""

    lat: float
    lon: float
    label: str = ""
    resolved_from: str = ""

    def __post_init__(self) -> None:
        if not (
            isinstance(self.lat, int | float) and math.isfinite(self.lat) and -90 <= self.lat <= 90
        ):
            raise InvalidCommand("location.lat", f"{self.lat!r} is not a latitude (-90..90)")
        if not (
            isinstance(self.lon, int | float)
            and math.isfinite(self.lon)
            and -180 <= self.lon <= 180
        ):
            raise InvalidCommand("location.lon", f"{self.lon!r} is not a longitude (-180..180)")


@fast_init
@dataclass(frozen=True, slots=True)
class Patient:
    """The minimum patient facts kept: no name, no personal number."""

    age_band: AgeBand = AgeBand.UNKNOWN
    sex: Sex = Sex.UNKNOWN
    children: Children = Children.UNKNOWN

    def __post_init__(self) -> None:
        object.__setattr__(self, "age_band", parse_enum(AgeBand, self.age_band, "patient.age_band"))
        object.__setattr__(self, "sex", parse_enum(Sex, self.sex, "patient.sex"))
        object.__setattr__(
            self, "children", parse_enum(Children, self.children, "patient.children")
        )


@fast_init
@dataclass(frozen=True, slots=True)
class Alarm:
    """One agency's alarm about an incident; several alarms may become one callout."""

    agency: Agency
    reference: str
    received_at: datetime
    location: Location
    priority: Priority
    category: Category
    patient: Patient = Patient()
    note: str = ""
    police_on_scene: bool = False
    ambulance_on_scene: bool = False
    link_to: str | None = None
    #: A number the crew may call back (the alarming agency's, or whom it names); personal
    #: data: shown to dispatchers and the crew, erased by retention like the note.
    callback: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.location, Location):
            raise InvalidCommand("location", "must be a location")
        if not isinstance(self.patient, Patient):
            raise InvalidCommand("patient", "must be patient facts")
        object.__setattr__(self, "agency", parse_enum(Agency, self.agency, "agency"))
        object.__setattr__(self, "priority", parse_enum(Priority, self.priority, "priority"))
        object.__setattr__(self, "category", parse_enum(Category, self.category, "category"))
        ref = self.reference
        if not isinstance(ref, str) or not ref.strip() or len(ref) > MAX_REFERENCE_CHARS:
            raise InvalidCommand(
                "reference", f"must be the agency's own reference, 1-{MAX_REFERENCE_CHARS} chars"
            )
        _aware("received_at", self.received_at)
        if not isinstance(self.note, str) or len(self.note) > MAX_NOTE_CHARS:
            raise InvalidCommand("note", f"must be text of at most {MAX_NOTE_CHARS} characters")
        callback = self.callback
        if not isinstance(callback, str) or (callback and not PHONE.fullmatch(callback)):
            raise InvalidCommand("callback", "must be a phone number: digits, spaces, + and -, "
                                 "at most 30 characters")

    @property
    def alarm_id(self) -> str:
        """What makes an alarm unique: the agency and its own reference, so a retry of the
        same alarm is recognised and never duplicated."""
        return f"{self.agency.value}/{self.reference}"


#: The child-perspective and coordinated-care questions an outcome answers (no names): children
#: present at the visit, children spoken with or informed, a concern report to social services
#: made, a coordinated individual plan (SIP) asked for, a named care contact informed.
CARE_QUESTIONS = ("children_present", "children_informed", "concern_report", "sip_requested",
                  "care_contact_informed")


@fast_init
@dataclass(frozen=True, slots=True)
class Outcome:
    """How the crew closed a callout; a follow-up visit may be asked for. The answers to
    :data:`CARE_QUESTIONS` default to ``unknown``, which is also what outcomes logged before
    them read as (an added field with a default: the event's version stays)."""

    kind: OutcomeKind
    facility: str = ""
    follow_up_at: datetime | None = None
    children_present: Answer = Answer.UNKNOWN
    children_informed: Answer = Answer.UNKNOWN
    concern_report: Answer = Answer.UNKNOWN
    sip_requested: Answer = Answer.UNKNOWN
    care_contact_informed: Answer = Answer.UNKNOWN

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", parse_enum(OutcomeKind, self.kind, "outcome.kind"))
        for name in CARE_QUESTIONS:
            answer = getattr(self, name)
            if answer.__class__ is not Answer:  # most are made with their members already
                object.__setattr__(self, name, parse_enum(Answer, answer, f"outcome.{name}"))
        if self.kind.is_transport and not self.facility.strip():
            raise InvalidCommand("outcome.facility", "a transport needs the receiving facility")
        if self.follow_up_at is not None:
            _aware("outcome.follow_up_at", self.follow_up_at)


class CrewRole(enum.StrEnum):
    """What a crew member does on board. ``unknown`` is only what shifts logged before roles
    were recorded read as; a sign-on names one of the others."""

    NURSE = "nurse"
    DOCTOR = "doctor"
    DRIVER = "driver"
    STUDENT = "student"
    OTHER = "other"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class CrewMember:
    """One person on board a unit for a shift: a member of staff (not patient data)."""

    name: str
    role: CrewRole = CrewRole.UNKNOWN

    def __post_init__(self) -> None:
        name = self.name.strip() if isinstance(self.name, str) else ""
        if not name or len(name) > MAX_CREW_NAME_CHARS:
            raise InvalidCommand("crew.name", f"1-{MAX_CREW_NAME_CHARS} characters, please")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "role", parse_enum(CrewRole, self.role, "crew.role"))


def crew_members(crew: object) -> tuple[CrewMember, ...]:
    """A sign-on's crew as members: each a :class:`CrewMember` or, as older callers send, a bare
    name (its role unknown); 1 to :data:`MAX_CREW` people (two may share a name)."""
    if isinstance(crew, str) or not isinstance(crew, tuple | list):
        raise InvalidCommand("crew", "must be a list of crew members")
    if not 1 <= len(crew) <= MAX_CREW:
        raise InvalidCommand("crew", f"a shift needs 1-{MAX_CREW} crew members")
    members: list[CrewMember] = []
    for i, member in enumerate(crew):
        try:
            members.append(member if isinstance(member, CrewMember) else CrewMember(member))
        except InvalidCommand as exc:
            raise InvalidCommand(exc.field.replace("crew.", f"crew.{i}."), exc.problem) from None
    return tuple(members)
