"""The production rehearsal under load (`make prod-rehearsal`, issue #13 item 2).

Starts deploy/'s topology on loopback (tests/rehearsal/topology.py: PostgreSQL, Redis,
SeaweedFS's S3 server, two web hosts each with `portal serve`, `portal indexer` and
its own index replica, a mailer, nginx with deploy/nginx's files), seeds a network
(tests/rehearsal/world.py), and drives it with locust (as a library, in a gevent
subprocess: the topology's threads and subprocesses stay unpatched here) plus one
python-socketio client per member:

1. a steady run: `--members` signed-in members (one working group per 15), each
   from its own loopback address (127.10.x.y, so nginx's per-address limits apply as
   to real people) with its live connection, doing what the pages do, with a think
   time between actions; the live refreshes the pages make are made as live.js makes
   them (each block whose `hx-trigger` names a raised live event asks its page for
   itself, events coalesced over live.js's WINDOW_MS); anonymous visitors searching
   the public pages (0.1 per member, from 127.20.x.y). It prints throughput, latency
   per operation, the error rate, the live-event delivery delay, and checks that
   every client received every event of its groups (against the database).
2. a ceiling run: members added step by step until a health limit is crossed.

CPU is measured per component, the load generator's own included (it shares the
machine's cores), and the machine's load average is printed beside the figures.

    python benchmarks/load.py [--members 300] [--duration 240] [--ceiling-budget 420]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "load-rehearsal-password-1"  # noqa: S105 - the seeded members' password
ARTIFACTS = ROOT / "tests" / "artifacts" / "load"
TARGET_READ_P95_MS = 200
CEILING_TARGET = 1000
# The health limits of the ceiling run (issue #13).
LIMIT_SERVER_ERRORS = 0.00025
LIMIT_MEAN_MS = 100
LIMIT_P99_MS = 2000
# What a member does between two thoughts (weights), see Member below.
MIX = {
    "my work": 12,
    "group page": 14,
    "memo page": 10,
    "board": 7,
    "task list": 5,
    "memo list": 4,
    "document list": 4,
    "meeting page": 5,
    "search": 8,
    "notifications": 3,
    "document download": 5,
    "memo edit": 5,
    "task edit": 6,
    "document upload": 1,
}
SEARCH_WORDS = [
    "port",
    "single window",
    "EDIFACT",
    "shore power",
    "customs",
    "berth",
    "rail",
    "cold chain",
    "emissions",
    "dredging",
    "report",
    "meeting",
]


def live_window_ms() -> tuple[int, int]:
    """live.js's coalescing window, its shortest and how much longer a page may draw
    (SPREAD_MS): the model follows the code."""
    source = (ROOT / "portal" / "static" / "js" / "live.js").read_text()
    shortest = re.search(r"const WINDOW_MS = (\d+);", source)
    spread = re.search(r"const SPREAD_MS = (\d+);", source)
    return int(shortest.group(1)), int(spread.group(1)) if spread else 0  # type: ignore[union-attr]


def member_address(number: int) -> str:
    return f"127.10.{number // 250}.{number % 250 + 1}"


def visitor_address(number: int) -> str:
    return f"127.20.{number // 250}.{number % 250 + 1}"


def percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def load_average() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


# =====================================================================================
# The driver: runs in its own process, gevent-patched before anything else is imported
# (see `start_driver`), and reports on stdout (lines `PHASE ...`) and in a JSON file.
# =====================================================================================


def drive(config: dict[str, Any]) -> None:
    import resource

    import requests
    import socketio
    import websocket._http as websocket_http
    from locust import User, between, task
    from locust.env import Environment

    # A dropped connection is counted (reconnections in the report), not logged.
    logging.getLogger("engineio.client").setLevel(logging.CRITICAL)
    logging.getLogger("socketio.client").setLevel(logging.CRITICAL)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    url = config["url"]
    shortest, spread = config["window_ms"]
    members: list[dict[str, Any]] = config["members"]
    groups: dict[str, dict[str, list[int]]] = config["groups"]
    blob = os.urandom(20 * 2**20)
    records: list[tuple[float, str, float, int, str]] = []  # end, name, ms, status, error
    deliveries: list[tuple[float, float]] = []  # received at, delay (s)
    clients: list[dict[str, Any]] = []
    counters = {"member": 0, "visitor": 0, "signed in": 0, "quiet": 0}

    def record(name: str, started: float, status: int, error: str = "") -> None:
        now = time.time()
        records.append((now, name, (now - started) * 1000, status, error))

    # websocket-client has no source address: bind the socket it opens, as the HTTP
    # adapter below does, when the options carry ("bind", address) among the sockopts.
    original_open = websocket_http._open_socket

    def open_bound(addrinfo_list: Any, sockopt: Any, timeout: Any) -> Any:
        source = next((option[1] for option in sockopt if option[0] == "bind"), None)
        if source is None:
            return original_open(addrinfo_list, sockopt, timeout)
        import socket

        family, kind, proto, _name, address = addrinfo_list[0]
        sock = socket.socket(family, kind, proto)
        sock.settimeout(timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((source, 0))
        sock.connect(address)
        return sock

    websocket_http._open_socket = open_bound

    class BoundAdapter(requests.adapters.HTTPAdapter):
        def __init__(self, source: str) -> None:
            self.source = source
            super().__init__(pool_connections=1, pool_maxsize=4)

        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["source_address"] = (self.source, 0)
            super().init_poolmanager(*args, **kwargs)

    def browser(source: str) -> requests.Session:
        session = requests.Session()
        session.mount("http://", BoundAdapter(source))
        return session

    def call(
        session: requests.Session, name: str, method: str, path: str, **options: Any
    ) -> requests.Response | None:
        if counters["quiet"] and not name.startswith("live "):
            return None  # the run is ending: no new actions, the live traffic goes on
        started = time.time()
        try:
            answer = session.request(
                method, url + path, timeout=60, allow_redirects=False, **options
            )
        except requests.RequestException as error:
            record(name, started, 0, type(error).__name__)
            return None
        answer.content  # noqa: B018 - read the whole answer, as a browser does
        record(name, started, answer.status_code, "" if answer.status_code < 400 else "status")
        return answer

    block_tag = re.compile(r"<\w+\s[^>]*hx-trigger=\"[^\"]*live:[^>]*>")
    attribute = re.compile(r"([\w-]+)=\"([^\"]*)\"")

    def live_blocks(html: str) -> list[tuple[str, str, set[str]]]:
        """The blocks of a page that refresh on live events: (id, hx-get, event names)."""
        blocks = []
        for tag in block_tag.findall(html):
            attributes = dict(attribute.findall(tag))
            names = {part.split()[0] for part in attributes["hx-trigger"].split(",")}
            blocks.append(
                (attributes.get("id", ""), attributes["hx-get"].replace("&amp;", "&"), names)
            )
        return blocks

    class Member(User):
        """One signed-in member with a live connection, at a working pace."""

        weight = 10
        wait_time = between(config["think_min"], config["think_max"])

        def on_start(self) -> None:
            number = counters["member"]
            counters["member"] += 1
            self.me = members[number % len(members)]
            self.group_id = self.me["group"]
            self.group_items = groups[str(self.group_id)]
            self.session = browser(member_address(number))
            self.blocks: list[tuple[str, str, set[str]]] = []
            self.pending: set[str] = set()
            self.flush: Any = None
            self.window = (shortest + random.random() * spread) / 1000  # live.js's draw
            credentials = {"email": self.me["email"], "password": config["password"]}
            answer = call(self.session, "sign in", "POST", "/api/v1/auth/login", json=credentials)
            while answer is None or answer.status_code != 200:
                time.sleep(random.uniform(10, 30))  # as a person would try again
                answer = call(
                    self.session, "sign in", "POST", "/api/v1/auth/login", json=credentials
                )
            counters["signed in"] += 1
            self.csrf = answer.json()["csrf_token"]
            self.rendered = self.page("my work", "/work")
            self.client_state = {
                "member": self.me["id"],
                "group": self.group_id,
                "baseline": None,
                "socket": [],
                "caught_up": [],
                "connects": 0,
                "source": member_address(number),
            }
            clients.append(self.client_state)
            self.connect()

        # --- the live connection, as live.js keeps it ---------------------------------

        def connect(self) -> None:
            sio = socketio.Client(reconnection=True, reconnection_delay=1, reconnection_delay_max=5)
            self.sio = sio
            sio.eio.websocket_extra_options = {"sockopt": (("bind", self.client_state["source"]),)}
            cookie = "; ".join(f"{k}={v}" for k, v in self.session.cookies.items())
            sio.on("activity", self.on_activity)
            sio.on("notification", lambda _data: self.raise_soon("live:notifications"))
            sio.on("connect", self.on_connect)
            for attempt in range(5):
                try:
                    sio.connect(
                        url, headers={"Cookie": cookie}, transports=["websocket"], wait_timeout=30
                    )
                    return
                except socketio.exceptions.ConnectionError:
                    time.sleep(2 + attempt)
            record("live connection", time.time(), 0, "ConnectionError")

        def on_connect(self) -> None:
            """After every (re)connection: read the feed after what was seen (live.js
            catchUp); the first time, that sets where the socket's own sequence starts."""
            self.client_state["connects"] += 1
            seen = self.client_state["socket"] + self.client_state["caught_up"]
            after = max([self.rendered, *seen])
            threading.Thread(target=self.catch_up, args=(after,), daemon=True).start()

        def catch_up(self, after: int) -> None:
            for _page in range(20):
                answer = call(
                    self.session,
                    "live catch-up",
                    "GET",
                    f"/api/v1/workspaces/{self.group_id}/activity",
                    params={"after": after, "per_page": 100},
                )
                if answer is None or answer.status_code != 200:
                    return
                feed = answer.json()
                for activity in feed["items"]:
                    if activity["event_id"] not in self.client_state["socket"]:
                        self.client_state["caught_up"].append(activity["event_id"])
                        self.on_names(activity)
                if self.client_state["baseline"] is None:
                    self.client_state["baseline"] = max(
                        [after, *(a["event_id"] for a in feed["items"])]
                    )
                if not feed.get("has_more") or feed["next_after"] <= after:
                    return
                after = feed["next_after"]

        def on_activity(self, activity: dict[str, Any]) -> None:
            now = time.time()
            self.client_state["socket"].append(activity["event_id"])
            at = datetime.fromisoformat(activity["at"].replace("Z", "+00:00")).timestamp()
            deliveries.append((now, now - at))
            self.on_names(activity)

        def on_names(self, activity: dict[str, Any]) -> None:
            ids = {activity.get("workspace_id"), *activity.get("audience", [])} - {None}
            for workspace in ids:
                self.raise_soon(f"live:workspace-{workspace}")
                if activity["verb"].startswith("member."):
                    self.raise_soon(f"live:members-{workspace}")
            if activity.get("item"):
                self.raise_soon(f"live:item-{activity['item']['id']}")

        def raise_soon(self, name: str) -> None:
            self.pending.add(name)
            if self.flush is None:
                self.flush = threading.Timer(self.window, self.refresh)
                self.flush.start()

        def refresh(self) -> None:
            """One htmx fetch per block of the current page that listens to an event
            raised in the window."""
            self.flush = None
            raised, self.pending = self.pending, set()
            for block_id, path, names in list(self.blocks):
                if names & raised:
                    call(
                        self.session,
                        f"live refresh {block_id}",
                        "GET",
                        path,
                        headers={"HX-Request": "true", "HX-Target": block_id},
                    )

        # --- pages --------------------------------------------------------------------

        def page(self, name: str, path: str) -> int:
            """A page: its live blocks become the ones that refresh; returns the event id
            it was rendered at."""
            answer = call(self.session, name, "GET", path)
            if answer is None or answer.status_code != 200:
                return 0
            self.blocks = live_blocks(answer.text)
            found = re.search(r'name="portal-live" content="(\d*)"', answer.text)
            return int(found.group(1) or 0) if found else 0

        def on_stop(self) -> None:
            if getattr(self, "sio", None) is not None:
                with contextlib.suppress(AttributeError):  # engineio, while reconnecting
                    self.sio.disconnect()

        @task(MIX["my work"])
        def my_work(self) -> None:
            self.page("my work", "/work")

        @task(MIX["group page"])
        def group_page(self) -> None:
            self.page("group page", f"/groups/{self.group_id}")

        @task(MIX["memo page"])
        def memo_page(self) -> None:
            self.page("memo page", f"/memos/{random.choice(self.group_items['memo'])}")

        @task(MIX["board"])
        def board(self) -> None:
            self.page("board", f"/groups/{self.group_id}/tasks/board")

        @task(MIX["task list"])
        def task_list(self) -> None:
            self.page("task list", f"/groups/{self.group_id}/tasks")

        @task(MIX["memo list"])
        def memo_list(self) -> None:
            self.page("memo list", f"/groups/{self.group_id}/memos")

        @task(MIX["document list"])
        def document_list(self) -> None:
            self.page("document list", f"/groups/{self.group_id}/documents")

        @task(MIX["meeting page"])
        def meeting_page(self) -> None:
            self.page("meeting page", f"/meetings/{random.choice(self.group_items['meeting'])}")

        @task(MIX["search"])
        def search(self) -> None:
            self.page("search", f"/work/search?q={random.choice(SEARCH_WORDS)}")

        @task(MIX["notifications"])
        def notifications(self) -> None:
            self.page("notifications", "/notifications")

        @task(MIX["document download"])
        def download(self) -> None:
            document = random.choice(self.group_items["document"])
            call(self.session, "document download", "GET", f"/api/v1/documents/{document}/download")

        @task(MIX["memo edit"])
        def memo_edit(self) -> None:
            memo = random.choice(self.group_items["memo"])
            self.page("memo edit form", f"/memos/{memo}/edit")
            body = f"## Note\n\nRevised by member {self.me['id']} at {time.time():.0f}.\n" * 20
            call(
                self.session,
                "memo edit",
                "PATCH",
                f"/api/v1/memos/{memo}",
                json={"body": body},
                headers={"X-CSRF-Token": self.csrf},
            )
            self.page("memo page", f"/memos/{memo}")

        @task(MIX["task edit"])
        def task_edit(self) -> None:
            chosen = random.choice(self.group_items["task"])
            status = random.choice(["todo", "doing", "done"])
            call(
                self.session,
                "task edit",
                "PATCH",
                f"/api/v1/tasks/{chosen}",
                json={"status": status},
                headers={"X-CSRF-Token": self.csrf},
            )

        @task(MIX["document upload"])
        def upload(self) -> None:
            size = random.randint(1, 20) * 2**20
            answer = call(
                self.session,
                "document upload",
                "POST",
                f"/api/v1/workspaces/{self.group_id}/documents",
                params={"title": f"Upload by member {self.me['id']}"},
                data=blob[:size],
                headers={
                    "X-CSRF-Token": self.csrf,
                    "X-Filename": "annex.bin",
                    "Content-Type": "application/octet-stream",
                },
            )
            if answer is not None and answer.status_code == 201:
                self.group_items["document"].append(answer.json()["id"])

    class Visitor(User):
        """Someone of the public searching the published work."""

        weight = 1
        wait_time = between(config["think_min"], config["think_max"])

        def on_start(self) -> None:
            number = counters["visitor"]
            counters["visitor"] += 1
            self.session = browser(visitor_address(number))

        @task(4)
        def public_search(self) -> None:
            call(
                self.session,
                "public search",
                "GET",
                "/search",
                params={"q": random.choice(SEARCH_WORDS)},
            )

        @task(1)
        def home(self) -> None:
            call(self.session, "public home", "GET", "/")

    def say(*words: Any) -> None:
        print(*words, flush=True)

    environment = Environment(user_classes=[Member, Visitor])
    runner = environment.create_local_runner()

    def population(members_wanted: int) -> int:
        return members_wanted + round(members_wanted * config["visitors_per_member"])

    def window_figures(since: float, until: float) -> dict[str, Any]:
        chosen = [r for r in records if since <= r[0] < until and r[1] != "sign in"]
        times = sorted(r[2] for r in chosen)
        server_errors = sum(1 for r in chosen if r[3] == 0 or r[3] >= 500)
        return {
            "requests": len(chosen),
            "server_errors": server_errors,
            "mean_ms": statistics.fmean(times) if times else 0.0,
            "p99_ms": percentile(times, 0.99),
        }

    started = time.time()
    say("PHASE steady-start", started)
    steady = config["steady_members"]
    runner.start(population(steady), spawn_rate=config["spawn_rate"])
    # Measured once every member has signed in and is at work (a think time later).
    ramp_end = time.time() + steady / config["spawn_rate"] * 3 + 60
    while counters["signed in"] < steady and time.time() < ramp_end:
        time.sleep(1)
    say(f"signed in: {counters['signed in']} of {steady} members")
    time.sleep(config["think_max"])
    measure_from = time.time()
    say("PHASE steady-measure", measure_from)
    time.sleep(config["duration"])
    measure_to = time.time()
    say("PHASE steady-end", measure_to)
    steps: list[dict[str, Any]] = []
    crossed = ""
    carried = steady
    budget_end = measure_to + config["ceiling_budget"]
    count = steady
    while config["ceiling_budget"] > 0 and time.time() + config["step_seconds"] <= budget_end:
        count += config["step_members"]
        step_start = time.time()
        runner.start(population(count), spawn_rate=config["spawn_rate"])
        time.sleep(config["step_seconds"])
        # Once the step's newcomers have signed in (Argon2 is a sign-in's cost, not a
        # working member's), at least the step's last 15 s.
        signing_in = config["step_members"] / config["spawn_rate"]
        since = step_start + min(signing_in, config["step_seconds"] - 15)
        figures = window_figures(since, time.time())
        figures |= {
            "members": count,
            "load": load_average(),
            "connected": sum(1 for c in clients if c["connects"]),
        }
        steps.append(figures)
        say("STEP", json.dumps(figures))
        reasons = []
        if (
            figures["requests"]
            and figures["server_errors"] / figures["requests"] >= LIMIT_SERVER_ERRORS
        ):
            reasons.append(
                f"server errors {figures['server_errors']}/{figures['requests']} "
                f"≥ {LIMIT_SERVER_ERRORS:.3%}"
            )
        if figures["mean_ms"] >= LIMIT_MEAN_MS:
            reasons.append(f"mean request {figures['mean_ms']:.0f} ms ≥ {LIMIT_MEAN_MS} ms")
        if figures["p99_ms"] >= LIMIT_P99_MS:
            reasons.append(f"p99 {figures['p99_ms']:.0f} ms ≥ {LIMIT_P99_MS} ms")
        if reasons:
            crossed = "; ".join(reasons)
            break
        carried = count
    say("PHASE ceiling-end", time.time())
    # Quiet: no new actions; what is in flight is delivered (nothing arrives for 5 s,
    # at most 90 s), then everyone leaves.
    counters["quiet"] = 1
    quiet_until = time.time() + 90
    while time.time() < quiet_until:
        heard = len(deliveries)
        time.sleep(5)
        if len(deliveries) == heard:
            break
    runner.stop()
    newest_seen = max((max(c["socket"] + c["caught_up"], default=0) for c in clients), default=0)
    environment.runner.quit()
    result = {
        "started": started,
        "measure_from": measure_from,
        "measure_to": measure_to,
        "records": records,
        "deliveries": deliveries,
        "clients": clients,
        "newest_seen": newest_seen,
        "steps": steps,
        "crossed": crossed,
        "carried": carried,
        "ceiling_ran": config["ceiling_budget"] > 0,
        "window_ms": config["window_ms"],
    }
    Path(config["output"]).write_text(json.dumps(result))
    say("PHASE done", time.time())


