"""One APIRouter per resource; :func:`web.app.create_app` includes them all."""

from web.routes import alarms, audit, callouts, health, history, rota, units

__all__ = ["alarms", "audit", "callouts", "health", "history", "rota", "units"]
