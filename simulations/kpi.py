"""Key figures of a run: response times, unserved alarms, utilisation, transports, economics.

Definitions (also in ``simulations/README.md``): *response time* runs from the incident's first
alarm to the MAE unit reporting ON_SCENE, over incidents an MAE unit attended; *unserved* are
incidents the ambulance or police handled alone because no MAE unit could be on scene within the
policy's limit; *utilisation* is time on a callout (assigned to outcome recorded) within the
scheduled shifts over the scheduled shift time (work past a shift's end counts as overtime).
The economic estimate is annualised and rests on the scenario's explicit assumptions.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from dispatch.model import OutcomeKind
from simulations.coverage import THRESHOLDS_MIN, Coverage
from simulations.engine import CalloutRecord, RunResult
from simulations.followups import followup_kpis
from simulations.scenario import Scenario
from simulations.spec import STAYED_HOME

__all__ = [
    "CALL_COLUMNS",
    "FILE_KEYS",
    "PERCENTILE_METHOD",
    "Kpis",
    "MunicipalityRow",
    "by_municipality",
    "call_rows",
    "clip",
    "file_key",
    "hour_of_week",
    "kpi_bounds",
    "summarize",
    "threshold_key",
    "within",
]


@dataclass(frozen=True, slots=True)
class MunicipalityRow:
    municipality: str
    incidents: int
    attended: int
    p50_min: float
    p90_min: float
    within_60: float
    unserved_share: float


@dataclass(frozen=True, slots=True, eq=False)
class Kpis:
    """The figures of one run; ``scalars`` are what comparisons over seeds average."""

    scenario: str
    seed: int
    scalars: dict[str, float]
    by_municipality: tuple[MunicipalityRow, ...]
    utilisation: npt.NDArray[np.float64]  # [weekday, hour] busy / on duty (nan: nobody on)
    response_min: npt.NDArray[np.float64]
    counts: dict[str, int] = field(default_factory=dict)


#: How percentiles are taken: linear interpolation between the closest ranks (numpy's
#: ``method="linear"``, Hyndman & Fan's definition 7, the default of numpy, R and Excel's
#: PERCENTILE.INC). Stated in the report and ``simulations/README.md``.
PERCENTILE_METHOD: Final = "linear"


def _pct(values: npt.NDArray[np.float64], q: float) -> float:
    if not len(values):
        return float("nan")
    return float(np.percentile(values, q, method=PERCENTILE_METHOD))


def threshold_key(minutes: float) -> str:
    """The scalar's key for the share attended within ``minutes`` (``within_8_min``)."""
    return f"within_{minutes:g}_min".replace(".", "_")


#: Names in ``kpis.csv`` and ``summary.json`` that say more than the Python key:
#: ``utilisation`` is time on acute callouts (assigned to outcome recorded) over shift time;
#: follow-up visits are not in it (a visit gives way to an acute call).
FILE_KEYS = {"utilisation": "utilisation_acute"}


def file_key(key: str) -> str:
    """KPI ``key`` as ``kpis.csv`` and ``summary.json`` name it (:data:`FILE_KEYS`)."""
    return FILE_KEYS.get(key, key)


def kpi_bounds(key: str) -> tuple[float, float]:
    """The values KPI ``key`` can take: shares (and utilisation) 0..1, the net economic result
    any sign, every other figure (counts, minutes, hours, costs) at least 0."""
    if key.endswith("_share") or key.startswith(("within_", "population_within_")) or (
            key == "utilisation"):
        return (0.0, 1.0)
    if key.startswith("net_"):
        return (-math.inf, math.inf)
    return (0.0, math.inf)


def within(response_min: npt.NDArray[np.float64], minutes: float) -> float:
    """Share of the attended incidents reached within ``minutes`` (nan when none were): the
    ``within_*`` KPIs, and what a comparison asks of a threshold only some scenarios list."""
    return float((response_min <= minutes).mean()) if len(response_min) else float("nan")


class _HourIndex:
    """Local weekday and hour of each UTC hour since the run's start (cached)."""

    def __init__(self, start: datetime, tz: ZoneInfo) -> None:
        self.start = start.astimezone(UTC)
        self.tz = tz
        self.cache: dict[int, tuple[int, int]] = {}

    def __call__(self, hour: int) -> tuple[int, int]:
        found = self.cache.get(hour)
        if found is None:
            local = (self.start + timedelta(hours=hour)).astimezone(self.tz)
            found = (local.weekday(), local.hour)
            self.cache[hour] = found
        return found


