"""The production server behind `portal serve`: gunicorn, one worker, many threads.

One worker because Socket.IO needs every request of a client to reach the
process holding its connection (gunicorn has no sticky sessions); scale out
with several `portal serve` processes behind a sticky load balancer, joined by
Redis (see README).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from .admission import Admission
from .logs import logging_config

# Settings that only newer gunicorn versions know.
OPTIONAL_SETTINGS = {"control_socket_disable"}

# gunicorn's default access line without the query string: it carries calendar feed
# tokens (`?token=`) and what visitors search for, neither of which belongs in a log.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'


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
