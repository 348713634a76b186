"""Password hashing: right answers, at lower priority, without holding a request's
admission place (portal/accounts/passwords.py)."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from flask import Flask

from portal.accounts import passwords
from portal.admission import Admission

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="a niceness per thread is Linux's")


def test_a_hash_verifies_its_password_and_nothing_else():
    stored = passwords.hash_password("correct horse battery")
    assert passwords.verify_password(stored, "correct horse battery")
    assert not passwords.verify_password(stored, "correct horse battery!")
    assert not passwords.verify_password(None, "correct horse battery")
    assert not passwords.verify_password("not a hash", "correct horse battery")
    assert not passwords.needs_rehash(stored)


def _niceness_of_threads() -> list[int]:
    """The niceness of each thread of this process (field 19 of its stat)."""
    found = []
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):  # ended meanwhile
            continue
        found.append(int(fields[16]))
    return found


@linux_only
def test_hashing_and_argon2s_lanes_run_behind_the_requests(monkeypatch):
    """The hashing thread, and the four lane threads Argon2 starts from it, run at the
    hashing niceness while the calling thread keeps its own."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=40, parallelism=4))
    before = _niceness_of_threads().count(passwords.HASHING_NICENESS)
    hashing = threading.Thread(target=passwords.hash_password, args=("a long password",))
    hashing.start()
    most = 0
    while hashing.is_alive():
        most = max(most, _niceness_of_threads().count(passwords.HASHING_NICENESS) - before)
        time.sleep(0.002)
    hashing.join()
    assert most >= 4, f"at most {most} more threads ran at the hashing niceness"
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == 0


def test_a_request_waiting_for_a_hash_lets_another_in(monkeypatch):
    """A sign-in's hash waits outside the request's admission place: with one place,
    a page is answered while the hash is computed."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=40, parallelism=4))
    app = Flask(__name__)
    hashing = threading.Event()

    @app.get("/sign-in")
    def sign_in() -> str:
        hashing.set()
        passwords.hash_password("a long password")
        return "signed in"

    @app.get("/page")
    def page() -> str:
        return "page"

    admission = Admission(app, limit=1)
    answers: dict[str, float] = {}

    def get(path: str) -> None:
        environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "SERVER_NAME": "portal",
                   "SERVER_PORT": "80", "wsgi.url_scheme": "http"}  # fmt: skip
        b"".join(admission(environ, lambda *a: None))
        answers[path] = time.monotonic()

    signing_in = threading.Thread(target=get, args=("/sign-in",))
    signing_in.start()
    assert hashing.wait(5)
    reading = threading.Thread(target=get, args=("/page",))
    reading.start()
    reading.join(10)
    signing_in.join(30)
    assert answers["/page"] < answers["/sign-in"]