# =====================================================================================
# The conductor: the topology, the seed, the driver, the CPU meter and the report.
# =====================================================================================


class CpuMeter:
    """CPU seconds used by each component (process trees, reaped children included)."""

    def __init__(self, roots: dict[str, list[int]]) -> None:
        import psutil

        self.psutil = psutil
        self.roots = roots

    def sample(self) -> dict[str, float]:
        used: dict[str, float] = {}
        for name, pids in self.roots.items():
            total = 0.0
            for pid in pids:
                try:
                    root = self.psutil.Process(pid)
                    for process in [root, *root.children(recursive=True)]:
                        times = process.cpu_times()
                        total += (
                            times.user + times.system + times.children_user + times.children_system
                        )
                except self.psutil.Error:
                    continue
            used[name] = total
        machine = self.psutil.cpu_times()
        used["whole machine"] = (
            machine.user + machine.system + machine.nice + machine.irq + machine.softirq
        )
        return used


def start_driver(config_path: Path) -> subprocess.Popen[str]:
    """The load generator in its own process, gevent-patched before anything else."""
    program = (
        "from gevent import monkey; monkey.patch_all()\n"
        "import json, runpy, sys\n"
        f"module = runpy.run_path({str(Path(__file__))!r}, run_name='load_driver')\n"
        f"module['drive'](json.load(open({str(config_path)!r})))\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", program], cwd=ROOT, stdout=subprocess.PIPE, text=True, bufsize=1
    )


