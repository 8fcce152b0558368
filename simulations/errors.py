"""Errors of the simulator: bad scenarios and bad alarm logs name exactly what is wrong."""

from __future__ import annotations

from mae.errors import MaeError

__all__ = ["AlarmLogError", "ScenarioError", "SimulationError", "csv_shape", "unreadable"]


class SimulationError(MaeError, RuntimeError):
    """Root of the simulator's errors: a run could not go on, or its scenario or log is bad."""


class ScenarioError(SimulationError, ValueError):
    """A scenario file has a bad key; ``key`` is its dotted path (``units[1].shifts[0].start``)."""

    def __init__(self, key: str, problem: str, *, source: str = "") -> None:
        self.key = key
        self.problem = problem
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{key}: {problem}")


class AlarmLogError(SimulationError, ValueError):
    """An alarm log (CSV) has bad rows; ``problems`` lists ``(row, field, problem)`` for each.

    Rows are numbered as a spreadsheet shows them: the header is row 1; row 0 is the file as
    a whole (missing, not UTF-8, empty, not comma-separated), said as it is.
    """

    def __init__(self, problems: list[tuple[int, str, str]], *, source: str = "") -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        whole = [p for r, _, p in problems if r == 0]
        if whole:  # nothing could be read: no rows or fields to count
            text = "; ".join(whole)
            super().__init__(text if source and source in text else f"{where}{text}")
            return
        shown = "; ".join(f"row {r}, {f}: {p}" for r, f, p in problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(f"{where}{len(problems)} bad field(s): {shown}{more}")


def csv_shape(path: object, text: str) -> str | None:
    """Why ``text``, read from ``path``, is not a comma-separated table with a header: empty,
    or separated by semicolons (Excel with Swedish or other European settings); None if it
    may be one."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not first:
        return f"{path} is empty: it needs a header row and one row per line"
    if ";" in first and "," not in first:
        return (f"{path} is separated by ';', not ','; save it as comma-separated CSV "
                "(in Excel: CSV UTF-8, comma-delimited)")
    return None


def unreadable(path: object, exc: OSError | UnicodeDecodeError) -> str:
    """What a person can act on when the file at ``path`` cannot be read as text."""
    if isinstance(exc, UnicodeDecodeError):
        return (f"{path} is not UTF-8 text (byte {exc.start + 1} is not): save it as UTF-8 "
                "(in Excel: CSV UTF-8)")
    if isinstance(exc, FileNotFoundError):
        return f"no such file {path}"
    if isinstance(exc, IsADirectoryError):
        return f"{path} is a folder, not a file"
    if isinstance(exc, PermissionError):
        return f"cannot read {path}: permission denied"
    return f"cannot read {path}: {exc.strerror or exc}"
