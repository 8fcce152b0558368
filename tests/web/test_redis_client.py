"""Following a Redis pub/sub channel (``listen``): messages reach the callback, and a stopping
service wakes its listener through a private channel instead of waiting out the poll."""

from __future__ import annotations

import threading

import redis

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
