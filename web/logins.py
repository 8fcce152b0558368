"""Failed logins, limited per client address and claimed principal: guessing tokens gets slow,
and shows in the audit, without one client locking others out.

Refused tokens are counted per client (IP address) *and* the principal id the token claims. A
client that presented ``per_minute`` wrong tokens for one principal within the last minute is
refused every login as that principal until the oldest of them is a minute old: REST answers
429 with ``Retry-After``, a socket closes with 4429. Colleagues behind the same address (a
dispatch centre's NAT) keep logging in; a phone retrying a revoked token locks out only its own
id. An address is refused as a whole only after ``ADDRESS_FACTOR`` times that many failures in a
minute, which takes guesses at many principals. Only a token that was given and refused counts
(a page opened before logging in is no guess). The audit row of each failure names the claimed
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


#: Failures one address may present in a minute, over all the principals its tokens claim, as
#: a multiple of the per-principal limit.
ADDRESS_FACTOR = 10


class LoginLimiter:
    """Failed logins per client address and claimed principal in a sliding minute, with a
    larger ceiling per address (thread-safe: REST dependencies run in worker threads)."""

    def __init__(self, per_minute: int, *, now: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.per_address = per_minute * ADDRESS_FACTOR
        self._failures = SlidingWindow(per_minute, max_keys=MAX_CLIENTS, now=now)
        self._addresses = SlidingWindow(self.per_address, max_keys=MAX_CLIENTS, now=now)

    @staticmethod
    def _key(ip: str, claimed: str | None) -> str:
        # a token without a token's shape claims nobody: those share one key per address
        return f"{ip} {claimed or '-'}"

    def check_address(self, ip: str) -> None:
        """Raise :class:`TooManyLogins` if ``ip`` is refused as a whole (before a token is
        known, e.g. a socket waiting for its first frame)."""
        wait = self._addresses.wait_s(ip)
        if wait is not None:
            raise TooManyLogins(wait)

    def check(self, ip: str, claimed: str | None = None) -> None:
        """Raise :class:`TooManyLogins` if ``ip`` may not log in as ``claimed`` now."""
        self.check_address(ip)
        wait = self._failures.wait_s(self._key(ip, claimed))
        if wait is not None:
            raise TooManyLogins(wait)

    def failed(self, ip: str, claimed: str | None = None) -> None:
        """Count one refused token from ``ip`` claiming ``claimed`` (one past a limit changes
        nothing: the key is refused until its oldest counted failure is a minute old)."""
        self._failures.add(self._key(ip, claimed))
        self._addresses.add(ip)


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
        claimed = claimed_id(token)
        self.limiter.check(ip, claimed)
        try:
            return self.principals.authenticate(token)
        except Unauthorized:
            if token:
                self.limiter.failed(ip, claimed)
                self.audit.record_failed_login(at=self._now(), claimed_id=claimed,
                                               client=client, action=action,
                                               result="refused unauthorized")
            raise
