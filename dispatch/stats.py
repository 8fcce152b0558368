"""Monthly counts of callouts: by outcome, sex, age band and children in the home.

The short form of the monthly report (``GET /api/stats``), counted from the same
:class:`~dispatch.stats_fold.CalloutFacts` as :mod:`dispatch.stats_report` and with the same
month: the region's local calendar month of the first alarm, so a callout at 23:30 local time on
the last day of a month is in that month in both. A merged callout is counted once, as the one
it joined, with its first alarm's patient facts. Counts only, never free text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from dispatch.stats_fold import CalloutFacts
from dispatch.status import CalloutStatus

__all__ = ["MonthStats", "local_month", "monthly_counts"]

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


def local_month(at: datetime, tz: tzinfo) -> str:
    """``"YYYY-MM"`` of the instant ``at`` on the calendar of ``tz`` (the region's time); at
    the very ends of the calendar (a log written before times were held to 2000-2099), where
    the local time does not exist, its month in UTC: no report asks for those months."""
    try:
        return at.astimezone(tz).strftime("%Y-%m")
    except OverflowError:
        return at.strftime("%Y-%m")


def _outcome(facts: CalloutFacts) -> str:
    if facts.outcome is not None:
        return facts.outcome.kind.value
    return CANCELLED if facts.status is CalloutStatus.CANCELLED else OPEN


def monthly_counts(facts: Iterable[CalloutFacts], *, tz: tzinfo, since: str | None = None,
                   until: str | None = None) -> list[MonthStats]:
    """Per local month (``"YYYY-MM"`` in ``tz``, oldest first, only ``since`` <= month <=
    ``until`` when given): callouts by outcome (``open`` and ``cancelled`` when none was
    recorded), by the first alarm's patient sex, age band and children."""
    months: dict[str, MonthStats] = {}
    for one in facts:
        month = local_month(one.created_at, tz)
        if (since is not None and month < since) or (until is not None and month > until):
            continue
        stats = months.get(month)
        if stats is None:
            stats = months[month] = MonthStats(month)
        stats.callouts += 1
        stats.outcome[_outcome(one)] += 1
        stats.sex[one.sex.value] += 1
        stats.age_band[one.age_band.value] += 1
        stats.children[one.children.value] += 1
    return [months[m] for m in sorted(months)]
