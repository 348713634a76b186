"""The people of the load run, as locust users: members signed in with their live
connection, doing what the pages do, and visitors searching the public pages. Runs in
the driver's gevent-patched process (driver.py)."""

from __future__ import annotations

import contextlib
import json
import queue
import random
import re
import socket
import threading
import time
from datetime import datetime
from html import unescape
from typing import Any

import engineio
import requests
import socketio
import websocket._http as websocket_http
from locust import User, between, task

from tests.rehearsal.hostile import browser_at
from tests.rehearsal.resume import ResumePoint

from .model import (
    MIX,
    SEARCH_WORDS,
    live_catch_up_retry_ms,
    live_lists,
    member_address,
    visitor_address,
)


class Run:
    """What every person of one run shares: the settings, the records of each request
    and live delivery, the live clients' sequences (checked against the database
    afterwards) and the counters the driver watches."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.url: str = config["url"]
        self.members: list[dict[str, Any]] = config["members"]
        self.groups: dict[str, dict[str, list[int]]] = config["groups"]
        self.blob = random.randbytes(20 * 2**20)  # uploads are slices of it
        self.records: list[tuple[float, str, float, int, str]] = []  # end, name, ms, status, error
        self.deliveries: list[tuple[float, float]] = []  # received at, delay (s)
        self.clients: list[dict[str, Any]] = []
        self.counters = {"member": 0, "visitor": 0, "signed in": 0}
        self.catching_up = 0  # catch-ups under way or waiting to be tried again
        self.quiet = False  # the run is ending: no new actions, the live traffic goes on

    def record(self, name: str, started: float, status: int, error: str = "") -> None:
        now = time.time()
        self.records.append((now, name, (now - started) * 1000, status, error))

    def call(
        self,
        session: requests.Session,
        name: str,
        method: str,
        path: str,
        answers: frozenset[int] = frozenset(),
        **options: Any,
    ) -> requests.Response | None:
        """One request, timed and recorded as the operation `name`. A status in `answers`
        is the portal's right answer to what happened, which the caller acts on (a 409:
        someone saved the same item at the same moment), not an error."""
        if self.quiet and not name.startswith("live "):
            return None
        started = time.time()
        try:
            answer = session.request(
                method, self.url + path, timeout=60, allow_redirects=False, **options
            )
        except requests.RequestException as error:
            self.record(name, started, 0, type(error).__name__)
            return None
        answer.content  # noqa: B018 - read the whole answer, as a browser does
        status = answer.status_code
        error = "answer" if status in answers else "status" if status >= 400 else ""
        self.record(name, started, status, error)
        return answer


# --- each person from their own address ----------------------------------------------


_open_socket = websocket_http._open_socket


def _open_bound(addrinfo_list: Any, sockopt: Any, timeout: Any) -> Any:
    """websocket-client has no source address: bind the socket it opens, as the HTTP
    adapter does, when the options carry ("bind", address) among the sockopts."""
    source = next((option[1] for option in sockopt if option[0] == "bind"), None)
    if source is None:
        return _open_socket(addrinfo_list, sockopt, timeout)
    family, kind, proto, _name, address = addrinfo_list[0]
    sock = socket.socket(family, kind, proto)
    sock.settimeout(timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((source, 0))
    sock.connect(address)
    return sock


websocket_http._open_socket = _open_bound


# --- what live.js does with an event -------------------------------------------------

BLOCK_TAG = re.compile(r"<\w+\s[^>]*hx-trigger=\"[^\"]*live:[^>]*>")
ATTRIBUTE = re.compile(r"([\w-]+)=\"([^\"]*)\"")


def live_blocks(html: str) -> list[tuple[str, str, set[str], dict[str, str]]]:
    """The blocks of a page that refresh on live events: (id, hx-get, event names, the
    headers it adds: `hx-headers`, which names the blocks its refresh carries)."""
    blocks = []
    for tag in BLOCK_TAG.findall(html):
        attributes = {name: unescape(value) for name, value in ATTRIBUTE.findall(tag)}
        names = {part.split()[0] for part in attributes["hx-trigger"].split(",")}
        headers = json.loads(attributes.get("hx-headers", "{}"))
        blocks.append((attributes.get("id", ""), attributes["hx-get"], names, headers))
    return blocks


LISTS = live_lists()
# How long a connection waits for the portal's answer before it is made again: the
# browser's client waits as long as the connection lives, which the portal's pings
# (every 25 s, answered within 20 s) end when it is gone.
CONNECT_WAIT_SECONDS = 60
CATCH_UP_RETRY_MS = live_catch_up_retry_ms()


def live_names(activity: dict[str, Any]) -> set[str]:
    """The DOM events live.js's `receive` raises for one activity (its blockEvents):
    every group's own, its item kind's lists (all of them for an activity without an
    item but a membership change), the members' and the item's."""
    if activity.get("item"):
        lists = [f"{activity['item']['kind']}s"]
    else:
        lists = [] if activity["verb"].startswith("member.") else LISTS
    names = set()
    for workspace in {activity.get("workspace_id"), *activity.get("audience", [])} - {None}:
        names.add(f"live:workspace-{workspace}")
        names.update(f"live:{kind}-{workspace}" for kind in lists)
        if activity["verb"].startswith("member."):
            names.add(f"live:members-{workspace}")
    if activity.get("item"):
        names.add(f"live:item-{activity['item']['id']}")
    return names


# --- the people ------------------------------------------------------------------------


# The pages a member reads (MIX's names) and where each is for them.
PAGES = {
    "my work": "/work",
    "group page": "/groups/{group}",
    "memo page": "/memos/{memo}",
    "board": "/groups/{group}/tasks/board",
    "task list": "/groups/{group}/tasks",
    "memo list": "/groups/{group}/memos",
    "document list": "/groups/{group}/documents",
    "meeting page": "/meetings/{meeting}",
    "search": "/work/search?q={words}",
    "notifications": "/notifications",
}


class PatientQueue(queue.Queue):  # type: ignore[type-arg]
    """An engine.io client's packets to send, waited on for as long as it takes.
    python-engineio's client ends its writer once it has had nothing to send for 30 s,
    expecting the portal's ping every 25 s; a ping that comes later, as it does from a
    busy portal, is then answered into a queue nobody sends, and the portal ends the
    connection for want of an answer. socket.io's browser client has no such limit."""

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        return super().get(block)


