"""Monthly counts: per local month, by outcome (open and cancelled when none), sex, age band and
children; a merged callout counts once, in the callout it joined."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dispatch.commands import CancelCallout, MergeCallouts, ReceiveAlarm
from dispatch.model import (
    AgeBand,
    Agency,
    Alarm,
    Category,
    Children,
    Location,
    Patient,
    Priority,
    Sex,
)
from dispatch.stats import MonthStats, monthly_counts
from dispatch.stats_fold import StatsFold
from dispatch.stats_report import month_report
from tests.dispatch.conftest import T0, Core

LULEA = Location(65.58, 22.15)
KALIX = Location(65.85, 23.14)
TZ = ZoneInfo("Europe/Stockholm")


def _counts(core: Core, **kw: str) -> list[MonthStats]:
    fold = StatsFold()
    fold.feed(core.log)
    return monthly_counts(fold.facts(), tz=TZ, **kw)


def _alarm(ref: str, where: Location, days: int, patient: Patient) -> Alarm:
    return Alarm(agency=Agency.POLICE, reference=ref, received_at=T0 + timedelta(days=days),
                 location=where, priority=Priority(1), category=Category.PSYCHOSIS,
                 patient=patient)


def test_counts_per_month_with_merges_and_cancellations(core: Core) -> None:
    woman = Patient(AgeBand.ADULT, Sex.FEMALE, Children.YES)
    man = Patient(AgeBand.OLDER, Sex.MALE)
    jan = core.do(ReceiveAlarm(_alarm("P-1", LULEA, 0, woman)), now=T0).callout_id
    other = core.do(ReceiveAlarm(_alarm("P-2", KALIX, 0, man)), now=T0).callout_id
    assert jan and other
    core.do(MergeCallouts(jan, other), now=T0)
    later = T0 + timedelta(days=20)
    feb = core.do(ReceiveAlarm(_alarm("P-3", KALIX, 20, man)), now=later).callout_id
    assert feb
    core.do(CancelCallout(feb, "reason text"), now=later)

    months = _counts(core)
    assert [m.month for m in months] == ["2026-01", "2026-02"]
    january, february = months
    assert january.callouts == 1 and january.outcome == {"open": 1}
    assert january.sex == {"female": 1} and january.age_band == {"26-44": 1}
    assert january.children == {"yes": 1}
    assert february.outcome == {"cancelled": 1} and february.children == {"unknown": 1}
    assert [m.month for m in _counts(core, since="2026-02")] == ["2026-02"]
    assert _counts(core, until="2025-12") == []


def test_a_callout_late_on_the_last_day_counts_in_that_local_month(core: Core) -> None:
    """23:30 on 31 January in Sweden is 22:30 UTC, and 00:30 on 1 February is 23:30 UTC on
    31 January: both land in the local month, in the counts and in the report alike."""
    late = datetime(2026, 1, 31, 22, 30, tzinfo=UTC)
    early = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)
    patient = Patient(AgeBand.YOUNG, Sex.MALE)
    for ref, at in (("P-9", late), ("P-10", early)):
        alarm = Alarm(agency=Agency.POLICE, reference=ref, received_at=at, location=LULEA,
                      priority=Priority(1), category=Category.PSYCHOSIS, patient=patient)
        core.do(ReceiveAlarm(alarm), now=at)
    fold = StatsFold()
    fold.feed(core.log)
    months = _counts(core)
    assert [(m.month, m.callouts) for m in months] == [("2026-01", 1), ("2026-02", 1)]
    assert months[0].age_band == {"18-25": 1}
    for month in ("2026-01", "2026-02"):
        assert month_report(fold.facts(), month, tz=TZ, locate=lambda _lat, _lon: "x"
                            ).callouts == 1


def test_the_month_of_a_time_at_the_calendar_s_end_is_found_without_overflow() -> None:
    """A log written before command times were held to 2000-2099 may hold such a time; the
    statistics fold and report must still read it (its local time would pass the year 9999)."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from dispatch.stats import local_month

    end = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    assert local_month(end, ZoneInfo("Europe/Stockholm")) == "9999-12"
    assert local_month(datetime(2026, 1, 31, 23, 30, tzinfo=UTC),
                       ZoneInfo("Europe/Stockholm")) == "2026-02"
