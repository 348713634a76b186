"""Two `portal serve` processes joined by Redis, with real python-socketio clients.

A change made through the HTTP API of one process reaches the clients of the
other, and not a non-member's; room changes (a member removed, a user
deactivated) made in one process apply to the connections of the other; and
with Redis gone, HTTP still works and the change stands.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlparse

import pytest
import redis
import socketio
from flask import Flask

from portal.realtime.manager import channel_for

from ..conftest import service_url
from ..servers import PortalServer, free_port


class Server(PortalServer):
    """A `portal serve` on the tests' database, joined to the others by Redis."""

    def __init__(self, app: Flask, redis_url: str, folder: Path) -> None:
        super().__init__(
            folder, app.config["SQLALCHEMY_DATABASE_URI"], env={"PORTAL_REDIS_URL": redis_url}
        )


class Client:
    """A real python-socketio client over WebSocket, keeping what it receives."""

    def __init__(self, server: Server, token: str) -> None:
        self.sio = socketio.Client(reconnection=False)
        self.messages: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.sio.on("activity", lambda data: self.messages.put(("activity", data)))
        self.sio.on("presence", lambda data: self.messages.put(("presence", data)))
        self.sio.on("disconnect", lambda *args: self.messages.put(("disconnect", None)))
        self.sio.connect(
            server.url, auth={"token": token}, transports=["websocket"], wait_timeout=10
        )

    def next(self, name: str, timeout: float = 5, predicate: Any = None) -> Any:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                event, data = self.messages.get(timeout=left)
            except queue.Empty:
                break
            if event == name and (predicate is None or predicate(data)):
                return data
        raise AssertionError(f"no {name} within {timeout} s")

    def activity_verbs(self, wait: float = 1.0) -> list[str]:
        time.sleep(wait)
        verbs = []
        while not self.messages.empty():
            event, data = self.messages.get_nowait()
            if event == "activity":
                verbs.append(data["verb"])
        return verbs

    def close(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()


@pytest.fixture
def redis_url() -> Iterator[str]:
    url = service_url("PORTAL_TEST_REDIS_URL")
    connection = redis.Redis.from_url(url)
    for key in connection.scan_iter("portal:presence:*"):
        connection.delete(key)
    yield url


@pytest.fixture
def servers(app: Flask, world: SimpleNamespace, redis_url: str, tmp_path: Path) -> Iterator[Any]:
    started = [Server(app, redis_url, tmp_path / name) for name in ("a", "b")]
    try:
        for server in started:
            server.wait_ready()
        yield started
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def clients() -> Iterator[Any]:
    opened: list[Client] = []

    def make(server: Server, token: str) -> Client:
        client = Client(server, token)
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()


def test_a_change_in_one_process_reaches_the_clients_of_the_other(
    world: SimpleNamespace, servers: Any, clients: Any, token_of: Any
) -> None:
    a, b = servers
    member_on_b = clients(b, token_of(world.member)[1])
    observer_on_a = clients(a, token_of(world.observer)[1])
    bystander_on_b = clients(b, token_of(world.bystander)[1])
    outsider_on_b = clients(b, token_of(world.outsider)[1])
    secretariat = token_of(world.secretariat)[1]

    response = a.api("PATCH", f"/workspaces/{world.ws_id}", secretariat, json={"name": "Renamed"})
    assert response.status_code == 200
    for client in (member_on_b, observer_on_a):
        payload = client.next("activity")
        assert (payload["verb"], payload["workspace_id"]) == ("workspace.updated", world.ws_id)
    assert bystander_on_b.activity_verbs() == []
    assert outsider_on_b.activity_verbs(wait=0) == []


class SlowRedis:
    """A TCP relay to Redis that holds each new connection for `delay` seconds before it
    passes anything, as a loaded Redis host answers late."""

    def __init__(self, url: str, delay: float) -> None:
        parsed = urlparse(url)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 6379)
        self.delay = delay
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = parsed._replace(netloc=f"127.0.0.1:{self.server.getsockname()[1]}").geturl()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self.server.accept()
                threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        time.sleep(self.delay)
        upstream = socket.create_connection(self.upstream)
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pump, args=(source, sink), daemon=True).start()

    def close(self) -> None:
        self.server.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def test_a_process_accepts_its_first_client_once_it_hears_the_others(
    app: Flask, world: SimpleNamespace, redis_url: str, tmp_path: Path, clients: Any,
    token_of: Any
) -> None:  # fmt: skip
    """python-socketio subscribes a process to Redis when its first client arrives (a
    process restarted after a deploy or a crash). Were that client accepted before
    Redis confirmed the subscription, a change another process publishes in between,
    after the client's catch-up read the feed, would reach it neither way."""
    slow = SlowRedis(redis_url, delay=0.7)
    restarted = Server(app, slow.url, tmp_path / "restarted")
    channel = channel_for(redis_url).encode()
    subscribers = lambda: dict(redis.Redis.from_url(redis_url).pubsub_numsub(channel))[channel]
    try:
        restarted.wait_ready()
        before = subscribers()
        clients(restarted, token_of(world.member)[1])
        assert subscribers() == before + 1
    finally:
        restarted.stop()
        slow.close()


