"""The portal while a component is down, and after it returns.

Two `portal serve` processes run on a PostgreSQL, a Redis and an S3 server (SeaweedFS)
of their own, which the tests kill (as a crash) and start again. While the database or
the store is down the portal answers 503 `unavailable` with `Retry-After`; while Redis
is down it serves, degraded (live events stay within each process); when the component
returns, the next requests work with no restart, and no request is ever answered 500.
"""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests
import socketio
from flask_migrate import upgrade
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from portal import create_app
from portal.extensions import db
from portal.search.index import SearchIndex
from portal.search.indexer import search_index

from .conftest import TEST_SETTINGS, missing_service
from .documents.weed import WeedServer
from .rehearsal.services import Postgres, Redis, missing_binaries
from .servers import ROOT, PortalServer


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """Private PostgreSQL, Redis and S3; the network's people; two portal processes."""
    if missing := missing_binaries():
        missing_service("the fault tests need " + ", ".join(missing))
    folder = tmp_path_factory.mktemp("faults")
    postgres = Postgres(folder / "postgres").start()
    redis_server = Redis(folder / "redis").start()
    store = WeedServer(folder / "s3").start()
    servers: list[PortalServer] = []
    try:
        people = _prepare(folder / "setup", postgres.url)
        env = {
            "PORTAL_REDIS_URL": redis_server.url,
            "PORTAL_RATELIMIT_STORAGE_URL": redis_server.url,
            "PORTAL_STORAGE": "s3",
            "PORTAL_S3_ENDPOINT": store.endpoint,
            "PORTAL_S3_ACCESS_KEY": store.access_key,
            "PORTAL_S3_SECRET_KEY": store.secret_key,
            "PORTAL_S3_BUCKET": "portal-faults",
            "PORTAL_S3_SECURE": "false",
            "PORTAL_INDEXER": "external",
            "PORTAL_MAILER": "external",
        }
        for name in ("a", "b"):
            servers.append(PortalServer(folder / name, postgres.url, env=env, threads=16))
        for server in servers:
            server.wait_ready()
        yield SimpleNamespace(
            folder=folder,
            postgres=postgres,
            redis=redis_server,
            store=store,
            servers=servers,
            **people,
        )
    finally:
        for server in servers:
            server.stop()
        store.stop()
        redis_server.stop()
        postgres.stop()


def _prepare(instance: Path, database_url: str) -> dict[str, Any]:
    """The schema, a working group with its people, and their API tokens."""
    from portal.accounts import service
    from portal.accounts.models import User

    from .factories import make_world

    setup = create_app(
        {"INSTANCE_PATH": str(instance), "DATABASE_URL": database_url, **TEST_SETTINGS}
    )
    with setup.app_context():
        upgrade(directory=setup.extensions["migrate"].directory)
        search_index(setup).create_if_missing(cursor=0)
        world = make_world()
        token = lambda ref: service.create_token(db.session.get(User, ref.id), "faults", 30)[1]
        secretariat = db.session.get(User, world.secretariat.id)
        people = {
            "world": world,
            "secretariat": token(world.secretariat),
            "member": token(world.member),
            "observer": token(world.observer),
            "secretariat_email": secretariat.email,
        }
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return people


@pytest.fixture
def intact(site: SimpleNamespace) -> Iterator[SimpleNamespace]:
    """The site with every component running after the test, and no 500 in its logs."""
    marks = [server.log.stat().st_size for server in site.servers]
    yield site
    for component in (site.postgres, site.redis):
        if not component.running:
            component.start()
    if site.store.process is None:
        site.store.start()
    for server, mark in zip(site.servers, marks, strict=True):
        written = server.log.read_bytes()[mark:].decode(errors="replace")
        assert not re.search(r'HTTP/1\.[01]" 5(?!03)\d\d', written), written[-3000:]
        assert "Traceback" not in written, written[-3000:]


