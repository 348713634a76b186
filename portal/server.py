"""The production server behind `portal serve`: gunicorn, one worker, many threads.

One worker because Socket.IO needs every request of a client to reach the
process holding its connection (gunicorn has no sticky sessions); scale out
with several `portal serve` processes behind a sticky load balancer, joined by
Redis (see README).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from .logs import logging_config

# Settings that only newer gunicorn versions know.
OPTIONAL_SETTINGS = {"control_socket_disable"}

# gunicorn's default access line without the query string: it carries calendar feed
# tokens (`?token=`) and what visitors search for, neither of which belongs in a log.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'


# The path of Socket.IO's requests: a WebSocket, or a long poll, waits on its client,
# not on the processor, for as long as the connection lives.
SOCKET_IO_PATH = "/socket.io/"


class Admission:
    """At most `limit` requests at work in the process; the others wait their turn.

    gunicorn gives every accepted request a thread at once. Past what the processor
    can do, each one then runs slower under the interpreter lock while it holds a
    database connection, until the pool is exhausted and requests fail. Held here,
    before the application, a waiting request holds nothing but its thread, so an
    overload becomes a queue. Socket.IO's connections wait on their clients, not on
    work, and pass. The slot is given back when the application returns its answer:
    nginx buffers both ways, so the body goes out without holding anything (a
    download streams from the store with no database session)."""

    def __init__(self, application: Callable[..., Iterable[bytes]], limit: int) -> None:
        self.application = application
        self.slots = threading.BoundedSemaphore(limit)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO", "").startswith(SOCKET_IO_PATH):
            return self.application(environ, start_response)
        with self.slots:
            return self.application(environ, start_response)


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, app: Admission, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in OPTIONAL_SETTINGS and key not in self.cfg.settings:
                continue  # an older gunicorn without this setting
            self.cfg.set(key, value)

    def load(self) -> Admission:
        return self.application


def serve(app: Flask, *, host: str, port: int, threads: int, active: int) -> None:
    _Gunicorn(
        Admission(app, active),
        {
            "bind": f"{host}:{port}",
            "workers": 1,
            "worker_class": "gthread",
            "threads": threads,
            # gthread accepts at most this many connections at once (default 1000),
            # whatever the thread count; each open WebSocket is one of them.
            "worker_connections": threads + 1000,
            "timeout": 120,
            # Longer than a proxy keeps an idle connection (nginx: 60 s), so the proxy
            # closes it first and never sends a request down one the server just closed.
            "keepalive": 75,
            "graceful_timeout": 10,
            # nginx's header buffers (deploy/nginx: 8 KB a line): the request line and
            # one header line, CRLF included, as long as nginx lets through.
            "limit_request_line": 8190,
            "limit_request_field_size": 8192,
            "accesslog": "-",
            "access_log_format": ACCESS_LOG_FORMAT,
            "errorlog": "-",
            # Its error log as the portal's own lines (portal/logs.py).
            "logconfig_dict": logging_config(app.config["PORTAL"]["LOG_LEVEL"]),
            # gunicorn >= 25.1 opens a control socket at one path per user: several
            # `portal serve` processes on one machine would take it from each other.
            "control_socket_disable": True,
        },
    ).run()
