"""Reading a TOML table key by key: every read names its dotted key in the error, and keys
nobody read are refused (a typo never falls back to a default)."""

from __future__ import annotations

import math
from typing import Any

from simulations.errors import ScenarioError

__all__ = ["Table"]


class Table:
    """A TOML table with its dotted path; every read names the key in its error."""

    def __init__(self, data: Any, path: str, source: str) -> None:
        if not isinstance(data, dict):
            raise ScenarioError(path or "scenario", "must be a table", source=source)
        self.data = data
        self.path = path
        self.source = source
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def error(self, name: str, problem: str) -> ScenarioError:
        return ScenarioError(self.key(name), problem, source=self.source)

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str, default: Any = None) -> Any:
        self.used.add(name)
        return self.data.get(name, default)

    def table(self, name: str, *, required: bool = False) -> Table:
        if required and name not in self.data:
            raise self.error(name, "is required")
        return Table(self.raw(name, {}), self.key(name), self.source)

    def tables(self, name: str) -> list[Table]:
        value = self.raw(name, [])
        if not isinstance(value, list):
            raise self.error(name, "must be an array of tables ([[" + self.key(name) + "]])")
        return [Table(v, f"{self.key(name)}[{i}]", self.source) for i, v in enumerate(value)]

    def text(self, name: str, default: str | None = None) -> str:
        value = self.raw(name, default)
        if value is None:
            raise self.error(name, "is required")
        if not isinstance(value, str):
            raise self.error(name, f"must be text, got {value!r}")
        return value

    def number(
        self, name: str, default: float | None = None, *, low: float = -math.inf,
        high: float = math.inf, above: float | None = None,
    ) -> float:
        value = self.raw(name, default)
        if value is None:
            raise self.error(name, "is required")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value
        ):
            raise self.error(name, f"must be a number, got {value!r}")
        if above is not None and not value > above:
            raise self.error(name, f"must be more than {above:g}, got {value!r}")
        if not low <= value <= high:
            raise self.error(name, f"must be {_range(low, high)}, got {value!r}")
        return float(value)

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw(name, default)
        if not isinstance(value, bool):
            raise self.error(name, f"must be true or false, got {value!r}")
        return value

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.text(name, default)
        if value not in choices:
            raise self.error(name, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def profile(self, name: str, default: tuple[float, ...], n: int) -> tuple[float, ...]:
        value = self.raw(name, default)
        if not isinstance(value, list | tuple) or len(value) != n:
            raise self.error(name, f"must be a list of {n} numbers")
        out = []
        for i, v in enumerate(value):
            if isinstance(v, bool) or not isinstance(v, int | float) or not (
                math.isfinite(v) and v >= 0
            ):
                raise self.error(f"{name}[{i}]", f"must be a number >= 0, got {v!r}")
            out.append(float(v))
        if sum(out) <= 0:
            raise self.error(name, "must not be all zero")
        return tuple(out)

    def mix(self, name: str, kind: type[Any], default: tuple[tuple[Any, float], ...]) -> Any:
        """A table of shares keyed by enum value; shares must sum to 1 (within 0.001)."""
        if not self.has(name):
            return default
        t = self.table(name)
        out = []
        for key in t.data:
            member = _member(kind, key)
            if member is None:
                choices = ", ".join(str(m.value) for m in kind)
                raise t.error(key, f"unknown; expected one of {choices}") from None
            out.append((member, t.number(key, low=0.0, high=1.0)))
        total = sum(s for _, s in out)
        if abs(total - 1.0) > 1e-3:
            raise self.error(name, f"shares must add up to 1, they add up to {total:.4f}")
        return tuple(out)

    def done(self) -> None:
        """Refuse keys nobody read: a typo must not silently fall back to a default."""
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            known = ", ".join(sorted(self.used)) or "none"
            raise self.error(unknown[0], f"unknown key (known here: {known})")


def _member(kind: type[Any], key: str) -> Any:
    """The member of enum ``kind`` a TOML key names: its value (a number's digits for an
    integer enum, ``"1"``), or its name in any case (``"acute"``); None when none matches."""
    for member in kind:
        if str(member.value) == key or member.name.lower() == key.strip().lower():
            return member
    return None


def _range(low: float, high: float) -> str:
    """The allowed values in words: no infinite bound is shown."""
    if math.isinf(low) and math.isinf(high):
        return "a finite number"
    if math.isinf(low):
        return f"at most {high:g}"
    if math.isinf(high):
        return f"at least {low:g}"
    return f"between {low:g} and {high:g}"
