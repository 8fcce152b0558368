"""A revocation at one instance reaches every instance's socket registry, also after Redis
restarts (the revoked set is read again on reconnecting)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.redis_server import RedisServer
from web.redis_auth import RedisPrincipalStore
from web.redis_revocations import RedisRevocations


def wait_for(revocations: RedisRevocations, wanted: str, timeout_s: float = 10.0) -> frozenset[str]:
    deadline = time.monotonic() + timeout_s
    seen: frozenset[str] = frozenset()
    while time.monotonic() < deadline:
        found = revocations.revoked_ids()
        if found is not None:
            seen = found
            if wanted in seen:
                return seen
        time.sleep(0.02)
    raise AssertionError(f"{wanted} not heard of; saw {sorted(seen)}")


def test_every_instance_hears_of_a_revocation(redis_url: str) -> None:
    store = RedisPrincipalStore(redis_url)
    early, _ = store.create(role="dispatcher", name="revoked before")
    store.revoke(early.principal_id)
    one, two = RedisRevocations(redis_url), RedisRevocations(redis_url)
    assert one.listening.wait(10) and two.listening.wait(10)
    assert wait_for(one, early.principal_id) == {early.principal_id}  # read at start
    assert one.revoked_ids() is None  # nothing new: no work on the loop
    later, _ = store.create(role="crew", name="lost phone", unit_id="U1")
    store.revoke(later.principal_id)
    assert later.principal_id in wait_for(two, later.principal_id)
    assert later.principal_id in wait_for(one, later.principal_id)
    for r in (one, two):
        r.close()
    store.close()


def test_a_revocation_made_while_disconnected_is_heard_after_redis_returns(
        redis_folder: Path) -> None:
    server = RedisServer(redis_folder, appendonly=True).start()
    revocations = RedisRevocations(server.url())
    assert revocations.listening.wait(10)
    store = RedisPrincipalStore(server.url())
    principal, _ = store.create(role="dispatcher", name="Anna")
    server.kill()
    time.sleep(0.3)
    server.start()
    assert store.revoke(principal.principal_id)  # maybe before the listener resubscribed
    assert principal.principal_id in wait_for(revocations, principal.principal_id)
    revocations.close()
    store.close()
    server.stop()
