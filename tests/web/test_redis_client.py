"""Following a Redis pub/sub channel (``listen``): messages reach the callback, and a stopping
service wakes its listener through a private channel instead of waiting out the poll."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.redis_server import RedisServer, acl_user, drop_acl_user
from web.redis_client import connect, listen, wake, wake_channel


class Listener:
    """``listen`` on ``channel`` in a thread: what it delivered, and an event set on each."""

    def __init__(self, client: redis.Redis, channel: str, *, woken_by: str, poll_s: float
                 ) -> None:
        self.stop, self.subscribed, self.heard = (threading.Event(), threading.Event(),
                                                  threading.Event())
        self.got: list[bytes] = []
        self.thread = threading.Thread(
            target=listen, daemon=True, args=(client, channel, self.stop),
            kwargs={"what": "test", "on_message": self._deliver,
                    "on_subscribed": self.subscribed.set, "woken_by": woken_by,
                    "poll_s": poll_s})
        self.thread.start()

    def _deliver(self, data: bytes) -> None:
        self.got.append(data)
        self.heard.set()


def test_a_woken_listener_stops_at_once_and_its_wake_channel_delivers_nothing(
        redis_url: str) -> None:
    client = connect(redis_url)
    other = redis.Redis.from_url(redis_url)
    channel = "mae:test-feed"
    private = wake_channel(channel)
    assert private != wake_channel(channel)  # one per listener: instances never wake each other
    # a poll far longer than the joins below: only the wake-up can end the wait in time
    listener = Listener(client, channel, woken_by=private, poll_s=120.0)
    try:
        assert listener.subscribed.wait(10)
        other.publish(private, b"not a message")
        other.publish(channel, b"one")
        assert listener.heard.wait(10)
        assert listener.got == [b"one"]  # the wake channel's message was not delivered
        assert listener.thread.is_alive()  # a wake-up without a stop does not end it
        listener.stop.set()
        wake(client, private)
        listener.thread.join(timeout=10)
        assert not listener.thread.is_alive(), "the listener waited out its poll"
    finally:
        listener.stop.set()
        wake(client, private)
        client.close()
        other.close()


def test_a_user_allowed_only_the_feed_s_channel_follows_it_without_a_wake_channel(
        redis_server: RedisServer, redis_url: str) -> None:
    """An ACL that names the channels a user may use (Redis 7 gives a new user none) refuses
    the private wake channel: the listener follows the feed without it, stopping at its poll."""
    admin = redis.Redis.from_url(redis_url)
    channel = "mae:test-feed"
    acl_user(admin, "feedonly", "on", ">pw", "~*", "resetchannels", f"&{channel}", "+@all")
    db = redis_url.rsplit("/", 1)[1]
    client = connect(f"redis://feedonly:pw@127.0.0.1:{redis_server.port}/{db}")
    private = wake_channel(channel)
    listener = Listener(client, channel, woken_by=private, poll_s=0.2)
    try:
        deadline = time.monotonic() + 10
        while not listener.heard.is_set():  # until subscribed: publish again and again
            assert time.monotonic() < deadline, "the feed's messages never arrived"
            admin.publish(channel, b"one")
            listener.heard.wait(0.05)
        listener.stop.set()
        wake(client, private)  # refused for this user: no error, the poll ends the wait
        listener.thread.join(timeout=10)
        assert not listener.thread.is_alive()
        assert set(listener.got) == {b"one"}
    finally:
        listener.stop.set()
        client.close()
        drop_acl_user(admin, "feedonly")
        admin.close()


def test_a_redis_that_stops_answering_fails_a_command_while_it_is_stopped(
        tmp_path: Path) -> None:
    """A stopped (SIGSTOP) Redis: a command on a named client whose connection is due a
    health check fails with a timeout while Redis is still stopped, instead of reconnecting
    through the naming hook's own health check again and again until Redis answers (an audit's
    write waited 36 s for that, then succeeded). Once Redis runs again, the client works."""

    server = RedisServer(tmp_path / "redis").start()
    try:
        _stopped_while_due_a_check(server)
    finally:
        server.stop()


def _stopped_while_due_a_check(server: RedisServer) -> None:
    import signal

    assert server.proc is not None
    client = connect(server.url(), client_name="mae-test", socket_timeout_s=0.5,
                     health_check_s=0.1)
    # a retry on timeouts too (the event store set one): each retry reconnects through the hook
    client.set_retry(Retry(NoBackoff(), 1))
    client.set("k", "v")
    time.sleep(0.3)  # the pooled connection is now due a health check
    outcome: list[object] = []
    done = threading.Event()

    def command() -> None:
        try:
            outcome.append(client.get("k"))
        except (redis.TimeoutError, redis.ConnectionError) as exc:
            outcome.append(exc)
        done.set()

    server.proc.send_signal(signal.SIGSTOP)
    try:
        threading.Thread(target=command, daemon=True).start()
        finished_while_stopped = done.wait(timeout=8.0)
    finally:
        server.proc.send_signal(signal.SIGCONT)
    assert finished_while_stopped, "the command waited for Redis to answer again"
    assert isinstance(outcome[0], redis.TimeoutError | redis.ConnectionError)
    assert client.get("k") == b"v"
