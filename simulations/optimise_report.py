"""The optimiser's report: the frontier of staffed hours against what the simulation measured,
beside the baseline and the planner's own scenarios, and how each design's loop went.

Every figure of the frontier comes from simulating the scenario files the optimiser wrote, with
the same seeds (the same alarms) as the baseline; the model's own promise (expected share
covered) is shown beside it, so a planner sees where the two part.
"""

from __future__ import annotations

import csv
import html
import itertools
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from simulations.batch import Batch, ScenarioRuns
from simulations.compare import Estimate, estimate, kpi_estimate
from simulations.coverage import THRESHOLDS_MIN
from simulations.kpi import within
from simulations.optimise import Optimisation, weekly_hours
from simulations.report import _img, _png, write_report

__all__ = ["frontier_rows", "write_optimise_report"]


def _reached(runs: ScenarioRuns, limit: float) -> Estimate:
    """Share of all incidents an MAE car reached within ``limit`` minutes, per seed."""
    return estimate(
        [within(k.response_min, limit) * k.scalars["attended_share"] for k in runs.kpis],
        bounds=(0.0, 1.0),
    )


def _row(kind: str, runs: ScenarioRuns, extra: dict[str, Any]) -> dict[str, Any]:
    def mean(key: str) -> Estimate:
        return kpi_estimate(runs.kpis, key)

    row: dict[str, Any] = {
        "scenario": runs.scenario.name,
        "kind": kind,
        "car_hours_per_week": weekly_hours(runs.scenario),
        "team_cost_msek_per_year": mean("team_cost_msek_per_year"),
        **{f"reached_within_{m:g}_min": _reached(runs, m) for m in THRESHOLDS_MIN},
        "response_p50_min": mean("response_p50_min"),
        "handled_alone_share": mean("unserved_share"),
        "alone_ambulance": mean("alone_ambulance"),
        "alone_police": mean("alone_police"),
        "bases": ", ".join(b.id for b in runs.scenario.bases),
    }
    row.update(extra)
    return row


def frontier_rows(opt: Optimisation, planner: Sequence[ScenarioRuns]) -> list[dict[str, Any]]:
    """One row per scenario: the baseline, the planner's, then the optimised levels by budget;
    figures are :class:`Estimate` over seeds."""
    rows = [_row("baseline", opt.baseline, {})]
    rows += [_row("planner", r, {}) for r in planner]
    for level in opt.levels:
        res = level.result
        rows.append(
            _row(
                "optimised",
                level.runs,
                {
                    "budget_hours": level.budget_hours,
                    "model_covered_share": res.covered_share,
                    "model_gap": res.gap,
                    "solve_s": sum(i.result.solve_s for i in level.iterations),
                    "rounds": len(level.iterations),
                    "settled": level.settled,
                    "stop": level.stop,
                    "busy_fraction": float(sum(level.iterations[-1].busy) / 24),
                },
            )
        )
    return rows


def _plain(value: Any) -> Any:
    if isinstance(value, Estimate):
        return None if math.isnan(value.mean) else value.mean
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _plot(rows: Sequence[dict[str, Any]], limit: float) -> str:
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    styles = {"baseline": ("s", "k"), "planner": ("D", "C3"), "optimised": ("o", "C0")}
    for ax, (key, label, scale) in zip(
        axes,
        (
            ("reached", "% of incidents reached within 30 / 60 / 90 min", 100.0),
            ("response_p50_min", "median response (min)", 1.0),
            ("handled_alone_share", "% handled by ambulance or police alone", 100.0),
        ),
        strict=True,
    ):
        keys = [f"reached_within_{m:g}_min" for m in THRESHOLDS_MIN] if key == "reached" else [key]
        for k, name in enumerate(keys):
            opt = sorted(
                (r for r in rows if r["kind"] == "optimised"), key=lambda r: r["car_hours_per_week"]
            )
            if opt:
                ax.plot(
                    [r["car_hours_per_week"] for r in opt],
                    [r[name].mean * scale for r in opt],
                    "-o",
                    color=f"C{k}",
                    label=f"optimised ≤{THRESHOLDS_MIN[k]:g}" if key == "reached" else "optimised",
                )
            for r in rows:
                if r["kind"] != "optimised":
                    marker, colour = styles[r["kind"]]
                    ax.plot(
                        [r["car_hours_per_week"]],
                        [r[name].mean * scale],
                        marker,
                        color=colour if key != "reached" else f"C{k}",
                        markeredgecolor="k",
                    )
        ax.set_xlabel("staffed car-hours a week")
        ax.set_title(label, fontsize=9)
        if key == "reached":
            ax.legend(fontsize=7)
    fig.suptitle(
        f"Frontier (simulated; squares: baseline, diamonds: your scenarios); "
        f"model limit {limit:g} min",
        fontsize=10,
    )
    return _png(fig)


def _monotone_note(rows: Sequence[dict[str, Any]]) -> str:
    """Say where the simulated frontier falls with more staffed hours: the model's promise
    rises with the budget, a simulation with few seeds may not."""
    levels = sorted(
        (r for r in rows if r["kind"] == "optimised"), key=lambda r: r["car_hours_per_week"]
    )
    falls = [
        f"≤{m:g} min from {a['car_hours_per_week']:.0f} to {b['car_hours_per_week']:.0f} h"
        for m in THRESHOLDS_MIN
        for a, b in itertools.pairwise(levels)
        if b[f"reached_within_{m:g}_min"].mean < a[f"reached_within_{m:g}_min"].mean
    ]
    if not falls:
        return ""
    return (
        "<p class=note>The simulated frontier falls with more hours at "
        + html.escape("; ".join(falls))
        + ": within the noise of the seeds, or a design tuned to the model's limit; "
        "run more seeds (--seeds) to tell.</p>"
    )


