"""Road graphs: the bundled Norrbotten county network, OpenStreetMap builds, one on-disk format."""

from maps.errors import (
    MapBuildError,
    MapError,
    MapFormatError,
    MapNotFound,
    OfflineError,
    UnknownPlace,
)
from maps.gazetteer import Gazetteer
from maps.graph import Facility, Place, RoadClass, RoadGraph, haversine_m, load_graph, save_graph
from maps.traveltime import TravelTimeModel

__all__ = [
    "Facility",
    "Gazetteer",
    "MapBuildError",
    "MapError",
    "MapFormatError",
    "MapNotFound",
    "OfflineError",
    "Place",
    "RoadClass",
    "RoadGraph",
    "TravelTimeModel",
    "UnknownPlace",
    "haversine_m",
    "load_graph",
    "save_graph",
]
