"""Travel-time model: speeds from limits and classes, winter, emergency driving, rush hour."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from maps.errors import MapFormatError
from maps.graph import RoadClass, RoadGraph
from maps.traveltime import DEFAULT_CLASS_SPEED_KMH, TravelTimeModel, free_flow_speed_kmh

TUESDAY_8 = datetime(2024, 1, 16, 8, 30)  # a weekday in January, in the morning rush
TUESDAY_9 = datetime(2024, 1, 16, 9, 0)
SATURDAY_8 = datetime(2024, 1, 20, 8, 30)
JULY_NOON = datetime(2024, 7, 10, 12, 0)


def three_roads() -> RoadGraph:
    """Three one-way edges of 1 km: a trunk road, a tertiary road and a residential street."""
    return RoadGraph.from_edges(
        node_lat=[66.0, 66.01, 66.02, 66.03], node_lon=[21.0, 21.0, 21.0, 21.0],
        source=[0, 1, 2], target=[1, 2, 3], length_m=[1000.0, 1000.0, 1000.0],
        speed_kmh=[90.0, 50.0, 30.0],
        road_class=[RoadClass.TRUNK, RoadClass.TERTIARY, RoadClass.RESIDENTIAL],
    )


BASE = [40.0, 72.0, 120.0]  # seconds for 1 km at 90, 50 and 30 km/h


def test_free_flow_speed_at_the_calibration_points() -> None:
    assert free_flow_speed_kmh(70) == 62.0
    assert free_flow_speed_kmh(50) == 35.0
    assert free_flow_speed_kmh(110) == 103.0


def test_free_flow_speed_interpolates_between_limits() -> None:
    assert free_flow_speed_kmh(75) == pytest.approx(67.5)
    assert free_flow_speed_kmh(45.0) == pytest.approx(31.0)


def test_free_flow_speed_is_clamped_outside_the_table() -> None:
    assert free_flow_speed_kmh(5) == 14.0
    assert free_flow_speed_kmh(130) == 112.0


@given(st.floats(1.0, 200.0), st.floats(1.0, 200.0))
def test_free_flow_speed_never_decreases_with_the_limit_nor_exceeds_it_much(
    a: float, b: float
) -> None:
    lo, hi = min(a, b), max(a, b)
    assert free_flow_speed_kmh(lo) <= free_flow_speed_kmh(hi)
    assert free_flow_speed_kmh(hi) <= max(hi, 14.0)


@pytest.mark.parametrize("bad", [0, -30, math.nan, math.inf, -math.inf])
def test_free_flow_speed_rejects_impossible_limits(bad: float) -> None:
    with pytest.raises(MapFormatError, match="positive number"):
        free_flow_speed_kmh(bad)


def test_default_class_speeds_cover_every_class_fastest_first() -> None:
    assert set(DEFAULT_CLASS_SPEED_KMH) == set(RoadClass)
    speeds = [DEFAULT_CLASS_SPEED_KMH[c] for c in sorted(RoadClass)]
    assert speeds == sorted(speeds, reverse=True)
    assert all(s > 0 for s in speeds)


def test_default_class_speeds_are_read_only() -> None:
    with pytest.raises(TypeError):
        DEFAULT_CLASS_SPEED_KMH[RoadClass.TRACK] = 90.0  # type: ignore[index]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"winter_factor": 0.1},
        {"winter_factor": math.nan},
        {"emergency_factor": 3.5},
        {"peak_factor": 0.0},
        {"peak_factor": math.inf},
    ],
)
def test_model_rejects_factors_out_of_range(kwargs: dict[str, float]) -> None:
    with pytest.raises(MapFormatError, match=r"between 0\.2 and 3\.0"):
        TravelTimeModel(**kwargs)  # type: ignore[arg-type]


def test_model_rejects_month_numbers_outside_the_year() -> None:
    with pytest.raises(MapFormatError, match="month numbers"):
        TravelTimeModel(winter_months=frozenset({12, 13}))
    with pytest.raises(MapFormatError, match="month numbers"):
        TravelTimeModel(winter_months=frozenset({0}))


def test_model_is_frozen() -> None:
    with pytest.raises(AttributeError):
        TravelTimeModel().winter_factor = 1.0  # type: ignore[misc]


def test_season_comes_from_the_flag_first_then_the_month() -> None:
    m = TravelTimeModel()
    assert m.is_winter(TUESDAY_8, None)
    assert not m.is_winter(JULY_NOON, None)
    assert not m.is_winter(TUESDAY_8, False)  # explicit season wins over the month
    assert m.is_winter(JULY_NOON, True)
    assert not m.is_winter(None, None)
    assert TravelTimeModel(winter_months=frozenset({7})).is_winter(JULY_NOON, None)


def test_rush_hour_is_weekday_mornings_and_afternoons() -> None:
    m = TravelTimeModel()
    assert m.is_peak(TUESDAY_8)
    assert m.is_peak(datetime(2024, 1, 16, 16, 59))
    assert not m.is_peak(TUESDAY_9)  # the end hour is not included
    assert not m.is_peak(datetime(2024, 1, 16, 6, 59))
    assert not m.is_peak(SATURDAY_8)
    assert not m.is_peak(datetime(2024, 1, 21, 16, 0))  # Sunday
    assert not m.is_peak(None)
    assert TravelTimeModel(peak_hours=((22, 24),)).is_peak(datetime(2024, 1, 16, 23, 0))


def test_rush_hour_weekdays_and_months_are_read_on_the_local_clock() -> None:
    """The service's and the simulator's clocks run in UTC; Luleå's rush hour is 07-09 on
    Swedish time (UTC+1 in winter, UTC+2 in summer), and so are its weekdays and months."""
    m = TravelTimeModel()
    assert m.is_peak(datetime(2024, 1, 16, 7, 30, tzinfo=UTC))  # 08:30 in Luleå
    assert not m.is_peak(datetime(2024, 1, 16, 8, 30, tzinfo=UTC))  # 09:30
    assert m.is_peak(datetime(2024, 1, 16, 6, 0, tzinfo=UTC))  # 07:00
    assert m.is_peak(datetime(2024, 7, 10, 5, 30, tzinfo=UTC))  # 07:30 summer time
    assert not m.is_peak(datetime(2024, 7, 10, 7, 0, tzinfo=UTC))  # 09:00 summer time
    assert m.is_peak(datetime(2024, 1, 16, 8, 30, tzinfo=ZoneInfo("Europe/Stockholm")))
    night = TravelTimeModel(peak_hours=((0, 2), (23, 24)))
    assert night.is_peak(datetime(2024, 1, 21, 23, 30, tzinfo=UTC))  # Sunday in UTC, Monday here
    assert not night.is_peak(datetime(2024, 1, 19, 23, 30, tzinfo=UTC))  # here it is Saturday
    assert not m.is_winter(datetime(2026, 3, 31, 23, 30, tzinfo=UTC), None)  # 1 April, 01:30
    assert m.is_winter(datetime(2026, 10, 31, 23, 30, tzinfo=UTC), None)  # 1 November, 00:30
    assert TravelTimeModel(timezone="UTC").is_peak(datetime(2024, 1, 16, 8, 30, tzinfo=UTC))
    with pytest.raises(MapFormatError, match="timezone"):
        TravelTimeModel(timezone="Norrbotten/Luleå")


def test_speed_factor_combines_winter_and_emergency() -> None:
    m = TravelTimeModel(winter_factor=0.8, emergency_factor=1.25)
    assert m.speed_factor() == 1.0
    assert m.speed_factor(winter=True) == 0.8
    assert m.speed_factor(emergency=True) == 1.25
    assert m.speed_factor(winter=True, emergency=True) == pytest.approx(1.0)


def test_edge_times_default_is_the_base_time() -> None:
    times = TravelTimeModel().edge_times(three_roads())
    assert times.dtype == np.float64
    np.testing.assert_allclose(times, BASE, rtol=1e-6)


def test_winter_slows_every_road() -> None:
    g = three_roads()
    m = TravelTimeModel()
    np.testing.assert_allclose(m.edge_times(g, winter=True), np.array(BASE) / 0.88, rtol=1e-6)
    # a January date without a rush hour means winter too
    np.testing.assert_allclose(m.edge_times(g, at=datetime(2024, 1, 14, 12)),
                               np.array(BASE) / 0.88, rtol=1e-6)
    np.testing.assert_allclose(m.edge_times(g, at=JULY_NOON), BASE, rtol=1e-6)


def test_emergency_driving_is_faster() -> None:
    times = TravelTimeModel().edge_times(three_roads(), emergency=True)
    np.testing.assert_allclose(times, np.array(BASE) / 1.15, rtol=1e-6)


def test_rush_hour_slows_only_the_urban_classes() -> None:
    times = TravelTimeModel().edge_times(three_roads(), at=TUESDAY_8, winter=False)
    np.testing.assert_allclose(times, [40.0, 72.0 / 0.85, 120.0 / 0.85], rtol=1e-6)
    weekend = TravelTimeModel().edge_times(three_roads(), at=SATURDAY_8, winter=False)
    np.testing.assert_allclose(weekend, BASE, rtol=1e-6)


def test_all_effects_together() -> None:
    times = TravelTimeModel().edge_times(three_roads(), at=TUESDAY_8, emergency=True)
    f = 0.88 * 1.15
    np.testing.assert_allclose(times, [40.0 / f, 72.0 / f / 0.85, 120.0 / f / 0.85], rtol=1e-6)


def test_edge_times_leave_the_graph_untouched() -> None:
    g = three_roads()
    before = g.edge_time_s.copy()
    TravelTimeModel().edge_times(g, at=TUESDAY_8, emergency=True)
    np.testing.assert_array_equal(g.edge_time_s, before)


@given(
    winter=st.booleans(), emergency=st.booleans(),
    hour=st.integers(0, 23), day=st.integers(15, 21),
)
def test_times_stay_positive_and_order_preserving_within_a_class(
    winter: bool, emergency: bool, hour: int, day: int
) -> None:
    g = three_roads()
    times = TravelTimeModel().edge_times(g, at=datetime(2024, 1, day, hour), winter=winter,
                                         emergency=emergency)
    assert np.all(times > 0)
    ratio = times / g.edge_time_s
    # one factor for the fast roads, one for the slow: never a mix within a group
    assert ratio[1] == pytest.approx(ratio[2])
    assert ratio[1] >= ratio[0] - 1e-9
