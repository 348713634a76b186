"""Work going on while a component fails, and the check that nothing committed was lost.

A `Workload` seeds one working group with members, writes to it from a thread
through nginx (memos and tasks; documents when asked), keeping every request's
status and the ids it created, and holds live listeners: python-socketio clients
through nginx with a member's session cookie and a route cookie that pins them to
one web host, catching up from the activity feed each time they (re)connect, as
portal/static/js/live.js does.

`check()` afterwards: every id whose write was answered 2xx reads back,
`portal storage-check` and `portal reindex --check` are clean on each host, and
every listener holds exactly the group's events in the database.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
import socketio

from .conftest import sign_in
from .resume import ResumePoint
from .topology import Host, Rehearsal

PASSWORD = "workload-password-1"
TIMEOUT = 10
# live.js's pauses before it tries a failed catch-up again (1, 3, 10, 30, 60 s, then 60 s
# until answered), shortened; a listener gives up after the last, and the test that
# finds it lacking events prints its failed catch-ups.
CATCH_UP_RETRY_SECONDS = (0.5, 1, 2, 4, 8)

_groups = itertools.count(1)


@dataclass
class Outcome:
    """One request of the workload: when it was answered, and how."""

    at: float
    method: str
    path: str
    status: int  # 0: no answer at all (connection refused or reset)
    created: int | None = None


def pin(session: requests.Session, rehearsal: Rehearsal, host: Host) -> None:
    """Give the browser a route cookie that nginx's consistent hash sends to `host`:
    try random routes, seeing where each lands by a request to a unique path."""
    target = f"127.0.0.1:{host.serve.port}"
    for _ in range(64):
        route = secrets.token_hex(16)
        session.cookies.set("portal_route", route, path="/")
        probe = f"/api/v1/route-probe-{route}"
        session.get(rehearsal.url + probe, timeout=TIMEOUT)
        if upstream_of(rehearsal, probe) == target:
            return
    raise AssertionError(f"no route cookie reached {host.name}")


def upstream_of(rehearsal: Rehearsal, path: str) -> str:
    """The upstream nginx logged for the one request to `path` (it writes the line just
    after the answer, so wait a little for it)."""
    log = rehearsal.nginx.folder / "access.log"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for line in reversed(log.read_text().splitlines()):
            if f" {path} " in line:
                return line.split()[-2]
        time.sleep(0.05)
    raise AssertionError(f"nginx logged no request to {path}")


def member_session(rehearsal: Rehearsal, email: str, host: Host | None = None) -> requests.Session:
    """A member signed in through nginx, pinned to `host` if given, with its CSRF header."""
    session = requests.Session()
    if host is not None:
        pin(session, rehearsal, host)
    answer = session.post(
        rehearsal.url + "/api/v1/auth/login",
        json={"email": email, "password": PASSWORD},
        timeout=TIMEOUT,
    )
    answer.raise_for_status()
    token = session.get(rehearsal.url + "/api/v1/auth/csrf", timeout=TIMEOUT).json()
    session.headers["X-CSRF-Token"] = token["csrf_token"]
    return session


class Listener:
    """A live client of one member, pinned to a host by its route cookie; it keeps every
    activity event of the group it receives, live or from the feed on (re)connecting."""

    def __init__(self, rehearsal: Rehearsal, session: requests.Session, workspace_id: int):
        self.rehearsal = rehearsal
        self.session = session
        self.workspace_id = workspace_id
        self.received: list[int] = []  # every event id, in order, duplicates included
        self.live: list[tuple[float, int]] = []  # (when, event id) of those that came live
        self.connects: list[float] = []
        self.disconnects: list[float] = []
        self.catch_up_failures: list[str] = []  # when and why a catch-up failed
        self.resume = ResumePoint()  # where a catch-up starts
        self.lock = threading.Lock()
        self.client = socketio.Client(
            reconnection=True,
            reconnection_delay=0.1,
            reconnection_delay_max=1,
            randomization_factor=0,
        )
        self.client.on("connect", self._on_connect)
        self.client.on("disconnect", self._on_disconnect)
        self.client.on("activity", self._on_activity)

    def connect(self) -> Listener:
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.session.cookies)
        self.client.connect(
            self.rehearsal.url,
            headers={"Cookie": cookies},
            transports=["websocket"],
            wait_timeout=TIMEOUT,
        )
        return self

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.disconnect()

    @property
    def cursor(self) -> int:
        with self.lock:
            return max(self.received, default=0)

    @property
    def distinct(self) -> set[int]:
        with self.lock:
            return set(self.received)

    @property
    def duplicates(self) -> int:
        with self.lock:
            return len(self.received) - len(set(self.received))

    def _on_connect(self) -> None:
        self.connects.append(time.monotonic())
        # The handler runs on the client's own thread: catch up beside it.
        after = self.resume.catch_up_started()
        threading.Thread(target=self._catch_up_quietly, args=(after,), daemon=True).start()

    def _on_disconnect(self, *reason: Any) -> None:
        self.disconnects.append(time.monotonic())
        self.resume.connection_ended()

    def _on_activity(self, activity: dict[str, Any]) -> None:
        if activity.get("workspace_id") == self.workspace_id:
            with self.lock:
                self.received.append(activity["event_id"])
                self.live.append((time.monotonic(), activity["event_id"]))
            self.resume.hear(activity["event_id"])

    def _catch_up_quietly(self, after: int) -> None:
        """As live.js does: a catch-up the portal could not answer (a network error, a
        5xx) is tried again after a pause; a 4xx is an answer."""
        try:
            for pause in (*CATCH_UP_RETRY_SECONDS, None):
                try:
                    self.catch_up(after)
                    return
                except (requests.RequestException, ValueError) as error:
                    status = getattr(getattr(error, "response", None), "status_code", None)
                    self.catch_up_failures.append(f"{time.monotonic():.2f}: {error}")
                    if pause is None or (status is not None and status < 500):
                        return
                time.sleep(pause)
        finally:
            self.resume.catch_up_ended()

    def catch_up(self, after: int | None = None) -> None:
        """What the feed holds after `after`, by default the last event seen."""
        after = self.cursor if after is None else after
        while True:
            answer = self.session.get(
                f"{self.rehearsal.url}/api/v1/workspaces/{self.workspace_id}/activity",
                params={"after": after, "per_page": 100},
                timeout=TIMEOUT,
            )
            answer.raise_for_status()
            page = answer.json()
            with self.lock:
                self.received.extend(item["event_id"] for item in page["items"])
            for item in page["items"]:
                self.resume.read(item["event_id"])
            if not page["has_more"] or page["next_after"] <= after:
                return
            after = page["next_after"]

    def first_live_after(self, event_id: int) -> float | None:
        """When the first event newer than `event_id` arrived live, if one did."""
        with self.lock:
            return next((at for at, number in self.live if number > event_id), None)

    def reconnected_after(self, moment: float) -> float | None:
        """Seconds from `moment` to the first connection after it, if any."""
        later = [at for at in self.connects if at > moment]
        return later[0] - moment if later else None


class Workload:
    """One working group, its members, a writer thread and live listeners."""

    def __init__(self, rehearsal: Rehearsal, members: int = 2) -> None:
        self.rehearsal = rehearsal
        self.admin = sign_in(rehearsal)
        self.admin.headers["X-CSRF-Token"] = self.admin.get(
            rehearsal.url + "/api/v1/auth/csrf", timeout=TIMEOUT
        ).json()["csrf_token"]
        number = next(_groups)
        tag = secrets.token_hex(3)
        self.workspace_id = self._created(
            "/api/v1/workspaces", {"name": f"Fault drill {number} {tag}"}
        )
        self.emails = []
        for index in range(members):
            email = f"drill{number}-{tag}-{index}@example.org"
            user_id = self._created(
                "/api/v1/users",
                {"email": email, "name": f"Drill member {index}", "password": PASSWORD},
            )
            answer = self.admin.put(
                f"{rehearsal.url}/api/v1/workspaces/{self.workspace_id}/members/{user_id}",
                json={"role": "coordinator" if index == 0 else "member"},
                timeout=TIMEOUT,
            )
            answer.raise_for_status()
            self.emails.append(email)
        self.outcomes: list[Outcome] = []
        self.listeners: list[Listener] = []
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.uploads = False
        self.pace = 0.1

    def _created(self, path: str, body: dict[str, Any]) -> int:
        answer = self.admin.post(self.rehearsal.url + path, json=body, timeout=TIMEOUT)
        answer.raise_for_status()
        return int(answer.json()["id"])

    # --- clients --------------------------------------------------------------------

    def member(self, index: int = 0, host: Host | None = None) -> requests.Session:
        return member_session(self.rehearsal, self.emails[index], host)

    def listen(self, host: Host, index: int = 1) -> Listener:
        listener = Listener(self.rehearsal, self.member(index, host), self.workspace_id)
        self.listeners.append(listener.connect())
        return listener

    # --- writing ---------------------------------------------------------------------

    def start(self, host: Host | None = None, uploads: bool = False) -> Workload:
        """Write from a thread, through nginx, as member 0 (pinned to `host` if given)."""
        self.uploads = uploads
        writer = self.member(0, host)
        self.stopping.clear()
        self.thread = threading.Thread(target=self._write, args=(writer,), daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(3 * TIMEOUT)
            self.thread = None

    def _write(self, session: requests.Session) -> None:
        for round_number in itertools.count():
            if self.stopping.is_set():
                return
            self.write_once(session, round_number)
            self.stopping.wait(self.pace)

    def write_once(self, session: requests.Session, round_number: int = 0) -> list[Outcome]:
        """One round: a memo, an edit of the last memo written, a task (and a document
        and its download when uploads are on)."""
        base = f"/api/v1/workspaces/{self.workspace_id}"
        done = [
            self.request(session, "POST", f"{base}/memos",
                         json={"title": f"Memo {round_number}", "body": "Minutes."}),
        ]  # fmt: skip
        memo = self.last_created("/memos")
        if memo is not None:
            done.append(
                self.request(session, "PATCH", f"/api/v1/memos/{memo}",
                             json={"title": f"Memo {memo} edited in round {round_number}"})
            )  # fmt: skip
        done.append(self.request(session, "POST", f"{base}/tasks", json={"title": "A task"}))
        if self.uploads:
            done.append(
                self.request(
                    session, "POST", f"{base}/documents",
                    data=secrets.token_bytes(20_000),
                    headers={"Content-Type": "application/octet-stream",
                             "X-Filename": f"drill-{round_number}.bin"},
                )
            )  # fmt: skip
            document = self.last_created("/documents")
            if document is not None:
                done.append(self.request(session, "GET", f"/api/v1/documents/{document}/download"))
        return done

    def request(self, session: requests.Session, method: str, path: str, **options: Any) -> Outcome:
        try:
            answer = session.request(method, self.rehearsal.url + path, timeout=TIMEOUT, **options)
            status = answer.status_code
            created = answer.json().get("id") if method == "POST" and status == 201 else None
        except requests.RequestException:
            status, created = 0, None
        outcome = Outcome(time.monotonic(), method, path, status, created)
        self.outcomes.append(outcome)
        return outcome

    def last_created(self, suffix: str) -> int | None:
        for outcome in reversed(self.outcomes):
            if outcome.created is not None and outcome.path.endswith(suffix):
                return outcome.created
        return None

    def between(self, start: float, end: float = float("inf")) -> list[Outcome]:
        return [o for o in self.outcomes if start <= o.at < end]

    def first_success_after(self, moment: float, method: str = "POST") -> float | None:
        for outcome in self.outcomes:
            if outcome.at > moment and outcome.method == method and 200 <= outcome.status < 300:
                return outcome.at - moment
        return None

    def wait_for_writes(self, count: int, after: float, timeout: float = 30) -> None:
        """Until `count` writes answered 2xx after `after`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = [o for o in self.between(after) if o.method != "GET" and o.status // 100 == 2]
            if len(done) >= count:
                return
            time.sleep(0.1)
        raise AssertionError(f"fewer than {count} writes succeeded in {timeout} s")

    # --- the data check --------------------------------------------------------------

    def database_events(self) -> set[int]:
        rows = self.rehearsal.postgres.psql(
            f"SELECT id FROM events WHERE workspace_id = {self.workspace_id}", database="portal"
        )
        return {int(line) for line in rows.split()}

    def reads_back(self, collection_path: str, item_id: int) -> bool:
        """Whether an item created by a POST to `collection_path` reads back."""
        kind = collection_path.rsplit("/", 1)[-1]  # memos, tasks, documents
        answer = self.admin.get(f"{self.rehearsal.url}/api/v1/{kind}/{item_id}", timeout=TIMEOUT)
        return answer.status_code == 200

    def check(self) -> dict[str, Any]:
        """Nothing committed is missing; returns the figures (and asserts on each)."""
        self.stop()
        unread = [
            (o.path, o.created)
            for o in self.outcomes
            if o.created is not None and not self.reads_back(o.path, o.created)
        ]
        assert not unread, f"written (2xx) but not read back: {unread}"
        storage = self.rehearsal.flask("storage-check", "--grace-minutes", "0", check=False)
        assert storage.returncode == 0, storage.stdout + storage.stderr
        for host in self.rehearsal.hosts:
            wait_for_clean_index(self.rehearsal, host)
        figures: dict[str, Any] = {
            "written": sum(1 for o in self.outcomes if o.created is not None),
            "storage_check": storage.stdout.strip().splitlines()[-1],
        }
        events = self.database_events()
        time.sleep(1)  # the last events' live messages
        for number, listener in enumerate(self.listeners):
            missing = sorted(events - listener.distinct)
            assert not missing, (
                f"listener {number} lacks events {missing} of {len(events)}; catch-ups "
                f"failed: {listener.catch_up_failures}; connected at {listener.connects}, "
                f"disconnected at {listener.disconnects}; received {listener.received}, "
                f"live {listener.live}"
            )
            assert listener.distinct <= events, "a listener received another group's events"
            figures[f"listener{number}"] = {
                "events": len(events),
                "duplicates": listener.duplicates,
            }
            listener.close()
        return figures


def wait_for_clean_index(rehearsal: Rehearsal, host: Host, timeout: float = 60) -> None:
    """`portal reindex --check` clean on `host` (its indexer may still be catching up)."""
    deadline = time.monotonic() + timeout
    while True:
        result = rehearsal.flask("reindex", "--check", host=host, check=False)
        if result.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{host.name}'s index is not clean:\n{result.stdout}")
        time.sleep(1)


logging.getLogger("socketio.client").setLevel(logging.CRITICAL)
logging.getLogger("engineio.client").setLevel(logging.CRITICAL)
