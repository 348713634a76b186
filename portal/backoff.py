"""Waiting between the turns of a background loop (indexer, mailer) that keep failing,
because the database, Redis or the store is down: the wait doubles up to a cap, so an
outage costs a log line every few seconds rather than a traceback every turn, and the
loop carries on by itself, at its own pace, once a turn succeeds again."""

from __future__ import annotations


class Backoff:
    def __init__(self, first: float, cap: float = 10.0) -> None:
        self.first = max(first, 0.1)
        self.cap = cap
        self.failures = 0

    def failed(self) -> float:
        """One more failure in a row: the seconds to wait before the next turn."""
        self.failures += 1
        return min(self.cap, self.first * 2 ** (self.failures - 1))

    def succeeded(self) -> bool:
        """A turn worked; whether it ended a run of failures (worth a log line)."""
        recovered = self.failures > 0
        self.failures = 0
        return recovered


def one_line(error: BaseException) -> str:
    """What an error says, on one line (a driver's message often spans several)."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:300]}" if text else type(error).__name__
