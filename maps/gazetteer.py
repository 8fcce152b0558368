"""Look up the places of a loaded map by the names people use for them.

Matching ignores case and diacritics ("Lulea" finds Luleå, "jahkamahkke" finds Jokkmokk through
its Sami name) and an unknown name raises :class:`UnknownPlace` with the closest known names.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable

from maps.errors import UnknownPlace
from maps.graph import Facility, Place, RoadGraph

__all__ = ["Gazetteer", "normalise_name"]


def normalise_name(name: str) -> str:
    """Lower-case ``name``, strip diacritics and collapse white space and dashes."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    bare = bare.replace("ø", "o").replace("æ", "ae").replace("đ", "d").replace("ŋ", "n")
    bare = bare.replace("-", " ").replace("–", " ")
    return " ".join(bare.split())


class Gazetteer:
    """Name index over a graph's places and facilities."""

    def __init__(self, places: Iterable[Place], facilities: Iterable[Facility] = ()) -> None:
        self._index: dict[str, Place | Facility] = {}
        # Facilities first so a town's own name wins over a hospital named after it.
        for fac in facilities:
            self._add(fac.name, fac)
        for place in places:
            for alias in place.names:
                self._add(alias, place)

    @classmethod
    def of(cls, graph: RoadGraph) -> Gazetteer:
        """The gazetteer of ``graph``'s places and facilities."""
        return cls(graph.places, graph.facilities)

    def _add(self, name: str, item: Place | Facility) -> None:
        key = normalise_name(name)
        if key:
            self._index[key] = item

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and normalise_name(name) in self._index

    def find(self, name: str) -> Place | Facility:
        """The place or facility called ``name``, or :class:`UnknownPlace` with suggestions."""
        key = normalise_name(name)
        found = self._index.get(key)
        if found is not None:
            return found
        raise UnknownPlace(name, self.suggest(name))

    def suggest(self, name: str, *, limit: int = 3) -> list[str]:
        """Up to ``limit`` places or facilities whose names come closest to ``name``, best
        first, each by its own name once (a near miss of "Luleå" suggests "Luleå", not its
        other spellings "Lulea" and "Luleju" as three choices)."""
        key = normalise_name(name)
        keys = difflib.get_close_matches(key, list(self._index), n=4 * limit, cutoff=0.6)
        if not keys:
            keys = [k for k in self._index if key and (k.startswith(key) or key in k)]
        out: list[str] = []
        for k in keys:
            shown = self._index[k].name
            if shown not in out:
                out.append(shown)
            if len(out) == limit:
                break
        return out
