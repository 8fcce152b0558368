"""The one exception tree of MAE Dispatch.

Every error the project raises on purpose derives from :class:`MaeError`, and most also from the
built-in exception they resemble (``UnknownPlace(MaeError, KeyError)``), so callers can catch
either. Messages are written for a person: they name the field or input and say what to do.
"""

from __future__ import annotations

__all__ = ["MaeError"]


class MaeError(Exception):
    """Root of every deliberate MAE Dispatch error."""
