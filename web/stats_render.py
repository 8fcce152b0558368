"""The monthly report rendered: an HTML page with SVG plots (matplotlib), one CSV per table, an
XLSX workbook (openpyxl) with a sheet per table, and plain JSON for the ``/stats`` page.

Rendering only lays out what :func:`dispatch.stats_report.month_report` counted; suppression
(``"<5"``) is applied before, by :func:`rendered`. A suppressed cell is drawn as a gap in the
plots. Every label is escaped: none is free text, but the HTML never trusts that.
"""

from __future__ import annotations

import csv
import html
import io
import math
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dispatch.stats_report import MonthReport
from dispatch.stats_table import Cell, Table, suppress
from web.errors import BadMessage

__all__ = ["REPORT_FILES", "check_out", "rendered", "to_csv", "to_html", "to_json", "to_xlsx",
           "to_zip", "write_report"]

#: What ``write_report`` puts in its folder besides one ``<table key>.csv`` per table.
REPORT_FILES = ("report.html", "report.xlsx")


def rendered(report: MonthReport, *, suppressed: bool = True) -> MonthReport:
    """``report`` with every table suppressed (the default for anything shown or exported)."""
    if not suppressed:
        return report
    return MonthReport(report.month, report.timezone, report.callouts,
                       tuple(suppress(t) for t in report.tables))


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float):
        return f"{cell:.3f}".rstrip("0").rstrip(".") if cell % 1 else f"{cell:.1f}"
    return str(cell)


def to_csv(table: Table) -> str:
    """One table as CSV: the header row, then its rows (empty cells for none)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow(["" if c is None else c for c in row])
    return out.getvalue()


def to_xlsx(report: MonthReport) -> bytes:
    """A workbook with an overview sheet and one sheet per table."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    first = book.active
    assert first is not None
    first.title = "about"
    first.append([f"MAE monthly statistics {report.month}"])
    first.append(["time zone", report.timezone])
    first.append(["callouts", report.callouts])
    first.append(["counts under 5 are shown as <5 unless the report was made unsuppressed; '..' "
                  "hides one more count where a total would give a <5 away"])
    for table in report.tables:
        sheet = book.create_sheet(table.key[:31])
        sheet.append([table.title])
        sheet["A1"].font = Font(bold=True)
        sheet.append(list(table.header))
        for row in table.rows:
            sheet.append(list(row))
        if table.note:
            sheet.append([])
            sheet.append([table.note])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_json(report: MonthReport) -> dict[str, Any]:
    """The report as JSON-ready data (the ``/stats`` page draws it)."""
    return {"month": report.month, "timezone": report.timezone, "callouts": report.callouts,
            "tables": [{"key": t.key, "title": t.title, "note": t.note,
                        "columns": [{"name": c.name, "kind": c.kind} for c in t.columns],
                        "rows": [list(r) for r in t.rows]} for t in report.tables]}


def to_zip(report: MonthReport) -> bytes:
    """Every table's CSV in one zip (the page's CSV download)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for table in report.tables:
            archive.writestr(f"{report.month}/{table.key}.csv", to_csv(table))
    return buffer.getvalue()


# -- HTML ---------------------------------------------------------------------------------------

def _number(cell: Cell) -> float:
    """A cell as a plotted value: suppressed and empty cells are NaN (a gap)."""
    return float(cell) if isinstance(cell, int | float) else math.nan


def _bar(cell: Cell) -> float:
    """A cell as a bar's length: suppressed and empty cells draw no bar."""
    value = _number(cell)
    return 0.0 if math.isnan(value) else value


def _svg(fig: Any) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # without the XML prologue, to sit inside the page


def _bars(labels: Sequence[str], values: Sequence[Cell], title: str, xlabel: str) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 0.3 * len(labels) + 1.0))
    ax = fig.add_subplot()
    ax.barh(list(labels)[::-1], [_bar(v) for v in values][::-1], color="#2c6e8f")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    return _svg(fig)


def _heat(table: Table) -> str:
    import matplotlib
    from matplotlib.figure import Figure

    grid = [[_number(c) for c in row[1:]] for row in table.rows]
    fig = Figure(figsize=(8.0, 3.0))
    ax = fig.add_subplot()
    colours = matplotlib.colormaps["Blues"].with_extremes(bad="#d9d9d9")
    top = max((v for row in grid for v in row if not math.isnan(v)), default=0.0)
    image = ax.imshow(grid, aspect="auto", cmap=colours, vmin=0, vmax=max(5.0, top))
    ax.set_yticks(range(len(table.rows)), [str(r[0]) for r in table.rows])
    columns = table.header[1:]
    step = 2 if len(columns) > 12 else 1
    ax.set_xticks(range(0, len(columns), step), list(columns[::step]))
    ax.set_title(f"{table.title} (grey: 1-4, suppressed)")
    fig.colorbar(image, ax=ax)
    return _svg(fig)