def hour_of_week(
    intervals: Sequence[tuple[str, float, float]], start: datetime, tz: ZoneInfo
) -> npt.NDArray[np.float64]:
    """Seconds of ``intervals`` (unit, from_s, to_s) falling in each local [weekday, hour]."""
    grid = np.zeros((7, 24))
    index = _HourIndex(start, tz)
    for _, a, b in intervals:
        t = a
        while t < b:
            hour = int(t // 3600)
            end = min(b, (hour + 1) * 3600.0)
            d, h = index(hour)
            grid[d, h] += end - t
            t = end
    return grid


def clip(
    intervals: Sequence[tuple[str, float, float]], within: Sequence[tuple[str, float, float]]
) -> list[tuple[str, float, float]]:
    """The parts of ``intervals`` inside ``within`` of the same unit (busy time on shift)."""
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for unit, a, b in within:
        spans[unit].append((a, b))
    out = []
    for unit, a, b in intervals:
        for c, d in spans.get(unit, ()):
            lo, hi = max(a, c), min(b, d)
            if lo < hi:
                out.append((unit, lo, hi))
    return out


def summarize(result: RunResult, scenario: Scenario, coverage: Coverage | None = None) -> Kpis:
    """The KPIs of ``result`` (and the coverage figures, when given)."""
    records = result.records
    attended = [r for r in records if r.handled_by == "mae" and r.on_scene_s is not None]
    unserved = [r for r in records if r.handled_by in ("ambulance", "police")]
    resp = np.array([r.response_s / 60.0 for r in attended if r.response_s is not None])
    n = len(records)
    s: dict[str, float] = {
        "alarms": float(result.alarms),
        "incidents": float(n),
        "attended_share": len(attended) / n if n else float("nan"),
        "unserved_share": len(unserved) / n if n else float("nan"),
        "response_mean_min": float(resp.mean()) if len(resp) else float("nan"),
        "response_p50_min": _pct(resp, 50),
        "response_p90_min": _pct(resp, 90),
        "response_p95_min": _pct(resp, 95),
    }
    for limit in scenario.kpi.thresholds_min:
        s[threshold_key(limit)] = within(resp, limit)
    reasons = Counter(r.fallback_reason for r in unserved)
    for reason in ("off_duty", "too_far", "busy"):
        s[f"unserved_{reason}_share"] = reasons[reason] / n if n else float("nan")
    waits = np.array([r.wait_s / 60.0 for r in attended if r.wait_s is not None])
    s["wait_mean_min"] = float(waits.mean()) if len(waits) else float("nan")
    queued = [r for r in records if r.queued]
    s["queued_share"] = len(queued) / n if n else float("nan")
    qwaits = np.array([r.wait_s / 60.0 for r in queued if r.wait_s is not None])
    s["queue_wait_mean_min"] = float(qwaits.mean()) if len(qwaits) else float("nan")
    carriers = Counter(r.transport for r in attended)
    handlers = Counter(r.handled_by for r in unserved)
    counts = {
        "transport_mae": carriers["mae"],
        "transport_ambulance": carriers["ambulance"],
        "transport_police": carriers["police"],
        "alone_ambulance": handlers["ambulance"],
        "alone_police": handlers["police"],
        "merged_alarms": sum(r.merged_alarms for r in records),
    }
    for k, v in counts.items():
        s[k] = float(v)

    tz = ZoneInfo(result.timezone)
    lo = scenario.kpi.utilisation_from_min * 60.0
    hi = result.end_s if scenario.kpi.utilisation_to_min is None else min(
        scenario.kpi.utilisation_to_min * 60.0, result.end_s)  # no shift spills past the end
    window = [(u, lo, hi) for u in sorted({x[0] for x in result.scheduled})]
    scheduled = clip(result.scheduled, window)
    busy = hour_of_week(clip(result.busy, scheduled), result.start, tz)
    duty = hour_of_week(scheduled, result.start, tz)
    with np.errstate(invalid="ignore", divide="ignore"):
        util = np.where(duty > 0, busy / duty, np.nan)
    s["utilisation"] = float(busy.sum() / duty.sum()) if duty.sum() > 0 else float("nan")
    # staffed hours (and so the team cost) inside the run only: a shift running past the
    # run's end (22-06 on the last day) counts to the end; overtime is work past the rota's
    # own shift ends, the whole last shift included
    in_run = clip(result.scheduled, [(u, 0.0, result.end_s) for u, _, _ in window])
    s["staffed_hours"] = float(hour_of_week(in_run, result.start, tz).sum() / 3600.0)
    worked = sum(b - a for _, a, b in result.on_duty)
    rota = sum(b - a for _, a, b in result.scheduled)
    s["overtime_hours"] = max(0.0, worked - rota) / 3600.0

    econ = scenario.economics
    years = result.days / 365.0
    home = sum(1 for r in attended if r.outcome and OutcomeKind(r.outcome) in STAYED_HOME)
    s["stayed_home_share"] = home / len(attended) if attended else float("nan")
    bed_days = home * econ.avoided_admission_share * econ.avoided_bed_days / years
    s["avoided_bed_days_per_year"] = bed_days
    s["care_avoided_msek_per_year"] = bed_days * econ.bed_year_cost_sek / 365.0 / 1e6
    s["team_cost_msek_per_year"] = s["staffed_hours"] * econ.team_cost_per_hour_sek / years / 1e6
    s["net_msek_per_year"] = s["care_avoided_msek_per_year"] - s["team_cost_msek_per_year"]

    if result.visits or scenario.followups is not None:
        s.update(followup_kpis(result.visits, result.visit_drive_s, result.end_s))

    if coverage is not None:
        for i, limit in enumerate(THRESHOLDS_MIN):
            s[f"population_within_{limit}_min"] = coverage.mean_share(i)

    return Kpis(
        scenario=result.scenario, seed=result.seed, scalars=s,
        by_municipality=by_municipality(records), utilisation=util, response_min=resp,
        counts=counts,
    )


def by_municipality(records: Sequence[CalloutRecord]) -> tuple[MunicipalityRow, ...]:
    groups: dict[str, list[CalloutRecord]] = defaultdict(list)
    for r in records:
        groups[r.municipality or "(unknown)"].append(r)
    rows = []
    for name, rs in sorted(groups.items()):
        resp = np.array([r.response_s / 60.0 for r in rs
                         if r.handled_by == "mae" and r.response_s is not None])
        unserved = sum(1 for r in rs if r.handled_by in ("ambulance", "police"))
        rows.append(MunicipalityRow(
            municipality=name, incidents=len(rs), attended=len(resp),
            p50_min=_pct(resp, 50), p90_min=_pct(resp, 90),
            within_60=float((resp <= 60).mean()) if len(resp) else float("nan"),
            unserved_share=unserved / len(rs),
        ))
    return tuple(rows)


#: Columns of the per-call CSV (``calls.csv``): one row per incident of every run, times in
#: minutes from the alarm (empty when it did not happen).
CALL_COLUMNS = (
    "scenario", "seed", "callout_id", "reference", "alarm_at", "municipality", "priority",
    "agency", "handled_by", "fallback_reason", "unit_id", "queued", "wait_min",
    "response_min", "travel_min", "done_min", "outcome", "transport", "facility",
    "merged_alarms",
)


def call_rows(result: RunResult) -> list[dict[str, object]]:
    """The per-call rows of one run (see :data:`CALL_COLUMNS`)."""
    def minutes(v: float | None) -> str:
        return "" if v is None else f"{v / 60.0:.4f}"

    start = result.start.astimezone(UTC)
    rows: list[dict[str, object]] = []
    for r in result.records:
        rows.append({
            "scenario": result.scenario, "seed": result.seed, "callout_id": r.callout_id,
            "reference": r.reference,
            "alarm_at": (start + timedelta(seconds=r.alarm_s)).isoformat(),
            "municipality": r.municipality, "priority": r.priority, "agency": r.agency,
            "handled_by": r.handled_by, "fallback_reason": r.fallback_reason,
            "unit_id": r.unit_id, "queued": int(r.queued), "wait_min": minutes(r.wait_s),
            "response_min": minutes(r.response_s), "travel_min": minutes(r.travel_s),
            "done_min": minutes(None if r.done_s is None else r.done_s - r.alarm_s),
            "outcome": r.outcome, "transport": r.transport, "facility": r.facility,
            "merged_alarms": r.merged_alarms,
        })
    return rows
