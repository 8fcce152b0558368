"""The argparse types and checks ``mae simulate`` and ``mae optimise`` share: each option is
checked before any run, and a bad one is one line naming it."""

from __future__ import annotations

import argparse
from pathlib import Path

from simulations.spec import MAX_DAYS

__all__ = ["day_count", "output_dir", "positive_int", "seed_int"]


def positive_int(text: str) -> int:
    """An argparse type: a whole number of 1 or more."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def seed_int(text: str) -> int:
    """An argparse type: a seed, a whole number of 0 or more."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def day_count(text: str) -> int:
    """An argparse type: days to simulate, 1..3660 as a scenario's ``days``."""
    value = _int(text)
    if not 1 <= value <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"must be 1..{MAX_DAYS}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def output_dir(path: Path) -> Path:
    """``path`` made a folder to write into, before any run (a file in its place was found
    only after the whole simulation); :class:`ScenarioError` naming ``--out`` otherwise."""
    from simulations.errors import ScenarioError

    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ScenarioError("--out", f"{path} is a file, not a folder") from None
    except OSError as exc:
        raise ScenarioError("--out", f"cannot make the folder {path}: "
                                     f"{exc.strerror or exc}") from None
    return path