def _trend(table: Table) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.0, 3.0))
    ax = fig.add_subplot()
    months = [str(r[0]) for r in table.rows]
    ax.bar(months, [_bar(v) for v in table.column("callouts").values()], color="#2c6e8f")
    ax.set_ylabel("callouts")
    ax.tick_params(axis="x", rotation=45)
    ax.set_title("The last 12 months")
    return _svg(fig)


def _plots(report: MonthReport) -> list[str]:
    outcomes = report.table("outcomes")
    rows = [r for r in outcomes.rows if r[0] != "total"]
    places = report.table("response_by_municipality")
    reached = [r for r in places.rows if r[0] != "all"]
    return [
        _bars([str(r[0]) for r in rows], [r[1] for r in rows], "Callouts by outcome",
              "callouts (none drawn: under 5, suppressed)"),
        _bars([str(r[0]) for r in reached], [r[2] for r in reached],
              "Median response time by municipality", "minutes"),
        _heat(report.table("hour_weekday")),
        _heat(report.table("hours4_weekday")),
        _trend(report.table("month_over_month")),
    ]


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
    body = "".join("<tr>" + "".join(
        f"<td>{html.escape(_text(c))}</td>" if i else f"<th scope=row>{html.escape(_text(c))}"
        "</th>" for i, c in enumerate(row)) + "</tr>" for row in table.rows)
    note = f"<p class=note>{html.escape(table.note)}</p>" if table.note else ""
    return (f'<section id="{html.escape(table.key)}"><h2>{html.escape(table.title)}</h2>'
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"
            "</section>")


_STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#1b1b1b}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem;
text-align:right}th[scope=row],thead th{text-align:left;background:#f3f5f7}.note{color:#555;
font-size:.9rem}.plots svg{max-width:100%;height:auto}"""


def to_html(report: MonthReport, *, suppressed: bool) -> str:
    """The whole report as one self-contained HTML page (inline SVG plots, no scripts)."""
    state = ("Counts under 5 are shown as &lt;5; “..” hides one more count where a total "
             "would give a &lt;5 away." if suppressed else
             "UNSUPPRESSED: small counts are shown; for the manager only, not to be shared.")
    plots = "".join(f"<figure>{svg}</figure>" for svg in _plots(report))
    tables = "".join(_html_table(t) for t in report.tables)
    month = html.escape(report.month)
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>MAE monthly statistics {month}</title><style>{_STYLE}</style></head>"
            f"<body><h1>MAE monthly statistics {month}</h1>"
            f"<p>{report.callouts} callouts; months and hours in "
            f"{html.escape(report.timezone)}. {state} No free text is ever reported.</p>"
            f"<div class=plots>{plots}</div>{tables}</body></html>")


def check_out(out: Path, *, replace: bool = False) -> None:
    """Raise :class:`BadMessage` naming ``--out`` if ``out`` cannot be the report's folder (a
    file, or under one) or already holds a report and ``replace`` is not given, before any
    work; nothing is made here (:func:`write_report` makes the folder, and names ``--out``
    too when that fails after all). An old month's report may be all that is left of it once
    retention has thinned the log, so it is never written over unasked."""
    if out.exists():
        if not out.is_dir():
            raise BadMessage("--out", f"{out} is a file, not a folder")
        if not replace and (out / "report.html").is_file():
            raise BadMessage("--out", f"{out} already holds a report (report.html): choose "
                             "another folder, or add --replace to write over it")
        return
    for parent in out.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise BadMessage("--out", f"cannot make the folder {out}: {parent} is a file")
            return


def _folder(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise BadMessage("--out", f"{out} is a file, not a folder") from None
    except OSError as exc:
        raise BadMessage("--out", f"cannot make the folder {out}: {exc.strerror or exc}") \
            from None


def write_report(report: MonthReport, out: Path, *, suppressed: bool = True,
                 replace: bool = False) -> list[Path]:
    """Write ``report.html``, ``report.xlsx`` and one CSV per table into ``out`` (made if
    missing); returns the files written. A folder that cannot be made or written into, or
    that holds a report already (unless ``replace``), is a :class:`BadMessage` naming
    ``--out``."""
    check_out(out, replace=replace)
    shown = rendered(report, suppressed=suppressed)
    _folder(out)
    files: list[tuple[Path, str | bytes]] = [
        *((out / f"{table.key}.csv", to_csv(table)) for table in shown.tables),
        (out / "report.html", to_html(shown, suppressed=suppressed)),
        (out / "report.xlsx", to_xlsx(shown)),
    ]
    for path, content in files:
        try:
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        except OSError as exc:
            raise BadMessage("--out", f"cannot write {path}: {exc.strerror or exc}") from None
    return [path for path, _ in files]
