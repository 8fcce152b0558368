"""The audit log in Redis: one stream every instance appends to, read newest first.

Stream ``audit`` (under the prefix) holds every row; ``audit:<principal id>`` the same rows of
one principal, written in the same transaction, so "this principal's latest rows" is one
``XREVRANGE`` however long the whole log is. Rows hold identifiers only
(:func:`web.audit.kept_target`), never free text. Not trimmed: the audit log is a record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import redis

from web.audit import AuditEntry, AuditRow, kept_target
from web.auth import Principal
from web.redis_client import connect, redis_errors

__all__ = ["FIELDS", "RedisAuditLog", "row_fields"]

STORE = "audit"

#: The fields of an audit row, in order (the event log's append script writes them too).
FIELDS = ("at", "principal_id", "role", "action", "target", "client", "result")


def row_fields(row: AuditRow) -> dict[str, str]:
    """The stream fields of ``row`` (``target`` filtered to identifiers, as JSON)."""
    return {"at": row.at.isoformat(), "principal_id": row.principal.principal_id,
            "role": row.principal.role.value, "action": row.action,
            "target": json.dumps(kept_target(row.target), sort_keys=True, ensure_ascii=False),
            "client": row.client, "result": row.result}


class RedisAuditLog:
    """:class:`web.audit.Audit` on Redis streams."""

    def __init__(self, url: str, *, prefix: str = "mae:") -> None:
        self.url = url
        self.prefix = prefix
        self._r: redis.Redis = connect(url)

    def folds_into(self, store: object) -> bool:
        """Whether ``store`` (an event log) writes this log's rows itself, in its append: a
        :class:`web.redislog.RedisEventStore` on the same Redis and prefix (then a command's
        events, op and audit row cost one round trip)."""
        return getattr(store, "url", None) == self.url and \
            getattr(store, "prefix", None) == self.prefix and \
            callable(getattr(store, "append_audited", None))

    def close(self) -> None:
        self._r.close()

    def _append(self, *rows: dict[str, str]) -> None:
        with redis_errors(STORE):
            pipe = self._r.pipeline(transaction=True)
            for row in rows:
                pipe.xadd(f"{self.prefix}audit", row)  # type: ignore[arg-type]
                pipe.xadd(f"{self.prefix}audit:{row['principal_id']}",
                          row)  # type: ignore[arg-type]
            pipe.execute()

    def record(self, *, at: datetime, principal: Principal, action: str,
               target: Mapping[str, object], client: str, result: str = "ok") -> None:
        """Record one command; ``target`` keeps only identifier keys."""
        self.record_many([AuditRow(at, principal, action, target, client, result)])

    def record_many(self, rows: Sequence[AuditRow]) -> None:
        """Record several commands in one transaction (one round trip)."""
        self._append(*(row_fields(r) for r in rows))

    def record_failed_login(self, *, at: datetime, claimed_id: str | None, client: str,
                            action: str, result: str) -> None:
        """Record a refused token by the id it claimed (or ``-``), never the token."""
        self._append({"at": at.isoformat(), "principal_id": claimed_id or "-", "role": "-",
                      "action": action, "target": "{}", "client": client, "result": result})

    def entries(self, *, limit: int = 100, principal_id: str | None = None) -> list[AuditEntry]:
        """The latest ``limit`` rows, newest first."""
        key = f"{self.prefix}audit" + (f":{principal_id}" if principal_id is not None else "")
        with redis_errors(STORE):
            rows: Any = self._r.xrevrange(key, count=limit)
        out = []
        for _id, raw in rows:
            f = {k.decode(): v.decode() for k, v in raw.items()}
            out.append(AuditEntry(datetime.fromisoformat(f["at"]), f["principal_id"], f["role"],
                                  f["action"], json.loads(f["target"]), f["client"],
                                  f["result"]))
        return out
