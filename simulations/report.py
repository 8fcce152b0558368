"""The HTML report of a batch: figures per scenario and a side-by-side comparison.

Plots are drawn with matplotlib (Agg, no display) and embedded as PNG data, so the report is one
self-contained file that opens offline. The county map is drawn from the road graph itself, no
tiles.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from maps.graph import RoadGraph
from simulations.batch import Batch, ScenarioRuns, thresholds_of
from simulations.compare import Estimate, difference, kpi_estimate, pairing_problems
from simulations.coverage import THRESHOLDS_MIN
from simulations.kpi import PERCENTILE_METHOD, by_municipality, file_key, threshold_key
from simulations.spec import Scenario
from simulations.terrain import Terrain, load_terrain

__all__ = ["KPI_ROWS", "coverage_driving", "coverage_label", "draw_roads", "kpi_rows", "map_aspect",
           "write_report"]

#: (key, label, scale, digits) of the KPIs shown in the tables, in order.
KPI_ROWS: tuple[tuple[str, str, float, int], ...] = (
    ("incidents", "Incidents (alarms after merging)", 1, 0),
    ("response_mean_min", "Response time mean (min)", 1, 1),
    ("response_p50_min", "Response time median (min)", 1, 1),
    ("response_p90_min", "Response time p90 (min)", 1, 1),
    ("response_p95_min", "Response time p95 (min)", 1, 1),
    ("within_30_min", "Within 30 min (% of MAE-attended)", 100, 1),
    ("within_60_min", "Within 60 min (% of MAE-attended)", 100, 1),
    ("within_90_min", "Within 90 min (% of MAE-attended)", 100, 1),
    ("queued_share", "Queued: waited for a unit (%)", 100, 1),
    ("queue_wait_mean_min", "Mean wait of the queued (min)", 1, 1),
    ("unserved_share", "Unserved by MAE (%)", 100, 1),
    ("unserved_off_duty_share", "… no unit on duty (%)", 100, 1),
    ("unserved_too_far_share", "… no unit within the limit (%)", 100, 1),
    ("unserved_busy_share", "… all units busy (%)", 100, 1),
    ("wait_mean_min", "Mean wait for a unit (min)", 1, 1),
    ("utilisation", "Utilisation on acute callouts (% of shift time)", 100, 1),
    ("transport_mae", "Transports by MAE", 1, 0),
    ("transport_ambulance", "Transports by ambulance (MAE attended)", 1, 0),
    ("transport_police", "Transports by police (MAE attended)", 1, 0),
    ("alone_ambulance", "Handled by ambulance alone", 1, 0),
    ("alone_police", "Handled by police alone", 1, 0),
    ("population_within_30_min", "Population ≤30 min of a staffed base (% of week)", 100, 1),
    ("population_within_60_min", "Population ≤60 min of a staffed base (% of week)", 100, 1),
    ("population_within_90_min", "Population ≤90 min of a staffed base (% of week)", 100, 1),
    ("staffed_hours", "Staffed unit-hours (scheduled, inside the run)", 1, 0),
    ("overtime_hours", "Overtime unit-hours (jobs past shift end)", 1, 0),
    ("care_avoided_msek_per_year", "Inpatient care avoided (MSEK/year)", 1, 2),
    ("team_cost_msek_per_year", "Team cost (MSEK/year)", 1, 2),
    ("net_msek_per_year", "Net (MSEK/year)", 1, 2),
)

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(data: str, alt: str) -> str:
    return f'<img class="plot" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _response_plot(runs: ScenarioRuns) -> str:
    resp = np.concatenate([k.response_min for k in runs.kpis]) if runs.kpis else np.array([])
    fig, ax = plt.subplots(figsize=(7, 3.2))
    if len(resp):
        ax.hist(resp, bins=list(np.arange(0, max(120.0, float(resp.max()) + 5), 5)),
                color="#3b75af")
    for limit in runs.scenario.kpi.thresholds_min:  # the [kpi] thresholds reported
        ax.axvline(limit, color="#999", linestyle="--", linewidth=1)
    ax.set_xlabel("minutes from alarm to MAE on scene")
    ax.set_ylabel("incidents (all seeds)")
    ax.set_title("Response-time distribution")
    return _png(fig)


def _kpi_rows(thresholds: Sequence[float]) -> list[tuple[str, str, float, int]]:
    """:data:`KPI_ROWS` with one "within" row per threshold of ``thresholds`` (a scenario's
    ``[kpi]`` list, or every one a comparison's scenarios list)."""
    # of the incidents an MAE unit attended (not of all: the unserved row says how many were
    # not), named so, beside the optimiser's shares of all incidents
    within = [(threshold_key(m), f"Within {m:g} min (% of MAE-attended)", 100.0, 1)
              for m in thresholds]
    rows = [r for r in KPI_ROWS if not r[0].startswith("within_")]
    at = next(i for i, r in enumerate(rows) if r[0] == "response_p95_min") + 1
    return rows[:at] + within + rows[at:]


def draw_roads(ax: Any, graph: RoadGraph) -> None:
    """Every edge of ``graph`` as one :class:`LineCollection` (one artist, not one plot call
    per edge): the ragged geometry arrays are cut into (lon, lat) polylines with NumPy."""
    src = graph.edge_source
    n = graph.n_edges
    if not n:
        return
    go = graph.geom_offsets
    counts = np.diff(go[: n + 1]).astype(np.int64)
    # Each edge is its tail node, its inner points, its head node: 2 + count points.
    sizes = counts + 2
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    total = int(sizes.sum())
    lon = np.empty(total)
    lat = np.empty(total)
    lon[starts] = graph.node_lon[src]
    lat[starts] = graph.node_lat[src]
    ends = starts + sizes - 1
    lon[ends] = graph.node_lon[graph.edge_target[:n]]
    lat[ends] = graph.node_lat[graph.edge_target[:n]]
    inner = np.ones(total, dtype=bool)
    inner[starts] = False
    inner[ends] = False
    lon[inner] = graph.geom_lon[go[0]: go[n]]
    lat[inner] = graph.geom_lat[go[0]: go[n]]
    points = np.column_stack([lon, lat])
    segments = np.split(points, starts[1:])
    ax.add_collection(LineCollection(segments, colors="#c8c8c8", linewidths=0.7, zorder=1))
    ax.update_datalim(points)
    ax.autoscale_view()


def map_aspect(lat: float) -> float:
    """The axes aspect that draws degrees of longitude and latitude to scale at ``lat``."""
    return 1 / max(math.cos(math.radians(lat)), 0.05)


def coverage_label(scenario: Scenario) -> str:
    """What the coverage map's minutes are: matrix times, or road times in the season the
    coverage is counted in (winter whenever the scenario's season can be winter)."""
    return f"minutes to nearest base ({coverage_driving(scenario)})"


def coverage_driving(scenario: Scenario) -> str:
    """The driving the population coverage is counted in, in a few words for table rows."""
    if scenario.matrix is not None:
        return "the matrix's times"
    if scenario.roads.season == "summer":
        return "summer driving"
    if scenario.roads.season == "winter":
        return "winter driving"
    return "winter driving (calendar season)"


def _coverage_map(runs: ScenarioRuns, terrain: Terrain) -> str:
    cov = runs.coverage
    fig, ax = plt.subplots(figsize=(5.5, 6.5))
    if isinstance(terrain, RoadGraph):
        draw_roads(ax, terrain)
        mid_lat = float(np.mean(terrain.bounds()[0::2])) if terrain.n_nodes else 0.0
    else:
        ax.scatter(terrain.lon, terrain.lat, s=2, color="#c8c8c8", zorder=1)
        mid_lat = terrain.center_lat
    minutes = np.minimum(cov.minutes, 240.0)
    sizes = [8 + 60 * math.sqrt(p.population / 50_000) for p in cov.places]
    sc = ax.scatter([p.lon for p in cov.places], [p.lat for p in cov.places], c=minutes,
                    s=sizes, cmap="RdYlGn_r", vmin=0, vmax=180, edgecolors="k", linewidths=0.3,
                    zorder=2)
    bases = {b.id: b for b in runs.scenario.bases}
    for bid in cov.bases:
        b = bases[bid]
        ax.scatter([b.lon], [b.lat], marker="*", s=180, color="#1f3d7a", zorder=3)
        ax.annotate(b.name, (b.lon, b.lat), xytext=(4, 4), textcoords="offset points",
                    fontsize=7)
    fig.colorbar(sc, ax=ax, label=coverage_label(runs.scenario), shrink=0.7)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_aspect(map_aspect(mid_lat))
    ax.set_title("Coverage map: places by driving time to a base")
    return _png(fig)


def _utilisation_plot(runs: ScenarioRuns) -> str:
    stack = np.array([k.utilisation for k in runs.kpis])
    with np.errstate(invalid="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            util = np.nanmean(stack, axis=0) if len(stack) else np.full((7, 24), np.nan)
    fig, ax = plt.subplots(figsize=(7, 2.8))
    im = ax.imshow(util * 100, aspect="auto", cmap="viridis", vmin=0, vmax=100)
    ax.set_yticks(range(7), WEEKDAY_NAMES)
    ax.set_xticks(range(0, 24, 2))
    ax.set_xlabel("hour of day (local)")
    ax.set_title("On acute callouts by hour (% of shift time; blank: nobody on shift)",
                 fontsize=10)
    fig.colorbar(im, ax=ax)
    return _png(fig)


def _coverage_week_plot(batch: Batch) -> str:
    fig, ax = plt.subplots(figsize=(8, 3.2))
    styles = ("-", "--", ":")
    for i, runs in enumerate(batch.runs):
        for k, limit in enumerate(THRESHOLDS_MIN):
            ax.plot(runs.coverage.shares[:, :, k].reshape(-1) * 100, linestyle=styles[k],
                    color=f"C{i}", label=f"{runs.scenario.name} ≤{limit} min" if k == 1 or len(
                        batch.runs) == 1 else None)
    ax.set_xticks(range(0, 168, 24), WEEKDAY_NAMES)
    ax.set_ylabel("% of population")
    ax.set_ylim(-2, 108)  # headroom: a line at 100 % must not sit on the frame
    ax.set_yticks(range(0, 101, 20))
    driving = sorted({coverage_driving(r.scenario) for r in batch.runs})
    ax.set_title("Population within 30 (solid) / 60 (dashed) / 90 (dotted) min of a staffed "
                 f"base ({'; '.join(driving)})", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    return _png(fig)


def _comparison_plot(batch: Batch) -> str:
    thresholds = thresholds_of([r.scenario for r in batch.runs])
    shown = 60.0 if 60.0 in thresholds else thresholds[len(thresholds) // 2]
    keys = [("response_p50_min", "p50 min"), ("response_p90_min", "p90 min"),
            ("unserved_share", "unserved %"), (threshold_key(shown), f"≤{shown:g} min %"),
            ("utilisation", "acute utilisation %")]
    fig, axes = plt.subplots(1, len(keys), figsize=(12, 3.2))
    names = [r.scenario.name for r in batch.runs]
    for ax, (key, label) in zip(axes, keys, strict=True):
        scale = 100.0 if "%" in label else 1.0
        ests = [kpi_estimate(r.kpis, key) for r in batch.runs]
        means = [e.mean * scale for e in ests]
        errs = [[0.0 if math.isnan(e.low) else (e.mean - e.low) * scale for e in ests],
                [0.0 if math.isnan(e.low) else (e.high - e.mean) * scale for e in ests]]
        ax.bar(range(len(ests)), means, yerr=errs, color=[f"C{i}" for i in range(len(ests))],
               capsize=4)
        ax.set_xticks(range(len(ests)), [str(i + 1) for i in range(len(ests))])
        ax.set_title(label, fontsize=9)
    seeds = min(len(r.kpis) for r in batch.runs)
    fig.suptitle(f"Scenarios 1..{len(names)}: " + ("mean ± 95 % interval over seeds"
                 if seeds > 1 else "one seed, no interval"), fontsize=10)
    return _png(fig)


def _ecdf_plot(batch: Batch) -> str:
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for i, runs in enumerate(batch.runs):
        resp = np.sort(np.concatenate([k.response_min for k in runs.kpis]))
        if len(resp):
            ax.step(resp, np.arange(1, len(resp) + 1) / len(resp), where="post",
                    color=f"C{i}", label=runs.scenario.name)
    ax.set_xlim(0, 150)
    ax.set_xlabel("minutes from alarm to MAE on scene")
    ax.set_ylabel("share of attended incidents")
    if ax.get_legend_handles_labels()[0]:  # none when no run attended a call
        ax.legend(fontsize=7)
    ax.set_title("Response times compared (all seeds)")
    return _png(fig)


def _cell(e: Estimate, scale: float, digits: int) -> str:
    return html.escape(e.format(digits, scale))


#: The follow-up visit figures (simulations/followups.py), shown for scenarios that have them.
_VISIT_ROWS = (
    ("visits_booked", "Follow-up visits booked", 1.0, 0),
    ("visits_done_share", "Visits done (% of those due)", 100.0, 1),
    ("visits_in_window_share", "Visits done within their window (%)", 100.0, 1),
    ("visits_postponed_share", "Visits postponed at least once (%)", 100.0, 1),
    ("visits_not_met_share", "Visits not met (%)", 100.0, 1),
    ("visits_interrupted_share", "Visits broken off by an acute callout (%)", 100.0, 1),
    ("visits_missed_share", "Visits missed: window over, never done (%)", 100.0, 1),
    ("visit_drive_hours", "Planned driving to visits (h)", 1.0, 1),
)


def _visit_table(batch: Batch) -> str:
    """The follow-up figures of the scenarios with follow-up visits (none: nothing)."""
    runs = [r for r in batch.runs if r.kpis and "visits_booked" in r.kpis[0].scalars]
    if not runs:
        return ""
    head = "".join(f"<th>{html.escape(r.scenario.name)}</th>" for r in runs)
    rows = "".join(
        f"<tr><th class=l>{html.escape(label)}</th>" + "".join(
            f"<td>{_cell(kpi_estimate(r.kpis, key), scale, digits)}</td>"
            for r in runs) + "</tr>"
        for key, label, scale, digits in _VISIT_ROWS)
    return ("<h3>Follow-up visits</h3><p>Over visits whose window closed within the run; the "
            "effect on acute response is the difference in the response rows above.</p>"
            f"<table><tr><th></th>{head}</tr>{rows}</table>")


def _kpi_table(batch: Batch) -> str:
    head = "".join(f"<th>{i + 1}. {html.escape(r.scenario.name)}</th>"
                   for i, r in enumerate(batch.runs))
    base_sc = batch.runs[0].scenario
    paired = [not pairing_problems(base_sc, r.scenario) for r in batch.runs[1:]]
    diff_head = "".join(f"<th>{i + 1} − 1</th>" if ok else f"<th>{i + 1} − 1 (not paired)</th>"
                        for i, ok in enumerate(paired, start=1))
    rows = []
    base = batch.runs[0].kpis
    driving = [coverage_driving(r.scenario) for r in batch.runs]
    same = len(set(driving)) == 1
    for key, label, scale, digits in _kpi_rows(thresholds_of([r.scenario for r in batch.runs])):
        if not all(key in k.scalars for r in batch.runs for k in r.kpis):
            continue
        if key.startswith("population_within_"):  # say which driving it is counted in
            label = label[:-1] + (f", {driving[0]})" if same else ", driving as below)")
        cells = "".join(
            f"<td>{_cell(kpi_estimate(r.kpis, key), scale, digits)}</td>"
            for r in batch.runs)
        diffs = "".join(
            f"<td>{_cell(difference(base, r.kpis, key), scale, digits)}</td>" if ok
            else "<td>–</td>"
            for r, ok in zip(batch.runs[1:], paired, strict=True))
        rows.append(f"<tr><th class=l>{html.escape(label)}</th>{cells}{diffs}</tr>")
    if not same:
        cells = "".join(f"<td>{html.escape(d)}</td>" for d in driving)
        rows.append(f"<tr><th class=l>Population coverage counted in</th>{cells}"
                    f"{'<td></td>' * (len(batch.runs) - 1)}</tr>")
    return (f"<table><tr><th></th>{head}{diff_head}</tr>" + "".join(rows) + "</table>")


def _municipality_table(runs: ScenarioRuns) -> str:
    records = [r for res in runs.results for r in res.records]
    rows = []
    for m in by_municipality(records):
        def f(v: float, scale: float = 1.0) -> str:
            return "–" if math.isnan(v) else f"{v * scale:.1f}"
        rows.append(
            f"<tr><th class=l>{html.escape(m.municipality)}</th><td>{m.incidents}</td>"
            f"<td>{m.attended}</td><td>{f(m.p50_min)}</td><td>{f(m.p90_min)}</td>"
            f"<td>{f(m.within_60, 100)}</td><td>{f(m.unserved_share, 100)}</td></tr>")
    return ("<table><tr><th>Municipality</th><th>Incidents</th><th>Attended</th>"
            "<th>p50 min</th><th>p90 min</th><th>≤60 min %</th><th>Unserved %</th></tr>"
            + "".join(rows) + "</table>")


def _assumptions(runs: ScenarioRuns) -> str:
    sc = runs.scenario
    e, p, s = sc.economics, sc.policy, sc.service
    units = ", ".join(
        f"{u.id} at {sc.base(u.base).name} ("
        + "; ".join(f"{sh.start_min // 60:02d}:{sh.start_min % 60:02d}–"
                    f"{(sh.end_min // 60) % 24:02d}:{sh.end_min % 60:02d} "
                    + ",".join(WEEKDAY_NAMES[d] for d in sorted(sh.days))
                    for sh in u.shifts) + ")"
        for u in sc.units)
    items = [
        f"Units: {units}",
        f"Policy: {p.kind}; MAE takes a job only if on scene within {p.max_response_min:g} min; "
        f"otherwise {p.fallback} handles it alone; queue when busy: {p.queue}",
        "Travel: the matrix's times as given (no season, winter factor or off-road speed "
        "applies)" if sc.matrix is not None else
        f"Roads: season {sc.roads.season}, winter factor {sc.roads.winter_factor:g}, "
        f"off-road {sc.roads.offroad_speed_kmh:g} km/h",
        f"Service: ack {s.ack_s:g} s, turnout {s.turnout_min:g} min, on scene "
        f"{s.on_scene_min:g}±{s.on_scene_sd_min:g} min, at facility {s.at_facility_min:g}±"
        f"{s.at_facility_sd_min:g} min",
        f"Economics (assumptions): bed-year {e.bed_year_cost_sek:,.0f} SEK; "
        f"{e.avoided_admission_share:.0%} of patients who stay home would otherwise be "
        f"admitted for {e.avoided_bed_days:g} days; team {e.team_cost_per_hour_sek:,.0f} SEK "
        "per staffed hour",
    ]
    return "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"


CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th.l{text-align:left}
img.plot{max-width:100%;margin:.5em 0;display:block}
h2{border-bottom:2px solid #3b75af;padding-bottom:3px}
.note{color:#555;font-size:13px}
"""


def write_report(batch: Batch, out_dir: str | Path, *, title: str = "MAE coverage simulation",
                 sections: Sequence[str] = ()) -> Path:
    """Write ``report.html`` (self-contained, plots embedded) into ``out_dir``; ``sections``
    are HTML fragments placed before the comparison (e.g. the optimiser's frontier)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>"
             f"{html.escape(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>",
             f"<p class=note>{len(batch.runs)} scenario(s) × {len(batch.seeds)} seed(s) "
             f"(seeds {', '.join(map(str, batch.seeds))}). {_method_note(batch)} "
             f"Percentiles: {PERCENTILE_METHOD} interpolation between closest ranks (Hyndman "
             "and Fan definition 7). "
             f"Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.</p>"]
    parts.extend(sections)
    parts.append("<h2>Comparison</h2>")
    parts.append(_kpi_table(batch))
    parts.append(_visit_table(batch))
    if len(batch.runs) > 1:
        parts.append(_img(_comparison_plot(batch), "comparison of key figures"))
    parts.append(_img(_ecdf_plot(batch), "response time distributions compared"))
    parts.append(_img(_coverage_week_plot(batch), "population coverage by hour of the week"))
    for i, runs in enumerate(batch.runs):
        graph = load_terrain(runs.scenario)
        sc = runs.scenario
        parts.append(f"<h2>{i + 1}. {html.escape(sc.name)}</h2>")
        if sc.description:
            parts.append(f"<p>{html.escape(sc.description)}</p>")
        parts.append(_assumptions(runs))
        parts.append(_img(_response_plot(runs), f"response time distribution of {sc.name}"))
        parts.append(_img(_coverage_map(runs, graph), f"coverage map of {sc.name}"))
        parts.append(_img(_utilisation_plot(runs), f"utilisation heat map of {sc.name}"))
        parts.append("<h3>By municipality (all seeds pooled)</h3>")
        parts.append(_municipality_table(runs))
    parts.append("</body></html>")
    path = out / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def unpaired_notes(batch: Batch) -> list[str]:
    """One line per compared scenario whose runs do not meet the baseline's alarms (see
    :func:`simulations.compare.pairing_problems`), saying why; empty when all are paired."""
    base = batch.runs[0].scenario
    notes = []
    for i, runs in enumerate(batch.runs[1:], start=2):
        problems = pairing_problems(base, runs.scenario)
        if problems:
            notes.append(f"Scenario {i} ({runs.scenario.name}) does not meet the baseline's "
                         f"alarms: {'; '.join(problems)}. It is compared unpaired: its own "
                         "figures are shown, no differences to the baseline.")
    return notes


def _method_note(batch: Batch) -> str:
    """How the figures were made: intervals (none with one seed) and whether the
    differences are paired."""
    if len(batch.seeds) < 2:
        text = ("Figures are the single seed's values: one seed gives no interval (run "
                "--seeds 2 or more for 95 % intervals).")
    else:
        text = "Figures are means over seeds with 95 % intervals (Student t)."
    if len(batch.runs) > 1:
        notes = unpaired_notes(batch)
        if not notes:
            text += " Differences are paired by seed (the same alarms)."
        else:
            text += " " + " ".join(notes)
            if len(notes) < len(batch.runs) - 1:
                text += " The other differences are paired by seed (the same alarms)."
    return html.escape(text)


def kpi_rows(batch: Batch) -> Sequence[dict[str, Any]]:
    """One flat row per scenario and seed (for ``kpis.csv``)."""
    rows = []
    for runs in batch.runs:
        for k in runs.kpis:
            rows.append({"scenario": runs.scenario.name, "seed": k.seed,
                         **{file_key(key): v for key, v in k.scalars.items()}})
    return rows
