"""Admission: how many requests a `portal serve` process works on at once.

gunicorn gives every accepted request a thread at once. Past what the processor can
do, each one then runs slower under the interpreter lock while it holds a database
connection, until the pool is exhausted and requests fail. Held here, before the
application, a waiting request holds nothing but its thread, so an overload becomes
a queue (docs/realtime.md has the measurements).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import has_request_context, request

# The path of Socket.IO's requests: a WebSocket, or a long poll, waits on its client,
# not on the processor, for as long as the connection lives.
SOCKET_IO_PATH = "/socket.io/"
# Requests at work at once per process (`portal serve --active`): a few more than the
# processor's share of a process, so database waits overlap (docs/realtime.md).
DEFAULT_ACTIVE = 6
# Where a request finds the admission that let it in (`set_aside`).
ENVIRON_KEY = "portal.admission"


class Admission:
    """At most `limit` requests at work in the process; the others wait their turn.

    Socket.IO's connections wait on their clients, not on work, and pass. The place
    is given back when the application returns its answer: nginx buffers both ways,
    so the body goes out without holding anything (a download streams from the
    store with no database session)."""

    def __init__(self, application: Callable[..., Iterable[bytes]], limit: int) -> None:
        self.application = application
        self.places = threading.BoundedSemaphore(limit)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO", "").startswith(SOCKET_IO_PATH):
            return self.application(environ, start_response)
        environ[ENVIRON_KEY] = self
        with self.places:
            return self.application(environ, start_response)


@contextmanager
def set_aside() -> Iterator[None]:
    """Give this request's place to another while it waits on something that is not
    this process's work (a text-extraction subprocess, or a slot for one), and take
    a place again after: a burst of uploads must not stop every page of the process."""
    admission = request.environ.get(ENVIRON_KEY) if has_request_context() else None
    if admission is None:  # not under `portal serve` (tests, a command)
        yield
        return
    admission.places.release()
    try:
        yield
    finally:
        admission.places.acquire()