class PatientEngineIO(engineio.Client):  # type: ignore[misc]
    """python-engineio's client with the patient queue, writing when it last heard the
    portal into its member's client state (`heard`): the member gives up a silent
    connection by it, the driver counts it in flight."""

    client_state: dict[str, Any] | None = None

    def create_queue(self, *args: Any, **kwargs: Any) -> PatientQueue:
        return PatientQueue(*args, **kwargs)

    def _receive_packet(self, pkt: Any) -> None:
        if self.client_state is not None:
            self.client_state["heard"] = time.monotonic()
        super()._receive_packet(pkt)


class LiveClient(socketio.Client):  # type: ignore[misc]
    """python-socketio's client over the patient engine.io client."""

    def _engineio_client_class(self) -> type[engineio.Client]:
        return PatientEngineIO


def abandon(sio: socketio.Client) -> None:
    """Close a live connection without waiting on it: engineio's half-made connection,
    or one whose reader is stuck on the socket, may raise anything here. What it may
    still hear is no longer its member's (`heard`)."""
    sio.eio.client_state = None
    with contextlib.suppress(Exception):
        sio.eio.disconnect(abort=True)


class Connection:
    """One live connection of a member's, from its attempt to its end."""

    def __init__(self, sio: socketio.Client) -> None:
        self.sio = sio
        self.connected = False  # the portal answered, and "connect" ran
        self.ended = False
        self.lock = threading.Lock()


