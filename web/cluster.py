"""``mae cluster up``: redis-server, N ``mae serve`` instances and HAProxy on one machine.

For a first try of the shared store, for the tests through a real load balancer and for the
benchmark: :class:`Cluster` starts redis-server with ``deploy/redis.conf`` (append-only file,
``appendfsync always``) in a folder, N instances on free ports sharing it (``--store
redis://…``, each with its own SQLite file for what stays local) and HAProxy with
``deploy/haproxy.cfg`` in front, waits until the balancer answers ``/api/health``, and stops
everything (instances first, Redis last) on :meth:`Cluster.stop`, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import IO, Any

__all__ = ["Cluster", "ClusterError", "Instance", "free_port", "register"]

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
HAPROXY_TEMPLATE = DEPLOY / "haproxy.cfg"
REDIS_CONF = DEPLOY / "redis.conf"

#: The principals ``mae cluster up`` prints tokens for: (name, role, unit, agency); the crew's
#: only with ``--demo-units`` (a crew token needs its unit registered).
DEMO_PRINCIPALS = (("cluster dispatcher", "dispatcher", None, None),
                   ("cluster admin", "admin", None, None),
                   ("cluster police", "agency", None, "police"))
DEMO_CREW = ("cluster crew", "crew", "MAE-SUNDERBY", None)


class ClusterError(RuntimeError):
    """A part of the cluster would not start (the message says which and where its log is)."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _program(name: str, package: str) -> str:
    exe = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists()
                                 else None)
    if exe is None:
        raise ClusterError(f"{name} is not installed: run 'python3 dev.py test' (installs it) or "
                           f"'sudo apt-get install {package}'")
    return exe


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return int(reply.status) == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False



