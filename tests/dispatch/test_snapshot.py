"""Snapshots restore exactly the state they were made of, and refuse to restore anything else."""

from __future__ import annotations

import dataclasses
import marshal
import zlib
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch import snapshot as snap
from dispatch.commands import (
    AddNote,
    Assign,
    MergeCallouts,
    ReceiveAlarm,
    RecordOutcome,
    ReportStatus,
    SplitCallout,
)
from dispatch.events import Envelope
from dispatch.model import (
    AgeBand,
    Agency,
    Alarm,
    Category,
    Location,
    Outcome,
    OutcomeKind,
    Patient,
    Priority,
    Sex,
)
from dispatch.snapshot import SnapshotError, decode_snapshot, encode_snapshot
from dispatch.state import DispatchState
from dispatch.status import UnitStatus
from tests.dispatch.test_state import T0, _setup, draw_command, run


def assert_same(a: DispatchState, b: DispatchState) -> None:
    """Every attribute equal, dataclass fields with compare=False and attributes outside the
    fields included, and of the same types (an enum must come back as the enum)."""
    assert vars(a).keys() == vars(b).keys()
    for name in vars(a):
        assert getattr(a, name) == getattr(b, name), name
        assert _types(getattr(a, name)) == _types(getattr(b, name)), name


