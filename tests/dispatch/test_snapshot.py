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


def test_the_board_decodes_first_and_the_closed_history_joins_it_in_order() -> None:
    """The open callouts and their alarms decode at once; the closed ones are held apart
    with their keys, and joined again they give the state exactly, in the replay's order."""
    state, _ = rich_log()
    first, _, later = snap.decode_snapshot_deferred(encode_snapshot(state))
    assert later is not None
    assert first.open_callouts() == state.open_callouts()
    assert first.units == state.units and first.follow_ups == state.follow_ups
    closed = {c for c, v in state.callouts.items() if not v.status.is_open}
    assert closed and later.keys["callouts"] == closed
    for name in snap.DEFERRABLE:
        whole = getattr(state, name)
        assert set(getattr(first, name)) | later.keys[name] == set(whole)
        assert not set(getattr(first, name)) & later.keys[name]
    for name, (order, rest) in later.load().items():
        setattr(first, name, snap.merge_deferred(order, rest, getattr(first, name)))
        assert list(getattr(first, name)) == list(getattr(state, name))
    assert_same(first, state)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_tail_applied_before_the_history_joins_gives_the_replayed_state(
        data: st.DataObject) -> None:
    """Random logs: the tail after a snapshot applied to the board part alone (it touches
    only open callouts, new ones and units, or entries it then replaces), the history joined
    after, equals the whole log replayed, key order included."""
    state, log = _setup()
    now = T0
    for _ in range(data.draw(st.integers(0, 80))):
        now += timedelta(seconds=data.draw(st.integers(0, 120)))
        run(state, log, draw_command(data, state), now)
    cut = data.draw(st.integers(0, len(log)))
    midway = DispatchState.replay(log[:cut])
    first, _, later = snap.decode_snapshot_deferred(encode_snapshot(midway))
    parts = later.load() if later is not None else {}
    touches = {name: later.keys[name] for name in snap.DEFERRABLE} if later else {}
    tail = log[cut:]
    for env in tail:  # stop before an event that reads a deferred entry
        probe = first.fork()
        try:
            probe_reads(probe, touches, env)
        except LookupError:
            break
        first.apply(env)
    done = first.last_seq - cut
    for name, (order, rest) in parts.items():
        setattr(first, name, snap.merge_deferred(order, rest, getattr(first, name)))
    for env in tail[done:]:
        first.apply(env)
    assert_same(first, state)
    for name in snap.DEFERRABLE:
        assert list(getattr(first, name)) == list(getattr(state, name)), name


class _Guarded(dict[str, Any]):
    """A dict that raises LookupError on a read of a key in ``held``."""

    def __init__(self, now: dict[str, Any], held: frozenset[str]) -> None:
        super().__init__(now)
        self.held = held

    def __getitem__(self, key: str) -> Any:
        if not dict.__contains__(self, key) and key in self.held:
            raise LookupError(key)
        return dict.__getitem__(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if dict.__contains__(self, key) or key in self.held else default

    def __contains__(self, key: object) -> bool:
        if not dict.__contains__(self, key) and key in self.held:
            raise LookupError(key)
        return dict.__contains__(self, key)


def probe_reads(state: DispatchState, held: dict[str, frozenset[str]], env: Envelope) -> None:
    """Apply ``env`` to ``state`` (a scratch fork) with reads of ``held`` keys refused."""
    for name, keys in held.items():
        setattr(state, name, _Guarded(getattr(state, name), keys))
    state.apply(env)
