"""Fixtures every test package may use: a real redis-server started by the test run."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.redis_server import RedisServer

_dbs = itertools.count(1)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the whole run (no persistence), on a free port."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """An empty Redis database of the run's server for one test (flushed before and after)."""
    db = next(_dbs) % 16
    url = redis_server.url(db)
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


@pytest.fixture()
def redis_folder(tmp_path: Path) -> Path:
    """A folder for a test's own redis-server (durability tests start and kill their own)."""
    folder = tmp_path / "redis"
    folder.mkdir()
    return folder
