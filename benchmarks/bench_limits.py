"""Server memory while three clients POST 400 MB bodies without a token, declared and chunked.

Runs the dispatch service (a real uvicorn server in a subprocess, on a temporary database) in
two builds: ours, with :class:`web.limits.BodyLimits` in front (401 before any body is read, 413
past the limit), and the old behaviour, the same app with that middleware taken out (FastAPI
reads the whole body before it authenticates). Three client threads each send one 400 MB body
to ``POST /api/alarms`` with no token, all at once: with ``Content-Length`` declared, or
``Transfer-Encoding: chunked``. The server's RSS is sampled from ``/proc`` every 20 ms; an idle
server gives the floor.

    .venv/bin/python benchmarks/bench_limits.py [--mb 400] [--clients 3]

Prints one table: RSS at start and at its peak (MB), the peak as a ratio to the idle server's,
what the clients managed to send before the server answered or closed, the statuses they got
and how long it took. Never collected by pytest.
"""

from __future__ import annotations

import argparse
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BLOCK = b"x" * (1 << 20)


def serve(port: int, database: Path, old: bool) -> None:
    """The server side (run in a subprocess by :func:`main`)."""
    import uvicorn

    from web.app import create_app
    from web.limits import BodyLimits
    from web.settings import Settings

    app = create_app(Settings(database=database, port=port))
    if old:  # the app as it was before the body limits: no middleware in front
        app.user_middleware = [m for m in app.user_middleware
                               if getattr(m.cls, "__name__", "") != BodyLimits.__name__]
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(port: int, size: int, chunked: bool, out: list[tuple[int, str]]) -> None:
    """Send one ``size``-byte body without a token until the server answers or closes."""
    sent = 0
    status = "closed"
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
        sock.sendall(f"POST /api/alarms HTTP/1.1\r\nHost: bench\r\nContent-Type: "
                     f"application/json\r\n{framing}\r\n\r\n".encode())
        frame = (f"{len(BLOCK):x}\r\n".encode() + BLOCK + b"\r\n") if chunked else BLOCK
        try:
            while sent < size:
                if select.select([sock], [], [], 0)[0]:
                    break  # the answer came early
                sock.sendall(frame)
                sent += len(BLOCK)
            if chunked and sent >= size:
                sock.sendall(b"0\r\n\r\n")
            head = sock.recv(4096)
            status = head.split(b" ", 2)[1].decode() if head.startswith(b"HTTP/") else status
        except OSError:
            try:
                head = sock.recv(4096)
                status = head.split(b" ", 2)[1].decode() if head.startswith(b"HTTP/") \
                    else status
            except OSError:
                pass
    out.append((sent, status))


def scenario(name: str, *, old: bool, chunked: bool | None, mb: int, clients: int,
             idle_s: float) -> tuple[str, float, float, float, list[tuple[int, str]]]:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port),
                                 str(Path(tmp) / "bench.sqlite3")] + (["--old"] if old else []),
                                cwd=ROOT)
        try:
            import httpx

            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start")
                time.sleep(0.2)
            time.sleep(0.5)
            start = rss_mb(proc.pid)
            peak = start
            stop = threading.Event()

            def sample() -> None:
                nonlocal peak
                while not stop.is_set():
                    peak = max(peak, rss_mb(proc.pid))
                    time.sleep(0.02)

            sampler = threading.Thread(target=sample)
            sampler.start()
            results: list[tuple[int, str]] = []
            t0 = time.perf_counter()
            if chunked is None:
                time.sleep(idle_s)
            else:
                threads = [threading.Thread(target=post, args=(port, mb << 20, chunked,
                                                               results))
                           for _ in range(clients)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                time.sleep(0.5)  # the server's memory after the answers
            took = time.perf_counter() - t0
            stop.set()
            sampler.join()
            return name, start, peak, took, results
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), Path(sys.argv[3]), "--old" in sys.argv)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=400, help="body size per client (MB)")
    parser.add_argument("--clients", type=int, default=3, help="parallel clients")
    parser.add_argument("--skip-old", action="store_true", help="leave out the old behaviour")
    args = parser.parse_args()
    plan: list[tuple[str, bool, bool | None]] = [("idle server", False, None),
                                                 ("ours, declared", False, False),
                                                 ("ours, chunked", False, True)]
    if not args.skip_old:
        plan += [("old, declared", True, False), ("old, chunked", True, True)]
    rows = [scenario(name, old=old, chunked=chunked, mb=args.mb, clients=args.clients,
                     idle_s=3.0) for name, old, chunked in plan]
    idle_peak = rows[0][2]
    print(f"{args.clients} clients x {args.mb} MB, POST /api/alarms without a token")
    print(f"{'server':16} {'rss start MB':>12} {'rss peak MB':>11} {'peak x idle':>11} "
          f"{'sent MB/client':>14} {'statuses':>16} {'seconds':>8}")
    print("-" * 96)
    for name, start, peak, took, results in rows:
        sent = (f"{max(s for s, _ in results) / (1 << 20):14.0f}" if results
                else f"{'-':>14}")
        statuses = ",".join(sorted({st for _, st in results})) or "-"
        print(f"{name:16} {start:12.0f} {peak:11.0f} {peak / idle_peak:11.2f} {sent} "
              f"{statuses:>16} {took:8.1f}")


if __name__ == "__main__":
    main()
