"""The live demo's simulated people: agencies raising alarms, a dispatcher bot and crews.

They act only through :meth:`web.service.DispatchService.run` with principals of their own (so
the audit log tells a bot from a person), exactly as the sockets do for real clients; a command
the core refuses (a person got there first) is logged and the actor looks again next step. Each
actor reads the current state every step and does the next thing its role would, which keeps it
right when a person assigns, reassigns, cancels or merges in between. Times are demo times.
The dispatcher bot chooses with the simulator's :func:`simulations.policy.pick`, the crews
follow the simulator's behaviour model (:mod:`web.demo_crew`).
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from dispatch.commands import Assign, CancelCallout, Command, MergeCallouts
from dispatch.model import Agency
from dispatch.state import Callout, Unit
from dispatch.status import CalloutStatus
from mae.errors import MaeError
from maps.graph import RoadGraph
from simulations.behaviour import Chance, draw_chance
from simulations.policy import pick
from simulations.spec import Policy
from web.auth import Principal, Role
from web.demo_config import DemoConfig
from web.demo_crew import CrewBot
from web.demo_feed import AlarmFeed, DemoAlarm
from web.demo_visits import visit_batch, visit_spans
from web.intake import submit_alarm
from web.service import DispatchService

__all__ = ["Bots", "DemoRunner"]

#: The dispatcher bot's rule: the closest idle unit, as the simulator's default policy.
CLOSEST_IDLE = Policy()

logger = logging.getLogger(__name__)

CLIENT = "demo"
CLOCK_EVERY_S = 1.0  # wall seconds between clock messages to the dispatch pages
_WATCHERS = frozenset({Role.DISPATCHER, Role.ADMIN, Role.PLANNER})


@dataclass(frozen=True, slots=True)
class Bots:
    """The principals the demo's actors act as (their tokens are never shown)."""

    dispatcher: Principal
    crews: dict[str, Principal]
    agencies: dict[Agency, Principal]


