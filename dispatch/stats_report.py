"""One month's statistics report: every table the region's managers follow, from callout facts.

:func:`month_report` is pure: callout facts (:mod:`dispatch.stats_fold`), the month, the time
zone the month and hours are counted in, and a function naming the municipality of a position
(the shell passes one that locates it with Sweden's municipality borders). A
callout belongs to the month its first alarm arrived in, local time. Counts are of callouts
(merged ones count once, in the callout they joined) unless a table says alarms. Response
time runs from the first alarm to the first unit on scene; medians are ordinary, p90 by
nearest rank (:mod:`dispatch.stats_table`). Nothing here reads free text or addresses.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from dispatch.model import (
    CARE_QUESTIONS,
    AgeBand,
    Agency,
    Answer,
    Category,
    Children,
    OutcomeKind,
    Priority,
    Sex,
)
from dispatch.stats import local_month
from dispatch.stats_fold import CalloutFacts, VisitFacts
from dispatch.stats_table import Cell, Column, Table, median, nearest_rank
from dispatch.status import CalloutStatus
from dispatch.visits import VisitStatus

__all__ = ["HOME_OUTCOMES", "MonthReport", "month_report", "months_back"]

#: Outcomes where the person stayed in their home (with or without a referral).
HOME_OUTCOMES = frozenset({OutcomeKind.STAYED_HOME, OutcomeKind.REFERRED_PRIMARY_CARE,
                           OutcomeKind.REFERRED_SOCIAL_SERVICES})
_CARRIERS = ((OutcomeKind.TRANSPORTED_MAE, "MAE car"),
             (OutcomeKind.TRANSPORTED_AMBULANCE, "ambulance"),
             (OutcomeKind.TRANSPORTED_POLICE, "police"))
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_CARE_TITLES = {"children_present": "children present at the visit",
                "children_informed": "children spoken with or informed",
                "concern_report": "concern report to social services",
                "sip_requested": "SIP (coordinated individual plan) asked for",
                "care_contact_informed": "named care contact informed"}
_UNKNOWN = "unknown"
Locate = Callable[[float, float], str]


@dataclass(frozen=True, slots=True)
class MonthReport:
    """The month's tables, in report order."""

    month: str
    timezone: str
    callouts: int
    tables: tuple[Table, ...]

    def table(self, key: str) -> Table:
        for t in self.tables:
            if t.key == key:
                return t
        raise KeyError(key)


def months_back(month: str, n: int) -> list[str]:
    """The ``n`` months ending with ``month`` (``"YYYY-MM"``), oldest first."""
    year, mon = (int(x) for x in month.split("-"))
    out = []
    for _ in range(n):
        out.append(f"{year:04d}-{mon:02d}")
        year, mon = (year, mon - 1) if mon > 1 else (year - 1, 12)
    return out[::-1]


def _local(at: datetime, tz: tzinfo) -> datetime:
    return at.astimezone(tz)


def _start(month: str, tz: tzinfo) -> datetime:
    """The instant ``month`` (``"YYYY-MM"``) begins in ``tz``."""
    year, mon = (int(x) for x in month.split("-"))
    return datetime(year, mon, 1, tzinfo=tz)


def _next(month: str) -> str:
    year, mon = (int(x) for x in month.split("-"))
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"


def _in_month(facts: Iterable[CalloutFacts], month: str, tz: tzinfo) -> list[CalloutFacts]:
    """The facts whose first alarm arrived within ``month`` in ``tz`` (compared as instants,
    not formatted: a simulated decade has a few hundred thousand)."""
    start, end = _start(month, tz), _start(_next(month), tz)
    return [f for f in facts if start <= f.created_at < end]


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _minutes(value: float | None) -> float | None:
    return None if value is None else round(value / 60.0, 1)


def _counted(key: str, title: str, label: str, counts: Counter[str], order: Sequence[str],
             total: int, note: str = "") -> Table:
    """A count and share-of-total row for each of ``order`` (and any other key seen)."""
    labels = [*order, *sorted(k for k in counts if k not in order)]
    rows = tuple((k, counts.get(k, 0), _share(counts.get(k, 0), total)) for k in labels)
    return Table(key, title, (Column(label, "label"), Column("callouts"),
                              Column("share", "share")), (*rows, ("total", total, None)), note)


