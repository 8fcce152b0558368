"""The bundled Norrbotten map: where its compiled graph lives, and loading it.

The graph is compiled from the authored tables by :func:`compile_bundled` (``mae maps build
--bundled``) and shipped as ``maps/data/norrbotten.maegraph``, so loading it is a plain
:func:`maps.graph.load_graph`. A test checks the shipped file matches its tables.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from maps.graph import RoadGraph, load_graph, save_graph
from maps.norrbotten import DATA_DIR, build_norrbotten

__all__ = ["BUNDLED_PATH", "compile_bundled", "load_bundled"]

BUNDLED_PATH = Path(__file__).parent / "data" / "norrbotten.maegraph"


@lru_cache(maxsize=1)
def load_bundled() -> RoadGraph:
    """The bundled Norrbotten county graph (loaded once per process)."""
    return load_graph(BUNDLED_PATH)


def compile_bundled(out: Path = BUNDLED_PATH, data_dir: Path = DATA_DIR) -> RoadGraph:
    """Build the county graph from its tables and write it to ``out``."""
    graph = build_norrbotten(data_dir)
    save_graph(graph, out)
    load_bundled.cache_clear()
    return graph
