"""Where a live client's catch-up starts, worked out as live.js does (its SETTLE_MS
block), for the Python clients that stand in for pages: the fault tests' listeners and
the load run's members. It is the newest event id of the group such that every older
one has come, which the newest one heard is not: the socket may bring events out of id
order (each process publishes what it committed in its own time), and a new connection
may bring events before its "connect", while one committed when no connection was open
is not among them."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

LIVE_JS = Path(__file__).resolve().parents[2] / "portal" / "static" / "js" / "live.js"


def live_settle_seconds() -> float:
    """How long live.js waits before an event heard on the socket settles (SETTLE_MS)."""
    found = re.search(r"const SETTLE_MS = (\d+);", LIVE_JS.read_text())
    return int(found.group(1)) / 1000  # type: ignore[union-attr]


SETTLE_SECONDS = live_settle_seconds()


class ResumePoint:
    """One group's settled event id: read from the feed (which holds every event
    committed up to its newest) settles at once; heard on the socket, once the
    connection has stayed open SETTLE_SECONDS after it and no catch-up is under way."""

    def __init__(self, rendered: int = 0) -> None:
        self.settled = rendered
        self.heard: list[tuple[float, int]] = []  # (when, event id), not settled yet
        self.catching_up = 0  # catch-ups under way, retries included
        self.lock = threading.Lock()

    def hear(self, event_id: int) -> None:
        with self.lock:
            self.heard.append((time.monotonic(), event_id))
            self._settle_heard()

    def read(self, event_id: int) -> None:
        """An event read from the feed."""
        with self.lock:
            self.settled = max(self.settled, event_id)

    def connection_ended(self) -> None:
        """What the connection heard but did not settle, the next catch-up reads again."""
        with self.lock:
            self._settle_heard()
            self.heard.clear()

    def catch_up_started(self) -> int:
        """A catch-up begins: where it starts; no heard event settles until it ends."""
        with self.lock:
            self.catching_up += 1
            return self.settled

    def catch_up_ended(self) -> None:
        with self.lock:
            self.catching_up -= 1

    def _settle_heard(self) -> None:
        if self.catching_up:
            return
        before = time.monotonic() - SETTLE_SECONDS
        while self.heard and self.heard[0][0] <= before:
            self.settled = max(self.settled, self.heard.pop(0)[1])