def test_room_changes_in_one_process_apply_in_the_other(
    world: SimpleNamespace, servers: Any, clients: Any, token_of: Any
) -> None:
    a, b = servers
    coordinator = token_of(world.coordinator)[1]
    secretariat = token_of(world.secretariat)[1]
    observer_on_b = clients(b, token_of(world.observer)[1])
    bystander_on_b = clients(b, token_of(world.bystander)[1])
    member_on_b = clients(b, token_of(world.member)[1])

    members = f"/workspaces/{world.ws_id}/members"
    assert a.api("DELETE", f"{members}/{world.observer.id}", coordinator).status_code == 200
    assert a.api("PUT", f"{members}/{world.bystander.id}", coordinator, json={"role": "member"}).ok
    assert a.api("PATCH", f"/users/{world.member.id}", secretariat, json={"active": False}).ok
    assert a.api("PATCH", f"/workspaces/{world.ws_id}", secretariat, json={"name": "Later"}).ok

    assert member_on_b.next("disconnect") is None
    assert bystander_on_b.next("activity")["verb"] == "member.added"
    assert bystander_on_b.next("activity")["verb"] == "workspace.updated"
    assert observer_on_b.activity_verbs() == []


def test_presence_spans_processes(
    world: SimpleNamespace, servers: Any, clients: Any, token_of: Any
) -> None:
    a, b = servers
    online = lambda data: {user["id"] for user in data["users"]}
    coordinator_on_a = clients(a, token_of(world.coordinator)[1])
    coordinator_on_a.next("presence", predicate=lambda p: online(p) == {world.coordinator.id})
    member_token = token_of(world.member)[1]
    tabs = [clients(b, member_token), clients(a, member_token)]
    joined = coordinator_on_a.next("presence", predicate=lambda p: world.member.id in online(p))
    assert joined["workspace_id"] == world.ws_id
    tabs[0].close()  # the tab on the other process still counts
    tabs[1].close()
    left = coordinator_on_a.next("presence", predicate=lambda p: world.member.id not in online(p))
    assert online(left) == {world.coordinator.id}


def test_without_redis_http_keeps_working(
    app: Flask, world: SimpleNamespace, tmp_path: Path, token_of: Any
) -> None:
    service_url("PORTAL_TEST_REDIS_URL")
    dead = f"redis://127.0.0.1:{free_port()}/14"
    server = Server(app, dead, tmp_path / "dead")
    try:
        server.wait_ready()
        secretariat = token_of(world.secretariat)[1]
        started = time.monotonic()
        response = server.api(
            "PATCH", f"/workspaces/{world.ws_id}", secretariat, json={"name": "Kept"}
        )
        assert response.status_code == 200
        assert time.monotonic() - started < 10
        assert server.api("GET", f"/workspaces/{world.ws_id}", secretariat).json()["name"] == "Kept"
    finally:
        server.stop()