class DemoRunner:
    """Steps every actor on the service's (scaled) clock until cancelled."""

    def __init__(self, service: DispatchService, graph: RoadGraph, config: DemoConfig,
                 bots: Bots, *, say: Callable[[str], None] | None = None) -> None:
        self.service = service
        self.graph = graph
        self.config = config
        self.bots = bots
        self._say = say
        self.started_at = service.clock.now()
        self.feed = AlarmFeed(graph, start=self.started_at, seed=config.seed,
                              alarms_per_hour=config.alarms_per_hour,
                              joint_share=config.joint_share, service=config.service)
        self.sent: dict[str, DemoAlarm] = {}  # alarm id -> the demo alarm
        self.alarms_sent = 0
        self.waiting_since: dict[str, datetime] = {}
        self.retry_at: dict[str, datetime] = {}
        self.crews: list[CrewBot] = []
        self._last_clock = 0.0
        self.visit_batches = 0  # batches of home visits booked so far
        self._visits_due = self.started_at  # when the next batch is booked
        self._visits_until: dict[str, datetime] = {}  # unit -> the last window booked opens

    # -- plumbing -----------------------------------------------------------------------------

    def say(self, text: str) -> None:
        if self._say is not None:
            local = self.service.clock.now().astimezone(self.feed.scenario.tz)
            self._say(f"[{local:%H:%M:%S}] {text}")

    async def do(self, principal: Principal, command: Command, action: str,
                 **target: object) -> bool:
        """Run ``command`` as ``principal``; False (and a debug line) if the core refused."""
        try:
            await self.service.run(command, principal=principal, client=CLIENT, action=action,
                                   target=target)
        except MaeError as exc:
            logger.debug("demo %s refused: %s", action, exc)
            return False
        return True

    def chance(self, callout: Callout) -> Chance:
        """The incident's drawn outcome; a person's alarm gets a seeded draw of its own."""
        for alarm_id in callout.alarm_ids:
            a = self.sent.get(alarm_id)
            if a is not None:
                return Chance(a.outcome, a.on_scene_s, a.at_facility_s)
        rng = np.random.default_rng([self.config.seed, zlib.crc32(callout.callout_id.encode())])
        return draw_chance(self.config.service, rng)

    # -- the loop ------------------------------------------------------------------------------

    def home(self, unit: Unit) -> tuple[float, float]:
        """Where ``unit``'s base is on the map (its facility), else where the unit stands."""
        for f in self.graph.facilities:
            if f.name == unit.base:
                return f.lat, f.lon
        return unit.position.lat, unit.position.lon

    def start_crews(self) -> None:
        for unit_id, unit in sorted(self.service.state.units.items()):
            principal = self.bots.crews.get(unit_id)
            if principal is None or unit_id in self.config.manual_units:
                continue
            self.crews.append(CrewBot(self, unit_id, principal, self.home(unit), unit.base))

    async def run(self) -> None:
        """Step the actors every few tenths of a second (wall time) until cancelled."""
        self.start_crews()
        step_s = min(0.1, max(0.02, self.config.position_every_s / self.config.speed))
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.step(self.service.clock.now())
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("demo step failed")
            if loop.time() - self._last_clock >= CLOCK_EVERY_S:
                self._last_clock = loop.time()
                self.service.broadcast(self.clock_message(), roles=_WATCHERS)
            await asyncio.sleep(step_s)

    def clock_message(self) -> dict[str, object]:
        """The demo clock as the replay protocol sends it, so pages can show demo time."""
        return {"type": "clock", "at": self.service.clock.now().isoformat(),
                "speed": self.config.speed, "playing": True}

    async def step(self, now: datetime) -> None:
        await self.book_visits(now)
        for alarm in self.feed.due(now):
            await self.raise_alarm(alarm)
        if self.config.auto_assign:
            await self.dispatch(now)
        for crew in self.crews:
            await crew.step(self.service.clock.now())

    # -- agencies ------------------------------------------------------------------------------

    async def raise_alarm(self, alarm: DemoAlarm) -> None:
        principal = self.bots.agencies.get(alarm.agency)
        if principal is None:
            return
        try:
            ack = await submit_alarm(self.service, principal, alarm.payload(), client=CLIENT)
        except MaeError as exc:
            logger.info("demo alarm %s not raised: %s", alarm.alarm_id, exc)
            return
        self.sent[alarm.alarm_id] = alarm
        self.alarms_sent += 1
        joined = " (joined: same incident)" if alarm.joint and self._joined(ack) else ""
        self.say(f"alarm {alarm.alarm_id} near {alarm.place}: {alarm.category.value}, "
                 f"priority {int(alarm.priority)} -> {ack['callout_id']}{joined}")

    async def book_visits(self, now: datetime) -> None:
        """Every ``visit_every_s``, psychiatry books the next batch of home visits around
        the units' bases (:func:`web.demo_visits.visit_batch`); the planner routes them."""
        config = self.config
        principal = self.bots.agencies.get(Agency.PSYCHIATRY)
        if config.visits_per_unit <= 0 or principal is None or now < self._visits_due:
            return
        index = self.visit_batches
        self.visit_batches += 1
        self._visits_due = now + timedelta(seconds=config.visit_every_s)
        units = [(u, *self.home(u)) for _, u in sorted(self.service.state.units.items())
                 if not u.retired]
        rota, tz = self.service.rota_in_force()
        areas = visit_spans(units, rota, tz, now, hours=config.visit_every_s / 3600.0,
                            booked_until=self._visits_until)
        for area in areas:
            self._visits_until[area.unit_id] = area.opens_until
        batch = visit_batch(self.graph.places, areas, per_area=config.visits_per_unit,
                            seed=config.seed, index=index)
        booked = 0
        for visit in batch:
            booked += await self.do(principal, visit.command(), "visit.book",
                                    visit_id=self.service.state.next_visit_id())
        if booked:
            first, last = (t.astimezone(tz) for t in (batch[0].earliest_start,
                                                       batch[-1].earliest_start))
            until = f"{last:%H:%M}" if last.date() == first.date() else f"{last:%a %H:%M}"
            self.say(f"psychiatry booked {booked} home visits opening {first:%a %H:%M}-{until}: "
                     "the day planner routes them onto the units")

    def _joined(self, ack: dict[str, object]) -> bool:
        callout = self.service.state.callouts.get(str(ack["callout_id"]))
        return callout is not None and len(callout.alarm_ids) > 1

    # -- the dispatcher bot ----------------------------------------------------------------------

    def _partner(self, callout: Callout) -> str | None:
        """An older open callout about the same demo incident (a merge the bot knows of)."""
        mine = {self.sent[a].incident for a in callout.alarm_ids if a in self.sent}
        if not mine:
            return None
        for other in self.service.state.open_callouts():
            if other.callout_id == callout.callout_id or other.created_at > callout.created_at:
                continue
            theirs = {self.sent[a].incident for a in other.alarm_ids if a in self.sent}
            if mine & theirs:
                return other.callout_id
        return None

    async def dispatch(self, now: datetime) -> None:
        """Act on callouts no person has handled within ``assign_after_s``: merge a known
        duplicate, give up on one that waited ``max_wait_s`` (the alarming agency handles it
        alone, as the simulator's fallback does), else assign the unit the simulator's policy
        picks from the service's recommendation among those there within ``max_eta_s``."""
        state = self.service.state
        waiting = sorted((c for c in state.open_callouts() if c.status is CalloutStatus.WAITING),
                         key=lambda c: (c.priority, c.created_at, c.callout_id))
        ids = {c.callout_id for c in waiting}
        for gone in [cid for cid in self.waiting_since if cid not in ids]:
            self.waiting_since.pop(gone, None)
            self.retry_at.pop(gone, None)
        patience = timedelta(seconds=self.config.assign_after_s)
        bot = self.bots.dispatcher
        for callout in waiting:
            cid = callout.callout_id
            since = self.waiting_since.setdefault(cid, now)
            if now - since < patience or now < self.retry_at.get(cid, now):
                continue
            partner = self._partner(callout)
            if partner is not None:
                if await self.do(bot, MergeCallouts(partner, cid), "merge",
                                 target_id=partner, source_id=cid):
                    self.say(f"dispatcher bot merged {cid} into {partner} (same incident)")
                continue
            if (now - callout.created_at).total_seconds() > self.config.max_wait_s:
                reason = "no MAE unit free in time: the alarming agency handles it alone"
                if await self.do(bot, CancelCallout(cid, reason), "cancel", callout_id=cid):
                    self.say(f"dispatcher bot cancelled {cid}: {reason}")
                continue
            try:
                options = self.service.recommend(cid)
            except MaeError as exc:
                logger.debug("no recommendation for %s: %s", cid, exc)
                options = []
            choice = pick(CLOSEST_IDLE, options, budget_s=self.config.max_eta_s)
            if choice is None:
                if cid not in self.retry_at:  # said once a callout, so a watcher knows why
                    self.say(f"dispatcher bot waits with {cid}: no free unit within "
                             f"{self.config.max_eta_s / 60:.0f} min (gives up after "
                             f"{self.config.max_wait_s / 60:.0f} min)")
                self.retry_at[cid] = now + timedelta(seconds=30)
                continue
            if await self.do(bot, Assign(cid, choice.unit_id, choice.travel_s), "assign",
                             callout_id=cid, unit_id=choice.unit_id):
                self.say(f"dispatcher bot assigned {choice.unit_id} to {cid} "
                         f"(ETA {choice.travel_s / 60:.0f} min)")
