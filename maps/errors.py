"""Errors raised while building, saving and loading road graphs."""

from __future__ import annotations

from mae.errors import MaeError

__all__ = [
    "MapBuildError",
    "MapError",
    "MapFormatError",
    "MapNotFound",
    "OfflineError",
    "UnknownPlace",
]


class MapError(MaeError):
    """Root of the map errors."""


class MapNotFound(MapError, FileNotFoundError):
    """A map or OSM file that was asked for does not exist."""


class MapFormatError(MapError, ValueError):
    """A file is not a valid graph, OSM extract or authored map table."""


class MapBuildError(MapError, ValueError):
    """Building a graph gave nothing usable (for example a bbox with no roads)."""


class OfflineError(MapError, ConnectionError):
    """An online build could not reach OpenStreetMap's services."""


class UnknownPlace(MapError, KeyError):
    """A place name is not in the loaded map's gazetteer.

    ``suggestions`` holds the closest known names, best first.
    """

    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown place {name!r}{hint}")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])
