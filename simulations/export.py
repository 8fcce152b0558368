"""A run's event log as JSON lines, so the dispatcher's map can replay a simulated day.

Each line is one :class:`~dispatch.events.Envelope`: ``{"seq": n, "type": ..., ...}`` with the
event in :func:`dispatch.events.event_to_dict` form, the same form the live event log uses.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from dispatch.events import Envelope, event_from_dict, event_to_dict
from simulations.errors import SimulationError

__all__ = ["read_event_log", "slice_log", "write_event_log"]


def write_event_log(envelopes: Iterable[Envelope], path: str | Path) -> Path:
    """Write ``envelopes`` to ``path`` as JSON lines."""
    out = Path(path)
    with out.open("w", encoding="utf-8") as fh:
        for env in envelopes:
            fh.write(json.dumps({"seq": env.seq, **event_to_dict(env.event)},
                                ensure_ascii=False, separators=(",", ":")))
            fh.write("\n")
    return out


def read_event_log(path: str | Path) -> list[Envelope]:
    """The envelopes written by :func:`write_event_log`."""
    envelopes = []
    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                seq = int(data.pop("seq"))
                envelopes.append(Envelope(seq, event_from_dict(data)))
            except (ValueError, KeyError, TypeError) as exc:
                raise SimulationError(f"{path}: line {n} is not an event: {exc}") from None
    return envelopes


def slice_log(envelopes: Iterable[Envelope], until: datetime) -> list[Envelope]:
    """The envelopes up to and including time ``until`` (e.g. the first simulated day)."""
    return [env for env in envelopes if env.event.at <= until]
