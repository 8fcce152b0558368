"""The Redis event log beyond the shared contract: the Lua append is atomic under racing
writers, an unreachable Redis raises StorageUnavailable and the store recovers when it returns,
a lost reply is recognised as stored, a flushed script is loaded again, and the shipped
``deploy/redis.conf`` loses no acknowledged alarm when redis-server is killed with SIGKILL."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from dispatch.events import Envelope
from tests.redis_server import RedisServer, acl_user, drop_acl_user, free_port
from tests.web.conftest import ROOT
from tests.web.test_eventstore import alarm_event, unit
from web.eventstore import OpRecord, StorageUnavailable, StoreConflict
from web.redislog import PAGE, RedisEventStore

REDIS_CONF = ROOT / "deploy" / "redis.conf"


def test_two_writers_racing_from_the_same_end_one_wins_and_one_conflicts(redis_url: str) -> None:
    """Two threads, each with its own store (as two instances), read the same end and append
    a batch at the same moment, 200 times: each round exactly one batch lands whole, the
    other writer gets StoreConflict, and the log has no duplicate and no interleaving."""
    rounds = 200
    stores = [RedisEventStore(redis_url), RedisEventStore(redis_url)]
    barrier = threading.Barrier(2)
    outcomes: list[list[str]] = [[], []]
    errors: list[BaseException] = []

    def write(me: int) -> None:
        store = stores[me]
        try:
            for r in range(rounds):
                barrier.wait()
                end = store.refresh()
                barrier.wait()
                batch = [alarm_event(10_000 * me + 3 * r + k) for k in range(3)]
                try:
                    store.append(batch, expected_last_seq=end,
                                 op=OpRecord(f"w{me}", f"r{r}", "d"))
                    outcomes[me].append("won")
                except StoreConflict:
                    outcomes[me].append("lost")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=write, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert all(sorted([outcomes[0][r], outcomes[1][r]]) == ["lost", "won"]
               for r in range(rounds))
    log = list(stores[0].read())
    assert [env.seq for env in log] == list(range(1, 3 * rounds + 1))
    refs = [env.event.alarm.reference for env in log]  # type: ignore[attr-defined]
    assert len(set(refs)) == len(refs)
    for start in range(0, len(log), 3):  # every batch is whole and in order
        numbers = [int(ref[2:]) for ref in refs[start:start + 3]]
        assert numbers[1] == numbers[0] + 1 and numbers[2] == numbers[0] + 2
    for me in (0, 1):  # the winners' ops are stored, the losers' are not
        for r, outcome in enumerate(outcomes[me]):
            assert (stores[0].find_op(f"w{me}", f"r{r}") is not None) == (outcome == "won")
    for store in stores:
        store.close()


@pytest.fixture()
def own_redis(redis_folder: Path) -> Iterator[RedisServer]:
    server = RedisServer(redis_folder, appendonly=True).start()
    yield server
    server.stop()


def test_an_unreachable_redis_raises_storage_unavailable_and_the_store_recovers(
        own_redis: RedisServer) -> None:
    store = RedisEventStore(own_redis.url())
    store.append([unit(1), unit(2)], expected_last_seq=0, op=OpRecord("u", "a", "d"))
    own_redis.kill()
    with pytest.raises(StorageUnavailable) as failed:
        store.append([unit(3)], expected_last_seq=2)
    assert failed.value.store == "events" and "Redis unreachable" in failed.value.detail
    for call in (lambda: list(store.read()), store.refresh, store.probe,
                 lambda: store.find_op("u", "a"), lambda: store.wait_beyond(2, 1.0)):
        with pytest.raises(StorageUnavailable):
            call()
    assert store.last_seq == 2
    own_redis.start()  # the same folder and port: the append-only file is read back
    assert store.refresh() == 2
    store.probe()
    assert [env.seq for env in store.append([unit(3)], expected_last_seq=2)] == [3]
    assert [env.event for env in store.read()] == [unit(1), unit(2), unit(3)]
    assert store.find_op("u", "a") == OpRecord("u", "a", "d", None, 2)
    store.close()


def test_opening_a_store_on_an_unreachable_redis_raises_storage_unavailable() -> None:
    with pytest.raises(StorageUnavailable):
        RedisEventStore(f"redis://127.0.0.1:{free_port()}/0")


class ReplyDropper:
    """A real TCP proxy in front of Redis that, while armed, closes the connection instead
    of passing on the reply to an EVALSHA: the script ran, the client never hears so."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.drops_left = 0
        self.dropped = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            pending = threading.Event()
            threading.Thread(target=self._up, args=(client, upstream, pending),
                             daemon=True).start()
            threading.Thread(target=self._down, args=(upstream, client, pending),
                             daemon=True).start()

    def _up(self, client: socket.socket, upstream: socket.socket,
            pending: threading.Event) -> None:
        with client, upstream:
            while data := _recv(client):
                if b"EVALSHA" in data.upper():
                    with self._lock:
                        if self.drops_left > 0:
                            self.drops_left -= 1
                            pending.set()
                upstream.sendall(data)

    def _down(self, upstream: socket.socket, client: socket.socket,
              pending: threading.Event) -> None:
        while data := _recv(upstream):
            if pending.is_set():
                with self._lock:
                    self.dropped += 1
                for s in (client, upstream):
                    _shut(s)
                return
            try:
                client.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self.listener.close()


