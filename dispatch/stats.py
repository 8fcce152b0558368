"""Monthly statistics of callouts: counts by outcome, sex, age band and children in the home.

A pure fold over callouts and their alarms (works on the live state and on a simulated one).
A callout merged into another is counted once, as the one it joined; its patient facts are
those of its first alarm. The month is the UTC month the callout was created in. Nothing here
reads free text: the tables hold counts only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from dispatch.model import Alarm
from dispatch.state import Callout
from dispatch.status import CalloutStatus

__all__ = ["MonthStats", "monthly_counts"]

OPEN = "open"
CANCELLED = "cancelled"


@dataclass(slots=True)
class MonthStats:
    """One month's callouts, counted four ways."""

    month: str
    callouts: int = 0
    outcome: Counter[str] = field(default_factory=Counter)
    sex: Counter[str] = field(default_factory=Counter)
    age_band: Counter[str] = field(default_factory=Counter)
    children: Counter[str] = field(default_factory=Counter)


def _outcome(callout: Callout) -> str:
    if callout.outcome is not None:
        return callout.outcome.kind.value
    return CANCELLED if callout.status is CalloutStatus.CANCELLED else OPEN


def monthly_counts(callouts: Iterable[Callout], alarms: Mapping[str, Alarm], *,
                   since: str | None = None, until: str | None = None) -> list[MonthStats]:
    """Per month (``"YYYY-MM"``, oldest first, only ``since`` <= month <= ``until`` when
    given): callouts by outcome (``open`` and ``cancelled`` when none was recorded), by the
    first alarm's patient sex, age band and children."""
    months: dict[str, MonthStats] = {}
    for callout in callouts:
        if callout.merged_into is not None:
            continue
        month = callout.created_at.strftime("%Y-%m")
        if (since is not None and month < since) or (until is not None and month > until):
            continue
        stats = months.get(month)
        if stats is None:
            stats = months[month] = MonthStats(month)
        stats.callouts += 1
        stats.outcome[_outcome(callout)] += 1
        alarm = alarms.get(callout.alarm_ids[0]) if callout.alarm_ids else None
        if alarm is not None:
            stats.sex[alarm.patient.sex.value] += 1
            stats.age_band[alarm.patient.age_band.value] += 1
            stats.children[alarm.patient.children.value] += 1
    return [months[m] for m in sorted(months)]
