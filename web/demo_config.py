"""How the live demo behaves: rates, patience, the bots' policy and the crews' behaviour model.

Below :mod:`web.demo_crew`, :mod:`web.demo_actors` and :mod:`web.live_demo`, which import it;
it takes only the unit constants from :mod:`web.demo_units`. All durations are demo seconds (the
scaled clock's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulations.behaviour import CrewModel
from simulations.spec import Service
from web.demo_units import SHIFT_HOURS
from web.errors import BadMessage

__all__ = ["DemoConfig"]

RELIEF_AFTER_S = 600.0  # ... this long after the last one went off duty
JITTER = 0.5  # demo crews acknowledge and turn out in 50 % to 150 % of the service times
ROLLING_TURNOUT_S = 15.0  # a crew sent on while driving needs no turnout time
ACK_MARGIN = 3.0  # and acknowledges within a third of the time left to do so
MAX_VISITS_PER_UNIT = 12  # home visits booked per unit and batch


@dataclass(frozen=True, slots=True)
class DemoConfig:
    """How the demo behaves; durations are demo seconds (the scaled clock's). The dispatcher
    bot takes the closest idle unit of the service's recommendation within ``max_eta_s``;
    ``service`` is the crews' times. Every ``visit_every_s`` the psychiatry agency books
    ``visits_per_unit`` home visits around each unit's base (:mod:`web.demo_visits`)."""

    speed: float = 10.0
    seed: int = 0
    alarms_per_hour: float = 2.0
    joint_share: float = 0.3
    auto_assign: bool = True
    assign_after_s: float = 60.0
    max_eta_s: float = 90 * 60.0
    max_wait_s: float = 90 * 60.0
    position_every_s: float = 3.0
    manual_units: frozenset[str] = frozenset()
    visits_per_unit: int = 2
    visit_every_s: float = 6 * 3600.0
    service: Service = field(default_factory=Service)

    def __post_init__(self) -> None:
        limits = {"speed": (0.1, 1000.0), "alarms_per_hour": (0.01, 600.0),
                  "joint_share": (0.0, 1.0), "assign_after_s": (0.0, 86_400.0),
                  "max_eta_s": (60.0, 86_400.0),
                  "max_wait_s": (60.0, 7 * 86_400.0), "position_every_s": (0.5, 600.0),
                  "visit_every_s": (3600.0, 86_400.0)}
        for name, (lo, hi) in limits.items():
            value = getattr(self, name)
            if not (isinstance(value, int | float) and lo <= value <= hi):
                raise BadMessage(name, f"must be a number from {lo:g} to {hi:g}, got {value!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise BadMessage("seed", f"must be a whole number >= 0, got {self.seed!r}")
        if isinstance(self.visits_per_unit, bool) or not isinstance(self.visits_per_unit, int) \
                or not 0 <= self.visits_per_unit <= MAX_VISITS_PER_UNIT:
            raise BadMessage("visits_per_unit", f"must be a whole number from 0 to "
                             f"{MAX_VISITS_PER_UNIT}, got {self.visits_per_unit!r}")

    @property
    def crew_model(self) -> CrewModel:
        """The simulator's crew behaviour with the demo's livelier variations."""
        return CrewModel(self.service, jitter=JITTER, rolling_turnout_s=ROLLING_TURNOUT_S,
                         ack_margin=ACK_MARGIN, relief_after_s=RELIEF_AFTER_S,
                         relief_hours=SHIFT_HOURS)