def _section(opt: Optimisation, rows: Sequence[dict[str, Any]]) -> str:
    o = opt.options
    pct = 100.0
    cols: list[tuple[str, str, int, float]] = [
        ("kind", "", 0, 1.0),
        ("car_hours_per_week", "car-h/week", 0, 1.0),
        ("team_cost_msek_per_year", "team MSEK/yr", 2, 1.0),
        # of all incidents (an MAE car there within m minutes), unlike the simulation
        # report's "% of MAE-attended"
        *((f"reached_within_{m:g}_min", f"≤{m:g} min, % of all", 1, pct)
          for m in THRESHOLDS_MIN),
        ("response_p50_min", "median min", 1, 1.0),
        ("handled_alone_share", "alone %", 1, pct),
        ("model_covered_share", f"model ≤{o.limit_min:g} min %", 1, pct),
        ("bases", "bases", 0, 1.0),
    ]
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label, _, _ in cols)
    body = []
    for r in rows:
        cells = []
        for key, _, digits, scale in cols:
            v = r.get(key)
            if isinstance(v, Estimate):
                text = v.format(digits, scale)
            elif isinstance(v, float):
                text = f"{v * scale:.{digits}f}"
            else:
                text = "–" if v is None else str(v)
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append(f"<tr><th class=l>{html.escape(r['scenario'])}</th>{''.join(cells)}</tr>")
    loops = []
    for level in opt.levels:
        steps = "; ".join(
            f"round {n + 1}: busy on acute callouts {sum(it.busy) / 24:.3f} → "
            f"{sum(it.measured) / 24:.3f}, "
            f"model {it.result.covered_share:.1%}, gap {it.result.gap:.2%}, "
            f"{it.result.solve_s:.1f} s"
            for n, it in enumerate(level.iterations)
        )
        state = {
            "settled": "settled",
            "cycle": "designs repeat in a cycle",
            "cap": f"not settled after {len(level.iterations)}",
        }[level.stop]
        loops.append(
            f"<li>{html.escape(level.scenario.name)} ({state}; file "
            f"{html.escape(level.path.name)}): {html.escape(steps)}</li>"
        )
    return (
        "<h2>Optimiser: frontier</h2>"
        f"<p class=note>MEXCLP over {len(opt.sites)} candidate sites and {opt.points} demand "
        f"points, {o.bases} bases, response limit {o.limit_min:g} min (acknowledge and turnout "
        f"included), {len(opt.patterns)} shift pattern(s), up to "
        f"{o.max_cars_per_base if o.budgets else 1} car(s) per base at once"
        + (
            f", at least {o.min_night_cars} car(s) on {o.night[0]:02d}–{o.night[1]:02d}"
            if o.min_night_cars
            else ""
        )
        + (f", kept: {', '.join(o.keep)}" if o.keep else "")
        + ". Every figure but the model's is simulated with the same seeds as the baseline; "
        "'reached' counts all incidents, also those the ambulance or police handled alone; the "
        "median response is over the incidents an MAE car attended, so reaching more of the far "
        "ones can raise it.</p>"
        f"<table><tr><th></th>{head}</tr>{''.join(body)}</table>"
        + _monotone_note(rows)
        + _img(_plot(rows, o.limit_min), "frontier of staffed hours against simulated figures")
        + "<h3>Optimise → simulate rounds</h3><ul>"
        + "".join(loops)
        + "</ul>"
    )


def write_optimise_report(
    opt: Optimisation, planner: Sequence[ScenarioRuns], out_dir: Path
) -> Path:
    """Write ``report.html`` (frontier first, then the usual comparison of every scenario),
    ``frontier.csv`` and ``optimise.json`` into ``out_dir``."""
    rows = frontier_rows(opt, planner)
    runs = (opt.baseline, *planner, *(level.runs for level in opt.levels))
    batch = Batch(opt.options.seeds, tuple(runs))
    report = write_report(
        batch, out_dir, title="MAE base and hours optimiser", sections=[_section(opt, rows)]
    )
    flat = [{k: _plain(v) for k, v in r.items()} for r in rows]
    fields = list(dict.fromkeys(k for r in flat for k in r))
    with (out_dir / "frontier.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(flat)
    summary = {
        "seeds": list(opt.options.seeds),
        "frontier": flat,
        "levels": [
            {
                "scenario": level.scenario.name,
                "file": level.path.name,
                "budget_hours": level.budget_hours,
                "settled": level.settled,
                "stop": level.stop,
                "open_sites": list(level.result.open_sites),
                "staffing": [[s.site_id, s.pattern_id, s.cars] for s in level.result.staffing],
                "rounds": [
                    {
                        "busy": list(it.busy),
                        "measured": list(it.measured),
                        "objective": it.result.objective,
                        "bound": it.result.bound,
                        "covered_share": it.result.covered_share,
                        "gap": it.result.gap,
                        "optimal": it.result.optimal,
                        "solve_s": it.result.solve_s,
                    }
                    for it in level.iterations
                ],
            }
            for level in opt.levels
        ],
    }
    (out_dir / "optimise.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return report
