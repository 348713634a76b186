"""Slow and hostile clients for the edge of the rehearsal topology, and the member
whose work must go on meanwhile (tests/rehearsal/test_edge.py).

    cut = trickle(rehearsal.url, clients=600, preamble=b"GET / HTTP/1.1\\r\\n",
                  drip=b"X-Slow: 1\\r\\n", interval=2, seconds=14)
    with Member(rehearsal) as member:
        figures = burst(rehearsal.url + "/api/v1/public/search?q=port", "127.0.0.2", 10)

Every loopback address (127.0.0.0/8) is this machine's: a client bound to 127.0.0.2
is, for nginx's per-address limits, another visitor than one on 127.0.0.1.
"""

from __future__ import annotations

import json
import selectors
import socket
import statistics
import threading
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from .topology import ROOT, Rehearsal

FIGURES = ROOT / "tests" / "artifacts" / "rehearsal" / "edge.json"


def record(section: str, figures: dict[str, Any]) -> None:
    """Print one test's figures and keep them in tests/artifacts/rehearsal/edge.json,
    beside the other tests' (for the operations notes)."""
    print(f"\n{section}: {json.dumps(figures)}")
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    kept = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    kept[section] = figures
    FIGURES.write_text(json.dumps(kept, indent=2) + "\n")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def summary(seconds: list[float]) -> dict[str, float]:
    """p50 and max of a list of durations, rounded for a report."""
    if not seconds:
        return {"p50": 0.0, "max": 0.0}
    return {"p50": round(statistics.median(seconds), 2), "max": round(max(seconds), 2)}


def trickle(
    url: str,
    *,
    clients: int,
    preamble: bytes,
    drip: bytes | None,
    interval: float,
    seconds: float,
) -> list[float | None]:
    """Open `clients` connections that each send `preamble`, then `drip` every
    `interval` seconds (never, when `drip` is None) for `seconds`. Answers, for each,
    how many seconds after it opened the server cut it, or None if it was still held."""
    address = urlsplit(url)
    target = (address.hostname or "127.0.0.1", address.port or 80)
    started = time.monotonic()
    selector = selectors.DefaultSelector()
    opened: dict[socket.socket, float] = {}
    cut: dict[socket.socket, float] = {}
    for _ in range(clients):
        client = socket.create_connection(target, timeout=10)
        client.sendall(preamble)
        client.setblocking(False)
        opened[client] = time.monotonic()
        selector.register(client, selectors.EVENT_READ)
    next_drip = time.monotonic() + interval
    try:
        while opened.keys() - cut.keys() and time.monotonic() < started + seconds:
            for key, _ in selector.select(timeout=0.05):
                _cut_if_closed(key.fileobj, opened, cut, selector)  # type: ignore[arg-type]
            if drip is not None and time.monotonic() >= next_drip:
                next_drip += interval
                for client in opened.keys() - cut.keys():
                    try:
                        client.send(drip)
                    except OSError:  # reset: the server cut it
                        cut[client] = time.monotonic() - opened[client]
                        selector.unregister(client)
    finally:
        for client in opened:
            client.close()
        selector.close()
    return [cut.get(client) for client in opened]


def _cut_if_closed(
    client: socket.socket,
    opened: dict[socket.socket, float],
    cut: dict[socket.socket, float],
    selector: selectors.BaseSelector,
) -> None:
    """A readable slow client was answered (an error status) or closed: either way the
    server is done with it."""
    try:
        while client.recv(65536):
            pass
    except BlockingIOError:
        return  # an answer, the connection still open: wait for the close
    except OSError:
        pass  # reset
    cut[client] = time.monotonic() - opened[client]
    selector.unregister(client)


class SourceAddress(HTTPAdapter):
    """A requests adapter whose connections leave from one local address."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__(pool_maxsize=4)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def browser_at(address: str) -> requests.Session:
    """A browser on its own loopback address (nginx limits by address, as for people)."""
    session = requests.Session()
    session.mount("http://", SourceAddress(address))
    return session


def refused_by(answer: requests.Response) -> str:
    """Who answered a 429: the portal's Flask-Limiter sends its X-RateLimit headers,
    nginx's answer (deploy/nginx) does not."""
    return "portal" if "X-RateLimit-Limit" in answer.headers else "nginx"


