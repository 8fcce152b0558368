"""Project-wide pieces: the exception root (imported by every package) and the ``mae`` CLI."""

from mae.errors import MaeError

__all__ = ["MaeError"]
