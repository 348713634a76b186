"""Rate limits keep limiting while their Redis is down, and go back to it when it returns.

The limiter points at a `redis-server` of its own, which the test stops and starts
again: the counters fall back to this process's memory meanwhile.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask

from portal import create_app
from portal.extensions import limiter
from portal.search.indexer import search_index

from .conftest import TEST_SETTINGS, missing_service
from .factories import make_user
from .servers import free_port


class RedisServer:
    """A throwaway `redis-server` on a free loopback port, without persistence."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        self.process = subprocess.Popen(
            [*command, "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def counters(self) -> list[bytes]:
        return redis.Redis.from_url(self.url).keys("LIMITS:*")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        missing_service("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def limited_app(app: Flask, tmp_path: Path, redis_server: RedisServer) -> Iterator[Flask]:
    """An app whose limiter counts in `redis_server`: 3 failed sign-ins, 3 searches."""
    settings = {
        **TEST_SETTINGS,
        "INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "RATELIMIT_STORAGE_URL": redis_server.url,
        "LOGIN_RATE_LIMIT": "3/minute",
        "PUBLIC_RATE_LIMIT": "3/minute",
    }
    limited = create_app(settings)
    search_index(limited).create_if_missing(cursor=0)
    try:
        yield limited
    finally:
        limiter.init_app(app)  # the limiter is process-wide: give it back to the test app


def test_limits_hold_while_redis_is_down_and_return_to_it(limited_app, redis_server):
    with limited_app.app_context():
        email = make_user(password="the right password").email
    client = limited_app.test_client()
    wrong = {"email": email, "password": "nope"}

    def sign_in(address: str = "10.0.0.1") -> int:
        return client.post(
            "/api/v1/auth/login", json=wrong, environ_base={"REMOTE_ADDR": address}
        ).status_code

    def search(address: str = "10.0.0.1", path: str = "/api/v1/public/search") -> int:
        return client.get(path + "?q=port", environ_base={"REMOTE_ADDR": address}).status_code

    assert sign_in() == 401
    assert any(b"login-account" in key for key in redis_server.counters())

    redis_server.stop()
    attempts = [client.post("/api/v1/auth/login", json=wrong) for _ in range(4)]
    searches = [search() for _ in range(4)]
    pages = [search(path="/search") for _ in range(4)]

    assert [r.status_code for r in attempts] == [401, 401, 401, 429]
    assert attempts[-1].get_json()["error"]["code"] == "rate_limited"
    assert int(attempts[-1].headers["Retry-After"]) > 0
    assert searches == pages == [200, 200, 200, 429]

    redis_server.start()  # empty, on the same port
    deadline = time.monotonic() + 90  # Flask-Limiter retries the storage after 1, 2, 4 ... 32 s
    n = 0
    while not redis_server.counters():
        assert time.monotonic() < deadline, "the limiter never went back to Redis"
        n += 1
        assert search(f"10.1.0.{n % 250}") == 200
        time.sleep(0.5)
    assert sign_in("10.2.0.1") == 401
    assert any(b"login-account" in key for key in redis_server.counters())
