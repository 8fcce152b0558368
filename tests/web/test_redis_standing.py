"""The crew-token check on Redis folds the shared log's registrations into an index beside it,
only the events appended since the last question."""

from __future__ import annotations

from pathlib import Path

import redis

from dispatch.commands import DispatchConfig, RetireUnit, decide
from dispatch.state import DispatchState
from tests.web.conftest import T0
from tests.web.test_redis_snapshots import register
from web.eventstore import SqliteEventStore
from web.redis_standing import RedisUnitStanding


def test_standing_follows_the_last_registration_event(tmp_path: Path, redis_url: str) -> None:
    log = SqliteEventStore(tmp_path / "log.sqlite3")
    state = DispatchState()
    standing = RedisUnitStanding(redis_url, log)
    assert standing("MAE-PITEA") is None  # an empty log
    register(log, state, "MAE-PITEA")
    register(log, state, "MAE-KALIX")
    assert standing("MAE-PITEA") == "active"
    retire = decide(state, RetireUnit("MAE-KALIX"), now=T0, actor="t",
                    config=DispatchConfig()).events
    for envelope in log.append(retire, expected_last_seq=log.last_seq):
        state.apply(envelope)
    assert standing("MAE-KALIX") == "retired"
    assert standing("MAE-KALI") is None  # exact ids only
    assert int(redis.Redis.from_url(redis_url).get("mae:unit_standing:seq") or 0) == log.last_seq
    register(log, state, "MAE-KALIX")  # back in the region file
    assert RedisUnitStanding(redis_url, log)("MAE-KALIX") == "active"  # another instance
    log.close()
