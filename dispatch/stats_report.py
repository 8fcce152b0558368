"""One month's statistics report: every table the region's managers follow, from callout facts.

:func:`month_report` is pure: callout facts (:mod:`dispatch.stats_fold`), the month, the time
zone the month and hours are counted in, and a function naming the municipality of a position
(the shell passes :func:`maps.municipalities.norrbotten`'s). A callout belongs to the month its
first alarm arrived in, local time. Counts are of callouts (merged ones count once, in the
callout they joined) unless a table says alarms. Response time runs from the first alarm to the
first unit on scene; medians are ordinary, p90 by nearest rank (:mod:`dispatch.stats_table`).
Nothing here reads free text or addresses.
"""

from __future__ import annotations

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
from dispatch.stats_fold import CalloutFacts
from dispatch.stats_table import Cell, Column, Table, median, nearest_rank
from dispatch.status import CalloutStatus

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


def _patient_tables(chosen: Sequence[CalloutFacts]) -> list[Table]:
    total = len(chosen)
    tables = [
        _counted("by_sex", "Callouts by sex", "sex", Counter(f.sex.value for f in chosen),
                 [s.value for s in Sex], total),
        _counted("by_age_band", "Callouts by age band", "age band",
                 Counter(f.age_band.value for f in chosen), [a.value for a in AgeBand], total,
                 "0-17: children and young people; 18-24: young adults (the bands the alarm "
                 "form records)"),
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
                        "questions existed count as unknown"))
    return tables


def _heat_map(chosen: Sequence[CalloutFacts], tz: tzinfo) -> Table:
    grid = [[0] * 24 for _ in range(7)]
    for f in chosen:
        local = _local(f.created_at, tz)
        grid[local.weekday()][local.hour] += 1
    return Table("hour_weekday", "Callouts by hour of day and weekday",
                 (Column("weekday", "label"), *(Column(f"{h:02d}") for h in range(24))),
                 tuple((day, *grid[i]) for i, day in enumerate(_WEEKDAYS)),
                 "local time of the first alarm")


def _follow_ups(chosen: Sequence[CalloutFacts], month: str, tz: tzinfo) -> Table:
    asked = [f.outcome.follow_up_at for f in chosen
             if f.outcome is not None and f.outcome.follow_up_at is not None]
    due = sum(1 for at in asked if _local(at, tz).strftime("%Y-%m") == month)
    return Table("follow_ups", "Follow-up visits", (Column("measure", "label"),
                                                    Column("visits")), (
        ("booked (asked for with the outcome)", len(asked)),
        ("of them due within the month", due),
        ("done in window", None),
        ("postponed", None)),
        "booked: outcomes of the month's callouts that asked for a follow-up visit. Done and "
        "postponed visits are not in the event log yet (visit events come with issue 14): "
        "those rows stay empty until they are")


def _trend(facts: Iterable[CalloutFacts], month: str, tz: tzinfo) -> Table:
    months = months_back(month, 12)
    per: dict[str, list[CalloutFacts]] = {m: [] for m in months}
    rows: list[tuple[Cell, ...]] = []
    for f in facts:
        m = _local(f.created_at, tz).strftime("%Y-%m")
        if m in per:
            per[m].append(f)
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
        tuple(rows))


def month_report(facts: Sequence[CalloutFacts], month: str, *, tz: tzinfo, locate: Locate,
                 municipalities: Sequence[str] = (), bases: Sequence[str] = (),
                 timezone: str = "") -> MonthReport:
    """Every table for ``month`` (``"YYYY-MM"`` in ``tz``): ``municipalities`` and ``bases``
    are listed even when empty (others seen are added); ``locate(lat, lon)`` names a
    position's municipality."""
    chosen = [f for f in facts if _local(f.created_at, tz).strftime("%Y-%m") == month]
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
        _heat_map(chosen, tz),
        _follow_ups(chosen, month, tz),
        _trend(facts, month, tz),
    ]
    return MonthReport(month, timezone or str(tz), total, tuple(tables))
