"""Logs as JSON lines (``mae serve --log-json`` or ``MAE_LOG_JSON=1``) for a log shipper.

One object per line: time, level, logger, message and the whitelisted id fields a record
carries (``callout_id``, ``unit_id``...). Our modules log ids only, never patient text; the
formatter keeps it so for what it adds: an exception contributes its type and where it was
raised, never its message or the values in it.
"""

from __future__ import annotations

import json
import logging
import traceback
from datetime import UTC, datetime
from typing import Any

__all__ = ["ID_FIELDS", "JsonFormatter", "configure_json_logging"]

#: Extra record attributes copied into the line (``logger.info(..., extra={"unit_id": u})``).
ID_FIELDS = ("callout_id", "unit_id", "alarm_id", "principal_id", "seq", "status", "role")


class JsonFormatter(logging.Formatter):
    """A record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in ID_FIELDS:
            value = getattr(record, name, None)
            if isinstance(value, str | int) and not isinstance(value, bool):
                line[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            line["exc_type"] = record.exc_info[0].__name__
            tb = traceback.extract_tb(record.exc_info[2])
            if tb:
                line["exc_where"] = f"{tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}"
        return json.dumps(line, ensure_ascii=False)


def configure_json_logging(level: int = logging.INFO) -> logging.Handler:
    """Send every logger's records (ours and uvicorn's) as JSON lines to stderr; returns the
    handler. Call before starting uvicorn with ``log_config=None``."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    return handler
