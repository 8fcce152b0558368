"""Following a Redis pub/sub channel (``listen``): messages reach the callback, and a stopping
service wakes its listener through a private channel instead of waiting out the poll."""

from __future__ import annotations

import threading
import time

import redis

from tests.redis_server import RedisServer
from web.redis_client import connect, listen, wake, wake_channel


def test_a_woken_listener_stops_at_once_and_its_wake_channel_delivers_nothing(
        redis_url: str) -> None:
    client = connect(redis_url)
    other = redis.Redis.from_url(redis_url)
    channel = "mae:test-feed"
    private = wake_channel(channel)
    assert private != wake_channel(channel)  # one per listener: instances never wake each other
    stop, subscribed = threading.Event(), threading.Event()
    got: list[bytes] = []
    heard = threading.Event()

    def on_message(data: bytes) -> None:
        got.append(data)
        heard.set()

    # a poll far longer than the joins below: only the wake-up can end the wait in time
    thread = threading.Thread(target=listen, daemon=True, args=(client, channel, stop),
                              kwargs={"what": "test", "on_message": on_message,
                                      "on_subscribed": subscribed.set, "woken_by": private,
                                      "poll_s": 120.0})
    thread.start()
    try:
        assert subscribed.wait(10)
        other.publish(private, b"not a message")
        other.publish(channel, b"one")
        assert heard.wait(10)
        assert got == [b"one"]  # the wake channel's message was not delivered
        assert thread.is_alive()  # and a wake-up without a stop does not end the listener
        stop.set()
        wake(client, private)
        thread.join(timeout=10)
        assert not thread.is_alive(), "the listener waited out its poll"
    finally:
        stop.set()
        wake(client, private)
        client.close()
        other.close()


def test_a_user_allowed_only_the_feed_s_channel_follows_it_without_a_wake_channel(
        redis_server: RedisServer, redis_url: str) -> None:
    """An ACL that names the channels a user may use (Redis 7 gives a new user none) refuses
    the private wake channel: the listener follows the feed without it, stopping at its poll."""
    admin = redis.Redis.from_url(redis_url)
    channel = "mae:test-feed"
    admin.execute_command("ACL", "SETUSER", "feedonly", "on", ">pw", "~*", "resetchannels",
                          f"&{channel}", "+@all")
    db = redis_url.rsplit("/", 1)[1]
    client = connect(f"redis://feedonly:pw@127.0.0.1:{redis_server.port}/{db}")
    private = wake_channel(channel)
    stop = threading.Event()
    got: list[bytes] = []
    heard = threading.Event()

    def on_message(data: bytes) -> None:
        got.append(data)
        heard.set()

    thread = threading.Thread(target=listen, daemon=True, args=(client, channel, stop),
                              kwargs={"what": "test", "on_message": on_message,
                                      "woken_by": private, "poll_s": 0.2})
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not heard.is_set():  # until subscribed: publish again and again
            assert time.monotonic() < deadline, "the feed's messages never arrived"
            admin.publish(channel, b"one")
            heard.wait(0.05)
        stop.set()
        wake(client, private)  # refused for this user: no error, the poll ends the wait
        thread.join(timeout=10)
        assert not thread.is_alive()
        assert set(got) == {b"one"}
    finally:
        stop.set()
        client.close()
        admin.execute_command("ACL", "DELUSER", "feedonly")
        admin.close()
