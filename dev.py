#!/usr/bin/env python3
"""Set up a virtual environment and run MAE Dispatch or its checks: the README's two commands.

    python3 dev.py run     # the live demo: the dispatch service with simulated alarms and
                           # crews on the Norrbotten map; prints links to open (Ctrl-C stops)
    python3 dev.py test    # ruff, mypy and the whole pytest suite

Needs only Python 3.11+ and access to PyPI. The environment lives in ``.venv/`` and is
reinstalled only when ``pyproject.toml`` changes. Extra arguments go to the command it runs
(``python3 dev.py run --speed 20 --seed 7``; ``python3 dev.py run --help`` lists them).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".mae-installed"


def _run(*cmd: str | Path) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True)


def _run_foreground(*cmd: str | Path) -> int:
    """Run a long-lived command; on Ctrl-C (which the terminal also sends to it) wait for it to
    shut down cleanly instead of killing it, and return its exit code."""
    print("+", " ".join(str(c) for c in cmd), flush=True)
    proc = subprocess.Popen([str(c) for c in cmd], cwd=ROOT)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        try:
            return proc.wait(timeout=20)
        except (KeyboardInterrupt, subprocess.TimeoutExpired):
            proc.kill()
            return proc.wait()


def ensure_venv(extras: str) -> None:
    """Create ``.venv`` and install the project with ``extras`` unless already current."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be started by an older python3
        sys.exit(f"MAE Dispatch needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    if STAMP.is_file() and STAMP.read_text().strip() == want:
        return
    if not (BIN / "python").exists():
        print(f"creating {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", f".[{extras}]")
    STAMP.write_text(want + "\n")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    try:
        ensure_venv("test")
        if command == "run":
            return _run_foreground(BIN / "mae", "serve", "--demo", *rest)
        _run(BIN / "ruff", "check", ".")
        _run(BIN / "mypy")
        _run(BIN / "python", "-m", "pytest", *rest)
    except subprocess.CalledProcessError as exc:
        return exc.returncode or 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
