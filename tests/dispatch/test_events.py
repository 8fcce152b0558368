"""The event codec: logs written long ago still load, event by event, into the same state."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dispatch.events import Envelope, event_from_dict
from dispatch.model import OutcomeKind, Priority
from dispatch.state import DispatchState
from dispatch.status import CalloutStatus, UnitStatus

LOG_V1 = Path(__file__).parents[1] / "data" / "events" / "log_v1.jsonl"

#: The event types the core had when ``log_v1.jsonl`` was written; the log holds each of them.
TYPES_V1 = frozenset({
    "UnitRegistered", "ShiftStarted", "ShiftEnded", "AlarmReceived", "CalloutsMerged",
    "CalloutSplit", "UnitAssigned", "AssignmentAcknowledged", "AssignmentTimedOut",
    "AssignmentCancelled", "UnitStatusChanged", "UnitPositionReported", "OutcomeRecorded",
    "CalloutCancelled", "NoteAdded",
})


def stored_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def decode_log(lines: list[dict[str, Any]]) -> list[Envelope]:
    """Each stored line as an envelope, the way the event stores read them back."""
    envelopes = []
    for line in lines:
        data = dict(line)
        seq = data.pop("seq")
        envelopes.append(Envelope(seq, event_from_dict(data)))
    return envelopes


def test_the_v1_fixture_log_holds_every_event_type_and_each_decodes_to_its_type() -> None:
    lines = stored_lines(LOG_V1)
    assert {line["type"] for line in lines} == TYPES_V1
    assert not any("v" in line for line in lines)  # written before events carried a version
    log = decode_log(lines)
    assert [env.seq for env in log] == list(range(1, 49))
    for line, env in zip(lines, log, strict=True):
        assert type(env.event).__name__ == line["type"]
        assert env.event.at == datetime.fromisoformat(line["at"]) and env.event.at.tzinfo
        assert env.event.actor == line["actor"]


def test_the_v1_fixture_log_folds_into_the_shift_it_recorded() -> None:
    """Key facts of the afternoon, one or more for each event type, from the folded state."""
    state = DispatchState.replay(decode_log(stored_lines(LOG_V1)))
    assert state.last_seq == 48 and state.callout_counter == 5
    callouts = state.callouts
    assert {cid: c.status for cid, c in callouts.items()} == {
        "C000001": CalloutStatus.CLOSED,
        "C000002": CalloutStatus.CLOSED,
        "C000003": CalloutStatus.MERGED,
        "C000004": CalloutStatus.CANCELLED,
        "C000005": CalloutStatus.CLOSED,
    }
    # AlarmReceived (a merge by distance, a link), CalloutsMerged, CalloutSplit:
    assert {cid: c.alarm_ids for cid, c in callouts.items()} == {
        "C000001": ("police/P-26-1001", "ambulance/A-77"),
        "C000002": ("police/P-26-1002", "ambulance/A-78"),
        "C000003": (),
        "C000004": ("psychiatry/X-501",),
        "C000005": ("police/P-26-1003",),
    }
    assert callouts["C000001"].priority is Priority.ACUTE
    assert callouts["C000003"].merged_into == "C000002"
    assert state.alarm_callout["psychiatry/X-501"] == "C000004"
    # UnitAssigned, AssignmentCancelled (by a reassignment), OutcomeRecorded:
    assert {cid: (c.unit_id, c.outcome.kind if c.outcome else None)
            for cid, c in callouts.items()} == {
        "C000001": ("MAE-SUNDERBY", OutcomeKind.TRANSPORTED_MAE),
        "C000002": ("MAE-PITEA", OutcomeKind.STAYED_HOME),
        "C000003": (None, None),
        "C000004": (None, None),
        "C000005": ("MAE-SUNDERBY", OutcomeKind.REFERRED_SOCIAL_SERVICES),
    }
    assert callouts["C000005"].eta_s == 1500.0
    outcome = callouts["C000001"].outcome
    assert outcome is not None
    assert outcome.facility == "Sunderby sjukhus, psykiatrisk akutmottagning"
    assert [(f.callout_id, f.at, f.requested_by) for f in state.follow_ups] == [
        ("C000002", datetime(2026, 1, 16, 10, 0, tzinfo=UTC), "MAE-PITEA")]
    # NoteAdded:
    assert [(n.actor, n.text) for n in callouts["C000001"].notes] == [
        ("d15a7c4e00000002", "Police on scene; door code given by phone.")]
    # UnitRegistered, ShiftStarted, ShiftEnded (by a tick and by hand), UnitStatusChanged,
    # UnitPositionReported:
    units = state.units
    assert {uid: (u.status, u.callout_id) for uid, u in units.items()} == {
        "MAE-SUNDERBY": (UnitStatus.RETURNING, None),
        "MAE-PITEA": (UnitStatus.OFF_DUTY, None),
        "MAE-GALLIVARE": (UnitStatus.OFF_DUTY, None),
    }
    sunderby = units["MAE-SUNDERBY"]
    assert (sunderby.name, sunderby.base) == ("MAE Sunderbyn", "Sunderbyn")
    assert (sunderby.crew, sunderby.competences) == (("ssk-1", "ssk-2"), ("lpt",))
    assert sunderby.shift_ends_at == datetime(2026, 1, 15, 22, 0, tzinfo=UTC)
    assert (sunderby.position.lat, sunderby.position.lon) == (65.608, 22.075)
    assert units["MAE-GALLIVARE"].status_since == datetime(2026, 1, 15, 16, 0, tzinfo=UTC)
    assert not state.open_callouts()


def test_the_v1_fixture_log_records_the_shifts_decisions() -> None:
    """What only the events say (the fold keeps no trace of it): why alarms merged, timeouts,
    why assignments were cancelled, the split and the cancellation."""
    events = [env.event for env in decode_log(stored_lines(LOG_V1))]

    def fields(kind: str, *names: str) -> list[tuple[Any, ...]]:
        return [tuple(getattr(e, n) for n in names) for e in events if type(e).__name__ == kind]

    assert fields("AlarmReceived", "callout_id", "merged_reason") == [
        ("C000001", ""), ("C000001", "within 136 m and 15 min"), ("C000002", ""),
        ("C000003", ""), ("C000002", "linked by the agency"), ("C000005", "")]
    assert fields("AssignmentTimedOut", "callout_id", "unit_id") == [("C000001", "MAE-SUNDERBY")]
    assert fields("AssignmentCancelled", "callout_id", "reason") == [
        ("C000003", "merged"), ("C000005", "reassigned")]
    assert fields("CalloutsMerged", "target_id", "source_id") == [("C000002", "C000003")]
    assert fields("CalloutSplit", "alarm_id", "new_callout_id") == [
        ("psychiatry/X-501", "C000004")]
    assert fields("CalloutCancelled", "callout_id", "reason") == [("C000004", "handled by phone")]
    assert fields("AssignmentAcknowledged", "callout_id", "actor") == [
        ("C000001", "c4e35b0000000006"), ("C000002", "c4e3e17a00000007"),
        ("C000005", "c4e35b0000000006")]
    assert fields("ShiftEnded", "unit_id", "actor") == [
        ("MAE-GALLIVARE", "system"), ("MAE-PITEA", "c4e3e17a00000007")]


@pytest.mark.parametrize("kind", sorted(TYPES_V1))
def test_a_broken_line_of_each_type_is_refused_not_guessed(kind: str) -> None:
    """Dropping a required field of any stored event fails loudly rather than loading a
    half-empty event."""
    line = next(line for line in stored_lines(LOG_V1) if line["type"] == kind)
    required = next(k for k in line if k not in ("seq", "type", "at", "actor"))
    del line[required]
    del line["seq"]
    with pytest.raises((TypeError, KeyError, ValueError)):
        event_from_dict(line)