def _response(key: str, title: str, label: str, groups: dict[str, list[float]],
              order: Sequence[str]) -> Table:
    labels = [*order, *sorted(k for k in groups if k not in order)]
    rows = []
    for name in labels:
        seconds = groups.get(name, [])
        rows.append((name, len(seconds), _minutes(median(seconds)),
                     _minutes(nearest_rank(seconds, 90))))
    every = [s for v in groups.values() for s in v]
    rows.append(("all", len(every), _minutes(median(every)), _minutes(nearest_rank(every, 90))))
    return Table(key, title, (Column(label, "label"), Column("callouts reached"),
                              Column("median min", "minutes"), Column("p90 min", "minutes")),
                 tuple(rows), "from the first alarm to the first unit on scene; median as "
                 "usual, p90 by nearest rank (the value at rank ceil(0.9 n))")


def _agency_tables(chosen: Sequence[CalloutFacts]) -> list[Table]:
    alarms: Counter[str] = Counter()
    with_agency: Counter[str] = Counter()
    combos: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    for f in chosen:
        for agency, n in f.alarms.items():
            alarms[agency.value] += n
            with_agency[agency.value] += 1
        combos[" + ".join(sorted(a.value for a in f.agencies))] += 1
        size = len(f.agencies)
        sizes["1 agency" if size == 1 else f"joint: {size} agencies"] += 1
    order = [a.value for a in Agency]
    by_agency = Table("alarms_by_agency", "Alarms by agency", (
        Column("agency", "label"), Column("alarms"), Column("callouts")), (
        *((a, alarms.get(a, 0), with_agency.get(a, 0)) for a in order),
        ("total", sum(alarms.values()), len(chosen))),
        "callouts: callouts with at least one alarm from the agency (a joint alarm counts for "
        "each of its agencies)")
    size_order = ["1 agency", "joint: 2 agencies", "joint: 3 agencies", "joint: 4 agencies"]
    return [by_agency,
            _counted("callouts_by_agency_count", "Callouts by how many agencies raised them",
                     "agencies", sizes, size_order[:3], len(chosen),
                     "a joint alarm (samverkanslarm) is one callout two or three agencies "
                     "raised"),
            _counted("callouts_by_agencies", "Callouts by the agencies that raised them",
                     "agencies", combos, [], len(chosen))]


def _outcome_tables(chosen: Sequence[CalloutFacts]) -> list[Table]:
    kinds: Counter[str] = Counter()
    for f in chosen:
        kinds[f.outcome.kind.value if f.outcome else
              ("cancelled" if f.status is CalloutStatus.CANCELLED else "open")] += 1
    closed = [f.outcome for f in chosen if f.outcome is not None]
    home = sum(1 for o in closed if o.kind in HOME_OUTCOMES)
    summary: list[tuple[Cell, ...]] = [
        ("with an outcome", len(closed), None),
        ("stayed home (incl. referrals)", home, _share(home, len(closed))),
        *((f"transported by {name}", n := sum(1 for o in closed if o.kind is kind),
           _share(n, len(closed))) for kind, name in _CARRIERS),
        *((f"admitted {name}", n := sum(1 for o in closed if o.kind is kind),
           _share(n, len(closed))) for kind, name in (
            (OutcomeKind.ADMITTED_VOLUNTARY, "voluntarily"),
            (OutcomeKind.COMPULSORY_CARE, "to compulsory care (LPT)"))),
    ]
    return [
        _counted("outcomes", "Callouts by outcome", "outcome", kinds,
                 [k.value for k in OutcomeKind] + ["cancelled", "open"], len(chosen)),
        Table("outcome_summary", "Stayed home, transports and admissions",
              (Column("measure", "label"), Column("callouts"),
               Column("share of outcomes", "share")), tuple(summary),
              "shares of the callouts with a recorded outcome; transports by carrier as the "
              "crew recorded them (an admission is counted as an admission, not a transport)"),
    ]


