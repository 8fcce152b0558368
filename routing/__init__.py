"""Travel times on road graphs, and the OR-Tools facade for assignment and visit planning.

Only :mod:`routing._ortools` imports OR-Tools; its types never leave this package. The solver
half (:func:`assign`, :func:`plan`, :func:`replan`, the LNS options: OR-Tools and numba, about
half a second of imports) loads on first use of one of its names, so a service or a command
that only needs travel times never pays for it.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from routing.engine import EtaResult, TravelMatrix, TravelTimes
from routing.errors import (
    InfeasibleProblem,
    InvalidPlan,
    InvalidProblem,
    InvalidQuery,
    NoRoute,
    NotInPlan,
    RoutingError,
    SnapError,
    SolverUnavailable,
)
from routing.problems import (
    Assignment,
    AssignmentProblem,
    AssignmentResult,
    AssignUnit,
    BreakRule,
    Callout,
    Plan,
    PlanProblem,
    PlanUnit,
    Visit,
)
from routing.route import Route as DrivenRoute
from routing.route import Step, StepKind
from routing.snap import SnappedPoint
from routing.validate import check_assignment, check_plan, validate_assignment, validate_plan

if TYPE_CHECKING:
    from routing._lns import LnsOptions
    from routing.assign import assign
    from routing.plan import SearchOptions, UnitState, plan, replan, rest_of_day

#: The names whose modules load on first use, and where they live.
_LAZY = {"LnsOptions": "routing._lns", "assign": "routing.assign",
         **{name: "routing.plan" for name in
            ("SearchOptions", "UnitState", "plan", "replan", "rest_of_day")}}


class _Package(types.ModuleType):
    """This package's module type: ``routing.assign`` and ``routing.plan`` are functions
    named like their submodules, and importing a submodule sets it on the package; that
    setting is ignored for these names, so the function stays what ``routing.assign`` is."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


def __getattr__(name: str) -> Any:
    """Load a solver name's module on first use (PEP 562) and keep the name here."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'routing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


sys.modules[__name__].__class__ = _Package

__all__ = [
    "AssignUnit",
    "Assignment",
    "AssignmentProblem",
    "AssignmentResult",
    "BreakRule",
    "Callout",
    "DrivenRoute",
    "EtaResult",
    "InfeasibleProblem",
    "InvalidPlan",
    "InvalidProblem",
    "InvalidQuery",
    "LnsOptions",
    "NoRoute",
    "NotInPlan",
    "Plan",
    "PlanProblem",
    "PlanUnit",
    "RoutingError",
    "SearchOptions",
    "SnapError",
    "SnappedPoint",
    "SolverUnavailable",
    "Step",
    "StepKind",
    "TravelMatrix",
    "TravelTimes",
    "UnitState",
    "Visit",
    "assign",
    "check_assignment",
    "check_plan",
    "plan",
    "replan",
    "rest_of_day",
    "validate_assignment",
    "validate_plan",
]