def api(server: PortalServer, method: str, path: str, token: str | None, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(
        method, server.url + "/api/v1" + path, headers=headers, timeout=30, **kwargs
    )


def assert_unavailable(response: Any) -> None:
    """A 503 `unavailable` envelope with `Retry-After` (a requests or a Flask response)."""
    assert response.status_code == 503, response.text[:300]
    body = response.json() if callable(response.json) else response.json
    assert body["error"]["code"] == "unavailable"
    assert int(response.headers["Retry-After"]) > 0


def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """The first truthy result of `check`, tried until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.25)


class LiveClient:
    """A real python-socketio client that reconnects, keeping what it receives, and
    its cursor as live.js keeps it: the newest event id received."""

    def __init__(self, server: PortalServer, token: str) -> None:
        self.sio = socketio.Client(reconnection_delay=0.5, reconnection_delay_max=2)
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.connects = 0
        self.received: set[int] = set()
        # The cursor at each connection: where live.js's catch-up starts.
        self.cursors_at_connect: list[int] = []
        self.sio.on("activity", self._activity)
        self.sio.on("connect", self._connected)
        self.sio.connect(
            server.url, auth={"token": token}, transports=["websocket"], wait_timeout=10
        )

    def _activity(self, data: Any) -> None:
        self.received.add(data["event_id"])
        self.events.put(("activity", data))

    def _connected(self) -> None:
        self.connects += 1
        self.cursors_at_connect.append(max(self.received, default=0))

    def activity(self, predicate: Callable[[Any], bool], timeout: float = 10) -> Any:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                name, data = self.events.get(timeout=left)
            except queue.Empty:
                break
            if name == "activity" and predicate(data):
                return data
        return None

    def close(self) -> None:
        self.sio.disconnect()


@pytest.fixture
def live() -> Iterator[Callable[[PortalServer, str], LiveClient]]:
    opened: list[LiveClient] = []

    def make(server: PortalServer, token: str) -> LiveClient:
        client = LiveClient(server, token)
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()


def renamed(data: Any) -> bool:
    return data["verb"] == "workspace.updated"


def rename(server: PortalServer, site: SimpleNamespace, name: str) -> requests.Response:
    return api(
        server, "PATCH", f"/workspaces/{site.world.ws_id}", site.secretariat, json={"name": name}
    )


# --- the database ---------------------------------------------------------------------


def test_database_down_answers_503_then_recovers(intact: SimpleNamespace) -> None:
    site = intact
    a, b = site.servers
    workspace = f"/workspaces/{site.world.ws_id}"
    assert rename(a, site, "Before the outage").status_code == 200

    site.postgres.kill()
    for server in (a, b):
        assert_unavailable(api(server, "GET", "/health", None))
        assert_unavailable(api(server, "GET", workspace, site.member))
        assert_unavailable(rename(server, site, "During the outage"))
        page = requests.get(server.url + "/", headers={"Accept-Language": "es"}, timeout=30)
        assert page.status_code == 503
        assert page.headers["Content-Type"].startswith("text/html")
        assert "Retry-After" in page.headers
        assert "El portal no está disponible" in page.text  # the page, in the visitor's language
    refusals: list[Any] = []
    refused = socketio.Client(reconnection=False)
    refused.on("connect_error", refusals.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        refused.connect(a.url, auth={"token": site.member}, transports=["websocket"])
    assert refusals == [{"message": "unavailable"}]

    site.postgres.start()
    for server in (a, b):
        assert api(server, "GET", "/health", None).json() == {"status": "ok", "redis": "ok"}
        assert api(server, "GET", workspace, site.member).json()["name"] == "Before the outage"
    assert rename(b, site, "After the outage").status_code == 200
    assert api(a, "GET", workspace, site.member).json()["name"] == "After the outage"


def test_a_connection_lost_after_the_answer_is_made_is_not_a_500(
    intact: SimpleNamespace,
) -> None:
    """The database dies after the view answered, while the request's session still
    holds its connection: ending the session fails, the answer stands."""
    site = intact
    app = create_app(
        {
            "INSTANCE_PATH": str(site.folder / "setup"),
            "DATABASE_URL": site.postgres.url,
            **TEST_SETTINGS,
        }
    )

    @app.get("/probe")
    def probe() -> str:
        db.session.execute(text("SELECT 1"))
        site.postgres.kill()
        return "answered"

    response = app.test_client().get("/probe")
    assert (response.status_code, response.get_data(as_text=True)) == (200, "answered")
    site.postgres.start()
    with app.app_context():
        assert db.session.execute(text("SELECT 1")).scalar() == 1
        db.engine.dispose()


def test_live_connection_refused_while_the_database_is_down_is_retried() -> None:
    """live.js tries a connection refused as `unavailable` again after a few seconds."""
    script = (ROOT / "portal/static/js/live.js").read_text()
    assert 'error.message === "unavailable"' in script
    assert "socket.connect()" in script


@pytest.mark.parametrize(
    "failure",
    [
        PoolTimeout("QueuePool limit of size 10 overflow 20 reached"),
        DBAPIError("SELECT 1", None, Exception("server closed"), connection_invalidated=True),
        OperationalError("SELECT 1", None, Exception("terminating connection")),
    ],
    ids=["pool-exhausted", "connection-invalidated", "operational"],
)
def test_database_failures_that_are_outages_answer_503(
    app: Any, world: SimpleNamespace, as_user: Any, monkeypatch: Any, failure: Exception
) -> None:
    """Every pooled connection busy under load, or one lost mid-request: 503, not 500."""
    client = as_user(world.member)

    def fail(*args: Any, **kwargs: Any) -> None:
        raise failure

    monkeypatch.setattr(Session, "execute", fail)
    assert_unavailable(client.get(f"/workspaces/{world.ws_id}"))
    page = client.client.get("/work", headers={"Accept-Language": "en"})
    assert page.status_code == 503
    assert "The portal is temporarily unavailable" in page.get_data(as_text=True)


def test_a_failing_statement_is_not_an_outage(
    world: SimpleNamespace, as_user: Any, monkeypatch: Any
) -> None:
    client = as_user(world.member)

    def fail(*args: Any, **kwargs: Any) -> None:
        raise ProgrammingError("SELECT nonsense", None, Exception("syntax error"))

    monkeypatch.setattr(Session, "execute", fail)
    response = client.get(f"/workspaces/{world.ws_id}")
    assert response.status_code == 500
    assert response.json["error"]["code"] == "internal"


# --- Redis ------------------------------------------------------------------------------


def test_redis_down_degrades_then_cross_process_events_resume(
    intact: SimpleNamespace, live: Any
) -> None:
    site = intact
    a, b = site.servers
    member_on_a = live(a, site.member)
    observer_on_b = live(b, site.observer)
    assert rename(a, site, "Both hear it").status_code == 200
    assert observer_on_b.activity(renamed)
    assert member_on_a.activity(renamed)

    site.redis.kill()
    for server in (a, b):
        started = time.monotonic()
        health = api(server, "GET", "/health", None)
        assert health.status_code == 200
        assert health.json() == {"status": "degraded", "redis": "unavailable"}
        assert time.monotonic() - started < 5
    started = time.monotonic()
    response = rename(a, site, "While Redis is down")
    assert response.status_code == 200
    assert time.monotonic() - started < 5
    # The change reaches the clients of the process that made it.
    assert member_on_a.activity(renamed)
    missed = response.json()["name"]
    # Signing in counts attempts in memory meanwhile.
    started = time.monotonic()
    signed_in = requests.post(
        b.url + "/api/v1/auth/login",
        json={"email": site.secretariat_email, "password": "not the password"},
        timeout=30,
    )
    assert signed_in.status_code == 401
    assert time.monotonic() - started < 5

    site.redis.start()
    assert eventually(lambda: api(b, "GET", "/health", None).json().get("redis") == "ok")
    # The clients of each process reconnect (and would catch up from the feed)...
    assert eventually(lambda: observer_on_b.connects >= 2 and observer_on_b.sio.connected)
    feed = api(b, "GET", f"/workspaces/{site.world.ws_id}/activity", site.observer).json()
    assert any(entry["verb"] == "workspace.updated" for entry in feed["items"]), missed
    # ...and events cross processes again.
    assert eventually(lambda: member_on_a.connects >= 2 and member_on_a.sio.connected)
    assert rename(a, site, "Redis is back").status_code == 200
    assert observer_on_b.activity(lambda data: data["verb"] == "workspace.updated")


def test_events_missed_during_a_redis_outage_reach_a_client_whose_cursor_moved_past_them(
    intact: SimpleNamespace, live: Any
) -> None:
    """A client receives its own process's events during the outage, so its cursor passes
    the other process's events it never received: the recovery replays them."""
    site = intact
    a, b = site.servers
    member_on_a = live(a, site.member)
    assert rename(b, site, "Heard across processes").status_code == 200
    before = member_on_a.activity(renamed)  # a's listener is subscribed
    assert before is not None

    site.redis.kill()
    assert eventually(lambda: api(a, "GET", "/health", None).json().get("redis") == "unavailable")
    from_b = rename(b, site, "Written on b, lost in Redis")
    assert from_b.status_code == 200
    from_a = rename(a, site, "Written on a, delivered at once")
    assert from_a.status_code == 200
    local = member_on_a.activity(renamed)
    assert local is not None
    feed = f"/workspaces/{site.world.ws_id}/activity?after={before['event_id']}"
    missed, delivered = (
        entry["event_id"] for entry in api(a, "GET", feed, site.member).json()["items"]
    )
    assert local["event_id"] == delivered > missed
    assert missed not in member_on_a.received

    site.redis.start()
    assert eventually(lambda: member_on_a.connects >= 2 and member_on_a.sio.connected, 60)
    # What the client knows: what it received, and its catch-up after its cursor.
    cursor = member_on_a.cursors_at_connect[1]
    caught_up = api(
        a, "GET", f"/workspaces/{site.world.ws_id}/activity?after={cursor}", site.member
    ).json()
    known = member_on_a.received | {entry["event_id"] for entry in caught_up["items"]}
    assert missed in known, (missed, cursor, sorted(member_on_a.received))


# --- the S3 store ----------------------------------------------------------------------


def upload(server: PortalServer, site: SimpleNamespace, content: bytes) -> requests.Response:
    return api(
        server,
        "POST",
        f"/workspaces/{site.world.ws_id}/documents",
        site.member,
        files={"file": ("minutes.txt", content, "text/plain")},
        data={"title": "Minutes"},
    )


def document_count(server: PortalServer, site: SimpleNamespace) -> int:
    listing = api(server, "GET", f"/workspaces/{site.world.ws_id}/documents", site.member)
    assert listing.status_code == 200, listing.text
    return listing.json()["total"]


def test_store_down_answers_503_for_files_then_recovers(intact: SimpleNamespace) -> None:
    site = intact
    a, b = site.servers
    kept = upload(a, site, b"kept before the outage")
    assert kept.status_code == 201, kept.text
    document_id = kept.json()["id"]
    before = document_count(a, site)

    site.store.kill()
    assert_unavailable(upload(a, site, b"written during the outage"))
    assert_unavailable(api(b, "GET", f"/documents/{document_id}/download", site.member))
    assert rename(b, site, "Work goes on").status_code == 200
    assert api(a, "GET", f"/documents/{document_id}", site.member).status_code == 200
    assert document_count(a, site) == before  # no document without its file

    site.store.start()
    download = api(b, "GET", f"/documents/{document_id}/download", site.member)
    assert download.status_code == 200
    assert download.content == b"kept before the outage"
    assert upload(a, site, b"written after the outage").status_code == 201
    assert document_count(b, site) == before + 1


# --- the background loops ---------------------------------------------------------------


def test_indexer_and_mailer_wait_for_the_database(intact: SimpleNamespace) -> None:
    """`portal indexer` and `portal mailer` log one line per failed turn, backing off, and
    carry on by themselves when the database returns."""
    site = intact
    environment = {
        "PYTHONPATH": str(ROOT),
        "PORTAL_INSTANCE_PATH": str(site.folder / "setup"),
        "PORTAL_DATABASE_URL": site.postgres.url,
        "PORTAL_SECRET_KEY": TEST_SETTINGS["SECRET_KEY"],
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
    }
    flask = str(Path(sys.executable).with_name("flask"))
    loops = {}
    for name in ("indexer", "mailer"):
        log = (site.folder / f"{name}.log").open("wb")
        loops[name] = (
            subprocess.Popen(
                [flask, "--app", "wsgi", "portal", name, "--interval", "0.2"],
                cwd=ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            ),
            site.folder / f"{name}.log",
        )
    index = SearchIndex(site.folder / "setup" / "index")
    try:
        eventually(lambda: index.cursor() > 0)
        site.postgres.kill()
        time.sleep(8)
        site.postgres.start()
        assert rename(site.servers[0], site, "Indexed after the outage").status_code == 200
        last = api(site.servers[0], "GET", f"/workspaces/{site.world.ws_id}/activity", site.member)
        newest = last.json()["items"][-1]["event_id"]
        assert eventually(lambda: index.cursor() >= newest)
    finally:
        for process, _ in loops.values():
            process.terminate()
            process.wait(10)
    for process, log in loops.values():
        text = log.read_text()
        failures = [line for line in text.splitlines() if "failed, retrying" in line]
        assert 1 <= len(failures) <= 8, text  # backing off: not one per 0.2 s turn
        assert "Traceback" not in text, text
        assert process.returncode is not None
