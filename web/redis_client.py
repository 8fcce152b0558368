"""Connecting to the shared Redis store, and what its failures mean to a client.

Every Redis-backed store of the service (event log, operations, principals, audit, snapshots,
positions) connects through :func:`connect` so they share one URL check and the same short
timeouts: a Redis that stops answering must turn into a JSON 503 within seconds, never a client
that hangs. :func:`redis_errors` maps redis-py's exceptions to
:class:`web.eventstore.StorageUnavailable` naming the store.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from web.errors import BadMessage
from web.eventstore import StorageUnavailable

__all__ = ["connect", "is_redis_url", "listen", "redis_errors", "wake", "wake_channel"]

logger = logging.getLogger(__name__)

#: Seconds a command may take before the store counts as unavailable.
SOCKET_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 2.0
HEALTH_CHECK_S = 30.0  # an idle pooled connection is checked (PING) before its next command


def is_redis_url(value: str) -> bool:
    """True for ``redis://`` / ``rediss://`` / ``unix://`` URLs (a store on Redis)."""
    return urlsplit(value).scheme in {"redis", "rediss", "unix"}


def connect(url: str, *, field: str = "store", socket_timeout_s: float = SOCKET_TIMEOUT_S,
            client_name: str | None = None,
            health_check_s: float = HEALTH_CHECK_S) -> redis.Redis:
    """A client for ``url`` (``redis://HOST:PORT/DB``) with short timeouts; a malformed URL
    raises :class:`BadMessage` naming ``field``. No command is sent: the first one reports an
    unreachable server as :class:`StorageUnavailable` (through :func:`redis_errors`).
    ``client_name`` names every connection of the client (``CLIENT LIST`` shows it).

    A command is tried again once, on a new connection, only when the connection failed (a
    Redis restart dropped the pooled one); a timeout is not tried again, so a Redis that stops
    answering costs one ``socket_timeout_s``, not one per retry."""
    if not is_redis_url(url):
        raise BadMessage(field, f"{url!r} is not a Redis URL (redis://HOST:PORT/DB)")
    named: dict[str, Any] = {} if client_name is None else {
        "redis_connect_func": _naming(client_name)}
    try:
        return redis.Redis.from_url(
            url, socket_timeout=socket_timeout_s, socket_connect_timeout=CONNECT_TIMEOUT_S,
            health_check_interval=health_check_s,
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)), **named)
    except ValueError as exc:
        raise BadMessage(field, f"{url!r} is not a usable Redis URL: {exc}") from exc


def _naming(name: str) -> Callable[[Any], None]:
    """A connect hook naming each new connection ``name`` (``CLIENT SETNAME``) where Redis
    lets it: a user whose ACL leaves out the CLIENT commands still connects, only unnamed
    (redis-py's own ``client_name`` would refuse the connection)."""

    def on_connect(connection: Any) -> None:
        # No health check inside the handshake: its PING would time out on a Redis that stopped
        # answering, reconnect, and run this hook again, one level deeper each time, for as
        # long as Redis stays stopped (a write waited 36 s instead of a 503)
        connection.on_connect_check_health(check_health=False)
        try:
            connection.send_command("CLIENT", "SETNAME", name, check_health=False)
            connection.read_response()
        except redis.ResponseError:
            logger.debug("Redis refused CLIENT SETNAME %s; the connection stays unnamed", name)

    return on_connect


@contextlib.contextmanager
def redis_errors(store: str) -> Iterator[None]:
    """Turn a Redis failure (unreachable, timed out, out of memory, read-only replica, a
    failing append-only file) into :class:`StorageUnavailable` for ``store``."""
    try:
        yield
    except redis.TimeoutError as exc:  # no answer in time: a stalled or overloaded Redis
        raise StorageUnavailable(store, f"Redis unreachable: {exc}", stalled=True) from exc
    except redis.ConnectionError as exc:
        raise StorageUnavailable(store, f"Redis unreachable: {exc}") from exc
    except redis.ResponseError as exc:
        text = str(exc)
        if text.split(" ", 1)[0] in {"OOM", "MISCONF", "READONLY", "LOADING", "BUSY",
                                      "NOREPLICAS", "MASTERDOWN"}:
            raise StorageUnavailable(store, f"Redis refused the write: {text}") from exc
        raise


def wake_channel(channel: str) -> str:
    """A private channel beside ``channel`` for one listener: :func:`wake` on it ends that
    listener's wait for a message at once (other instances never subscribe to it)."""
    return f"{channel}:wake:{uuid.uuid4().hex}"


def wake(client: redis.Redis, channel: str) -> None:
    """Wake the listener of the private ``channel`` (from :func:`wake_channel`) so it sees its
    stop at once instead of at its next poll; a Redis that does not answer only leaves it to
    the poll."""
    with contextlib.suppress(redis.RedisError, OSError):
        client.publish(channel, b"")


def listen(client: redis.Redis, channel: str, stop: threading.Event, *, what: str,
           on_message: Callable[[bytes], None],
           on_subscribed: Callable[[], None] | None = None,
           on_lost: Callable[[], None] | None = None, woken_by: str | None = None,
           poll_s: float = 0.5) -> None:
    """Deliver every message published on ``channel`` to ``on_message`` until ``stop`` is
    set (run it in a thread of its own). A lost connection is retried every second;
    ``on_subscribed`` runs after each (re)subscription (to re-read what was missed meanwhile),
    ``on_lost`` when the connection is lost. ``what`` names the feed in the log. A message on
    the private channel ``woken_by`` (see :func:`wake`) only makes it look at ``stop`` now:
    a stopping service need not wait out the poll (``poll_s``, the longest wait between two
    looks at ``stop``); a user whose ACL does not allow that channel follows without it."""
    wanted = channel.encode()
    while not stop.is_set():
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(channel, *([woken_by] if woken_by else []))
            if on_subscribed is not None:
                on_subscribed()
            while not stop.is_set():
                message = pubsub.get_message(timeout=poll_s)
                if (message is not None and message.get("type") == "message"
                        and message.get("channel") == wanted):
                    on_message(message["data"])
        except (redis.RedisError, OSError) as exc:
            if woken_by is not None and isinstance(exc, redis.exceptions.NoPermissionError):
                # an ACL that names the channels a user may use: follow without a wake channel
                # (a stop then waits for the poll), subscribing again at once
                logger.info("following %s without its wake channel: %s", what, exc)
                woken_by = None
                continue
            if on_lost is not None:
                on_lost()
            logger.warning("following %s: %s; retrying", what, type(exc).__name__)
            stop.wait(1.0)
        finally:
            pubsub.close()
