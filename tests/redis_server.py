"""A real ``redis-server`` for the tests, on a free port in a folder of its own.

The machine's shared Redis (127.0.0.1:6379) is never touched: every test run starts its own
server, so tests cannot see each other's keys or another program's. :class:`RedisServer` can be
started with the append-only file on (the configuration the service ships) to test durability,
killed with SIGKILL and started again on the same folder and port.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

from web.cluster import redis_answers

__all__ = ["RedisServer", "acl_user", "as_bytes", "drop_acl_user", "free_port", "stream_entries"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """One ``redis-server`` process: ``start``, ``kill`` (SIGKILL), ``stop``, ``url(db)``."""

    def __init__(self, folder: Path, *, port: int | None = None, appendonly: bool = False,
                 appendfsync: str = "always") -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.appendonly = appendonly
        self.appendfsync = appendfsync
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, *, timeout_s: float = 10.0) -> RedisServer:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed: run 'python3 dev.py test', which "
                               "installs it, or 'apt-get install redis-server'")
        args = [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
                "--save", "", "--daemonize", "no", "--logfile", str(self.folder / "redis.log"),
                "--appendonly", "yes" if self.appendonly else "no"]
        if self.appendonly:
            args += ["--appendfsync", self.appendfsync]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}; see "
                                   f"{self.folder / 'redis.log'}")
            if redis_answers(self.port):
                return self
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not answer on port {self.port} in {timeout_s} s")

    def kill(self) -> None:
        """SIGKILL: what a crash or ``kill -9`` does (no shutdown save)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def acl_user(client: redis.Redis, name: str, *rules: str) -> None:
    """``ACL SETUSER name *rules`` on the server of ``client`` (a user with just these rights)."""
    client.execute_command("ACL", "SETUSER", name, *rules)  # type: ignore[no-untyped-call]


def drop_acl_user(client: redis.Redis, name: str) -> None:
    client.execute_command("ACL", "DELUSER", name)  # type: ignore[no-untyped-call]


def as_bytes(reply: bytes | str | None) -> bytes:
    """A reply of a client without ``decode_responses``: bytes (redis-py types every reply
    ``bytes | str``, and some optional, whatever the client)."""
    assert isinstance(reply, bytes), reply
    return reply


def stream_entries(client: redis.Redis, key: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """``XRANGE key``: every entry's id and fields, in bytes as a client without
    ``decode_responses`` reads them (redis-py types the reply, ids and fields optional)."""
    reply = client.xrange(key)
    assert reply is not None
    entries = []
    for entry_id, fields in reply:
        assert fields is not None
        entries.append((as_bytes(entry_id), {as_bytes(k): as_bytes(v) for k, v in fields.items()}))
    return entries