def burst(url: str, address: str, seconds: float, threads: int = 6) -> dict[str, Any]:
    """As many GETs of `url` as `threads` clients on `address` can send in `seconds`:
    the count of each answer (429s by who refused them) and one nginx 429 to check."""
    answers: Counter[str] = Counter()
    samples: dict[str, requests.Response] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def send() -> None:
        session = browser_at(address)
        while time.monotonic() < deadline:
            answer = session.get(url, timeout=10)
            outcome = (
                f"429 {refused_by(answer)}"
                if answer.status_code == 429
                else str(answer.status_code)
            )
            with lock:
                answers[outcome] += 1
                samples.setdefault(outcome, answer)

    workers = [threading.Thread(target=send) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {"answers": answers, "samples": samples}


class Worker(threading.Thread):
    """Repeats `step` until stopped, keeping each answer's status and duration."""

    def __init__(self, pause: float) -> None:
        super().__init__(daemon=True)
        self.pause = pause
        self.statuses: Counter[int] = Counter()
        self.seconds: list[float] = []
        self.failures: list[str] = []
        self.stopping = threading.Event()

    def step(self) -> list[requests.Response]:
        raise NotImplementedError

    def run(self) -> None:
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                answers = self.step()
            except requests.RequestException as error:
                self.failures.append(repr(error))
            else:
                for answer in answers:
                    self.statuses[answer.status_code] += 1
                    self.seconds.append(answer.elapsed.total_seconds())
            self.stopping.wait(max(0.0, self.pause - (time.monotonic() - started)))

    def __enter__(self) -> Worker:
        self.start()
        return self

    def __exit__(self, *exception: object) -> None:
        self.stopping.set()
        self.join(timeout=30)

    def figures(self) -> dict[str, Any]:
        return {
            "requests": sum(self.statuses.values()),
            "statuses": dict(self.statuses),
            "failures": len(self.failures),
            "p95_ms": round(percentile(self.seconds, 0.95) * 1000),
            "max_ms": round(max(self.seconds, default=0.0) * 1000),
        }

    def all_answered(self) -> bool:
        """Every request answered 2xx, none failed to connect or timed out."""
        return (
            not self.failures
            and bool(self.statuses)
            and all(200 <= status < 300 for status in self.statuses)
        )


class Member(Worker):
    """A signed-in member on 127.0.0.1 at work in a working group of their own:
    reading its lists, writing and editing memos."""

    def __init__(self, rehearsal: Rehearsal, session: requests.Session, pause: float = 0.2):
        super().__init__(pause)
        self.api = rehearsal.url + "/api/v1"
        self.session = session
        csrf = session.get(self.api + "/auth/csrf", timeout=10).json()["csrf_token"]
        session.headers["X-CSRF-Token"] = csrf
        created = session.post(
            self.api + "/workspaces", json={"name": "Edge rehearsal"}, timeout=10
        )
        created.raise_for_status()
        self.workspace = created.json()["id"]
        self.round = 0

    def step(self) -> list[requests.Response]:
        self.round += 1
        lists = self.api + f"/workspaces/{self.workspace}"
        memo = self.session.post(
            lists + "/memos", json={"title": f"Berth notes {self.round}", "body": "Draft."},
            timeout=30,
        )  # fmt: skip
        answers = [memo]
        if memo.ok:
            answers.append(self.session.patch(
                self.api + f"/memos/{memo.json()['id']}", json={"body": "Draft, read again."},
                timeout=30,
            ))  # fmt: skip
        answers.append(self.session.get(lists + "/memos", timeout=30))
        answers.append(self.session.get(lists + "/items", timeout=30))
        return answers


class Searcher(Worker):
    """An anonymous visitor on its own address, searching the publications now and
    then (below both the edge's and the portal's per-address limits)."""

    def __init__(self, rehearsal: Rehearsal, address: str, pause: float = 1.0):
        super().__init__(pause)
        self.url = rehearsal.url + "/api/v1/public/search?q=harbour"
        self.session = browser_at(address)

    def step(self) -> list[requests.Response]:
        return [self.session.get(self.url, timeout=30)]
