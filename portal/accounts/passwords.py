"""Password hashing with Argon2id, at OWASP's recommended parameters.

OWASP's Password Storage Cheat Sheet recommends Argon2id with 19 MiB of memory, two
passes and one lane. argon2-cffi's default (RFC 9106's low-memory choice: 64 MiB,
three passes, four lanes) cost about 200 ms of processor time a hash here, eight times
as much: members arriving ten a second then needed both cores for their sign-ins
alone, and every page waited behind them (docs/operations.md, "Measured"). Hashes of
the old parameters still verify, and are replaced at the next sign-in.

A hash is still the costliest thing a request does, so hashing runs in a few threads
of lower priority (Argon2's lanes, if there are several, inherit it), and a request
that waits for one gives its admission place to another meanwhile: a sign-in waits
for the processor, the pages do not.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..admission import set_aside
from ..api import ApiError

T = TypeVar("T")

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the email is unknown, so both cases cost the same time.
_DUMMY_HASH = _hasher.hash("no such user: spend the same time")

MIN_LENGTH = 10
# How far behind the requests the hashing threads run (niceness steps; the indexer
# runs as far behind the serves in deploy/systemd).
HASHING_NICENESS = 10
# Hashes at work at once in a process; more wait their turn.
HASHING_THREADS = 2
# How long a sign-in waits for its turn before it is asked to come back: a person
# waits seconds, not a minute, and a hash nobody waits for is never computed.
SIGN_IN_WAIT_SECONDS = 10.0
SIGN_IN_RETRY_SECONDS = 10


class HashingBusy(ApiError):
    """More sign-ins than the processor can check now: 503 `unavailable`, come back
    after `Retry-After`. Nothing was checked, recorded or counted against the account."""

    def __init__(self) -> None:
        super().__init__(
            503,
            "unavailable",
            "Many people are signing in right now; try again in a few seconds.",
            headers={"Retry-After": str(SIGN_IN_RETRY_SECONDS)},
        )


def _lower_priority() -> None:
    """Run this thread, and the threads it starts, behind the requests (Linux keeps
    a niceness per thread; elsewhere the hashing keeps the process's)."""
    if hasattr(os, "setpriority"):
        thread = threading.get_native_id()
        niceness = os.getpriority(os.PRIO_PROCESS, thread) + HASHING_NICENESS
        os.setpriority(os.PRIO_PROCESS, thread, min(niceness, 19))


_hashing = ThreadPoolExecutor(
    HASHING_THREADS, thread_name_prefix="portal-hashing", initializer=_lower_priority
)


def _in_background(work: Callable[[], T], patience: float | None = None) -> T:
    """`work()` in a hashing thread; HashingBusy if none took it up within `patience`
    seconds (None: wait for as long as it takes)."""
    with set_aside():
        future = _hashing.submit(work)
        try:
            return future.result(timeout=patience)
        except TimeoutError:
            if future.cancel():
                raise HashingBusy() from None
            return future.result()  # begun meanwhile: it ends within one hash


def hash_password(password: str) -> str:
    return _in_background(lambda: _hasher.hash(password))


def verify_password(
    password_hash: str | None, password: str, patience: float | None = None
) -> bool:
    """Whether `password` is the one hashed; HashingBusy if its turn did not come
    within `patience` seconds (sign-in's SIGN_IN_WAIT_SECONDS)."""

    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return False

    return _in_background(verify, patience) and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
