"""The simulated crews' answers to the outcome's care questions (children, concern reports, SIP,
care contact): drawn per callout, so a simulated month fills the same tables a live one does.

The shares are assumptions, not measured figures (no published Norrbotten numbers yet): about one
visit in six with children present, most of them spoken with, a concern report after a fifth of
those, a SIP asked for after one visit in ten, a care contact informed after half. The draw
depends only on the callout and outcome (its own generator, seeded from them), so adding it
left every other random stream of a run, and so every earlier result, unchanged.
"""

from __future__ import annotations

import random
import zlib

from dispatch.model import Answer, Outcome, OutcomeKind

__all__ = ["CARE_SHARES", "care_outcome"]

#: Share of "yes" and of "unknown" (the rest is "no") for each question; children informed and
#: concern report are asked only when children were present (else "no").
CARE_SHARES: dict[str, tuple[float, float]] = {
    "children_present": (0.16, 0.10),
    "children_informed": (0.70, 0.10),
    "concern_report": (0.20, 0.05),
    "sip_requested": (0.10, 0.15),
    "care_contact_informed": (0.50, 0.15),
}


def _answer(rng: random.Random, question: str) -> Answer:
    yes, unknown = CARE_SHARES[question]
    x = rng.random()
    return Answer.YES if x < yes else Answer.UNKNOWN if x < yes + unknown else Answer.NO


def care_outcome(callout_id: str, kind: OutcomeKind, facility: str = "") -> Outcome:
    """The outcome the crew records for ``callout_id`` closed as ``kind``, with its answers to
    the care questions (all unknown without patient contact)."""
    if kind is OutcomeKind.NO_PATIENT_CONTACT:
        return Outcome(kind, facility)
    rng = random.Random(zlib.crc32(f"{callout_id}/{kind.value}".encode()))
    present = _answer(rng, "children_present")
    informed, report = ((_answer(rng, "children_informed"), _answer(rng, "concern_report"))
                        if present is Answer.YES else (Answer.NO, Answer.NO))
    return Outcome(kind, facility, children_present=present, children_informed=informed,
                   concern_report=report, sip_requested=_answer(rng, "sip_requested"),
                   care_contact_informed=_answer(rng, "care_contact_informed"))
