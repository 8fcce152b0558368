"""The event codec: logs written long ago still load, event by event, into the same state;
schema versions and upcasters bring old stored events up to date."""

from __future__ import annotations

import dataclasses
import enum
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dispatch import events
from dispatch.errors import DispatchError, EventVersionError
from dispatch.events import Envelope, UnitStatusChanged, event_from_dict, event_to_dict
from dispatch.model import CrewMember, CrewRole, OutcomeKind, Priority
from dispatch.state import DispatchState
from dispatch.status import CalloutStatus, UnitStatus

LOG_V1 = Path(__file__).parents[1] / "data" / "events" / "log_v1.jsonl"
#: A sign-on stored as ShiftStarted v2 (crew members with roles), the night the clocks go forward.
SHIFT_V2 = Path(__file__).parents[1] / "data" / "events" / "shift_started_v2.jsonl"

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
    # ShiftStarted v1 stored bare names: they read as members whose role is unknown.
    assert (sunderby.crew, sunderby.competences) == (
        (CrewMember("ssk-1", CrewRole.UNKNOWN), CrewMember("ssk-2", CrewRole.UNKNOWN)), ("lpt",))
    assert sunderby.shift_ends_at == datetime(2026, 1, 15, 22, 0, tzinfo=UTC)
    assert (sunderby.position.lat, sunderby.position.lon) == (65.608, 22.075)
    assert units["MAE-GALLIVARE"].status_since == datetime(2026, 1, 15, 16, 0, tzinfo=UTC)
    assert not state.open_callouts()


def test_a_v2_sign_on_loads_with_its_crews_names_and_roles() -> None:
    lines = stored_lines(SHIFT_V2)
    state = DispatchState.replay(decode_log(lines))
    pitea = state.units["MAE-PITEA"]
    assert pitea.crew == (CrewMember("Anna Lind", CrewRole.NURSE),
                          CrewMember("Omar Haddad", CrewRole.DRIVER))
    assert (pitea.status, pitea.shift_ends_at) == (
        UnitStatus.AVAILABLE, datetime(2026, 3, 29, 5, 0, tzinfo=UTC))
    # and encodes back to exactly what was stored
    assert {**event_to_dict(decode_log(lines)[1].event), "seq": 2} == lines[1]


def test_a_v1_sign_on_is_upcast_to_members_of_unknown_role() -> None:
    stored = {"type": "ShiftStarted", "at": "2026-01-15T14:00:00+00:00", "actor": "x",
              "unit_id": "U1", "crew": ["ssk-1"], "ends_at": "2026-01-15T22:00:00+00:00"}
    event = event_from_dict(stored)
    assert isinstance(event, events.ShiftStarted)
    assert event.crew == (CrewMember("ssk-1", CrewRole.UNKNOWN),)
    assert event_to_dict(event)["v"] == 2
    assert event_to_dict(event)["crew"] == [{"name": "ssk-1", "role": "unknown"}]


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


# -- schema versions and upcasters ------------------------------------------------------------


def test_every_encoded_event_carries_its_types_schema_version() -> None:
    """``"v"`` sits beside ``"type"``, and a log written now reads back as it was written."""
    for env in decode_log(stored_lines(LOG_V1)):
        data = event_to_dict(env.event)
        assert list(data)[:2] == ["type", "v"]
        assert data["v"] == events.SCHEMA_VERSIONS[data["type"]]
        assert event_from_dict(data) == env.event
    assert set(events.SCHEMA_VERSIONS) >= TYPES_V1
    assert all(type(v) is int and v >= 1 for v in events.SCHEMA_VERSIONS.values())


