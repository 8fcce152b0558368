#!/usr/bin/env python3
"""Set up a virtual environment and run MAE Dispatch or its checks: the README's two commands.

    python3 dev.py run     # the live demo: the dispatch service with simulated alarms and
                           # crews on the Norrbotten map; prints links to open (Ctrl-C stops)
    python3 dev.py test    # ruff, mypy and the whole pytest suite

Needs only Python 3.11+ and access to PyPI. The environment lives in ``.venv/`` and is
reinstalled only when ``pyproject.toml`` changes. Extra arguments go to the command it runs
(``python3 dev.py run --speed 20 --seed 7``; ``python3 dev.py run --help`` lists them).

``test`` also makes sure of the two programs the tests start themselves: a Chromium for the
browser tests (driven by Playwright) and ``redis-server``. As root on a machine with apt it
installs Debian's packages; otherwise it uses Playwright's own Chromium download, and where it
cannot install something it stops with one line naming the command that would.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".mae-installed"
#: Debian's Chromium; the browser tests drive the one named by MAE_CHROMIUM, which we set.
DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
#: numba keeps compiled kernels in ``__pycache__`` keyed by each kernel's own file only, so a
#: kernel compiled into another module's would outlive an edit of it: these caches are cleared
#: whenever any kernel source changes.
KERNELS = ("routing/_jit.py", "routing/_ch_*.py", "routing/_lns.py")
KERNEL_STAMP = VENV / ".mae-kernels"


class SetupError(Exception):
    """A program the tests need is missing and could not be installed; the message says how."""


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


def clear_stale_kernels() -> None:
    """Remove numba's on-disk caches of ``routing/`` when a kernel source changed since."""
    sources = sorted(p for pattern in KERNELS for p in ROOT.glob(pattern))
    want = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()
    if KERNEL_STAMP.is_file() and KERNEL_STAMP.read_text().strip() == want:
        return
    for cached in (ROOT / "routing" / "__pycache__").glob("*.nb[ic]"):
        cached.unlink(missing_ok=True)
    KERNEL_STAMP.write_text(want + "\n")


def _system_chromium() -> Path | None:
    """Debian's Chromium, or any ``chromium`` on the PATH."""
    if DEBIAN_CHROMIUM.is_file():
        return DEBIAN_CHROMIUM
    found = shutil.which("chromium")
    return Path(found) if found else None


def _can_apt() -> bool:
    return os.name == "posix" and os.geteuid() == 0 and shutil.which("apt-get") is not None


def _apt_install(packages: list[str]) -> None:
    """Install Debian packages quietly with one line printed; on failure say apt's last words."""
    print(f"installing {' and '.join(packages)} from Debian's packages (apt-get)", flush=True)
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise SetupError(f"'{' '.join(cmd)}' failed ({tail[0]}); run "
                             f"'apt-get install {' '.join(packages)}' as root and try again")


def _install_hint(debian: str, brew: str) -> str:
    """The exact command that installs a missing program on this kind of machine."""
    if shutil.which("apt-get"):
        return f"sudo apt-get install {debian}"
    if shutil.which("brew"):
        return f"brew install {brew}"
    if shutil.which("dnf"):
        return f"sudo dnf install {brew}"
    return f"install {brew} with your system's package manager"


def _playwright_chromium() -> Path | None:
    """Playwright's own Chromium if it has been downloaded into this user's cache."""
    code = ("from playwright.sync_api import sync_playwright\n"
            "with sync_playwright() as pw: print(pw.chromium.executable_path)")
    done = subprocess.run([str(BIN / "python"), "-c", code], capture_output=True, text=True,
                          check=False)
    path = Path(done.stdout.strip()) if done.returncode == 0 and done.stdout.strip() else None
    return path if path is not None and path.is_file() else None


def _which(name: str) -> str | None:
    """``name`` on PATH, or in /usr/sbin (where Debian puts haproxy, often not on a user's
    PATH)."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin")


def ensure_test_programs() -> dict[str, str]:
    """Make sure Chromium, redis-server and haproxy exist; return environment for the tests
    that says which Chromium to drive. Installs only what is missing; raises SetupError when
    it cannot."""
    missing = [name for name in ("redis-server", "haproxy") if not _which(name)]
    system = _system_chromium()
    if _can_apt():
        apt = missing + ([] if system else ["chromium"])
        if apt:
            _apt_install(apt)
        return {"MAE_CHROMIUM": str(_system_chromium() or DEBIAN_CHROMIUM)}
    if missing:
        hints = {"redis-server": ("redis-server", "redis"), "haproxy": ("haproxy", "haproxy")}
        raise SetupError(f"{' and '.join(missing)} missing (the tests start their own): run "
                         + " and ".join(f"'{_install_hint(*hints[m])}'" for m in missing)
                         + " and try again")
    if system:
        return {"MAE_CHROMIUM": str(system)}
    found = _playwright_chromium()
    if found is None:
        print("installing Chromium for the browser tests (python -m playwright install chromium)",
              flush=True)
        done = subprocess.run([str(BIN / "python"), "-m", "playwright", "install", "chromium"],
                              cwd=ROOT, capture_output=True, text=True, check=False)
        found = _playwright_chromium() if done.returncode == 0 else None
        if found is None:
            raise SetupError("could not download Playwright's Chromium: run "
                             f"'{BIN / 'python'} -m playwright install chromium' or "
                             f"'{_install_hint('chromium', 'chromium')}' and try again")
    return {"MAE_CHROMIUM": str(found)}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    try:
        ensure_venv("test")
        clear_stale_kernels()
        if command == "run":
            return _run_foreground(BIN / "mae", "serve", "--demo", *rest)
        # numba's kernels compile (about a minute of one core on a fresh checkout) in a
        # process of their own while the programs install, the linters run and the first
        # tests (none of which route) begin: the second core's work, not the suite's
        with tempfile.TemporaryFile() as err:
            kernels = subprocess.Popen([str(BIN / "python"), "-m", "routing.kernels"],
                                       cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
            try:
                os.environ.update(ensure_test_programs())
                _run(BIN / "ruff", "check", ".")
                _run(BIN / "mypy")
                _run(BIN / "python", "-m", "pytest", *rest)
            finally:
                if kernels.poll() is None:  # a short run need not wait: the next one goes on
                    kernels.kill()
                    kernels.wait()
                elif kernels.returncode:  # the tests compiled what they needed themselves
                    err.seek(0)
                    last = err.read().decode(errors="replace").strip().splitlines()[-1:]
                    print(f"dev.py: compiling the kernels ahead failed: {' '.join(last)}",
                          file=sys.stderr)
    except SetupError as exc:
        print(f"dev.py: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        return exc.returncode or 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
