"""Booking CSVs: a file that cannot be read as a comma-separated table says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulations.bookings import read_bookings
from simulations.errors import AlarmLogError


@pytest.mark.parametrize(("body", "says"), [
    ("", "is empty"),
    ("patient_ref;earliest_start;latest_start;place;duration_min\n", "separated by ';'"),
])
def test_an_empty_or_semicolon_file_is_named_as_such(
        tmp_path: Path, body: str, says: str) -> None:
    p = tmp_path / "bookings.csv"
    p.write_text(body, encoding="utf-8")
    with pytest.raises(AlarmLogError) as info:
        read_bookings(p, places={}, timezone="UTC")
    assert says in str(info.value) and "column is missing" not in str(info.value)
