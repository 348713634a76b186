"""`portal serve`'s admission: a bounded number of requests at work, the rest wait."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask

from portal.admission import Admission, set_aside

from .servers import wsgi_get


class HeldApplication:
    """A WSGI application whose requests stay at work until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)  # one token per request let in
        self.lock = threading.Lock()
        self.at_work = 0
        self.most_at_work = 0
        self.answered: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"]
        if path.startswith("/socket.io/"):
            self.answered.append(path)
            return []
        with self.lock:
            self.at_work += 1
            self.most_at_work = max(self.most_at_work, self.at_work)
        self.entered.release()
        try:
            assert self.release.wait(10)
            return [path.encode()]
        finally:
            with self.lock:
                self.at_work -= 1
                self.answered.append(path)


def request(application: Any, path: str) -> threading.Thread:
    thread = threading.Thread(target=application, args=({"PATH_INFO": path}, lambda *a: None))
    thread.start()
    return thread


def test_requests_past_the_limit_wait_and_socket_io_passes():
    held = HeldApplication()
    admission = Admission(held, limit=2)

    waiting = [request(admission, f"/groups/{number}") for number in range(5)]
    assert held.entered.acquire(timeout=5) and held.entered.acquire(timeout=5)
    # The other three had time to start, had they been let in.
    assert not held.entered.acquire(timeout=0.2)
    assert held.at_work == 2

    # A live connection waits on its client, not on work: it never queues.
    request(admission, "/socket.io/").join(5)
    assert "/socket.io/" in held.answered

    held.release.set()
    for thread in waiting:
        thread.join(10)
    assert held.most_at_work == 2
    assert sorted(held.answered) == sorted(["/socket.io/"] + [f"/groups/{n}" for n in range(5)])


def test_a_failing_request_gives_its_place_back():
    def failing(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise RuntimeError("boom")

    admission = Admission(failing, limit=1)
    for _ in range(3):  # with its place lost, the second would wait for ever
        thread = request(admission, "/")
        thread.join(5)
        assert not thread.is_alive()


def test_a_request_waiting_on_another_process_lets_another_in():
    """An upload waiting on text extraction (`set_aside`) does not stop the pages."""
    app = Flask(__name__)
    extracting = threading.Event()
    extracted = threading.Event()

    @app.get("/upload")
    def upload() -> str:
        with set_aside():
            extracting.set()
            assert extracted.wait(10)
        return "stored"

    @app.get("/page")
    def page() -> str:
        return "page"

    admission = Admission(app, limit=1)
    answers: list[bytes] = []

    def get(path: str) -> None:
        answers.append(wsgi_get(admission, path))

    uploading = threading.Thread(target=get, args=("/upload",))
    uploading.start()
    assert extracting.wait(5)
    reading = threading.Thread(target=get, args=("/page",))
    reading.start()
    reading.join(5)
    assert answers == [b"page"]  # in while the upload waited

    extracted.set()
    uploading.join(5)
    assert answers == [b"page", b"stored"]
    assert admission.places.acquire(blocking=False)  # its place came back after