class Member(User):
    """One signed-in member with a live connection, at a working pace."""

    abstract = True  # the driver makes the concrete class, with its run
    weight = 10
    crowd: Run

    def on_start(self) -> None:
        run = self.crowd
        number = run.counters["member"]
        run.counters["member"] += 1
        self.me = run.members[number % len(run.members)]
        self.group_id = self.me["group"]
        self.group_items = run.groups[str(self.group_id)]
        self.session = browser_at(member_address(number))
        self.blocks: list[tuple[str, str, set[str], dict[str, str]]] = []
        self.pending: set[str] = set()
        self.flush: Any = None
        shortest, spread = run.config["window_ms"]
        self.window = (shortest + random.random() * spread) / 1000  # live.js's draw
        self.sign_in()
        run.counters["signed in"] += 1
        self.resume = ResumePoint(rendered=self.page("my work", "/work"))
        self.client_state = {
            "member": self.me["id"],
            "group": self.group_id,
            "baseline": None,
            "socket": [],
            "caught_up": [],
            "connects": 0,
            "connected": False,
            "heard": 0.0,  # when its connection last heard the portal (time.monotonic())
            "source": member_address(number),
        }
        run.clients.append(self.client_state)
        self.connect()

    def sign_in(self) -> None:
        credentials = {"email": self.me["email"], "password": self.crowd.config["password"]}
        while True:
            answer = self.crowd.call(
                self.session, "sign in", "POST", "/api/v1/auth/login", json=credentials
            )
            if answer is not None and answer.status_code == 200:
                self.csrf = answer.json()["csrf_token"]
                return
            time.sleep(random.uniform(10, 30))  # as a person would try again

    def call(self, name: str, method: str, path: str, **options: Any) -> requests.Response | None:
        return self.crowd.call(self.session, name, method, path, **options)

    def write(self, name: str, method: str, path: str, **options: Any) -> requests.Response | None:
        headers = {"X-CSRF-Token": self.csrf, **options.pop("headers", {})}
        return self.call(name, method, path, headers=headers, **options)

    # --- the live connection, as live.js keeps it ---------------------------------

    def connect(self) -> None:
        self.leaving = False
        threading.Thread(target=self.keep_connected, daemon=True).start()

    def keep_connected(self) -> None:
        """The live connection as socket.io's browser client keeps live.js's: it waits
        for the portal's answer for as long as the connection lives, and after any end
        connects again after a pause of 1 s, doubling up to 5 s, jittered by half, until
        the member leaves. A new python-socketio client each time: one reused after an
        end let its own reconnection race an answer that came late, and was left
        believing itself connected on a connection that was gone (it heard nothing)."""
        cookie = "; ".join(f"{k}={v}" for k, v in self.session.cookies.items())
        pause = 1.0
        while not self.leaving:
            sio = LiveClient(reconnection=False)
            sio.eio.websocket_extra_options = {"sockopt": (("bind", self.client_state["source"]),)}
            sio.eio.client_state = self.client_state
            connection = Connection(sio)
            self.connection = connection
            sio.on("activity", self.on_activity)
            sio.on("notification", lambda _data: self.raise_soon({"live:notifications"}))
            sio.on("connect", lambda connection=connection: self.on_connect(connection))
            try:
                sio.connect(
                    self.crowd.url,
                    headers={"Cookie": cookie},
                    transports=["websocket"],
                    wait_timeout=CONNECT_WAIT_SECONDS,
                )
                pause = 1.0
                self.wait_while_heard(sio, self.client_state)
            except (socketio.exceptions.ConnectionError, ValueError):
                if sio.failed_namespaces:  # refused by the portal, not unanswered
                    self.crowd.record("live connection", time.time(), 0, "refused")
            finally:
                abandon(sio)
                self.connection_ended(connection)
            time.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 2, 5.0)

    @staticmethod
    def wait_while_heard(sio: LiveClient, state: dict[str, Any]) -> None:
        """Until the connection ends, or until the portal has not been heard for longer
        than its ping interval and timeout, as socket.io's browser client gives up on a
        connection: python-engineio's reader was seen stuck after a message, on a
        connection the portal had ended (for the ping it never answered) a minute
        before."""
        eio = sio.eio
        silence = eio.ping_interval + eio.ping_timeout
        while eio.state == "connected" and eio.read_loop_task is not None:
            reader = eio.read_loop_task
            reader.join(timeout=5)
            if not reader.is_alive() or time.monotonic() - state["heard"] > silence:
                return

    def on_connect(self, connection: Connection) -> None:
        """After every (re)connection: read the feed after the settled event (live.js
        catchUp); the first time, that sets where the socket's own sequence starts."""
        with connection.lock:
            if connection.ended:  # the answer came after the connection was given up
                return
            connection.connected = True
        self.client_state["connects"] += 1
        self.client_state["heard"] = time.monotonic()
        self.client_state["connected"] = True
        after = self.resume.catch_up_started()
        self.crowd.catching_up += 1  # now, not when the thread starts: the driver waits on it
        threading.Thread(target=self.catch_up, args=(after,), daemon=True).start()

    def connection_ended(self, connection: Connection) -> None:
        with connection.lock:
            connection.ended = True
            if not connection.connected:
                return
        self.client_state["connected"] = False
        self.resume.connection_ended()

    def catch_up(self, after: int) -> None:
        """As live.js: the feed after `after`, page by page; no answer or a 5xx is tried
        again after its pauses, the last one over and over until it is answered."""
        try:
            self.read_feed(after)
        finally:
            self.resume.catch_up_ended()
            self.crowd.catching_up -= 1

    def read_feed(self, after: int) -> None:
        pauses = iter(CATCH_UP_RETRY_MS)
        for _page in range(20):
            while True:
                answer = self.call(
                    "live catch-up",
                    "GET",
                    f"/api/v1/workspaces/{self.group_id}/activity",
                    params={"after": after, "per_page": 100},
                )
                if answer is not None and answer.status_code < 500:
                    break
                pause = next(pauses, CATCH_UP_RETRY_MS[-1])
                time.sleep(pause / 1000 * (1 + random.random() / 2))
            if answer.status_code != 200:
                return
            feed = answer.json()
            for activity in feed["items"]:
                self.resume.read(activity["event_id"])
                if activity["event_id"] not in self.client_state["socket"]:
                    self.client_state["caught_up"].append(activity["event_id"])
                    self.raise_soon(live_names(activity))
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
        if self.group_id in activity.get("audience", [activity["workspace_id"]]):
            self.resume.hear(activity["event_id"])
        at = datetime.fromisoformat(activity["at"].replace("Z", "+00:00")).timestamp()
        self.crowd.deliveries.append((now, now - at))
        self.raise_soon(live_names(activity))

    def raise_soon(self, names: set[str]) -> None:
        self.pending |= names
        if self.flush is None:
            self.flush = threading.Timer(self.window, self.refresh)
            self.flush.start()

    def refresh(self) -> None:
        """One htmx fetch per block of the current page that listens to an event
        raised in the window."""
        self.flush = None
        raised, self.pending = self.pending, set()
        for block_id, path, names, headers in list(self.blocks):
            if names & raised:
                self.call(
                    f"live refresh {block_id}",
                    "GET",
                    path,
                    headers={"HX-Request": "true", "HX-Target": block_id, **headers},
                )

    # --- pages --------------------------------------------------------------------

    def page(self, name: str, path: str) -> int:
        """A page: its live blocks become the ones that refresh; returns the event id
        it was rendered at."""
        answer = self.call(name, "GET", path)
        if answer is None or answer.status_code != 200:
            return 0
        self.blocks = live_blocks(answer.text)
        found = re.search(r'name="portal-live" content="(\d*)"', answer.text)
        return int(found.group(1) or 0) if found else 0

    def on_stop(self) -> None:
        """Leave without waiting on the connection's reader: one stuck on a server
        that stopped answering held the end of a run for good."""
        self.leaving = True
        connection = getattr(self, "connection", None)
        if connection is not None:
            abandon(connection.sio)

    @task(sum(MIX[name] for name in PAGES))
    def read(self) -> None:
        """One of the pages a member reads, as often as MIX says."""
        name = random.choices(list(PAGES), weights=[MIX[name] for name in PAGES])[0]
        path = PAGES[name].format(
            group=self.group_id,
            memo=random.choice(self.group_items["memo"]),
            meeting=random.choice(self.group_items["meeting"]),
            words=random.choice(SEARCH_WORDS),
        )
        self.page(name, path)

    @task(MIX["document download"])
    def download(self) -> None:
        document = random.choice(self.group_items["document"])
        self.call("document download", "GET", f"/api/v1/documents/{document}/download")

    @task(MIX["memo edit"])
    def memo_edit(self) -> None:
        memo = random.choice(self.group_items["memo"])
        self.page("memo edit form", f"/memos/{memo}/edit")
        body = f"## Note\n\nRevised by member {self.me['id']} at {time.time():.0f}.\n" * 20
        self.save("memo edit", f"/api/v1/memos/{memo}", {"body": body})
        self.page("memo page", f"/memos/{memo}")

    @task(MIX["task edit"])
    def task_edit(self) -> None:
        chosen = random.choice(self.group_items["task"])
        status = random.choice(["todo", "doing", "done"])
        self.save("task edit", f"/api/v1/tasks/{chosen}", {"status": status})

    def save(self, name: str, path: str, change: dict[str, Any]) -> None:
        """A change saved as a client does: if someone saved the same item at the same
        moment (409), read it again and save once more."""
        answer = self.write(name, "PATCH", path, json=change, answers=frozenset({409}))
        if answer is not None and answer.status_code == 409:
            self.call(f"{name} conflict, read again", "GET", path)
            self.write(name, "PATCH", path, json=change)

    @task(MIX["document upload"])
    def upload(self) -> None:
        size = random.randint(1, 20) * 2**20
        answer = self.write(
            "document upload",
            "POST",
            f"/api/v1/workspaces/{self.group_id}/documents",
            params={"title": f"Upload by member {self.me['id']}"},
            data=self.crowd.blob[:size],
            headers={"X-Filename": "annex.bin", "Content-Type": "application/octet-stream"},
        )
        if answer is not None and answer.status_code == 201:
            self.group_items["document"].append(answer.json()["id"])


class Visitor(User):
    """Someone of the public searching the published work."""

    abstract = True
    weight = 1
    crowd: Run

    def on_start(self) -> None:
        number = self.crowd.counters["visitor"]
        self.crowd.counters["visitor"] += 1
        self.session = browser_at(visitor_address(number))

    @task(4)
    def public_search(self) -> None:
        self.crowd.call(
            self.session,
            "public search",
            "GET",
            "/search",
            params={"q": random.choice(SEARCH_WORDS)},
        )

    @task(1)
    def home(self) -> None:
        self.crowd.call(self.session, "public home", "GET", "/")


def people(run: Run) -> list[type[User]]:
    """The locust user classes of one run, paced by its think time."""
    pace = between(run.config["think_min"], run.config["think_max"])
    return [
        type(kind.__name__, (kind,), {"abstract": False, "crowd": run, "wait_time": pace})
        for kind in (Member, Visitor)
    ]
