"""Three ``mae serve --store redis://…`` instances behind HAProxy (real processes, started by
:class:`web.cluster.Cluster`): races between dispatchers on different instances end with one
winner and a clear conflict reply for the loser, never a double assignment; ``kill -9`` of an
instance under load loses no acknowledged alarm, and its dispatchers reconnect through the
balancer with ``since=`` and miss nothing."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from dispatch.events import AlarmReceived, AssignmentAcknowledged, CalloutCancelled, UnitAssigned
from web.cluster import Cluster
from web.redis_positions import RedisPositions
from web.redislog import RedisEventStore

ROOT = Path(__file__).resolve().parents[2]
LANES = 8  # races run in parallel, each on units and callouts of its own
UNITS = [f"MAE-T{i:02d}" for i in range(3 * LANES)]


def region_file(folder: Path) -> Path:
    """The bundled region with one extra unit per lane and race kind, all based at Sunderbyn."""
    text = (ROOT / "regions" / "norrbotten.toml").read_text(encoding="utf-8")
    units = "".join(f'\n[[units]]\nid = "{u}"\nname = "{u}"\nbase = "sunderbyn"\n'
                    for u in UNITS)
    path = folder / "region.toml"
    path.write_text(text.replace("\n[[rota]]", units + "\n[[rota]]", 1), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("cluster")
    instance = Cluster(folder, instances=3,
                       serve_args=("--region", str(region_file(folder)), "--demo-units"),
                       env={"MAE_MERGE_RADIUS_M": "1", "MAE_ACK_TIMEOUT_S": "3600",
                            # positions are stored once an hour here: whatever another
                            # instance shows meanwhile came by pub/sub, not from storage
                            "MAE_POSITION_STORE_EVERY_S": "3600",
                            "MAE_POSITION_MIN_INTERVAL_S": "0"})
    with instance:
        yield instance


@pytest.fixture(scope="module")
def tokens(cluster: Cluster) -> dict[str, str]:
    names = [f"dispatcher{i}" for i in range(2 * LANES + 4)]
    specs: list[tuple[str, str, str | None, str | None]] = [
        (f"cluster {n}", "dispatcher", None, None) for n in names]
    specs += [("cluster police", "agency", None, "police")]
    specs += [(f"cluster crew {u}", "crew", u, None) for u in UNITS]
    made = dict(zip([*names, "police", *UNITS], cluster.create_tokens(specs), strict=True))
    return made


_refs = itertools.count()


class Client:
    """One socket through the balancer: replies matched by id, event seqs recorded."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.instance = ws.response.headers.get("X-Mae-Instance", "?") if ws.response else "?"
        self.seqs: list[int] = []
        self.snapshot_seq: int | None = None
        self.positions: list[dict[str, Any]] = []  # unit_positions entries, as they came
        self.ready = asyncio.Event()
        self._ids = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, token: str, path: str, since: int | None = None) -> Client:
        ws_url = url.replace("http://", "ws://") + path + \
            (f"?since={since}" if since is not None else "")
        ws = await connect(ws_url, subprotocols=["mae.v1", f"mae.bearer.{token}"],  # type: ignore[list-item]
                           max_size=None, open_timeout=20)
        client = cls(ws)
        await asyncio.wait_for(client.ready.wait(), 30)
        return client

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for text in self.ws:
                message = json.loads(text)
                for m in message["messages"] if message["type"] == "batch" else [message]:
                    self._take(m)
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(ConnectionError("the socket closed"))

    def _take(self, m: dict[str, Any]) -> None:
        kind = m["type"]
        if kind == "event":
            self.seqs.append(m["seq"])
        elif kind == "snapshot":
            self.snapshot_seq = m["seq"]
        elif kind == "unit_positions":
            self.positions.extend(m["positions"])
        elif kind == "ready":
            self.ready.set()
        elif "id" in m and m["id"] in self._waiting:
            self._waiting.pop(m["id"]).set_result(m)

    async def request(self, message: dict[str, Any]) -> dict[str, Any]:
        msg_id = f"r{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[msg_id] = future
        await self.ws.send(json.dumps({**message, "id": msg_id}))
        return await asyncio.wait_for(future, 30)

    async def close(self) -> None:
        await self.ws.close()
        await self._reader


