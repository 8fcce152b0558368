"""Writing the monthly report's files: a ``--out`` that is a file, or cannot be made or written
into, is one clear error naming ``--out``, and nothing in its place is touched."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import pytest

from dispatch.stats_report import MonthReport, month_report
from web.errors import BadMessage
from web.stats_render import REPORT_FILES, check_out, write_report


def _report() -> MonthReport:
    return month_report([], "2026-01", tz=UTC, locate=lambda lat, lon: "unknown")


def _refuses(out: Path, words: str) -> None:
    for attempt in (lambda: check_out(out), lambda: write_report(_report(), out)):
        with pytest.raises(BadMessage) as refused:
            attempt()
        assert refused.value.field == "--out" and words in str(refused.value)
        assert "\n" not in str(refused.value)


def test_an_out_that_is_a_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x\n", encoding="utf-8")
    _refuses(afile, f"{afile} is a file, not a folder")
    assert afile.read_text(encoding="utf-8") == "x\n"


def test_an_out_under_a_file_cannot_be_made(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x\n", encoding="utf-8")
    _refuses(afile / "sub", f"cannot make the folder {afile / 'sub'}")


def test_an_out_the_system_will_not_make_names_out() -> None:
    with pytest.raises(BadMessage, match="cannot make the folder /proc/mae-forbidden") as no:
        write_report(_report(), Path("/proc/mae-forbidden"))
    assert no.value.field == "--out"


def test_a_file_that_cannot_be_written_names_out(tmp_path: Path) -> None:
    (tmp_path / "report.html").mkdir()  # a folder where the page goes
    with pytest.raises(BadMessage, match="cannot write .*report.html") as no:
        write_report(_report(), tmp_path)
    assert no.value.field == "--out"


def test_a_new_folder_gets_every_file(tmp_path: Path) -> None:
    check_out(tmp_path / "a" / "b")
    assert not (tmp_path / "a").exists()  # checking makes nothing
    written = write_report(_report(), tmp_path / "a" / "b")
    assert {p.name for p in written} >= set(REPORT_FILES)
    assert all(p.is_file() for p in written)


def test_a_folder_that_holds_a_report_is_refused_unless_replace(tmp_path: Path) -> None:
    """An old month's report may be all that is left of it after retention: never written
    over unasked; --replace writes over it."""
    write_report(_report(), tmp_path)
    page = tmp_path / "report.html"
    page.write_text("the old month\n", encoding="utf-8")
    _refuses(tmp_path, "already holds a report (report.html): choose another folder, or "
             "add --replace")
    assert page.read_text(encoding="utf-8") == "the old month\n"
    check_out(tmp_path, replace=True)
    write_report(_report(), tmp_path, replace=True)
    assert "the old month" not in page.read_text(encoding="utf-8")
