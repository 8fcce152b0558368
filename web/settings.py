"""The service's settings, from ``MAE_…`` environment variables or given in code.

Built inside :func:`web.app.create_app` (never at import), so tests and the CLI pass their own.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]

logger = logging.getLogger(__name__)


class Settings(BaseSettings):
    """Where the service listens, what it loads and how it behaves."""

    model_config = SettingsConfigDict(env_prefix="MAE_", extra="forbid")

    host: str = Field(default="127.0.0.1", description="interface to listen on")
    port: int = Field(default=8000, ge=0, le=65535, description="TCP port (0 picks a free one)")
    database: Path = Field(default=Path("mae-dispatch.sqlite3"),
                           description="SQLite file for events, principals and audit")
    store: str | None = Field(default=None,
                              description="keep the shared state (event log, tokens, audit, "
                              "snapshots, positions) in Redis at this redis://HOST:PORT/DB URL, "
                              "so several instances serve one dispatch state; default: all in "
                              "the SQLite file `database` (one instance)")
    map_path: Path | None = Field(default=None,
                                  description="a .maegraph map (default: bundled Norrbotten)")
    region: Path | None = Field(default=None,
                                description="a region file (TOML: bases, units, rota, "
                                "facilities) loaded at start; units not in it are retired")
    demo_units: bool = Field(default=False,
                             description="load the region (the bundled Norrbotten one unless "
                             "`region` names another) and put every off-duty unit of it on a "
                             "demo shift, for trying the pages")
    tick_interval_s: float = Field(default=1.0, gt=0, le=60,
                                   description="seconds between clock ticks")
    planning: bool = Field(default=True, description="plan and re-plan the day's follow-up "
                           "visits over the units on shift in a background worker (in a "
                           "cluster on one Redis store, one instance at a time plans: the "
                           "holder of the planner lease)")
    planning_lease_s: float = Field(default=15.0, ge=1, le=300,
                                    description="seconds the planner lease lasts on a Redis "
                                    "store (renewed every third of it): how long a cluster may "
                                    "go without a planner when the instance planning dies")
    plan_time_limit_s: float = Field(default=2.0, gt=0, le=60,
                                     description="seconds the solver spends on a day's plan")
    replan_time_limit_s: float = Field(default=0.3, gt=0, le=10,
                                       description="seconds the solver spends re-planning "
                                       "the rest of the day when a unit is taken")
    ack_timeout_s: float = Field(default=60.0, gt=0, le=3600,
                                 description="seconds a crew has to acknowledge a job")
    merge_radius_m: float = Field(default=300.0, gt=0, le=50_000)
    merge_window_s: float = Field(default=900.0, gt=0, le=86_400)
    permessage_deflate: bool = Field(default=
        False, description="compress WebSocket frames; off: small JSON gains little and "
        "compressing cost 1.4-1.5x broadcast throughput and 1.5-1.9x CPU per message "
        "here (benchmarks/README.md, Dispatch service)")
    queue_size: int = Field(default=10_000, ge=10, le=1_000_000,
                            description="messages a slow client may fall behind before it is "
                            "dropped (it then reconnects with since=)")
    backlog_window: int = Field(default=50_000, ge=1, le=10_000_000,
                                description="recent events kept in memory with who may see "
                                "each: a client resuming with since= at most this many events "
                                "back gets the events it missed (read in pages off the event "
                                "loop), an older since= a snapshot of the current state; a "
                                "callout's history covers these events")
    write_queue_size: int = Field(default=1_000, ge=1, le=100_000,
                                  description="commands that may wait for the writer; more are "
                                  "answered 503 with Retry-After (a socket gets an error frame)")
    group_commit: bool = Field(default=True,
                               description="commands waiting together share one commit (off: "
                               "one fsync per command, for comparison)")
    storage_probe_interval_s: float = Field(default=5.0, gt=0, le=3600,
                                            description="seconds between storage heartbeats "
                                            "(a small durable write /health reports on)")
    positions_table: bool = Field(default=True,
                                  description="keep positions in their own table, out of the "
                                  "event log (off: every position is a logged event, as before)")
    position_min_interval_s: float = Field(default=2.0, ge=0, le=3600,
                                           description="a unit's reports sooner than this after "
                                           "the last one kept are answered kept: false")
    position_track_every_s: float = Field(default=30.0, gt=0, le=86_400,
                                          description="one point per unit this often is kept in "
                                          "the track (the latest position is always kept)")
    position_broadcast_s: float = Field(default=1.0, gt=0, le=60,
                                        description="dispatchers get the units that moved in "
                                        "one message this often (not one per report)")
    position_store_every_s: float = Field(default=1.0, gt=0, le=3600,
                                          description="kept positions are stored in one batch "
                                          "this often (other instances get them at once)")
    position_retention_days: float = Field(default=7.0, gt=0, le=3650,
                                           description="track points older than this are deleted")
    max_body_bytes: int = Field(default=256_000, ge=1_000, le=10_000_000,
                                description="largest accepted request body (CAP XML)")
    max_json_body_bytes: int = Field(default=65_536, ge=1_000, le=10_000_000,
                                     description="largest accepted JSON request body; larger "
                                     "ones (declared or chunked) get 413 before being read")
    max_ws_frame_bytes: int = Field(default=65_536, ge=1_000, le=10_000_000,
                                    description="largest accepted WebSocket message; a larger "
                                    "one closes the socket with 1009")
    tile_url: str | None = Field(default=None,
                                 description="a raster tile URL template ({z}/{x}/{y}) the pages "
                                 "draw under the roads; default none: vector roads only, offline")
    replay_dir: Path = Field(default=Path("replays"),
                             description="directory of event logs (JSON lines, e.g. from `mae "
                             "simulate --export-log`) the dispatcher map can replay")
    metrics_token: SecretStr | None = Field(default=None, min_length=16,
                                            description="a bearer token (16+ characters) a "
                                            "Prometheus server may scrape /metrics with; admin "
                                            "tokens may too")
    log_json: bool = Field(default=False, description="log as JSON lines (ids only, never "
                           "patient text) instead of plain text")
    snapshot_every: int = Field(default=10_000, ge=0, le=10_000_000,
                                description="write a snapshot of the state every this many "
                                "events (and at shutdown) into <database>.snapshots/, so a "
                                "restart replays only the log's tail; 0 turns snapshots off")
    backlog_events: int | None = Field(default=None, ge=1, le=10_000_000,
                                       description="deprecated: the old name of "
                                       "backlog_window, read as it when that is not given")
    retention_days: int = Field(default=90, ge=1, le=36_500,
                                description="`mae retention run` erases patient fields "
                                "(free text, addresses) of events older than this many days")
    map_reach_per_minute: int = Field(default=120, ge=1, le=100_000,
                                      description="`GET /api/map/reach` calls (is a road within "
                                      "reach of a map click?) one principal may make per minute "
                                      "before getting 429")
    login_failures_per_minute: int = Field(default=10, ge=1, le=10_000,
                                           description="refused tokens one client address may "
                                           "present per minute for one principal before its "
                                           "logins as that principal get 429 (sockets: close "
                                           "4429) until the minute has passed; ten times as "
                                           "many over all principals refuse the address")

    @model_validator(mode="after")
    def _one_backlog_window(self) -> Self:
        """``backlog_events`` (MAE_BACKLOG_EVENTS) was a second window beside
        ``backlog_window`` doing the same job; it is read as ``backlog_window`` when that is not
        given, with a line in the log saying so."""
        if self.backlog_events is None:
            return self
        if "backlog_window" in self.model_fields_set:
            logger.warning("MAE_BACKLOG_EVENTS is deprecated and ignored: MAE_BACKLOG_WINDOW=%d "
                           "is set", self.backlog_window)
        else:
            logger.warning("MAE_BACKLOG_EVENTS is deprecated: read as MAE_BACKLOG_WINDOW=%d; "
                           "rename it", self.backlog_events)
            self.backlog_window = self.backlog_events
        self.backlog_events = None
        return self

    @field_validator("store")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        """Only a Redis URL (or nothing, for SQLite) names a shared store."""
        from urllib.parse import urlsplit

        if value is None or value.strip() in {"", "sqlite"}:
            return None
        if urlsplit(value).scheme not in {"redis", "rediss", "unix"}:
            raise ValueError(f"{value!r} is not a Redis URL (redis://HOST:PORT/DB)")
        return value
