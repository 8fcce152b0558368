"""The commands: what the shells ask of the dispatch core, as plain immutable records.

Each record is handled by one function of the ``rules_*`` modules, chosen by the table in
:mod:`dispatch.commands`, which also re-exports these records (import them from there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dispatch.fastinit import fast_init
from dispatch.model import Alarm, CrewMember, Location, Outcome
from dispatch.status import UnitStatus
from dispatch.visits import PlannedRoute, VisitSource

__all__ = [
    "Acknowledge",
    "AddNote",
    "Assign",
    "BookVisit",
    "CancelCallout",
    "CancelVisit",
    "Command",
    "EndShift",
    "FinishVisit",
    "MarkVisitNotMet",
    "MergeCallouts",
    "MoveVisit",
    "PinVisit",
    "Reassign",
    "ReceiveAlarm",
    "RecordDayPlan",
    "RecordOutcome",
    "RegisterUnit",
    "ReopenCallout",
    "ReportPosition",
    "ReportStatus",
    "RequestAssist",
    "RetireUnit",
    "SendMessage",
    "SplitCallout",
    "StartShift",
    "StartVisit",
    "Tick",
    "UpdateUnit",
]


class Command:
    """Base of the commands; each subclass is a frozen dataclass."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class RegisterUnit(Command):
    """Add a unit (off duty) with its base and position, or bring a retired one back."""

    unit_id: str
    name: str
    base: str
    position: Location
    competences: tuple[str, ...] = ()
    seats: int | None = None


@dataclass(frozen=True, slots=True)
class UpdateUnit(Command):
    """Change a registered unit: its name, base (and where the base is), competences, seats."""

    unit_id: str
    name: str
    base: str
    base_position: Location
    competences: tuple[str, ...] = ()
    seats: int | None = None


@dataclass(frozen=True, slots=True)
class RetireUnit(Command):
    """Take a unit out of the fleet for good (it is kept in the history)."""

    unit_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class StartShift(Command):
    """Put an off-duty unit on shift (sign on) with its crew until ``ends_at``. Each crew member
    is a :class:`CrewMember` or, as older callers send, a bare name (its role unknown)."""

    unit_id: str
    crew: tuple[CrewMember | str, ...]
    ends_at: datetime
    competences: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EndShift(Command):
    """Take a unit with no callout off duty."""

    unit_id: str


@dataclass(frozen=True, slots=True)
class ReceiveAlarm(Command):
    """An agency's alarm: it opens a callout or joins one about the same incident."""

    alarm: Alarm


@dataclass(frozen=True, slots=True)
class Assign(Command):
    """Give a waiting callout to a free unit."""

    callout_id: str
    unit_id: str
    eta_s: float | None = None


@dataclass(frozen=True, slots=True)
class Reassign(Command):
    """Move a callout from its unit to another one."""

    callout_id: str
    unit_id: str
    eta_s: float | None = None


@dataclass(frozen=True, slots=True)
class Acknowledge(Command):
    """The assigned unit's crew confirms it has the job."""

    unit_id: str
    callout_id: str


@dataclass(frozen=True, slots=True)
class ReportStatus(Command):
    """A crew reports its unit's status (``facility`` names where it is when at one;
    ``pressed_at`` when the crew pressed it, if it waited offline: :mod:`dispatch.presstime`)."""

    unit_id: str
    status: UnitStatus
    facility: str = ""
    pressed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReportPosition(Command):
    """A unit's position now."""

    unit_id: str
    position: Location


@dataclass(frozen=True, slots=True)
class RecordOutcome(Command):
    """The unit on a callout closes it with how it ended."""

    unit_id: str
    callout_id: str
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class CancelCallout(Command):
    """An open callout no longer needs a unit: why, as one of
    :data:`dispatch.rules_incidents.CANCEL_CODES` (``code``) and/or in words (``reason``)."""

    callout_id: str
    reason: str = ""
    code: str = ""


@dataclass(frozen=True, slots=True)
class ReopenCallout(Command):
    """A callout cancelled by mistake waits for a unit again (only shortly after the cancel)."""

    callout_id: str


@dataclass(frozen=True, slots=True)
class MergeCallouts(Command):
    """The dispatcher merges ``source_id`` into ``target_id`` (one incident, two callouts)."""

    target_id: str
    source_id: str


@dataclass(frozen=True, slots=True)
class SplitCallout(Command):
    """The dispatcher takes ``alarm_id`` out of a callout into one of its own."""

    callout_id: str
    alarm_id: str


@dataclass(frozen=True, slots=True)
class AddNote(Command):
    """A dispatcher's or crew's note on a callout."""

    callout_id: str
    text: str


@dataclass(frozen=True, slots=True)
class RequestAssist(Command):
    """A crew in danger presses the assist (panic) button: where it is, if the phone knows."""

    unit_id: str
    position: Location | None = None


@dataclass(frozen=True, slots=True)
class SendMessage(Command):
    """A short message between the dispatchers and one unit's crew (``from_crew``: which way).
    Its text may be about a patient: stored, never logged."""

    unit_id: str
    text: str
    from_crew: bool = False


@dataclass(frozen=True, slots=True)
class Tick(Command):
    """Time has passed: time out unacknowledged assignments and end finished shifts."""


# -- follow-up visits (rules in dispatch/rules_visits.py) --------------------------------------


@dataclass(frozen=True, slots=True)
class BookVisit(Command):
    """Book a follow-up visit: place, start window, duration, needs, whether it may be
    postponed (``postpone_cost`` not None) and a pseudonymous patient reference."""

    patient_ref: str
    location: Location
    earliest_start: datetime
    latest_start: datetime
    duration_s: int
    competences: tuple[str, ...] = ()
    staff: int = 1
    postpone_cost: int | None = None
    source: VisitSource = VisitSource.DISPATCHER
    agency: str = ""
    callout_id: str | None = None


@dataclass(frozen=True, slots=True)
class MoveVisit(Command):
    """Give a booked visit a new start window (and duration; None keeps it)."""

    visit_id: str
    earliest_start: datetime
    latest_start: datetime
    duration_s: int | None = None


@dataclass(frozen=True, slots=True)
class PinVisit(Command):
    """Pin a booked visit to a unit and/or a start time for the planner (None unpins)."""

    visit_id: str
    unit_id: str | None = None
    start: datetime | None = None


@dataclass(frozen=True, slots=True)
class CancelVisit(Command):
    """A booked visit is no longer wanted."""

    visit_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class StartVisit(Command):
    """A unit's crew starts a visit."""

    visit_id: str
    unit_id: str


@dataclass(frozen=True, slots=True)
class FinishVisit(Command):
    """The unit that started a visit has done it."""

    visit_id: str
    unit_id: str


@dataclass(frozen=True, slots=True)
class MarkVisitNotMet(Command):
    """The visit could not be held (nobody home); ``unit_id`` is the crew's unit if any."""

    visit_id: str
    unit_id: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RecordDayPlan(Command):
    """The planning worker's new plan of one local day (``YYYY-MM-DD``)."""

    day: str
    routes: tuple[PlannedRoute, ...]
    postponed: tuple[str, ...] = ()
    unplaced: tuple[str, ...] = ()
    cause: str = ""


for _kind in [v for v in list(globals().values())
              if isinstance(v, type) and issubclass(v, Command) and v is not Command]:
    fast_init(_kind)  # commands are made by the thousand: fill their slots directly
del _kind