LEGACY_LABEL = " (legacy band)"


def _age_bands(chosen: Sequence[CalloutFacts], total: int) -> Table:
    """Callouts by the current age bands; a legacy band (recorded before 18-25 / 26-44) gets a
    row, labelled as such, only in a month that holds it, so no old 25-year-old is re-labelled."""
    counts = Counter(f.age_band.value + (LEGACY_LABEL if f.age_band.legacy else "")
                     for f in chosen)
    legacy = sorted(k for k in counts if k.endswith(LEGACY_LABEL))
    note = ("0-17: children and young people; 18-25: young adults (the bands the alarm form "
            "records)")
    if legacy:
        note += ("; a legacy band is what alarms recorded before the bands became 18-25 and "
                 "26-44, counted apart and not re-labelled")
    return _counted("by_age_band", "Callouts by age band", "age band", counts,
                    [*(a.value for a in AgeBand.current()), *legacy], total, note)


def _patient_tables(chosen: Sequence[CalloutFacts]) -> list[Table]:
    total = len(chosen)
    tables = [
        _counted("by_sex", "Callouts by sex", "sex", Counter(f.sex.value for f in chosen),
                 [s.value for s in Sex], total),
        _age_bands(chosen, total),
        _counted("children_in_household", "Children living in the household", "children",
                 Counter(f.children.value for f in chosen), [c.value for c in Children],
                 total),
    ]
    closed = [f.outcome for f in chosen if f.outcome is not None]
    answers = [a.value for a in Answer]
    rows: list[tuple[Cell, ...]] = []
    for q in CARE_QUESTIONS:
        seen = Counter(getattr(o, q).value for o in closed)
        rows.append((_CARE_TITLES[q], *(seen.get(a, 0) for a in answers)))
    tables.append(Table("care", "Children and coordinated care (recorded with the outcome)",
                        (Column("question", "label"), *(Column(a) for a in answers)),
                        tuple(rows), "callouts with an outcome; outcomes recorded before the "
                        "questions existed count as unknown", adds_up="rows"))
    return tables


def _heat_maps(chosen: Sequence[CalloutFacts], tz: tzinfo) -> list[Table]:
    """Hour x weekday, and the same in 4-hour blocks (a county's month leaves most hourly
    cells under 5, suppressed; the blocks stay readable)."""
    grid = [[0] * 24 for _ in range(7)]
    for f in chosen:
        local = _local(f.created_at, tz)
        grid[local.weekday()][local.hour] += 1
    blocks = [[sum(row[b:b + 4]) for b in range(0, 24, 4)] for row in grid]
    return [
        Table("hour_weekday", "Callouts by hour of day and weekday",
              (Column("weekday", "label"), *(Column(f"{h:02d}") for h in range(24))),
              tuple((day, *grid[i]) for i, day in enumerate(_WEEKDAYS)),
              "local time of the first alarm", adds_up="both"),
        Table("hours4_weekday", "Callouts by 4-hour block and weekday",
              (Column("weekday", "label"),
               *(Column(f"{b:02d}-{b + 4:02d}") for b in range(0, 24, 4))),
              tuple((day, *blocks[i]) for i, day in enumerate(_WEEKDAYS)),
              "local time of the first alarm", adds_up="both"),
    ]


def _follow_ups(chosen: Sequence[CalloutFacts], visits: Sequence[VisitFacts], month: str,
                tz: tzinfo) -> Table:
    asked = sum(1 for f in chosen if f.outcome is not None and f.outcome.follow_up_at is not None)
    mine = [v for v in visits if local_month(v.earliest_start, tz) == month]
    done = [v for v in mine if v.status is VisitStatus.DONE]
    in_window = sum(1 for v in done if v.done_in_window)
    rows: list[tuple[Cell, ...]] = [
        ("asked for with an outcome", asked),
        ("booked", len(mine)),
        ("done in window", in_window),
        ("done outside the window", len(done) - in_window),
        ("postponed by a day's plan", sum(1 for v in mine if v.postponed)),
        ("moved to a new window", sum(1 for v in mine if v.moves)),
        ("not met", sum(1 for v in mine if v.status is VisitStatus.NOT_MET)),
        ("cancelled", sum(1 for v in mine if v.status is VisitStatus.CANCELLED)),
        ("still open", sum(1 for v in mine if v.status.is_open)),
    ]
    return Table("follow_ups", "Follow-up visits", (Column("measure", "label"),
                                                    Column("visits")), tuple(rows),
                 "asked for: the month's callouts whose outcome asked for a follow-up visit. "
                 "The rest counts booked visits whose (last) start window opens in the month: "
                 "done in window means started between the window's earliest and latest "
                 "start; postponed means the final plan of some day moved it to a later day")


