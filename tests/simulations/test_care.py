"""The simulated crews' care answers: fixed per callout, consistent (no children informed
without children present), all unknown without patient contact, and near the stated shares."""

from __future__ import annotations

from collections import Counter

from dispatch.model import CARE_QUESTIONS, Answer, OutcomeKind
from simulations.care import CARE_SHARES, care_outcome


def test_the_same_callout_gets_the_same_answers_and_they_hold_together() -> None:
    for i in range(500):
        one = care_outcome(f"C{i:06d}", OutcomeKind.STAYED_HOME)
        assert one == care_outcome(f"C{i:06d}", OutcomeKind.STAYED_HOME)
        if one.children_present is not Answer.YES:
            assert one.children_informed is Answer.NO and one.concern_report is Answer.NO


def test_no_patient_contact_answers_nothing() -> None:
    outcome = care_outcome("C000001", OutcomeKind.NO_PATIENT_CONTACT, "")
    assert {getattr(outcome, q) for q in CARE_QUESTIONS} == {Answer.UNKNOWN}


def test_a_thousand_callouts_come_near_the_stated_shares() -> None:
    outcomes = [care_outcome(f"C{i:06d}", OutcomeKind.TRANSPORTED_MAE, "PAVA")
                for i in range(4000)]
    for question in ("children_present", "sip_requested", "care_contact_informed"):
        seen = Counter(getattr(o, question) for o in outcomes)
        yes, unknown = CARE_SHARES[question]
        assert abs(seen[Answer.YES] / 4000 - yes) < 0.03, question
        assert abs(seen[Answer.UNKNOWN] / 4000 - unknown) < 0.03, question
    assert all(o.facility == "PAVA" for o in outcomes)
