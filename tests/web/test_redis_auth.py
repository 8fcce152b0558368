"""Principals on a real redis-server behave like the SQLite table: tokens shown once and stored
hashed, revoked once, listed oldest first; Redis down is StorageUnavailable (a 503)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.redis_server import RedisServer, as_bytes
from web.auth import Principals, PrincipalStore, Role
from web.errors import BadMessage, Unauthorized
from web.eventstore import StorageUnavailable
from web.redis_auth import RedisPrincipalStore
from web.redis_revocations import RedisRevocations


@pytest.fixture(params=["sqlite", "redis"])
def principals(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Principals]:
    store: Principals = PrincipalStore(tmp_path / "p.sqlite3") if request.param == "sqlite" \
        else RedisPrincipalStore(request.getfixturevalue("redis_url"))
    yield store
    store.close()


def test_a_token_authenticates_until_revoked_in_both_stores(principals: Principals) -> None:
    crew, token = principals.create(role="crew", name="Piteå car", unit_id="MAE-PITEA")
    agency, _ = principals.create(role="agency", name="SOS", agency="police")
    assert principals.authenticate(token) == crew
    assert principals.is_active(crew.principal_id)
    assert [(p.principal_id, revoked) for p, revoked in principals.principals()] == [
        (crew.principal_id, False), (agency.principal_id, False)]
    assert principals.get(agency.principal_id) == (agency, False)
    assert principals.revoke(crew.principal_id)
    assert not principals.revoke(crew.principal_id)  # once
    assert not principals.revoke("0" * 16)
    with pytest.raises(Unauthorized):
        principals.authenticate(token)
    assert not principals.is_active(crew.principal_id)
    assert principals.get(crew.principal_id) == (crew, True)
    with pytest.raises(Unauthorized):
        principals.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B"))
    with pytest.raises(Unauthorized):
        principals.authenticate(None)
    with pytest.raises(BadMessage) as bad:
        principals.create(role="boss", name="x")
    assert bad.value.field == "role"
    assert principals.get("f" * 16) is None


def test_redis_keeps_only_the_hash_of_a_token(redis_url: str) -> None:
    store = RedisPrincipalStore(redis_url)
    principal, token = store.create(role=Role.DISPATCHER, name="Anna")
    secret = token.split("_", 2)[2]
    dump = b"".join(as_bytes(v) for v in redis.Redis.from_url(redis_url).hgetall(
        f"mae:principal:{principal.principal_id}").values())
    assert secret.encode() not in dump and b"token_sha256" not in dump
    store.close()


def test_redis_down_is_storage_unavailable(redis_folder: Path) -> None:
    server = RedisServer(redis_folder).start()
    store = RedisPrincipalStore(server.url())
    _, token = store.create(role="dispatcher", name="Anna")
    server.kill()
    with pytest.raises(StorageUnavailable) as down:
        store.authenticate(token)
    assert down.value.store == "principals"
    store.close()


def test_revoking_a_unit_revokes_every_phone_of_its_crew_once(redis_url: str) -> None:
    store = RedisPrincipalStore(redis_url)
    one, _ = store.create(role="crew", name="phone 1", unit_id="MAE-PITEA")
    two, _ = store.create(role="crew", name="phone 2", unit_id="MAE-PITEA")
    other, _ = store.create(role="crew", name="Luleå", unit_id="MAE-LULEA")
    store.revoke(two.principal_id)
    assert store.revoke_unit("MAE-PITEA") == [one.principal_id]  # two was revoked already
    assert store.revoke_unit("MAE-PITEA") == []
    assert not store.is_active(one.principal_id) and store.is_active(other.principal_id)
    assert one.principal_id in {as_bytes(m).decode() for m in
                                redis.Redis.from_url(redis_url).smembers("mae:revoked")}
    store.close()


def test_token_checks_answer_from_the_revocation_feed_without_a_round_trip(
        redis_url: str) -> None:
    """Every REST request and socket frame checks its token: with the instance's revocation
    feed a principal seen before costs no Redis command, and a revocation at any instance
    still counts."""
    feed = RedisRevocations(redis_url)
    here = RedisPrincipalStore(redis_url, revocations=feed)
    elsewhere = RedisPrincipalStore(redis_url)
    client = redis.Redis.from_url(redis_url)
    try:
        assert feed.listening.wait(10)
        crew, token = elsewhere.create(role="crew", name="Piteå car", unit_id="MAE-PITEA")
        other, _ = elsewhere.create(role="dispatcher", name="Anna")
        assert here.authenticate(token) == crew
        before = client.info("commandstats")
        assert all(here.is_active(crew.principal_id) for _ in range(20))
        assert all(here.authenticate(token) == crew for _ in range(20))  # each REST request
        assert {k: v["calls"] for k, v in client.info("commandstats").items()
                if k != "cmdstat_info"} == {k: v["calls"] for k, v in before.items()
                                            if k != "cmdstat_info"}
        assert here.revoke(crew.principal_id)
        assert not here.is_active(crew.principal_id)  # its own revocation: at once
        with pytest.raises(Unauthorized):
            here.authenticate(token)
        assert here.is_active(other.principal_id)  # never seen here: asked in Redis
        assert elsewhere.revoke(other.principal_id)
        assert not here.is_active(other.principal_id)
        for _ in range(200):  # another instance's revocation arrives by pub/sub
            if feed.is_revoked(other.principal_id):
                break
            time.sleep(0.05)
        assert feed.is_revoked(other.principal_id)
    finally:
        client.close()
        here.close()
        elsewhere.close()
        feed.close()