def _trend(facts: Iterable[CalloutFacts], month: str, tz: tzinfo) -> Table:
    months = months_back(month, 12)
    edges = [_start(m, tz) for m in [*months, _next(month)]]
    per: dict[str, list[CalloutFacts]] = {m: [] for m in months}
    rows: list[tuple[Cell, ...]] = []
    for f in facts:
        if edges[0] <= f.created_at < edges[-1]:
            per[months[bisect.bisect_right(edges, f.created_at) - 1]].append(f)
    for m in months:
        got = per[m]
        closed = [f.outcome for f in got if f.outcome is not None]
        times = [s for f in got if (s := f.response_s) is not None]
        rows.append((m, len(got), sum(sum(f.alarms.values()) for f in got),
                     sum(1 for f in got if len(f.agencies) > 1),
                     _share(sum(1 for o in closed if o.kind in HOME_OUTCOMES), len(closed)),
                     _minutes(median(times)), _minutes(nearest_rank(times, 90))))
    return Table("month_over_month", "The last 12 months", (
        Column("month", "label"), Column("callouts"), Column("alarms"),
        Column("joint alarms"), Column("stayed home share", "share"),
        Column("median response min", "minutes"), Column("p90 response min", "minutes")),
        tuple(rows), adds_up="none")


def month_report(facts: Sequence[CalloutFacts], month: str, *, tz: tzinfo, locate: Locate,
                 municipalities: Sequence[str] = (), bases: Sequence[str] = (),
                 visits: Sequence[VisitFacts] = (), timezone: str = "") -> MonthReport:
    """Every table for ``month`` (``"YYYY-MM"`` in ``tz``): ``municipalities`` and ``bases``
    are listed even when empty (others seen are added); ``locate(lat, lon)`` names a
    position's municipality; ``visits`` are the follow-up visits (:meth:`StatsFold.visit_facts
    <dispatch.stats_fold.StatsFold.visit_facts>`)."""
    chosen = _in_month(facts, month, tz)
    total = len(chosen)
    by_place: dict[str, list[float]] = {}
    by_base: dict[str, list[float]] = {}
    for f in chosen:
        seconds = f.response_s
        if seconds is None or f.arrival is None:
            continue
        by_place.setdefault(locate(f.lat, f.lon), []).append(seconds)
        by_base.setdefault(f.arrival.base, []).append(seconds)
    places = [*municipalities, _UNKNOWN] if municipalities else []
    tables = [
        *_agency_tables(chosen),
        _counted("callouts_by_category", "Callouts by category", "category",
                 Counter(f.category.value for f in chosen), [c.value for c in Category], total,
                 "the category of the callout's first alarm"),
        _counted("callouts_by_priority", "Callouts by priority", "priority",
                 Counter(str(int(f.priority)) for f in chosen),
                 [str(int(p)) for p in Priority], total,
                 "1 acute, 2 urgent, 3 non-urgent; the most urgent of the callout's alarms"),
        *_outcome_tables(chosen),
        _response("response_by_municipality", "Response time by municipality",
                  "municipality", by_place, places),
        _response("response_by_base", "Response time by base of the first unit on scene",
                  "base", by_base, bases),
        *_patient_tables(chosen),
        *_heat_maps(chosen, tz),
        _follow_ups(chosen, visits, month, tz),
        _trend(facts, month, tz),
    ]
    return MonthReport(month, timezone or str(tz), total, tuple(tables))