async def post_alarm(http: httpx.AsyncClient, token: str, ref: str) -> dict[str, Any]:
    """An alarm at a place of its own (50 m grid around Luleå), so none merge."""
    k = int(ref.rsplit("-", 1)[1])
    body = {"reference": ref, "priority": 1, "category": "psychosis",
            "location": {"lat": 65.575 + (k % 40) * 0.00045, "lon": 22.13 + (k // 40 % 40) * 0.001}}
    reply = await http.post("/api/alarms", json=body, headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def conflict(reply: dict[str, Any], *names: str) -> None:
    """A loser's reply: an error a person can act on, naming what it was about."""
    assert reply["type"] == "error", reply
    assert reply["status"] in (400, 409), reply
    assert any(n in reply["message"] for n in names), reply


async def spread(cluster: Cluster, tokens: dict[str, str], n: int) -> list[Client]:
    """``n`` dispatcher sockets through the balancer (leastconn spreads them)."""
    return [await Client.open(cluster.url, tokens[f"dispatcher{i}"], "/ws/dispatch")
            for i in range(n)]


def pairs_on_two_instances(clients: list[Client], lanes: int) -> list[tuple[Client, Client]]:
    by_instance: dict[str, list[Client]] = {}
    for c in clients:
        by_instance.setdefault(c.instance, []).append(c)
    assert len(by_instance) >= 2, f"the balancer used one instance only: {by_instance.keys()}"
    names = sorted(by_instance, key=lambda k: -len(by_instance[k]))
    out = []
    for i in range(lanes):
        one, two = names[i % len(names)], names[(i + 1) % len(names)]
        out.append((by_instance[one][i // len(names) % len(by_instance[one])],
                    by_instance[two][i // len(names) % len(by_instance[two])]))
    return out


def test_races_between_instances_never_double_assign(cluster: Cluster,
                                                     tokens: dict[str, str]) -> None:
    """1,000 races through the balancer, each between sockets on two different instances:
    two dispatchers giving one callout different units, one unit given to two callouts, and a
    crew's acknowledge against a dispatcher's cancel."""
    rounds = 1000 // (3 * LANES) + 1

    async def lane(http: httpx.AsyncClient, a: Client, b: Client, crew: Client,
                   units: list[str], tally: Counter[str]) -> None:
        u1, u2, u3 = units
        for _ in range(rounds):
            # two dispatchers, different units, one callout
            cid = (await post_alarm(http, tokens["police"], f"race-{next(_refs)}"))["callout_id"]
            r1, r2 = await asyncio.gather(
                a.request({"type": "assign", "callout_id": cid, "unit_id": u1}),
                b.request({"type": "assign", "callout_id": cid, "unit_id": u2}))
            assert sorted([r1["type"], r2["type"]]) == ["error", "ok"], (r1, r2)
            conflict(r1 if r1["type"] == "error" else r2, cid)
            tally["one callout"] += 1
            cancel_msg = {"type": "cancel", "callout_id": cid, "code": "duplicate"}
            assert (await a.request(cancel_msg))["type"] == "ok"
            # one unit, two callouts
            c1 = (await post_alarm(http, tokens["police"], f"race-{next(_refs)}"))["callout_id"]
            c2 = (await post_alarm(http, tokens["police"], f"race-{next(_refs)}"))["callout_id"]
            r1, r2 = await asyncio.gather(
                a.request({"type": "assign", "callout_id": c1, "unit_id": u3}),
                b.request({"type": "assign", "callout_id": c2, "unit_id": u3}))
            assert sorted([r1["type"], r2["type"]]) == ["error", "ok"], (r1, r2)
            conflict(r1 if r1["type"] == "error" else r2, u3)
            tally["one unit"] += 1
            for c in (c1, c2):
                cancel_msg = {"type": "cancel", "callout_id": c, "code": "duplicate"}
                assert (await b.request(cancel_msg))["type"] == "ok"
            # a crew's acknowledge against a cancel (crew socket on a's instance or another)
            cid = (await post_alarm(http, tokens["police"], f"race-{next(_refs)}"))["callout_id"]
            assigned = await b.request({"type": "assign", "callout_id": cid, "unit_id": u1})
            assert assigned["type"] == "ok", assigned
            ack, cancel = await asyncio.gather(
                crew.request({"type": "ack", "callout_id": cid}),
                a.request({"type": "cancel", "callout_id": cid, "code": "duplicate"}))
            assert cancel["type"] == "ok", cancel  # cancelling an acknowledged callout is fine
            if ack["type"] == "error":
                conflict(ack, cid)
                tally["cancel first"] += 1
            else:
                tally["ack first"] += 1

    async def run() -> Counter[str]:
        dispatchers = await spread(cluster, tokens, 2 * LANES + 4)
        lanes = pairs_on_two_instances(dispatchers, LANES)
        crews = [await Client.open(cluster.url, tokens[UNITS[3 * i]], "/ws/crew")
                 for i in range(LANES)]
        tally: Counter[str] = Counter()
        try:
            async with httpx.AsyncClient(base_url=cluster.url, timeout=30) as http:
                await asyncio.gather(*(lane(http, a, b, crews[i], UNITS[3 * i:3 * i + 3], tally)
                                       for i, (a, b) in enumerate(lanes)))
        finally:
            for c in dispatchers + crews:
                await c.close()
        return tally

    tally = asyncio.run(run())
    assert tally["one callout"] + tally["one unit"] + tally["ack first"] + \
        tally["cancel first"] >= 1000
    store = RedisEventStore(cluster.redis_url)
    try:
        assignments: Counter[str] = Counter()
        busy: dict[str, str] = {}
        for env in store.read(0):
            event = env.event
            if isinstance(event, UnitAssigned):
                assignments[event.callout_id] += 1
                assert event.unit_id not in busy, f"{event.unit_id} on two callouts"
                busy[event.unit_id] = event.callout_id
            elif isinstance(event, CalloutCancelled):
                busy = {u: c for u, c in busy.items() if c != event.callout_id}
            elif isinstance(event, AssignmentAcknowledged):
                assert busy.get(event.unit_id) == event.callout_id
        assert max(assignments.values()) == 1  # no callout was ever given two units
    finally:
        store.close()


def test_a_position_posted_at_one_instance_reaches_another_s_dispatcher_before_it_is_stored(
        cluster: Cluster, tokens: dict[str, str]) -> None:
    """A crew reports through instance 0; a dispatcher on instance 1 gets the move straight
    from pub/sub, in order, while nothing is stored yet (the store flushes once an hour)."""
    unit = UNITS[-1]
    lats = [65.60, 65.61, 65.62]

    async def run() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        watcher = await Client.open(cluster.members[1].url, tokens["dispatcher0"],
                                    "/ws/dispatch")
        local = await Client.open(cluster.members[0].url, tokens["dispatcher1"],
                                  "/ws/dispatch")
        crew = await Client.open(cluster.members[0].url, tokens[unit], "/ws/crew")
        for lat in lats:
            reply = await crew.request({"type": "position", "lat": lat, "lon": 22.1})
            assert reply["type"] == "ok" and reply["kept"], reply

        def moves(client: Client) -> list[dict[str, Any]]:
            return [p for p in client.positions if p["unit_id"] == unit]

        for _ in range(600):  # a generous 30 s: arrival is what counts, not its speed
            if any(p["position"]["lat"] == lats[-1] for p in moves(watcher)):
                break
            await asyncio.sleep(0.05)
        for c in (watcher, local, crew):
            await c.close()
        return moves(watcher), moves(local)

    elsewhere, here = asyncio.run(run())
    assert elsewhere, "the position never reached the other instance"
    assert elsewhere[-1]["position"]["lat"] == lats[-1]
    assert [p["at"] for p in elsewhere] == sorted(p["at"] for p in elsewhere)  # never older
    assert here and here[-1]["position"]["lat"] == lats[-1]
    stored = RedisPositions(cluster.redis_url)
    try:
        assert unit not in {r.unit_id for r in stored.latest()}  # shared, not yet stored
    finally:
        stored.close()


def test_kill_9_of_an_instance_under_load_loses_nothing(cluster: Cluster,
                                                        tokens: dict[str, str]) -> None:
    """Alarms keep coming through the balancer while one instance is killed: every alarm that
    was acknowledged is in the log, and every dispatcher (reconnecting with ``since=`` if its
    instance died) has each event exactly once, in order."""
    victim = 2

    async def run() -> tuple[list[dict[str, Any]], list[list[int]], int]:
        clients = await spread(cluster, tokens, 9)
        acked: list[dict[str, Any]] = []
        stop = asyncio.Event()

        async def load(worker: int) -> None:
            async with httpx.AsyncClient(base_url=cluster.url, timeout=30) as http:
                while not stop.is_set():
                    ref = f"kill-{next(_refs)}"
                    body = {"reference": ref, "priority": 2, "category": "psychosis",
                            "location": {"lat": 65.58, "lon": 22.15}}
                    with contextlib.suppress(httpx.TransportError):
                        reply = await http.post("/api/alarms", json=body,
                                                headers={"Authorization":
                                                         f"Bearer {tokens['police']}"})
                        if reply.status_code == 201:
                            acked.append({"ref": ref, **reply.json()})

        async def follow(client: Client, token: str) -> list[int]:
            """The client's seqs, reconnecting with since= whenever its socket closes."""
            seqs: list[int] = []
            while True:
                await client._reader  # ends when the socket closes
                seqs += client.seqs
                if stop.is_set():
                    return seqs
                last = seqs[-1] if seqs else (client.snapshot_seq or 0)
                for _ in range(50):  # until the balancer has a live instance for it
                    try:
                        client = await Client.open(cluster.url, token, "/ws/dispatch", last)
                        break
                    except (OSError, ConnectionClosed, TimeoutError):
                        await asyncio.sleep(0.2)
                else:
                    raise AssertionError("could not reconnect through the balancer")
                watchers[token] = client

        watchers = {tokens[f"dispatcher{i}"]: c for i, c in enumerate(clients)}
        starts = {tokens[f"dispatcher{i}"]: c.snapshot_seq for i, c in enumerate(clients)}
        on_victim = [c for c in clients if c.instance == f"mae{victim}"]
        assert on_victim, "no dispatcher socket on the instance to kill"
        followers = [asyncio.create_task(follow(c, t)) for t, c in watchers.items()]
        loaders = [asyncio.create_task(load(w)) for w in range(4)]
        await asyncio.sleep(3)
        cluster.kill_instance(victim)
        await asyncio.sleep(6)
        stop.set()
        await asyncio.gather(*loaders)
        end = RedisEventStore(cluster.redis_url)
        try:
            last = end.refresh()
        finally:
            end.close()
        for _ in range(300):  # every live socket catches up with the log's end
            if all(c.seqs and c.seqs[-1] >= last for c in watchers.values()):
                break
            await asyncio.sleep(0.05)
        for c in watchers.values():
            await c.close()
        seqs = await asyncio.gather(*followers)
        return acked, [[starts[t] or 0, *s] for t, s in zip(watchers, seqs, strict=True)], last

    acked, received, last = asyncio.run(run())
    try:
        assert len(acked) > 50
        for start, *seqs in received:
            assert seqs == list(range(start + 1, last + 1)), "a gap or a duplicate"
        store = RedisEventStore(cluster.redis_url)
        try:
            logged = {env.seq: env.event for env in store.read(0)}
        finally:
            store.close()
        refs = {e.alarm.reference for e in logged.values() if isinstance(e, AlarmReceived)}
        missing = [a["ref"] for a in acked if a["ref"] not in refs]
        assert not missing, f"acknowledged alarms not in the log: {missing[:5]}"
    finally:
        cluster.start_instance(victim)
        cluster.wait_instance(victim)


def test_mae_cluster_up_serves_through_the_balancer_and_stops_everything_on_sigterm(
        tmp_path: Path) -> None:
    """The command a user tries first: it prints the balancer's address and tokens that work
    there, and SIGTERM ends redis-server, every instance and haproxy."""
    folder = tmp_path / "up"
    proc = subprocess.Popen([sys.executable, "-m", "mae", "cluster", "up", "--instances", "2",
                             "--folder", str(folder)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C stops everything" in line:
                break
        text = "".join(lines)
        url = re.search(r"MAE Dispatch on (http://\S+)", text)
        token = re.search(r"dispatcher\s+(mae_\S+)", text)
        assert url and token, text
        reply = httpx.get(f"{url[1]}/api/units",
                          headers={"Authorization": f"Bearer {token[1]}"}, timeout=10)
        assert reply.status_code == 200 and reply.headers["X-Mae-Instance"].startswith("mae")
        children = _children(proc.pid)
        assert len(children) == 4  # redis-server, two instances, haproxy
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 143
        assert not [pid for pid in children if Path(f"/proc/{pid}").exists()
                    and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _children(pid: int) -> list[int]:
    """The direct child processes of ``pid`` (Linux ``/proc``)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def test_the_balancer_s_own_503_says_when_to_retry_as_the_instances_do(tmp_path: Path) -> None:
    """No instance is up: the balancer answers for them, in JSON and with Retry-After (an
    audit saw a thousand such 503s without it while Redis was stalled)."""
    import time

    balancer = Cluster(tmp_path / "lonely", instances=1)  # its instance is never started
    try:
        balancer.start_haproxy()
        deadline = time.monotonic() + 30
        while True:
            try:
                reply = httpx.get(f"{balancer.url}/api/units", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "haproxy did not listen"
                time.sleep(0.1)
        assert reply.status_code == 503
        assert reply.headers["content-type"].startswith("application/json")
        assert int(reply.headers["retry-after"]) == reply.json()["retry_after_s"] == 5
        assert reply.json()["error"] == "unavailable"
    finally:
        balancer.stop()
