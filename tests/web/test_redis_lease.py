"""The planner lease on a real redis-server: one holder at a time, renewed only by its holder,
handed over at once on release and after its time when the holder stops renewing."""

from __future__ import annotations

import time

import pytest
import redis

from tests.redis_server import free_port
from web.eventstore import StorageUnavailable
from web.redis_lease import RedisLease


def test_one_instance_holds_the_lease_and_renews_it_the_other_does_not_get_it(
        redis_url: str) -> None:
    a = RedisLease(redis_url, "planner", ttl_s=5, holder="a")
    b = RedisLease(redis_url, "planner", ttl_s=5, holder="b")
    before = time.monotonic()
    until = a.hold()
    assert before + 5 <= until <= time.monotonic() + 5  # counted from before the call
    assert b.hold() == 0.0 and a.current() == b.current() == "a"
    assert a.hold() > until  # renewed
    ms = redis.Redis.from_url(redis_url).pttl(a.key)
    assert 4000 < ms <= 5000
    assert not b.release() and a.current() == "a"  # only the holder releases
    assert a.release() and a.current() is None
    assert b.hold() > 0 and a.hold() == 0.0


def test_a_holder_that_stops_renewing_loses_the_lease_when_it_expires(redis_url: str) -> None:
    a = RedisLease(redis_url, "planner", ttl_s=0.3, holder="a")
    b = RedisLease(redis_url, "planner", ttl_s=0.3, holder="b")
    assert a.hold() > 0 and b.hold() == 0.0
    deadline = time.monotonic() + 10
    while b.hold() == 0.0:  # a "dies": it renews no more
        assert time.monotonic() < deadline, "the lease never expired"
        time.sleep(0.05)
    assert b.current() == "b" and a.hold() == 0.0  # a late renewal does not steal it back


def test_leases_of_other_names_and_prefixes_are_apart(redis_url: str) -> None:
    a = RedisLease(redis_url, "planner", ttl_s=5, holder="a")
    other = RedisLease(redis_url, "planner", ttl_s=5, holder="b", prefix="test:")
    assert a.hold() > 0 and other.hold() > 0


def test_an_unreachable_redis_is_storage_unavailable_naming_the_lease() -> None:
    lease = RedisLease(f"redis://127.0.0.1:{free_port()}/0", "planner", ttl_s=5, holder="a")
    with pytest.raises(StorageUnavailable, match="planner lease"):
        lease.hold()


@pytest.mark.parametrize("ttl_s", [0.0, 5000.0])
def test_a_lease_time_out_of_range_is_refused(redis_url: str, ttl_s: float) -> None:
    with pytest.raises(ValueError, match="lease time"):
        RedisLease(redis_url, "planner", ttl_s=ttl_s)
