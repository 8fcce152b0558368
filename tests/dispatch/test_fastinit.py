"""``fast_init`` gives a frozen slotted dataclass an ``__init__`` that behaves as its own."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import InitVar, dataclass, field
from typing import Any

import pytest

from dispatch.command_types import Command, ReportStatus
from dispatch.fastinit import fast_init
from dispatch.model import Location
from dispatch.status import UnitStatus


def _record() -> type[Any]:  # a new class each call: fast_init changes the one it is given
    @dataclass(frozen=True, slots=True)
    class Record:
        name: str
        size: int = 3
        tags: tuple[str, ...] = field(default_factory=tuple)
        seen: list[int] = field(default_factory=list)
        note: str = field(default="", kw_only=True)

        def __post_init__(self) -> None:
            if self.size < 0:
                raise ValueError("size must not be negative")
            object.__setattr__(self, "name", self.name.strip())

    return Record


CALLS: list[tuple[tuple[object, ...], dict[str, object]]] = [
    (("a",), {}),
    ((" b ", 5), {}),
    (("c",), {"tags": ("x",), "note": "n"}),
    ((), {"name": "d", "size": 0, "seen": [1]}),
    (("e", 1, ("t",), [2]), {"note": "m"}),
]
BAD: list[tuple[tuple[object, ...], dict[str, object]]] = [
    ((), {}),  # name missing
    (("a",), {"colour": "red"}),  # unknown field
    (("a", 1, (), [], "n"), {}),  # note is keyword-only
    (("a",), {"name": "b"}),  # name twice
    (("a", -1), {}),  # refused by __post_init__
]


def test_the_generated_init_makes_what_the_dataclass_init_makes() -> None:
    """Same signature, same values (defaults, fresh default factories, keyword-only fields,
    what __post_init__ normalises), same errors for bad calls."""
    plain, fast = _record(), fast_init(_record())
    assert inspect.signature(fast) == inspect.signature(plain)
    code = fast.__init__.__code__  # the generated parameters themselves, in order
    assert code.co_varnames[:code.co_argcount + code.co_kwonlyargcount] == (
        "self", "name", "size", "tags", "seen", "note")
    assert code.co_kwonlyargcount == 1
    for args, kwargs in CALLS:
        a, b = plain(*args, **kwargs), fast(*args, **kwargs)
        assert dataclasses.astuple(a) == dataclasses.astuple(b)
        assert repr(a).split("(", 1)[1] == repr(b).split("(", 1)[1]
    first, second = fast("x"), fast("y")
    assert first.seen == [] and first.seen is not second.seen  # one new list per instance
    for args, kwargs in BAD:
        with pytest.raises((TypeError, ValueError)) as want:
            plain(*args, **kwargs)
        with pytest.raises(want.type):
            fast(*args, **kwargs)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast("z").name = "w"


def test_only_frozen_slotted_dataclasses_without_init_vars_are_taken() -> None:
    @dataclass(slots=True)
    class Mutable:
        x: int

    @dataclass(frozen=True)
    class Unslotted:
        x: int

    @dataclass(frozen=True, slots=True)
    class WithInitVar:
        x: int
        scale: InitVar[int] = 1

    @dataclass(frozen=True, slots=True)
    class Hidden:
        x: int
        y: int = field(default=0, init=False)

    for cls in (Mutable, Unslotted, WithInitVar, Hidden):
        with pytest.raises(TypeError):
            fast_init(cls)


def test_commands_and_core_records_still_check_their_values() -> None:
    """The core's records keep their checks and every command type takes its fields as
    before (positionally and by name)."""
    with pytest.raises(ValueError, match="latitude"):
        Location(91.0, 0.0)
    assert ReportStatus("u1", UnitStatus.EN_ROUTE) == ReportStatus(
        unit_id="u1", status=UnitStatus.EN_ROUTE, facility="", pressed_at=None)
    kinds = [c for c in vars(__import__("dispatch.command_types").command_types).values()
             if isinstance(c, type) and issubclass(c, Command) and c is not Command]
    assert len(kinds) > 20
    for kind in kinds:
        assert kind.__init__.__qualname__ == f"{kind.__qualname__}.__init__"