def _recv(s: socket.socket) -> bytes:
    try:
        return s.recv(65536)
    except OSError:
        return b""


def _shut(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)


@pytest.mark.parametrize("drops", [1, 2], ids=["retry-meets-own-batch", "no-reply-at-all"])
def test_an_append_whose_reply_is_lost_is_recognised_as_stored_once(
        redis_server: RedisServer, redis_url: str, drops: int) -> None:
    """One lost reply: redis-py retries the script, which finds the log moved on by the
    batch itself. Two: the retry's reply is lost too and the store reads the end instead.
    Either way the append succeeds and the batch is in the log once."""
    db = int(redis_url.rsplit("/", 1)[1])
    proxy = ReplyDropper(redis_server.port)
    store = RedisEventStore(f"redis://127.0.0.1:{proxy.port}/{db}")
    store.append([unit(1)], expected_last_seq=0)
    proxy.drops_left = drops
    stored = store.append([unit(2), unit(3)], expected_last_seq=1,
                          op=OpRecord("u", "lost", "d"))
    assert proxy.dropped == drops
    assert [env.seq for env in stored] == [2, 3] and store.last_seq == 3
    direct = RedisEventStore(redis_url)
    assert [env.event for env in direct.read()] == [unit(1), unit(2), unit(3)]
    assert direct.find_op("u", "lost") == OpRecord("u", "lost", "d", None, 3)
    with pytest.raises(StoreConflict):  # a batch of another writer is never taken for ours
        direct.append([unit(9)], expected_last_seq=1)
    direct.close()
    store.close()
    proxy.close()


def test_a_flushed_script_is_loaded_again(redis_url: str) -> None:
    store = RedisEventStore(redis_url)
    store.append([unit(1)], expected_last_seq=0)
    with redis.Redis.from_url(redis_url) as client:
        client.script_flush()
    assert [env.seq for env in store.append([unit(2)], expected_last_seq=1)] == [2]
    store.close()


def test_prefixes_keep_two_logs_apart_on_one_database(redis_url: str) -> None:
    a = RedisEventStore(redis_url, prefix="county-a:")
    b = RedisEventStore(redis_url, prefix="county-b:")
    a.append([unit(1), unit(2)], expected_last_seq=0, op=OpRecord("u", "x", "d"))
    assert b.last_seq == 0 and list(b.read()) == [] and b.find_op("u", "x") is None
    b.append([unit(5)], expected_last_seq=0)
    assert [env.event for env in a.read()] == [unit(1), unit(2)]
    a.close()
    b.close()


def xrange_calls(url: str) -> int:
    with redis.Redis.from_url(url) as client:
        stats = client.info("commandstats").get("cmdstat_xrange", {"calls": 0})
        return int(stats["calls"])


def test_a_read_fetches_the_log_in_pages_and_only_as_far_as_it_is_consumed(
        redis_url: str) -> None:
    """Counted by Redis itself: a whole read of 2 pages and a bit takes 3 XRANGE calls of at
    most PAGE entries; taking one event takes one call, so a long log is never fetched
    whole."""
    store = RedisEventStore(redis_url)
    total = 2 * PAGE + 34
    store.append([alarm_event(i) for i in range(1, total + 1)], expected_last_seq=0)
    before = xrange_calls(redis_url)
    assert sum(1 for _ in store.read()) == total
    assert xrange_calls(redis_url) - before == 3
    before = xrange_calls(redis_url)
    first = next(store.read(10))
    assert first.seq == 11 and xrange_calls(redis_url) - before == 1
    store.close()


# -- durability of the shipped configuration ---------------------------------------------------


