"""The application factory's start path (web/app.py): what a start loads before the port
opens, and that the rest comes in the background."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Heavy libraries the service needs only for some requests, loaded when first used.
LAZY = ("numba", "ortools", "scipy", "shapely", "pandas", "routing._lns", "routing.assign")


def test_building_the_app_imports_no_solver_index_or_geometry_library() -> None:
    """``mae serve`` imports the app and builds it before the port opens: OR-Tools, numba
    (the solver), scipy (the snap index) and shapely (CAP polygons) are not among its imports."""
    script = (
        "import json, sys, tempfile\n"
        "from pathlib import Path\n"
        "import web.cli\n"
        "from web.app import create_app\n"
        "from web.settings import Settings\n"
        "create_app(Settings(database=Path(tempfile.mkdtemp()) / 'db.sqlite3'))\n"
        f"print(json.dumps([m for m in {LAZY!r} if m in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_the_cycle_collector_runs_again_once_the_log_is_loaded(tmp_path: Path) -> None:
    """``mae serve`` turns the collector off before its imports (web/cli.py); the lifespan
    turns it back on after the load, so a long-running service collects cycles."""
    import asyncio
    import gc
    from concurrent.futures import ThreadPoolExecutor

    from web.app import create_app
    from web.settings import Settings

    app = create_app(Settings(database=tmp_path / "db.sqlite3"), tick=False)

    async def started() -> bool:
        async with app.router.lifespan_context(app):
            return gc.isenabled()

    gc.disable()
    try:
        with ThreadPoolExecutor(1) as pool:  # the session's browser may own this thread's loop
            assert pool.submit(lambda: asyncio.run(started())).result() is True
    finally:
        gc.enable()