def redis_answers(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a redis-server answers PING on ``host:port`` now (used while one starts)."""
    try:
        with socket.create_connection((host, port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False

@dataclass
class Instance:
    """One ``mae serve`` process of the cluster."""

    index: int
    port: int
    database: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class Cluster:
    """Redis, ``instances`` services and HAProxy in ``folder`` (logs and files stay there).

    ``serve_args`` are added to every ``mae serve`` (``--demo-units``, ``--map …``); ``env``
    to their environment (``MAE_…`` settings). ``redis=False`` runs one instance on its
    SQLite file instead (the benchmark's baseline); ``balancer=False`` leaves HAProxy out."""

    folder: Path
    instances: int = 3
    port: int | None = None
    serve_args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    redis: bool = True
    balancer: bool = True
    redis_port: int = 0
    members: list[Instance] = field(default_factory=list)
    _redis: subprocess.Popen[bytes] | None = None
    _haproxy: subprocess.Popen[bytes] | None = None
    _logs: list[IO[bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not 1 <= self.instances <= 64:
            raise ClusterError(f"--instances must be 1 to 64, not {self.instances}")
        if not self.redis and self.instances != 1:
            raise ClusterError("instances share a store only on Redis: one SQLite instance")
        self.folder = Path(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self.redis_port = self.redis_port or free_port()
        self.members = [Instance(i, free_port(), self.folder / f"instance-{i}.sqlite3",
                                 self.folder / f"instance-{i}.log")
                        for i in range(self.instances)]

    @property
    def url(self) -> str:
        """The balancer's address (the only instance's without one): what clients use."""
        return f"http://127.0.0.1:{self.port}" if self.balancer else self.members[0].url

    def pids(self) -> dict[str, list[int]]:
        """The running processes by part (``instances``, ``redis``, ``haproxy``), for
        measuring their CPU time in ``/proc``."""
        procs = {"instances": [m.proc for m in self.members], "redis": [self._redis],
                 "haproxy": [self._haproxy]}
        return {part: [p.pid for p in ps if p is not None and p.poll() is None]
                for part, ps in procs.items()}

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def _log(self, name: str) -> IO[bytes]:
        handle = open(self.folder / name, "ab")  # noqa: SIM115 - closed in stop()
        self._logs.append(handle)
        return handle

    def _environ(self) -> dict[str, str]:
        env = {**os.environ, **self.env}
        env.pop("MAE_STORE", None)
        if self.redis:
            env["MAE_STORE"] = self.redis_url
        root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        return env

    # -- starting -------------------------------------------------------------------------

    def start(self, *, timeout_s: float = 180.0) -> Cluster:
        """Start Redis, the instances and the balancer; return once the balancer answers
        ``/api/health`` (raises :class:`ClusterError`, after stopping what started, if not)."""
        try:
            if self.redis:
                self.start_redis()
            for member in self.members:
                self.start_instance(member.index)
            deadline = time.monotonic() + timeout_s
            for member in self.members:
                self.wait_instance(member.index, deadline - time.monotonic())
            if self.balancer:
                self.start_haproxy()
            self._wait(lambda: _answers(f"{self.url}/api/health"), deadline,
                       f"the service on {self.url}", self.folder / "haproxy.log",
                       proc=self._haproxy)
        except BaseException:
            self.stop()
            raise
        return self

    def start_redis(self) -> None:
        args = [_program("redis-server", "redis-server")]
        if REDIS_CONF.exists():
            args.append(str(REDIS_CONF))
        else:  # the shipped durability settings, should the file be missing
            args += ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
        args += ["--port", str(self.redis_port), "--bind", "127.0.0.1", "--dir",
                 str(self.folder), "--daemonize", "no", "--logfile", "redis.log"]
        self._redis = subprocess.Popen(args, cwd=self.folder, stdout=subprocess.DEVNULL,
                                       stderr=self._log("redis.err"))
        deadline = time.monotonic() + 15
        self._wait(lambda: redis_answers(self.redis_port), deadline,
                   f"redis-server on port {self.redis_port}",
                   self.folder / "redis.log", proc=self._redis)


    def start_instance(self, index: int) -> None:
        """Start (or start again, after :meth:`kill_instance`) instance ``index``."""
        member = self.members[index]
        args = [sys.executable, "-m", "mae", "serve", "--host", "127.0.0.1",
                "--port", str(member.port), "--database", str(member.database),
                *(("--store", self.redis_url) if self.redis else ()), *self.serve_args]
        member.proc = subprocess.Popen(args, cwd=self.folder, env=self._environ(),
                                       stdin=subprocess.DEVNULL, stdout=self._log(member.log.name),
                                       stderr=subprocess.STDOUT)

    def wait_instance(self, index: int, timeout_s: float = 120.0) -> None:
        member = self.members[index]
        self._wait(lambda: _answers(f"{member.url}/api/health"), time.monotonic() + timeout_s,
                   f"instance {index} on port {member.port}", member.log, proc=member.proc)

    def start_haproxy(self) -> None:
        exe = _program("haproxy", "haproxy")
        servers = "\n".join(f"    server mae{m.index} 127.0.0.1:{m.port} check"
                            for m in self.members)
        config = Template(HAPROXY_TEMPLATE.read_text(encoding="utf-8")).substitute(
            bind=f"127.0.0.1:{self.port}", servers=servers,
            pidfile=str(self.folder / "haproxy.pid"))
        path = self.folder / "haproxy.cfg"
        path.write_text(config, encoding="utf-8")
        check = subprocess.run([exe, "-c", "-f", str(path)], capture_output=True,
                               text=True, check=False)
        if check.returncode != 0:
            said = (check.stderr or check.stdout).strip()
            raise ClusterError(f"haproxy refuses {path}: {said}")
        self._haproxy = subprocess.Popen([exe, "-db", "-f", str(path)], cwd=self.folder,
                                         stdout=self._log("haproxy.log"),
                                         stderr=subprocess.STDOUT)

    def _wait(self, ready: Any, deadline: float, what: str, log: Path,
              proc: subprocess.Popen[bytes] | None = None) -> None:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise ClusterError(f"{what} exited with {proc.returncode}; see {log}")
            if ready():
                return
            time.sleep(0.1)
        raise ClusterError(f"{what} did not answer in time; see {log}")

    # -- tokens -----------------------------------------------------------------------------

    def create_token(self, name: str, role: str, *, unit: str | None = None,
                     agency: str | None = None) -> str:
        """A new principal's token, stored where the instances look (what ``mae tokens
        create --store …`` does); a crew's unit must be registered already."""
        return self.create_tokens([(name, role, unit, agency)])[0]

    def create_tokens(self, specs: list[tuple[str, str, str | None, str | None]]) -> list[str]:
        """Tokens for many principals at once: (name, role, unit, agency) each."""
        from web.tokens import create_token, open_token_stores

        principals, standing, close = open_token_stores(
            self.redis_url if self.redis else None, self.members[0].database)
        try:
            return [create_token(principals, standing, role=role, name=name, agency=agency,
                                 unit_id=unit)[1] for name, role, unit, agency in specs]
        finally:
            close()

    # -- stopping ---------------------------------------------------------------------------

    def kill_instance(self, index: int) -> None:
        """SIGKILL instance ``index`` (what ``kill -9`` or a crash does)."""
        proc = self.members[index].proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)

    def stop(self) -> None:
        """Stop the balancer, then the instances (SIGTERM: they finish what they write), then
        Redis; SIGKILL whatever is still running after 30 s."""
        procs = [self._haproxy, *(m.proc for m in self.members)]
        for proc in procs:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in procs:
            _reap(proc)
        if self._redis is not None and self._redis.poll() is None:
            self._redis.terminate()
        _reap(self._redis)
        for handle in self._logs:
            handle.close()
        self._logs.clear()

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _reap(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None:
        return
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


# -- the command line -----------------------------------------------------------------------

def register(subparsers: Any) -> None:
    """Add ``cluster up`` to the ``mae`` parser."""
    cluster = subparsers.add_parser(
        "cluster", help="run redis-server, N service instances and HAProxy on this machine")
    sub = cluster.add_subparsers(dest="cluster_command", metavar="ACTION", required=True)
    up = sub.add_parser(
        "up", help="start the cluster and run until Ctrl-C",
        description="Start redis-server (deploy/redis.conf), N 'mae serve --store redis://…' "
        "instances and HAProxy (deploy/haproxy.cfg) on free local ports, print the address "
        "and demo tokens, and stop everything on Ctrl-C or SIGTERM. Needs the Debian "
        "packages redis-server and haproxy.")
    up.add_argument("--instances", type=int, default=3, help="service instances (default 3)")
    up.add_argument("--port", type=int, default=None,
                    help="the balancer's port (default: a free one)")
    up.add_argument("--folder", type=Path, default=None,
                    help="where Redis's files, the instances' SQLite files and every log go "
                    "(default: a new temporary folder, kept after the stop)")
    up.add_argument("--demo-units", action="store_true",
                    help="load the bundled region's units and put them on demo shifts")
    up.set_defaults(func=_up)


def _up(args: argparse.Namespace) -> int:
    folder = args.folder or Path(tempfile.mkdtemp(prefix="mae-cluster-"))
    cluster = Cluster(folder, instances=args.instances, port=args.port,
                      serve_args=("--demo-units",) if args.demo_units else ())

    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminate)
    print(f"starting redis-server, {args.instances} instances and haproxy in {folder} …",
          flush=True)
    try:
        cluster.start()
        print(f"\nMAE Dispatch on {cluster.url}  (Redis {cluster.redis_url})")
        for member in cluster.members:
            print(f"  instance {member.index}: {member.url}  log {member.log}")
        print("demo tokens (new principals; revoke with mae tokens revoke --store …):")
        specs = [*DEMO_PRINCIPALS, *([DEMO_CREW] if args.demo_units else [])]
        for spec, token in zip(specs, cluster.create_tokens(list(specs)), strict=True):
            print(f"  {spec[1]:<10} {spec[2] or spec[3] or '':<13} {token}")
        print(f"\nopen {cluster.url}/ — Ctrl-C stops everything", flush=True)
        while all(m.alive for m in cluster.members):
            time.sleep(0.5)
        dead = [m.index for m in cluster.members if not m.alive]
        print(f"instance {dead} stopped; see its log. Stopping the cluster.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except SystemExit as exc:
        return int(exc.code or 0)
    except ClusterError as exc:
        print(f"mae cluster: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
        with contextlib.suppress(KeyboardInterrupt):
            cluster.stop()
        print("stopped", flush=True)
