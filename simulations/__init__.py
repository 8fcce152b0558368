"""Coverage simulation for planners on the same dispatch and routing code."""

from simulations.batch import Batch, run_batch
from simulations.engine import CalloutRecord, RunResult, simulate
from simulations.errors import AlarmLogError, ScenarioError, SimulationError
from simulations.export import read_event_log, write_event_log
from simulations.kpi import Kpis, summarize
from simulations.scenario import Scenario, load_scenario

__all__ = [
    "AlarmLogError",
    "Batch",
    "CalloutRecord",
    "Kpis",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "SimulationError",
    "load_scenario",
    "read_event_log",
    "run_batch",
    "simulate",
    "summarize",
    "write_event_log",
]
