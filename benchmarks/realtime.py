"""Live-update delivery: N real Socket.IO clients, one change through the HTTP API.

Starts `flask --app wsgi portal serve` on a free loopback port over a fresh
instance folder (SQLite, no Redis: the embedded default; pass --database-url /
--redis-url to measure PostgreSQL or the Redis queue), connects N python-socketio
clients (WebSocket) as N members of one working group, then times, for each of
several rounds, one PATCH of the workspace until every client has its `activity`
event. In the same run it measures a bare python-socketio server, served the same
way (gunicorn gthread, one process), broadcasting the same payload from an HTTP
POST, so the ratio shows the portal's own cost (authentication, permission checks,
the event row, the fan-out). Last, it ramps connections to one portal process
until more than 1% of a step fails, and reports the most it held.

    python benchmarks/realtime.py [--clients 500] [--users 50] [--rounds 5] [--ramp-max 2000]

The clients are spread over `--users` members (10 tabs each by default: a
working group has tens of members). With as many users as clients every
arrival changes the group's presence list, and the benchmark's own client
process, decoding 500 lists of 500 names for each announcement, becomes the
bottleneck; run `--users 500` to see that case.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import multiprocessing
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
import socketio

ROOT = Path(__file__).resolve().parents[1]
PAYLOAD_VERB = "workspace.updated"
TARGET_P95_MS = 250
TARGET_RATIO = 1.5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit("server did not start:\n" + log.read_text()[-3000:])


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": statistics.median(ordered),
        "p95": ordered[max(0, round(0.95 * len(ordered)) - 1)],
        "max": ordered[-1],
    }


# --- the bare server ------------------------------------------------------------


def bare_server(port: int, threads: int) -> None:
    """python-socketio alone: accepts everyone, POST /change broadcasts its body."""
    from portal.server import serve

    sio = socketio.Server(async_mode="threading")

    def http(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["REQUEST_METHOD"] == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            payload = json.loads(environ["wsgi.input"].read(length))
            sio.emit("activity", payload)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    serve(socketio.WSGIApp(sio, http), host="127.0.0.1", port=port, threads=threads)  # type: ignore[arg-type]


# --- clients ----------------------------------------------------------------------


class Fleet:
    """N python-socketio clients; each records when it got the activity of a round."""

    def __init__(self) -> None:
        self.clients: list[socketio.Client] = []
        self.received: dict[int, list[float]] = {}
        self.lock = threading.Lock()
        self.round = 0

    def _client(self) -> socketio.Client:
        client = socketio.Client(reconnection=False)

        def on_activity(data: dict[str, Any]) -> None:
            now = time.monotonic()  # CLOCK_MONOTONIC: comparable across processes
            if data.get("verb") == PAYLOAD_VERB:
                with self.lock:
                    self.received.setdefault(self.round, []).append(now)

        client.on("activity", on_activity)
        return client

    def connect(self, url: str, auths: list[Any], workers: int = 16) -> int:
        """Connect one client per auth; the number that failed."""

        def one(auth: Any) -> socketio.Client | None:
            client = self._client()
            try:
                client.connect(url, auth=auth, transports=["websocket"], wait_timeout=15)
                return client
            except Exception:
                return None

        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(one, auths))
        self.clients.extend(c for c in results if c is not None)
        return sum(1 for c in results if c is None)

    def still_connected(self) -> int:
        return sum(1 for c in self.clients if c.connected)

    def close(self) -> None:
        def one(client: socketio.Client) -> None:
            with contextlib.suppress(Exception):
                client.disconnect()

        with ThreadPoolExecutor(32) as pool:
            list(pool.map(one, self.clients))
        self.clients.clear()


def _fleet_worker(conn: Any) -> None:
    """One client process: a thread-based Fleet driven over a pipe."""
    logging.getLogger("engineio.client").setLevel(logging.CRITICAL)
    fleet = Fleet()
    while True:
        command, arg = conn.recv()
        if command == "connect":
            conn.send(fleet.connect(arg[0], arg[1], workers=8))
        elif command == "round":
            with fleet.lock:
                fleet.round = arg
            conn.send(None)
        elif command == "times":
            with fleet.lock:
                conn.send(list(fleet.received.get(arg, [])))
        elif command == "count":
            with fleet.lock:
                conn.send(len(fleet.received.get(arg, [])))
        elif command == "connected":
            conn.send((len(fleet.clients), fleet.still_connected()))
        elif command == "close":
            fleet.close()
            conn.send(None)
            return


class ProcessFleet:
    """Clients spread over several processes, so one process's GIL is not the limit."""

    def __init__(self, processes: int) -> None:
        context = multiprocessing.get_context("fork")
        self.pipes = []
        self.processes = []
        for _ in range(processes):
            mine, theirs = context.Pipe()
            process = context.Process(target=_fleet_worker, args=(theirs,), daemon=True)
            process.start()
            self.pipes.append(mine)
            self.processes.append(process)

    def _all(self, command: str, args: list[Any]) -> list[Any]:
        for pipe, arg in zip(self.pipes, args, strict=True):
            pipe.send((command, arg))
        return [pipe.recv() for pipe in self.pipes]

    def connect(self, url: str, auths: list[Any]) -> int:
        n = len(self.pipes)
        return sum(self._all("connect", [(url, auths[i::n]) for i in range(n)]))

    def counts(self) -> tuple[int, int]:
        """(clients opened, still connected)."""
        pairs = self._all("connected", [None] * len(self.pipes))
        return sum(p[0] for p in pairs), sum(p[1] for p in pairs)

    def measure(self, rounds: int, change: Any) -> list[float]:
        """Milliseconds from the HTTP request to each client's activity, every round."""
        latencies: list[float] = []
        self.answers: list[float] = []
        expected = self.counts()[1]
        for n in range(0, rounds + 1):  # round 0 warms up and is not counted
            self._all("round", [n] * len(self.pipes))
            time.sleep(0.5)
            started = time.monotonic()
            change(n)
            answered = time.monotonic()
            deadline = started + 10
            while time.monotonic() < deadline:
                if sum(self._all("count", [n] * len(self.pipes))) >= expected:
                    break
                time.sleep(0.01)
            times = [t for part in self._all("times", [n] * len(self.pipes)) for t in part]
            if len(times) < expected:
                print(f"  round {n}: only {len(times)} of {expected} clients got the event")
            if n:
                latencies.extend((t - started) * 1000 for t in times)
                self.answers.append((answered - started) * 1000)
        return latencies

    def close(self) -> None:
        self._all("close", [None] * len(self.pipes))
        for process in self.processes:
            process.join(10)


