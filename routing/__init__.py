"""Travel times on road graphs, and the OR-Tools facade for assignment and visit planning.

Only :mod:`routing._ortools` imports OR-Tools; its types never leave this package.
"""

from routing._lns import LnsOptions
from routing.assign import assign
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
from routing.plan import SearchOptions, UnitState, plan, replan, rest_of_day
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
