"""A run's event log written as JSON lines replays into the same dispatch state."""

from __future__ import annotations

from pathlib import Path

from dispatch.model import AgeBand
from dispatch.state import DispatchState
from simulations.engine import simulate
from simulations.export import read_event_log, slice_log, write_event_log
from simulations.scenario import scenario_from_dict
from tests.simulations._tiny import T0, tiny_graph, tiny_scenario


def test_event_log_round_trip_replays(tmp_path: Path) -> None:
    g = tiny_graph()
    sc = scenario_from_dict(tiny_scenario(days=5, demand={"alarms_per_year": 3000}), graph=g)
    res = simulate(sc, graph=g, seed=1, keep_log=True)
    assert res.log is not None and len(res.log) == res.events
    path = write_event_log(res.log, tmp_path / "run.jsonl")
    back = read_event_log(path)
    assert back == list(res.log)
    state = DispatchState.replay(back)
    assert state.snapshot() == DispatchState.replay(res.log).snapshot()
    assert not state.open_callouts()
    assert len(state.callouts) == len(res.records)
    ages = {a.patient.age_band for a in state.alarms.values()}  # the demand's age mix, logged
    assert len(ages) >= 3 and AgeBand.YOUNG in ages and not any(b.legacy for b in ages)
    first_day = slice_log(back, T0.replace(hour=23, minute=59))
    assert 0 < len(first_day) < len(back)
    DispatchState.replay(first_day)  # a prefix is a valid log on its own
