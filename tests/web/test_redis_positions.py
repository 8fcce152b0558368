"""Positions in a real redis-server: an older report never replaces a newer one, and positions
one instance shares reach every other instance (never back to itself), without being stored."""

from __future__ import annotations

import queue
from datetime import timedelta

from dispatch.model import Location
from tests.web.conftest import T0
from web.positions import PositionReport
from web.redis_positions import RedisPositions


def test_the_latest_position_is_never_replaced_by_an_older_one(redis_url: str) -> None:
    store = RedisPositions(redis_url)
    new = PositionReport("U1", Location(65.6, 22.1, label="Luleå"), T0 + timedelta(seconds=10))
    store.save([new], [], now=T0)
    store.save([PositionReport("U1", Location(60.0, 20.0), T0)], [], now=T0)  # late arrival
    assert store.latest() == [new]
    store.close()


def test_positions_shared_at_one_instance_reach_the_others_before_any_is_stored(
        redis_url: str) -> None:
    a, b = RedisPositions(redis_url), RedisPositions(redis_url)
    heard_a: queue.Queue[list[PositionReport]] = queue.Queue()
    heard_b: queue.Queue[list[PositionReport]] = queue.Queue()
    a.follow(heard_a.put)
    b.follow(heard_b.put)
    report = PositionReport("U1", Location(65.6, 22.1), T0)
    for _ in range(50):  # the followers subscribe in their own threads: until one hears
        a.share([report])
        try:
            got = heard_b.get(timeout=0.2)
            break
        except queue.Empty:
            continue
    else:
        raise AssertionError("instance b never heard a's positions")
    assert got == [report]
    assert a.latest() == []  # shared, not stored: storing is the flush's job
    b.share([PositionReport("U2", Location(65.7, 22.2), T0)])
    assert [r.unit_id for r in heard_a.get(timeout=5)] == ["U2"]
    assert all(batch[0].unit_id != "U1" for batch in list(heard_a.queue))  # a's own: never
    a.save([report], [], now=T0)  # storing shares nothing more
    b.share([PositionReport("U3", Location(65.7, 22.2), T0)])
    assert [r.unit_id for r in heard_a.get(timeout=5)] == ["U3"]
    a.close()
    b.close()
