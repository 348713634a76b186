"""Real portal processes for tests that need one: `flask --app wsgi portal serve` on a
free loopback port (the realtime tests run two joined by Redis, the browser tests one)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from .conftest import TEST_SETTINGS

ROOT = Path(__file__).resolve().parents[1]


def wsgi_get(application: Any, path: str) -> bytes:
    """A GET of `path` straight through a WSGI application (no server), its body read."""
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "SERVER_NAME": "portal",
               "SERVER_PORT": "80", "wsgi.url_scheme": "http"}  # fmt: skip
    return b"".join(application(environ, lambda *a: None))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PortalServer:
    """`portal serve` with its instance in `folder`, its database at `database_url`,
    and `env` (PORTAL_* settings) on top of the test settings."""

    def __init__(
        self,
        folder: Path,
        database_url: str,
        *,
        env: dict[str, str] | None = None,
        threads: int = 40,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        folder.mkdir(parents=True, exist_ok=True)
        environment = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "PORTAL_INSTANCE_PATH": str(folder),
            "PORTAL_DATABASE_URL": database_url,
            "PORTAL_SECRET_KEY": TEST_SETTINGS["SECRET_KEY"],
            "PORTAL_RATELIMIT_STORAGE_URL": "memory://",
            **(env or {}),
        }
        self.log = folder / "server.log"
        flask = str(Path(sys.executable).with_name("flask"))
        command = [flask, "--app", "wsgi", "portal", "serve", "--port", str(self.port)]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*command, "--threads", str(threads)],
                cwd=ROOT,
                env=environment,
                stdout=log,
                stderr=log,
            )

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if requests.get(self.url + "/api/v1/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise AssertionError("server did not start:\n" + self.log.read_text()[-3000:])

    def api(self, method: str, path: str, token: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return requests.request(
            method, self.url + "/api/v1" + path, headers=headers, timeout=10, **kwargs
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