# --- the portal -------------------------------------------------------------------


def seed(instance: Path, env: dict[str, str], users: int) -> tuple[int, str, list[str]]:
    """A workspace with `users` members, each with a token; the secretariat's token."""
    code = f"""
import json, sys
from portal import create_app
from portal.accounts import service as accounts
from portal.extensions import db
from portal.workspaces import service as workspaces
from portal.workspaces.models import Role
app = create_app()
with app.app_context():
    admin = accounts.create_user(None, email="admin@bench.example", name="Admin",
                                 is_secretariat=True)
    ws = workspaces.create_workspace(admin, name="Benchmark Group")
    tokens = []
    for n in range({users}):
        user = accounts.create_user(None, email=f"user{{n}}@bench.example", name=f"User {{n:04d}}")
        workspaces.set_membership(admin, ws, user, Role.member)
        tokens.append(accounts.create_token(user, "bench", 1)[1])
    admin_token = accounts.create_token(admin, "bench", 1)[1]
    json.dump({{"ws": ws.id, "admin": admin_token, "tokens": tokens}}, sys.stdout)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True
    ).stdout
    data = json.loads(out)
    return data["ws"], data["admin"], data["tokens"]


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def rss_mb(pid: int) -> float:
    total = 0
    for child in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{child}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(c) for c in found]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--users", type=int, default=50, help="members the clients sign in as")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=0, help="server threads (default: fit)")
    parser.add_argument("--ramp-step", type=int, default=500)
    parser.add_argument("--ramp-max", type=int, default=2000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--bare-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    threads = args.threads or max(args.clients, args.ramp_max) + 100
    if args.bare_server:
        bare_server(args.bare_server, threads)
        return

    logging.getLogger("engineio.client").setLevel(logging.CRITICAL)  # closing chatter
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    folder = Path(tempfile.mkdtemp(prefix="portal-bench-rt-"))
    env = {
        **os.environ,
        "PORTAL_INSTANCE_PATH": str(folder),
        "PORTAL_SECRET_KEY": "benchmark-secret-key-benchmark-secret-key",
        "PORTAL_DATABASE_URL": args.database_url,
        "PORTAL_REDIS_URL": args.redis_url,
    }
    flask = str(Path(sys.executable).with_name("flask"))
    subprocess.run(
        [flask, "--app", "wsgi", "portal", "init"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    print(
        f"realtime benchmark: {args.clients} clients as {min(args.users, args.clients)} "
        f"members of one working group, {args.rounds} rounds, "
        f"{os.cpu_count()} CPUs, database {'SQLite' if not args.database_url else 'as given'}, "
        f"{'Redis queue' if args.redis_url else 'no Redis'}"
    )
    ws_id, admin, tokens = seed(folder, env, min(args.users, args.clients))

    # The portal.
    port = free_port()
    portal = start(
        [flask, "--app", "wsgi", "portal", "serve", "--port", str(port), "--threads", str(threads)],
        env,
        folder / "portal.log",
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(url + "/api/v1/health", portal, folder / "portal.log")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {admin}"

    def portal_change(n: int) -> None:
        response = session.patch(
            f"{url}/api/v1/workspaces/{ws_id}", json={"description": f"Round {n}"}, timeout=30
        )
        response.raise_for_status()

    fleet = ProcessFleet(args.client_processes)
    started = time.perf_counter()
    failed = fleet.connect(url, [{"token": tokens[i % len(tokens)]} for i in range(args.clients)])
    connect_s = time.perf_counter() - started
    time.sleep(3)  # let the presence announcements of the arrivals settle
    portal_ms = fleet.measure(args.rounds, portal_change)
    portal_answers = fleet.answers
    portal_rss = rss_mb(portal.pid)
    fleet.close()

    # The bare python-socketio server, same server set-up, same payload.
    bare_port = free_port()
    bare = start(
        [sys.executable, __file__, "--bare-server", str(bare_port), "--threads", str(threads)],
        env,
        folder / "bare.log",
    )
    bare_url = f"http://127.0.0.1:{bare_port}"
    wait_ready(bare_url + "/", bare, folder / "bare.log")
    payload = {
        "event_id": 1,
        "verb": PAYLOAD_VERB,
        "at": "2026-11-28T12:00:00+00:00",
        "actor": {"id": 1, "name": "Admin"},
        "workspace_id": ws_id,
        "item": None,
    }
    bare_session = requests.Session()

    def bare_change(n: int) -> None:
        bare_session.post(bare_url + "/change", json=payload | {"event_id": n}, timeout=30)

    bare_fleet = ProcessFleet(args.client_processes)
    bare_failed = bare_fleet.connect(bare_url, [None] * args.clients)
    bare_ms = bare_fleet.measure(args.rounds, bare_change)
    bare_answers = bare_fleet.answers
    bare_fleet.close()
    stop(bare)

    p, b = percentiles(portal_ms), percentiles(bare_ms)
    print(
        f"\nconnect {args.clients} clients to the portal: {connect_s:.1f} s, {failed} failed; "
        f"bare server: {bare_failed} failed"
    )
    print(f"{'delivery (ms)':<28}{'median':>9}{'p95':>9}{'max':>9}   deliveries")
    print(
        f"{'portal (HTTP PATCH -> all)':<28}{p['median']:9.1f}{p['p95']:9.1f}{p['max']:9.1f}"
        f"   {len(portal_ms)}/{args.clients * args.rounds}"
    )
    print(
        f"{'bare python-socketio':<28}{b['median']:9.1f}{b['p95']:9.1f}{b['max']:9.1f}"
        f"   {len(bare_ms)}/{args.clients * args.rounds}"
    )
    print(
        f"{'ratio portal / bare':<28}{p['median'] / b['median']:9.2f}"
        f"{p['p95'] / b['p95']:9.2f}{p['max'] / b['max']:9.2f}"
    )
    print(
        f"targets: p95 <= {TARGET_P95_MS} ms -> {'met' if p['p95'] <= TARGET_P95_MS else 'MISSED'}"
        f"; p95 ratio <= {TARGET_RATIO} -> "
        f"{'met' if p['p95'] / b['p95'] <= TARGET_RATIO else 'MISSED'}"
    )
    print(
        f"HTTP answer (ms, median of rounds): portal PATCH {statistics.median(portal_answers):.1f}"
        f", bare POST {statistics.median(bare_answers):.1f}"
    )
    print(f"portal RSS with {args.clients} clients: {portal_rss:.0f} MB")

    # Ramp: the most connections one portal process holds with < 1% errors.
    held, fleet = 0, ProcessFleet(args.client_processes)
    while held < args.ramp_max:
        step = min(args.ramp_step, args.ramp_max - held)
        auths = [{"token": tokens[i % len(tokens)]} for i in range(held, held + step)]
        step_failed = fleet.connect(url, auths)
        time.sleep(2)
        opened, alive = fleet.counts()
        lost = opened - alive
        errors = step_failed + lost
        print(
            f"ramp: {held + step} attempted, {alive} connected, {errors} errors in this step "
            f"({100 * errors / step:.1f}%), portal RSS {rss_mb(portal.pid):.0f} MB"
        )
        if errors > step / 100:
            break
        held = alive
    print(
        f"most connections held by one process with < 1% errors: {held}"
        f"{' (ramp limit reached)' if held >= args.ramp_max else ''}"
        f" (server threads: {threads})"
    )
    fleet.close()
    stop(portal)


if __name__ == "__main__":
    main()
