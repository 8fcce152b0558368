"""Every table of the monthly report on a generated month whose counts are known from its plan
(tests/dispatch/_stats_month.py): agencies and joint alarms, categories, priorities, outcomes,
response times by municipality and base, patients, care answers, the heat map, follow-ups and
the 12-month trend. Expected values are counted from the specs, never from the code tested."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from dispatch.model import CARE_QUESTIONS, AgeBand, Agency, Answer, OutcomeKind
from dispatch.stats_fold import StatsFold
from dispatch.stats_report import HOME_OUTCOMES, MonthReport, month_report, months_back
from dispatch.stats_table import SUPPRESSED, suppress
from maps.municipalities import norrbotten
from tests.dispatch._stats_month import (
    MONTH,
    PLACES,
    TZ,
    UNITS,
    Spec,
    all_specs,
    event_log,
    visit_specs,
)
from tests.dispatch.test_events import decode_log, stored_lines

SPECS = all_specs()
NOV = [s for s in SPECS if s.at.astimezone(TZ).strftime("%Y-%m") == MONTH]
CLOSED = [s for s in NOV if isinstance(s.end, OutcomeKind)]
LOG_V1 = Path(__file__).parents[1] / "data" / "events" / "log_v1.jsonl"


def _report(month: str = MONTH) -> MonthReport:
    fold = StatsFold()
    fold.feed(event_log(SPECS))
    places = norrbotten()
    return month_report(fold.facts(), month, tz=TZ, locate=places.name_at,
                        municipalities=places.names, bases=sorted(set(UNITS.values())),
                        visits=fold.visit_facts())


@pytest.fixture(scope="module")
def report() -> MonthReport:
    return _report()


def _shares(counts: Counter[str], total: int) -> dict[str, float]:
    return {k: round(v / total, 3) for k, v in counts.items()}


def test_the_month_is_counted_in_local_time(report: MonthReport) -> None:
    assert len(NOV) == 61  # 60 planned and the one half an hour into 1 November
    assert report.callouts == 61
    assert report.table("callouts_by_agency_count").row("total")["callouts"] == 61


def test_alarms_and_callouts_by_agency_and_joint_alarms(report: MonthReport) -> None:
    alarms = Counter(a.value for s in NOV for a in s.alarms)
    callouts = Counter(a.value for s in NOV for a in set(s.alarms))
    table = report.table("alarms_by_agency")
    assert {k: v for k, v in table.column("alarms").items() if k != "total"} == \
        {a.value: alarms.get(a.value, 0) for a in Agency}
    assert table.column("callouts")["other"] == callouts["other"] == 1
    assert table.row("total") == {"agency": "total", "alarms": sum(alarms.values()),
                                  "callouts": 61}
    sizes = Counter(len(set(s.alarms)) for s in NOV)
    joint = report.table("callouts_by_agency_count").column("callouts")
    assert joint["1 agency"] == sizes[1]
    assert joint["joint: 2 agencies"] == sizes[2] == 13  # 12 planned, 1 by a merge
    assert joint["joint: 3 agencies"] == sizes[3] == 12
    combos = Counter(" + ".join(sorted(a.value for a in set(s.alarms))) for s in NOV)
    got = report.table("callouts_by_agencies").column("callouts")
    assert {k: v for k, v in got.items() if k != "total"} == dict(combos)


def test_category_and_priority(report: MonthReport) -> None:
    categories = report.table("callouts_by_category").column("callouts")
    for value, n in Counter(s.category.value for s in NOV).items():
        assert categories[value] == n
    assert categories["agitation_violence_risk"] == 0
    priorities = report.table("callouts_by_priority")
    assert {k: v for k, v in priorities.column("callouts").items() if k != "total"} == \
        {str(p): Counter(int(s.priority) for s in NOV)[p] for p in (1, 2, 3)}
    assert priorities.column("share")["2"] == round(
        sum(1 for s in NOV if int(s.priority) == 2) / 61, 3)


def test_outcomes_stayed_home_transports_and_admissions(report: MonthReport) -> None:
    ends = Counter(s.end.value if isinstance(s.end, OutcomeKind) else s.end for s in NOV)
    got = report.table("outcomes").column("callouts")
    assert {k: v for k, v in got.items() if v and k != "total"} == dict(ends)
    assert got["cancelled"] == 6 and got["open"] == 2
    summary = report.table("outcome_summary")
    home = sum(1 for s in CLOSED if s.end in HOME_OUTCOMES)
    assert summary.row("with an outcome")["callouts"] == len(CLOSED) == 53
    assert summary.row("stayed home (incl. referrals)") == {
        "measure": "stayed home (incl. referrals)", "callouts": home,
        "share of outcomes": round(home / len(CLOSED), 3)}
    by = summary.column("callouts")
    assert by["transported by MAE car"] == ends["transported_mae"]
    assert by["transported by ambulance"] == ends["transported_ambulance"]
    assert by["transported by police"] == ends["transported_police"]
    assert by["admitted voluntarily"] == ends["admitted_voluntary"]
    assert by["admitted to compulsory care (LPT)"] == ends["compulsory_care_lpt"]


def _expected_times(groups: dict[str, list[int]]) -> dict[str, tuple[int, float, float]]:
    out = {}
    for name, minutes in groups.items():
        ordered = sorted(minutes)
        n = len(ordered)
        middle = (ordered[(n - 1) // 2] + ordered[n // 2]) / 2
        out[name] = (n, round(middle, 1), float(ordered[math.ceil(0.9 * n) - 1]))
    return out


def test_response_time_median_and_p90_by_municipality_and_base(report: MonthReport) -> None:
    by_place: dict[str, list[int]] = {}
    by_base: dict[str, list[int]] = {}
    for s in CLOSED:
        assert s.response_min is not None
        by_place.setdefault(s.place, []).append(s.response_min)
        by_base.setdefault(UNITS[PLACES[s.place][1]], []).append(s.response_min)
    table = report.table("response_by_municipality")
    assert len(table.rows) == 14 + 2  # every municipality, unknown, all
    for name, expected in _expected_times(by_place).items():
        assert tuple(table.row(name).values())[1:] == expected, name
    assert table.row("Boden") == {"municipality": "Boden", "callouts reached": 0,
                                  "median min": None, "p90 min": None}
    assert table.row("all")["callouts reached"] == len(CLOSED)
    bases = report.table("response_by_base")
    for name, expected in _expected_times(by_base).items():
        assert tuple(bases.row(name).values())[1:] == expected, name


def test_patients_children_and_care_answers(report: MonthReport) -> None:
    columns: tuple[tuple[str, Callable[[Spec], str]], ...] = (
        ("by_sex", lambda s: s.patient.sex.value),
        ("by_age_band", lambda s: s.patient.age_band.value),
        ("children_in_household", lambda s: s.patient.children.value))
    for key, of in columns:
        got = report.table(key).column("callouts")
        for value, n in Counter(of(s) for s in NOV).items():
            assert got[value] == n, (key, value)
        assert got["total"] == 61
    assert report.table("by_age_band").column("callouts")["0-17"] == 11
    care = report.table("care")
    for row, question in zip(care.rows, CARE_QUESTIONS, strict=True):
        seen = Counter(s.care.get(question, Answer.UNKNOWN).value for s in CLOSED)
        assert row[1:] == (seen["yes"], seen["no"], seen["unknown"]), question
    assert care.row("concern report to social services")["yes"] == \
        sum(1 for s in CLOSED if s.care.get("concern_report") is Answer.YES)


def test_hour_of_day_by_weekday_heat_map(report: MonthReport) -> None:
    cells = Counter((s.at.astimezone(TZ).weekday(), s.at.astimezone(TZ).hour) for s in NOV)
    table = report.table("hour_weekday")
    for day, row in enumerate(table.rows):
        assert row[1:] == tuple(cells[(day, h)] for h in range(24)), row[0]
    assert table.row("Sun")["00"] == cells[(6, 0)] >= 1  # 1 November 00:30 local: a Sunday
    blocks = report.table("hours4_weekday")
    assert blocks.header[1:] == ("00-04", "04-08", "08-12", "12-16", "16-20", "20-24")
    for day, row in enumerate(blocks.rows):
        assert row[1:] == tuple(sum(cells[(day, h)] for h in range(b, b + 4))
                                for b in range(0, 24, 4)), row[0]


def test_follow_up_visits_booked_done_in_window_and_postponed(report: MonthReport) -> None:
    def in_month(at: datetime) -> bool:
        return at.astimezone(TZ).strftime("%Y-%m") == MONTH

    asked = [s for s in NOV if s.follow_up_at is not None]
    # an outcome's follow-up books a visit by itself; those stay open here
    auto = [s for s in asked if s.follow_up_at is not None and in_month(s.follow_up_at)]
    planned = [v for v in visit_specs() if in_month(v.window[0])]
    fates = Counter(v.fate for v in planned)
    assert len(planned) == 12 and 0 < len(auto) < len(asked)
    assert report.table("follow_ups").column("visits") == {
        "asked for with an outcome": len(asked),
        "booked": len(planned) + len(auto),
        "done in window": fates["done_in"],
        "done outside the window": fates["done_late"],
        "postponed by a day's plan": sum(1 for v in planned if v.postponed),
        "moved to a new window": sum(1 for v in planned if v.moved),
        "not met": fates["not_met"],
        "cancelled": fates["cancelled"],
        "still open": fates["open"] + len(auto),
    }


def test_month_over_month_for_the_last_twelve_months(report: MonthReport) -> None:
    table = report.table("month_over_month")
    assert [r[0] for r in table.rows] == months_back(MONTH, 12)
    assert months_back("2026-02", 3) == ["2025-12", "2026-01", "2026-02"]
    per = Counter(s.at.astimezone(TZ).strftime("%Y-%m") for s in SPECS)
    assert table.column("callouts") == {m: per.get(m, 0) for m in months_back(MONTH, 12)}
    assert table.row("2026-01") == {"month": "2026-01", "callouts": 2, "alarms": 2,
                                    "joint alarms": 0, "stayed home share": 1.0,
                                    "median response min": 20.0, "p90 response min": 20.0}
    assert table.row(MONTH)["alarms"] == sum(len(s.alarms) for s in NOV)
    december = _report("2026-12").table("month_over_month")
    assert december.row("2026-12")["callouts"] == 1 and december.rows[0][0] == "2026-01"


def test_exports_suppress_counts_under_five_and_their_shares(report: MonthReport) -> None:
    table = suppress(report.table("callouts_by_agencies"))
    assert table.row("other + police") == {"agencies": "other + police",
                                           "callouts": SUPPRESSED, "share": SUPPRESSED}
    assert table.row("ambulance")["callouts"] == 12  # 5 or more stay
    category = suppress(report.table("callouts_by_category"))
    assert category.row("agitation_violence_risk")["callouts"] == 0  # zero singles out nobody
    times = suppress(report.table("response_by_base"))
    assert all(SUPPRESSED not in row for row in times.rows)
    few = suppress(_report("2026-01").table("response_by_municipality"))
    assert few.row("Luleå") == {"municipality": "Luleå", "callouts reached": SUPPRESSED,
                                "median min": SUPPRESSED, "p90 min": SUPPRESSED}


def test_feeding_the_log_in_pieces_gives_the_same_facts() -> None:
    log = event_log(SPECS)
    whole, pieces = StatsFold(), StatsFold()
    whole.feed(log)
    for start in range(0, len(log), 7):  # facts read between pieces: cached ones refresh
        pieces.feed(log[start:start + 7])
        pieces.facts()
    assert pieces.facts() == whole.facts() and pieces.last_seq == len(log)
    for end in (40, 120, 300):  # at points mid-callout too
        fresh = StatsFold()
        fresh.feed(log[:end])
        cached = StatsFold()
        for start in range(0, end, 5):
            cached.feed(log[start:min(start + 5, end)])
            cached.facts()
        assert cached.facts() == fresh.facts(), end


def test_a_merged_callout_keeps_the_earlier_arrival() -> None:
    fold = StatsFold()
    fold.feed(event_log(SPECS))
    first = next(f for f in fold.facts() if f.alarms.get(Agency.OTHER))
    spec = next(s for s in NOV if s.merged_in is not None)
    assert first.arrival is not None and spec.response_min is not None
    assert first.arrival.at - first.created_at == timedelta(minutes=spec.response_min)
    assert first.arrival.base == "sunderbyn" and first.alarms[Agency.OTHER] == 1


def test_an_old_log_without_the_care_questions_reads_them_as_unknown() -> None:
    fold = StatsFold()
    fold.feed(decode_log(stored_lines(LOG_V1)))
    facts = fold.facts()
    closed = [f.outcome for f in facts if f.outcome is not None]
    assert closed and all(getattr(o, q) is Answer.UNKNOWN for o in closed
                          for q in CARE_QUESTIONS)
    month = facts[0].created_at.astimezone(TZ).strftime("%Y-%m")
    report = month_report(facts, month, tz=TZ, locate=norrbotten().name_at)
    care = report.table("care")
    assert all(row[1:] == (0, 0, len(closed)) for row in care.rows)



def test_an_old_log_keeps_its_legacy_age_bands_labelled_apart() -> None:
    """Alarms logged before 18-25 / 26-44 replay with the band they recorded: the report shows
    it as a legacy row of that month, never folded into a current band."""
    fold = StatsFold()
    fold.feed(decode_log(stored_lines(LOG_V1)))
    facts = fold.facts()
    old = [f for f in facts if f.age_band is AgeBand.LEGACY_ADULT]
    assert old and all(f.age_band.value == "25-44" for f in old)
    month = facts[0].created_at.astimezone(TZ).strftime("%Y-%m")
    mine = [f for f in facts if f.created_at.astimezone(TZ).strftime("%Y-%m") == month]
    ages = month_report(facts, month, tz=TZ, locate=norrbotten().name_at).table("by_age_band")
    got = ages.column("callouts")
    assert got["25-44 (legacy band)"] == sum(f in old for f in mine) > 0
    assert got["26-44"] == 0 and "25-44" not in got and "legacy" in ages.note
    assert "18-24 (legacy band)" not in got  # a legacy band shows only where a month holds it


def test_a_month_without_legacy_bands_shows_only_the_current_ones(report: MonthReport) -> None:
    labels = [row[0] for row in report.table("by_age_band").rows]
    assert labels == [*(b.value for b in AgeBand.current()), "total"]
    assert labels[:3] == ["0-17", "18-25", "26-44"]
