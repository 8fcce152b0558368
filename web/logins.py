"""Failed logins, limited per client address: guessing tokens gets slow, and shows in the audit.

A client (IP address) that presented ``per_minute`` wrong tokens within the last minute is
refused every login until the oldest of them is a minute old: REST answers 429 with
``Retry-After``, a socket closes with 4429. Only a token that was given and refused counts (a
page opened before logging in is no guess). The audit row of each failure names the claimed
principal id (when the token has a token's shape) and the client, never the token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from web.audit import Audit
from web.auth import Principal, Principals, claimed_id
from web.errors import TooManyLogins, Unauthorized
from web.ratelimit import SlidingWindow

__all__ = ["Gate", "LoginLimiter", "TooManyLogins", "client_ip"]

MAX_CLIENTS = 100_000  # addresses remembered at most (the oldest are forgotten first)


def client_ip(client: str) -> str:
    """``"10.0.0.7:51234"`` → ``"10.0.0.7"`` (IPv6 ``"[::1]:5"`` or ``"::1:5"`` → ``"::1"``)."""
    host, sep, port = client.rpartition(":")
    if not sep or not port.isdigit():
        return client
    return host.strip("[]")


class LoginLimiter:
    """Failed logins per client address in a sliding minute (thread-safe: REST dependencies
    run in worker threads)."""

    def __init__(self, per_minute: int, *, now: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._failures = SlidingWindow(per_minute, max_keys=MAX_CLIENTS, now=now)

    def check(self, ip: str) -> None:
        """Raise :class:`TooManyLogins` if ``ip`` may not try to log in now."""
        wait = self._failures.wait_s(ip)
        if wait is not None:
            raise TooManyLogins(wait)

    def failed(self, ip: str) -> None:
        """Count one refused token from ``ip`` (one past the limit changes nothing: the
        address is refused until the oldest counted failure is a minute old)."""
        self._failures.add(ip)


class Gate:
    """Every login goes through here: the limit, the token check and the audit of failures.
    Blocking (SQLite): REST calls it from its worker threads, sockets via ``to_thread``."""

    def __init__(self, principals: Principals, audit: Audit, limiter: LoginLimiter, *,
                 now: Callable[[], datetime]) -> None:
        self.principals = principals
        self.audit = audit
        self.limiter = limiter
        self._now = now

    def login(self, token: str | None, *, client: str, action: str) -> Principal:
        """The principal holding ``token``; raises :class:`TooManyLogins` (this client
        failed too often) or :class:`Unauthorized` (a refused token is counted and audited)."""
        ip = client_ip(client)
        self.limiter.check(ip)
        try:
            return self.principals.authenticate(token)
        except Unauthorized:
            if token:
                self.limiter.failed(ip)
                self.audit.record_failed_login(at=self._now(), claimed_id=claimed_id(token),
                                               client=client, action=action,
                                               result="refused unauthorized")
            raise
