"""Compiling routing's numba kernels before the first query needs them.

numba compiles a kernel on its first call and keeps the machine code in
``routing/__pycache__`` (``cache=True``): on a fresh checkout the contraction hierarchy's and
the visit search's kernels take about a minute of one core to compile, after that they
load in a moment. :func:`compile_kernels` calls each of them once on a tiny road network and a
two-visit plan, so ``dev.py test`` can compile them in a process of its own while the linters
run, instead of the first tests that route paying for it one after another.
"""

from __future__ import annotations

__all__ = ["compile_kernels"]


def compile_kernels() -> None:
    """Compile (or load from numba's cache) the kernels of every query kind: building a
    hierarchy, many-to-one (remembered and not), one-to-many, matrices, routes and their
    lines, scaled times, and the visit planner's search."""
    import numpy as np

    from maps.synthetic import rural_graph
    from routing._lns import warm_up
    from routing.ch import ContractionHierarchy
    from routing.engine import TravelTimes
    from routing.paths import SeedSet

    graph = rural_graph(300, seed=1)
    travel = TravelTimes(graph, algorithm="ch").prepare()
    spots = [(float(graph.node_lat[v]), float(graph.node_lon[v])) for v in (0, 90, 180, 270)]
    travel.etas_to(spots[0], spots[1:])
    travel.etas_from(spots[0], spots[1:])
    travel.matrix(spots[:2], spots[2:])
    travel.route(spots[0], spots[3])
    travel.geometry(spots[1], spots[2])
    hierarchy = ContractionHierarchy(graph, graph.edge_time_s.astype(np.float64))
    for paths in (hierarchy.paths(), hierarchy.paths(1.5)):
        some = SeedSet.of([[(v, 0.0, 0.0)] for v in (1, 70, 150)])
        one = SeedSet.of([[(250, 0.0, 0.0)]])
        paths.many_to_one(some, one)
        paths.many_to_one(some, one)  # now from what the first query remembered
        paths.many_to_one_uncached(some, one)
        paths.one_to_many(one, some)
        paths.many_to_many(some, some)
        paths.path(one, SeedSet.of([[(33, 0.0, 0.0)]]))
    warm_up()


if __name__ == "__main__":
    compile_kernels()