def _types(value: Any) -> Any:
    if isinstance(value, dict):
        return sorted((k, _types(v)) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return sorted(repr(_types(v)) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__,
                [_types(getattr(value, f.name)) for f in dataclasses.fields(value)])
    return type(value).__name__


def rich_log() -> tuple[DispatchState, list[Envelope]]:
    """A state with units, several callouts, merged and closed ones, notes and follow-ups."""
    state, log = _setup()
    now = T0
    spot = Location(65.584, 22.154, label="Storgatan 1", resolved_from="typed")
    for i, agency in enumerate((Agency.POLICE, Agency.AMBULANCE, Agency.PSYCHIATRY)):
        now += timedelta(minutes=1)
        assert run(state, log, ReceiveAlarm(Alarm(
            agency=agency, reference=f"R{i}", received_at=now,
            location=Location(65.0 + i, 21.0 + i, label=f"Gata {i}"), priority=Priority.URGENT,
            category=Category.PSYCHOSIS, patient=Patient(age_band=AgeBand.ADULT, sex=Sex.FEMALE),
            note="patient text")), now)
    assert run(state, log, ReceiveAlarm(Alarm(
        agency=Agency.OTHER, reference="X", received_at=now, location=spot,
        priority=Priority.ACUTE, category=Category.SUICIDE_RISK)), now)
    assert run(state, log, MergeCallouts("C000002", "C000001"), now)
    assert run(state, log, SplitCallout("C000002", "police/R0"), now)
    assert run(state, log, Assign("C000003", "U1", 420.0), now)
    assert run(state, log, AddNote("C000003", "a note"), now)
    assert run(state, log, ReportStatus("U1", UnitStatus.EN_ROUTE), now)
    assert run(state, log, ReportStatus("U1", UnitStatus.ON_SCENE), now)
    assert run(state, log, RecordOutcome("U1", "C000003", Outcome(
        OutcomeKind.STAYED_HOME, follow_up_at=now + timedelta(days=1))), now)
    assert run(state, log, Assign("C000004", "U2", None), now)
    assert state.follow_ups and state.open_ids and any(c.notes for c in state.callouts.values())
    return state, log


def test_a_rich_state_round_trips_exactly() -> None:
    state, log = rich_log()
    restored, extra = decode_snapshot(encode_snapshot(state, {"k": [1, "x"]}))
    assert_same(restored, state)
    assert_same(restored, DispatchState.replay(log))
    assert extra == {"k": [1, "x"]}


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_snapshot_then_tail_replays_to_the_live_state(data: st.DataObject) -> None:
    """Random logs: restoring a snapshot taken midway and applying the rest of the log gives
    exactly the state of replaying the whole log."""
    state, log = _setup()
    now = T0
    for _ in range(data.draw(st.integers(0, 80))):
        now += timedelta(seconds=data.draw(st.integers(0, 120)))
        run(state, log, draw_command(data, state), now)
    cut = data.draw(st.integers(0, len(log)))
    midway = DispatchState.replay(log[:cut])
    restored, _ = decode_snapshot(encode_snapshot(midway))
    assert_same(restored, midway)
    for env in log[cut:]:
        restored.apply(env)
    assert_same(restored, state)


def test_every_state_field_is_in_the_snapshot() -> None:
    """The codec walks the dataclass fields: none may be left out of the stored data."""
    data = snap.state_to_data(rich_log()[0])
    assert len(data) == len(dataclasses.fields(DispatchState))


def test_the_copy_does_not_follow_the_live_state() -> None:
    state, log = rich_log()
    frozen = state.fork()
    before = encode_snapshot(frozen)
    run(state, log, AddNote("C000004", "later"), T0 + timedelta(hours=1))
    run(state, log, ReportStatus("U2", UnitStatus.EN_ROUTE), T0 + timedelta(hours=1))
    assert encode_snapshot(frozen) == before
    assert frozen.last_seq < state.last_seq


@pytest.mark.parametrize("damage", ["flip", "truncate", "magic", "empty"])
def test_corrupt_bytes_are_refused(damage: str) -> None:
    blob = bytearray(encode_snapshot(rich_log()[0]))
    if damage == "flip":
        blob[-10] ^= 0xFF
    elif damage == "truncate":
        del blob[len(blob) // 2:]
    elif damage == "magic":
        blob[0] ^= 0xFF
    else:
        blob = bytearray()
    with pytest.raises(SnapshotError):
        decode_snapshot(bytes(blob))


def _rewrap(blob: bytes, change: Any) -> bytes:
    """The snapshot with its header (frame 0, a JSON document) changed by ``change`` and a
    valid checksum."""
    frames = snap._split_frames(blob[len(snap._MAGIC) + 32:])
    header = marshal.loads(zlib.decompress(frames[0]))
    change(header)
    body = zlib.compress(marshal.dumps(header))
    rest = [len(f).to_bytes(4, "big") + f for f in frames[1:]]
    return snap._seal([len(body).to_bytes(4, "big") + body, *rest])


def test_a_snapshot_of_another_state_shape_is_refused() -> None:
    blob = encode_snapshot(rich_log()[0])
    with pytest.raises(SnapshotError, match="different state shape"):
        decode_snapshot(_rewrap(blob, lambda d: d.update(schema="0123456789abcdef")))
    with pytest.raises(SnapshotError):
        decode_snapshot(_rewrap(blob, lambda d: d["fields"].pop()))
    with pytest.raises(SnapshotError, match="frames"):
        decode_snapshot(_rewrap(blob, lambda d: d["fields"][0].__setitem__(1, 2)))
    with pytest.raises(SnapshotError, match="seq"):
        decode_snapshot(_rewrap(blob, lambda d: d.update(seq=d["seq"] + 1)))


def test_the_fingerprint_changes_with_the_state_shape() -> None:
    """A field added to a class inside the state changes the fingerprint, so old snapshots
    are skipped rather than misread."""

    @dataclasses.dataclass(frozen=True, slots=True)
    class Wider:
        a: int
        b: str

    @dataclasses.dataclass(frozen=True, slots=True)
    class Narrow:
        a: int

    assert snap._describe(Wider, set()).replace("Wider", "") != \
        snap._describe(Narrow, set()).replace("Narrow", "")
    assert len(snap.SCHEMA_FINGERPRINT) == 16


def test_large_fields_are_stored_in_frames_and_joined_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    state, _ = rich_log()
    whole = encode_snapshot(state)
    monkeypatch.setattr(snap, "CHUNK", 2)
    framed = encode_snapshot(state)
    head = len(snap._MAGIC) + 32
    assert len(snap._split_frames(framed[head:])) > len(snap._split_frames(whole[head:]))
    restored, _ = decode_snapshot(framed)
    assert_same(restored, state)
