"""Socket.IO test clients signed in by session cookie or API token."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.extensions import socketio

from ..conftest import sign_in_session


class Socket:
    """A Flask-SocketIO test client that keeps what it received, by event name."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.seen: list[tuple[str, Any]] = []

    @property
    def connected(self) -> bool:
        return self.client.is_connected()

    def _drain(self) -> None:
        if self.client.is_connected() or self.client.queue:
            for message in self.client.queue[:]:
                self.client.queue.remove(message)
                self.seen.append((message["name"], message["args"][0]))

    def received(self, name: str) -> list[Any]:
        self._drain()
        return [payload for event, payload in self.seen if event == name]

    def wait_for(self, name: str, predicate: Any = None, timeout: float = 3.0) -> Any:
        """The first `name` message matching `predicate`, waiting for background emits."""
        deadline = time.monotonic() + timeout
        while True:
            for payload in self.received(name):
                if predicate is None or predicate(payload):
                    return payload
            if time.monotonic() > deadline:
                raise AssertionError(f"no {name} message matching; got {self.seen}")
            time.sleep(0.02)

    def clear(self) -> None:
        self._drain()
        self.seen.clear()

    @property
    def sid(self) -> str:
        return socketio.server.manager.sid_from_eio_sid(self.client.eio_sid, "/")

    def rooms(self) -> set[str]:
        sid = self.sid
        return {room for room in socketio.server.manager.get_rooms(sid, "/") if room != sid}


@pytest.fixture
def connect(app: Flask) -> Iterator[Any]:
    """`connect(user)` by session cookie, `connect(token="...")`, `connect(auth=...)`,
    or `connect(http=client)` with the session cookie of that Flask test client."""
    opened: list[Socket] = []

    def make(
        user: Any = None,
        *,
        token: str | None = None,
        auth: Any = None,
        http: FlaskClient | None = None,
    ) -> Socket:
        flask_client = http or app.test_client()
        if user is not None:
            sign_in_session(flask_client, user)
        if token is not None:
            auth = {"token": token}
        client = socketio.test_client(app, flask_test_client=flask_client, auth=auth)
        socket = Socket(client)
        opened.append(socket)
        return socket

    yield make
    for socket in opened:
        if socket.client.is_connected():
            socket.client.disconnect()
    # Presence announcements still due belong to this test: the next one reuses the ids.
    state = app.extensions["portal.realtime"]
    with state.lock:
        state._presence_due.clear()
    time.sleep(0.05)


@pytest.fixture
def token_of(app: Flask) -> Any:
    """`token_of(user)` -> (token id, plain token) made through the service."""
    from portal.accounts import service
    from portal.accounts.models import User
    from portal.extensions import db

    def make(user: Any) -> tuple[int, str]:
        with app.app_context():
            token, plain = service.create_token(db.session.get(User, user.id), "socket", 30)
            token_id = token.id
            db.session.remove()
            return token_id, plain

    return make
