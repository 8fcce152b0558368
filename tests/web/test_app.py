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
