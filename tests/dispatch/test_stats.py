"""Monthly counts: per UTC month, by outcome (open and cancelled when none), sex, age band and
children; a merged callout counts once, in the callout it joined."""

from __future__ import annotations

from datetime import timedelta

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
from dispatch.stats import monthly_counts
from tests.dispatch.conftest import T0, Core

LULEA = Location(65.58, 22.15)
KALIX = Location(65.85, 23.14)


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

    months = monthly_counts(core.state.callouts.values(), core.state.alarms)
    assert [m.month for m in months] == ["2026-01", "2026-02"]
    january, february = months
    assert january.callouts == 1 and january.outcome == {"open": 1}
    assert january.sex == {"female": 1} and january.age_band == {"25-44": 1}
    assert january.children == {"yes": 1}
    assert february.outcome == {"cancelled": 1} and february.children == {"unknown": 1}
    assert [m.month for m in monthly_counts(core.state.callouts.values(), core.state.alarms,
                                            since="2026-02")] == ["2026-02"]
    assert monthly_counts(core.state.callouts.values(), core.state.alarms,
                          until="2025-12") == []