def _plain_encoding(value: Any) -> Any:
    """The stored form of a value, the slow obvious way (what ``event_to_dict`` did before it
    remembered each class's kind and fields)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain_encoding(getattr(value, f.name))
                for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain_encoding(v) for v in value]
    return value


def test_event_to_dict_encodes_every_field_as_the_plain_recursive_encoding_does() -> None:
    """Every event of the fixture log (each type, nested places, patients, crews, enums and
    times), encoded twice so the remembered classes are used, in the same keys and order."""
    for env in decode_log(stored_lines(LOG_V1)):
        want = {"type": type(env.event).__name__,
                "v": events.SCHEMA_VERSIONS[type(env.event).__name__],
                **_plain_encoding(env.event)}
        for _ in range(2):
            got = event_to_dict(env.event)
            assert list(got.items()) == list(want.items())
            assert json.dumps(got) == json.dumps(want)


def test_no_event_field_takes_a_key_of_the_stored_form() -> None:
    for name in events.SCHEMA_VERSIONS:
        cls = getattr(events, name)
        assert not {f.name for f in dataclasses.fields(cls)} & {"type", "v"}, name


def test_a_version_1_event_loads_after_its_field_was_renamed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Suppose version 1 of ``NoteAdded`` called its text ``note`` and version 2 renamed it:
    the upcaster from v1 brings the v1 lines of an old log (with ``"v": 1`` or with no
    version at all) to v2, and the whole log folds into the same shift."""
    calls: list[dict[str, Any]] = []

    def note_to_text(data: dict[str, Any]) -> dict[str, Any]:
        calls.append(dict(data))
        data["text"] = data.pop("note")
        return data

    monkeypatch.setitem(events.SCHEMA_VERSIONS, "NoteAdded", 2)
    monkeypatch.setitem(events.UPCASTERS, ("NoteAdded", 1), note_to_text)
    lines = stored_lines(LOG_V1)
    (i,) = [n for n, line in enumerate(lines) if line["type"] == "NoteAdded"]
    v1 = {k if k != "text" else "note": v for k, v in lines[i].items()}
    for stored in (v1, {**v1, "v": 1}):
        lines[i] = stored
        state = DispatchState.replay(decode_log(lines))
        assert [n.text for n in state.callouts["C000001"].notes] == [
            "Police on scene; door code given by phone."]
        assert state.callouts["C000001"].status is CalloutStatus.CLOSED
        assert lines[i] == stored  # the caller's dict is left as it was
    assert len(calls) == 2 and "text" not in calls[0]
    note = decode_log([lines[i]])[0].event
    again = event_to_dict(note)  # written at the current version...
    assert again["v"] == 2 and again["text"] == "Police on scene; door code given by phone."
    assert event_from_dict(again) == note and len(calls) == 3  # ...and read without upcasting


def test_upcasters_run_in_order_and_may_drop_a_field(monkeypatch: pytest.MonkeyPatch) -> None:
    """v1 had ``odometer_km``, dropped in v2; v3 renamed ``facility`` from ``place``."""
    order: list[int] = []

    def drop_odometer(data: dict[str, Any]) -> dict[str, Any]:
        order.append(1)
        del data["odometer_km"]
        return data

    def place_to_facility(data: dict[str, Any]) -> dict[str, Any]:
        order.append(2)
        data["facility"] = data.pop("place")
        return data

    monkeypatch.setattr(events, "UPCASTERS", {})
    monkeypatch.setitem(events.SCHEMA_VERSIONS, "UnitStatusChanged", 3)
    events.upcaster("UnitStatusChanged", 2)(place_to_facility)
    events.upcaster("UnitStatusChanged", 1)(drop_odometer)
    stored = {"type": "UnitStatusChanged", "at": "2026-01-15T15:20:00+00:00", "actor": "c4",
              "unit_id": "MAE-SUNDERBY", "status": "at_facility", "place": "Sunderby sjukhus",
              "odometer_km": 48211}
    event = event_from_dict(stored)
    assert event == UnitStatusChanged(at=datetime(2026, 1, 15, 15, 20, tzinfo=UTC), actor="c4",
                                      unit_id="MAE-SUNDERBY", status=UnitStatus.AT_FACILITY,
                                      facility="Sunderby sjukhus")
    assert order == [1, 2]
    v2 = {k: v for k, v in stored.items() if k != "odometer_km"} | {"v": 2}
    assert event_from_dict(v2) == event
    assert order == [1, 2, 2]  # from v2 only the step to v3 runs
    with pytest.raises(EventVersionError, match="already has an upcaster from v1"):
        events.upcaster("UnitStatusChanged", 1)(drop_odometer)


def test_an_event_the_code_cannot_bring_up_to_date_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Newer than this code, a nonsense version, or a missing upcaster: a clear error (still a
    ``ValueError``, as the log readers expect), never a half-read event."""
    line = next(x for x in stored_lines(LOG_V1) if x["type"] == "ShiftEnded")
    del line["seq"]
    with pytest.raises(EventVersionError, match="ShiftEnded v2 was written by newer code"):
        event_from_dict({**line, "v": 2})
    for bad in ("1", 0, -1, 1.5, None):
        with pytest.raises(EventVersionError, match="not a whole number"):
            event_from_dict({**line, "v": bad})
    monkeypatch.setitem(events.SCHEMA_VERSIONS, "ShiftEnded", 3)
    monkeypatch.setitem(events.UPCASTERS, ("ShiftEnded", 1), lambda data: data)
    with pytest.raises(EventVersionError, match="no upcaster from v2 to v3") as refused:
        event_from_dict(line)
    assert isinstance(refused.value, ValueError) and isinstance(refused.value, DispatchError)