def start_with_shipped_conf(folder: Path, port: int) -> subprocess.Popen[bytes]:
    """redis-server with ``deploy/redis.conf``; only the port and folder are set here."""
    exe = shutil.which("redis-server")
    assert exe is not None, "redis-server is not installed"
    proc = subprocess.Popen([exe, str(REDIS_CONF), "--port", str(port), "--dir", str(folder),
                             "--logfile", str(folder / "redis.log"), "--daemonize", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port, socket_connect_timeout=0.5, decode_responses=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except (redis.ConnectionError, redis.BusyLoadingError):
                assert proc.poll() is None, (folder / "redis.log").read_text()
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.02)
        settings = {**client.config_get("append*"), **client.config_get("maxmemory-policy"),
                    **client.config_get("save")}
        assert settings["appendonly"] == "yes" and settings["appendfsync"] == "always"
        assert settings["maxmemory-policy"] == "noeviction" and settings["save"] == ""
    except BaseException:
        proc.kill()
        proc.wait(timeout=10)
        raise
    finally:
        client.close()
    return proc


def test_kill_9_of_redis_during_an_alarm_loop_loses_no_acknowledged_alarm(
        redis_folder: Path) -> None:
    port = free_port()
    proc = start_with_shipped_conf(redis_folder, port)
    url = f"redis://127.0.0.1:{port}/0"
    store = RedisEventStore(url)
    acknowledged: dict[int, int] = {}  # seq -> alarm number, for appends that returned
    failures: list[BaseException] = []
    enough = threading.Event()

    def alarm_loop() -> None:
        i = 0
        while True:
            i += 1
            try:
                (env,) = store.append([alarm_event(i)], expected_last_seq=store.last_seq)
            except StorageUnavailable as exc:
                failures.append(exc)
                return
            acknowledged[env.seq] = i
            if len(acknowledged) >= 300:
                enough.set()

    loop = threading.Thread(target=alarm_loop)
    try:
        loop.start()
        assert enough.wait(timeout=120), "the alarm loop did not get going"
        proc.send_signal(signal.SIGKILL)  # mid-loop: appends keep coming until Redis is gone
        proc.wait(timeout=10)
        loop.join(timeout=60)
        assert not loop.is_alive() and len(failures) == 1
        store.close()
        proc = start_with_shipped_conf(redis_folder, port)
        again = RedisEventStore(url)
        log = list(again.read())
        again.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    seqs = [env.seq for env in log]
    assert seqs == list(range(1, len(log) + 1))  # contiguous, no duplicates
    numbers = [env.event.alarm.reference for env in log]  # type: ignore[attr-defined]
    assert len(set(numbers)) == len(numbers)
    stored = {env.seq: env.event for env in log}
    assert all(stored.get(seq) == alarm_event(i) for seq, i in acknowledged.items())
    assert len(log) - len(acknowledged) in (0, 1)  # at most the append in flight at the kill


def blocked_in_xread(watcher: redis.Redis, store: RedisEventStore) -> bool:
    """Whether one of ``store``'s own connections is blocked in XREAD now."""
    return any(c.get("name") == store._client_name and "b" in c.get("flags", "")
               and c.get("cmd") == "xread" for c in watcher.client_list())


def test_stop_waiting_ends_a_blocked_read_at_once_and_later_waits_block_again(
        redis_url: str) -> None:
    """A stopping follower wakes its store's XREAD (``CLIENT UNBLOCK`` of the store's own named
    connection) instead of waiting out the block; the wait still reports where the log ends,
    and a wait begun afterwards blocks as before (until woken in turn)."""
    store, writer = RedisEventStore(redis_url), RedisEventStore(redis_url)
    writer.append([unit(1)], expected_last_seq=0)
    watcher = redis.Redis.from_url(redis_url)
    result: list[tuple[int, list[Envelope]]] = []

    def wait() -> threading.Thread:
        thread = threading.Thread(target=lambda: result.append(store.wait_events(1, 120.0)),
                                  daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not blocked_in_xread(watcher, store):
            assert time.monotonic() < deadline, "the wait never blocked in XREAD"
            time.sleep(0.01)
        return thread

    try:
        for n in (1, 2):
            thread = wait()
            store.stop_waiting()
            thread.join(timeout=3)  # woken at once; else only after its first 4 s block
            assert not thread.is_alive(), "the blocked read was not woken"
            assert result == [(1, [])] * n
    finally:
        store.stop_waiting()
        for s in (store, writer):
            s.close()
        watcher.close()


def test_a_redis_user_without_the_client_commands_still_uses_the_log(
        redis_server: RedisServer, redis_url: str) -> None:
    """The store names its connections (for ``stop_waiting``) only where Redis lets it: an ACL
    user without the CLIENT commands appends, reads and stops as before, only unwoken."""
    admin = redis.Redis.from_url(redis_url)
    acl_user(admin, "noclient", "on", ">pw", "~*", "&*", "+@all", "-client")
    db = redis_url.rsplit("/", 1)[1]
    try:
        store = RedisEventStore(f"redis://noclient:pw@127.0.0.1:{redis_server.port}/{db}")
        try:
            store.append([unit(1)], expected_last_seq=0)
            assert [e.seq for e in store.read(0)] == [1]
            assert store.wait_events(0, 0.0)[0] == 1
            store.stop_waiting()  # no CLIENT LIST for this user: nothing to wake, no error
            assert store.wait_events(1, 0.2) == (1, [])
        finally:
            store.close()
    finally:
        drop_acl_user(admin, "noclient")
        admin.close()