def baseline_ms(url: str) -> dict[str, float]:
    import requests

    session = requests.Session()
    times = []
    for _ in range(60):
        started = time.perf_counter()
        session.get(url + "/api/v1/health", timeout=10)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50": percentile(times, 0.5), "p95": percentile(times, 0.95)}


def conduct(arguments: argparse.Namespace) -> int:
    from tests.rehearsal.topology import Rehearsal

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = Path(tempfile.mkdtemp(prefix="portal-load-"))
    print(f"== Production rehearsal under load ({load_average()}; {os.cpu_count()} cores)")
    steps = int(arguments.ceiling_budget // arguments.step_seconds)
    seeded = arguments.members + steps * arguments.step_members
    topology = Rehearsal(
        folder / "topology",
        settings={
            "PORTAL_LOGIN_RATE_LIMIT": "100000/minute",
            "PORTAL_PUBLIC_RATE_LIMIT": "100000/minute",
        },
    )
    with topology.start():
        print(
            f"topology up in {topology.started_in:.0f} s: nginx {topology.url}, "
            f"{len(topology.hosts)} web hosts ({folder})"
        )
        started = time.monotonic()
        # Seeding commits item by item: a commit need not wait for the disk meanwhile.
        topology.postgres.psql("ALTER DATABASE portal SET synchronous_commit = off")
        seed = subprocess.run(
            [sys.executable, "-m", "tests.rehearsal.world", str(seeded), PASSWORD],
            cwd=ROOT,
            env=topology.hosts[0].environment,
            capture_output=True,
            text=True,
            check=False,
        )
        if seed.returncode != 0:
            print(seed.stdout[-3000:], seed.stderr[-5000:])
            return 1
        topology.postgres.psql("ALTER DATABASE portal RESET synchronous_commit")
        world = json.loads(seed.stdout.strip().splitlines()[-1])
        print(
            f"seeded {len(world['members'])} members in {len(world['groups'])} working "
            f"groups (memos, tasks, meetings, documents) in {time.monotonic() - started:.0f} s"
        )
        time.sleep(5)
        idle = baseline_ms(topology.url)
        print(
            f"baseline, idle: GET /api/v1/health through nginx p50 {idle['p50']:.1f} ms, "
            f"p95 {idle['p95']:.1f} ms ({load_average()})"
        )
        output = folder / "driver.json"
        config = {
            "url": topology.url,
            "members": world["members"],
            "steady_members": arguments.members,
            "groups": world["groups"],
            "password": PASSWORD,
            "window_ms": live_window_ms(),
            "think_min": arguments.think[0],
            "think_max": arguments.think[1],
            "visitors_per_member": 0.1,
            "spawn_rate": arguments.spawn_rate,
            "duration": arguments.duration,
            "ceiling_budget": arguments.ceiling_budget,
            "step_members": arguments.step_members,
            "step_seconds": arguments.step_seconds,
            "output": str(output),
        }
        config_path = folder / "driver-config.json"
        config_path.write_text(json.dumps(config))
        driver = start_driver(config_path)
        meter = CpuMeter(
            {
                "portal serve (2)": [h.serve.process.pid for h in topology.hosts],  # type: ignore[union-attr]
                "portal indexer (2)": [h.indexer.process.pid for h in topology.hosts],  # type: ignore[union-attr]
                "mailer": [topology.mailer.process.pid],  # type: ignore[union-attr]
                "postgres": [topology.postgres.process.pid],  # type: ignore[union-attr]
                "redis": [topology.redis.process.pid],  # type: ignore[union-attr]
                "nginx": [topology.nginx.process.pid],  # type: ignore[union-attr]
                "s3 (weed)": [topology.s3.process.pid] if topology.s3.process else [],
                "load generator": [driver.pid],
            }
        )
        samples: dict[str, tuple[float, dict[str, float], str]] = {}
        for line in driver.stdout:  # type: ignore[union-attr]
            line = line.rstrip()
            if line.startswith("PHASE "):
                phase = line.split()[1]
                samples[phase] = (time.time(), meter.sample(), load_average())
                print(f"  [{time.strftime('%H:%M:%S')}] {phase} ({load_average()})", flush=True)
            elif line.startswith("STEP "):
                step = json.loads(line[5:])
                print(
                    f"  ceiling step: {step['members']} members, {step['requests']} requests, "
                    f"mean {step['mean_ms']:.0f} ms, p99 {step['p99_ms']:.0f} ms, "
                    f"server errors {step['server_errors']} ({step['load']})",
                    flush=True,
                )
            else:
                print("  driver:", line, flush=True)
        if driver.wait() != 0 or not output.exists():
            print("the load generator failed")
            return 1
        result = json.loads(output.read_text())
        newest = int(result["newest_seen"])
        query = "SELECT id, workspace_id FROM events WHERE workspace_id IS NOT NULL AND id <= "
        events = topology.postgres.psql(query + f"{newest} ORDER BY id", database="portal")
    report = build_report(arguments, result, events, samples, idle, world)
    print(report)
    (ARTIFACTS / f"load-{stamp}.txt").write_text(report)
    print(f"(written to {ARTIFACTS / f'load-{stamp}.txt'})")
    return 0


def build_report(
    arguments: argparse.Namespace,
    result: dict[str, Any],
    events_text: str,
    samples: dict[str, Any],
    idle: dict[str, float],
    world: dict[str, Any],
) -> str:
    lines: list[str] = []
    out = lines.append
    since, until = result["measure_from"], result["measure_to"]
    seconds = until - since
    chosen = [r for r in result["records"] if since <= r[0] < until]
    members = arguments.members
    window = result["window_ms"]
    by_name: dict[str, list[list[Any]]] = defaultdict(list)
    for record in chosen:
        by_name[record[1]].append(record)
    total = len(chosen)
    member_requests = sum(len(v) for k, v in by_name.items() if not k.startswith("public "))
    refreshes = sum(len(v) for k, v in by_name.items() if k.startswith("live refresh"))
    load = samples.get("steady-end", (0, {}, "?"))[2]
    out("")
    out(f"== Steady run: {members} members, {seconds:.0f} s measured ({load})")
    out(
        f"workload model: think time {arguments.think[0]}-{arguments.think[1]} s between "
        f"actions; {member_requests / members / (seconds / 60):.1f} requests per member per "
        f"minute measured, live refreshes included ({refreshes / max(1, member_requests):.0%} "
        f"of them; live.js coalescing window {window[0]}-{sum(window)} ms); "
        "visitors 0.1 per member; "
        f"one working group per 15 members"
    )
    weights = sum(MIX.values())
    out(
        "action mix (share of a member's actions): "
        + ", ".join(f"{name} {weight / weights:.0%}" for name, weight in MIX.items())
    )
    out(f"throughput: {total / seconds:.1f} requests/s ({total} requests)")
    errors = [r for r in chosen if r[3] == 0 or r[3] >= 400]
    server_errors = [r for r in chosen if r[3] == 0 or r[3] >= 500]
    out(
        f"error rate: {len(errors) / max(1, total):.3%} ({len(errors)} errors, "
        f"{len(server_errors)} server errors or failed connections) [target 0]"
    )
    kinds = defaultdict(int)
    for record in errors:
        kinds[f"{record[1]} {record[3] or record[4]}"] += 1
    for kind, count in sorted(kinds.items(), key=lambda pair: -pair[1])[:10]:
        out(f"    {count:6d} x {kind}")
    out(
        f"{'operation':34s} {'count':>7s} {'share':>6s} {'p50':>7s} {'p95':>7s} {'p99':>7s} "
        f"{'max':>7s}  (ms)"
    )
    reads: list[float] = []
    for name, group in sorted(by_name.items(), key=lambda pair: -len(pair[1])):
        times = sorted(r[2] for r in group)
        if not name.endswith(("edit", "upload", "sign in")):
            reads.extend(times)
        out(
            f"{name:34s} {len(times):7d} {len(times) / total:6.1%} {percentile(times, 0.5):7.1f} "
            f"{percentile(times, 0.95):7.1f} {percentile(times, 0.99):7.1f} {times[-1]:7.1f}"
        )
    reads.sort()
    read_p95 = percentile(reads, 0.95)
    verdict = "met" if read_p95 <= TARGET_READ_P95_MS else "NOT met"
    out(
        f"reads (every GET): p50 {percentile(reads, 0.5):.1f} ms, p95 {read_p95:.1f} ms "
        f"[target ≤ {TARGET_READ_P95_MS} ms: {verdict}]"
        f"; baseline GET /api/v1/health idle p50 {idle['p50']:.1f} ms "
        f"(reads' p50 = {percentile(reads, 0.5) / idle['p50']:.1f} times the baseline)"
    )
    delays = sorted(d for at, d in result["deliveries"] if since <= at < until)
    out(
        f"live-event delivery delay (event time to receipt, {len(delays)} deliveries): "
        f"p50 {percentile(delays, 0.5) * 1000:.0f} ms, "
        f"p95 {percentile(delays, 0.95) * 1000:.0f} ms, "
        f"max {(delays[-1] if delays else float('nan')) * 1000:.0f} ms"
    )
    out(lost_events(result, events_text))
    out(cpu_split(samples, "steady-measure", "steady-end"))
    if result["ceiling_ran"]:
        out("")
        out(
            f"== Ceiling run: +{arguments.step_members} members every "
            f"{arguments.step_seconds:.0f} s from {members}, "
            f"within {arguments.ceiling_budget:.0f} s"
        )
        for step in result["steps"]:
            out(
                f"  {step['members']:5d} members: {step['requests']} requests once all were in, "
                f"mean {step['mean_ms']:.0f} ms, p99 {step['p99_ms']:.0f} ms, "
                f"server errors {step['server_errors']} ({step['load']})"
            )
        if result["crossed"]:
            out(
                f"ceiling: {result['carried']} concurrent members carried; the next step "
                f"crossed: {result['crossed']} [target ≥ {CEILING_TARGET}]"
            )
        else:
            out(
                f"ceiling: not reached within the budget; ≥ {result['carried']} concurrent "
                f"members carried [target ≥ {CEILING_TARGET}]"
            )
        out(
            "  (health limits: server errors ≥ 0.025%, mean request ≥ 100 ms, p99 ≥ 2 s, "
            "sign-ins left out; same workload model as above)"
        )
        out(cpu_split(samples, "steady-end", "ceiling-end"))
    return "\n".join(lines)


def lost_events(result: dict[str, Any], events_text: str) -> str:
    """Every client's received sequence (socket, or the feed after a reconnection)
    against the database: the events of its group after where it started."""
    by_group: dict[int, list[int]] = defaultdict(list)
    for line in events_text.split():
        event_id, workspace_id = line.split("|")
        by_group[int(workspace_id)].append(int(event_id))
    lost = recovered = expected_total = unchecked = 0
    for client in result["clients"]:
        if client["baseline"] is None:
            unchecked += 1
            continue
        expected = {e for e in by_group[client["group"]] if e > client["baseline"]}
        socket_ids = set(client["socket"])
        expected_total += len(expected)
        lost += len(expected - socket_ids - set(client["caught_up"]))
        recovered += len(expected & set(client["caught_up"]) - socket_ids)
    reconnections = sum(max(0, c["connects"] - 1) for c in result["clients"])
    return (
        f"lost events (not received by the end): {lost} of {expected_total} expected "
        "deliveries to "
        f"{len(result['clients']) - unchecked} clients [target 0]; {recovered} came from "
        f"the feed after {reconnections} reconnections; {unchecked} clients never caught up"
    )


def cpu_split(samples: dict[str, Any], start: str, end: str) -> str:
    if start not in samples or end not in samples:
        return "CPU split: not measured"
    (t0, before, _), (t1, after, load) = samples[start], samples[end]
    seconds = t1 - t0
    parts = {name: (after[name] - before[name]) / seconds for name in after}
    machine = parts.pop("whole machine")
    known = sum(parts.values())
    shown = ", ".join(
        f"{name} {value:.2f}" for name, value in sorted(parts.items(), key=lambda p: -p[1])
    )
    return (
        f"CPU split ({start} → {end}, cores busy on average): {shown}; everything else on "
        f"the machine {max(0.0, machine - known):.2f} of {os.cpu_count()} cores ({load}). "
        f"The load generator runs on the same cores."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--duration", type=float, default=180, help="steady run, seconds")
    parser.add_argument(
        "--ceiling-budget", type=float, default=360, help="seconds for the ceiling run (0: none)"
    )
    parser.add_argument("--step-members", type=int, default=150)
    parser.add_argument("--step-seconds", type=float, default=60)
    parser.add_argument("--spawn-rate", type=float, default=5, help="members signing in per second")
    parser.add_argument("--think", type=float, nargs=2, default=(20, 40), metavar=("MIN", "MAX"))
    return conduct(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
