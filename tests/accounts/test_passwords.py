"""Password hashing: right answers, at lower priority, without holding a request's
admission place (portal/accounts/passwords.py)."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest
from argon2 import PasswordHasher
from flask import Flask

from portal.accounts import passwords
from portal.admission import ENVIRON_KEY, Admission

from ..documents.weed import niceness_of_threads

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="a niceness per thread is Linux's")


def test_a_hash_verifies_its_password_and_nothing_else():
    stored = passwords.hash_password("correct horse battery")
    assert passwords.verify_password(stored, "correct horse battery")
    assert not passwords.verify_password(stored, "correct horse battery!")
    assert not passwords.verify_password(None, "correct horse battery")
    assert not passwords.verify_password("not a hash", "correct horse battery")
    assert not passwords.needs_rehash(stored)


def test_a_hash_of_other_parameters_verifies_and_needs_replacing():
    """A hash made with argon2-cffi's default parameters, as before this release."""
    stored = PasswordHasher().hash("correct horse battery")
    assert passwords.verify_password(stored, "correct horse battery")
    assert passwords.needs_rehash(stored)


@linux_only
def test_hashing_and_argon2s_lanes_run_behind_the_requests(monkeypatch):
    """The hashing thread, and the lane threads Argon2 starts from it (four here; the
    portal's own parameters have one lane), run ten steps behind the calling thread,
    which keeps its own niceness."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=40, parallelism=4))
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    behind = min(own + passwords.HASHING_NICENESS, 19)
    before = niceness_of_threads().count(behind)
    hashing = threading.Thread(target=passwords.hash_password, args=("a long password",))
    hashing.start()
    most = 0
    while hashing.is_alive():
        most = max(most, niceness_of_threads().count(behind) - before)
        time.sleep(0.002)
    hashing.join()
    assert most >= 4, f"at most {most} more threads ran at the hashing niceness"
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own


def test_a_request_waiting_for_a_hash_gives_its_admission_place_to_another(monkeypatch):
    """While a sign-in's password is hashed, its request's admission place is free:
    with one place, another request gets in meanwhile."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=40, parallelism=4))
    app = Flask(__name__)
    admission = Admission(app, limit=1)
    another_got_in = threading.Event()

    def another() -> None:
        if admission.places.acquire(timeout=10):
            another_got_in.set()
            admission.places.release()

    with app.test_request_context(environ_base={ENVIRON_KEY: admission}):
        assert admission.places.acquire(timeout=1)  # this request's place
        waiting = threading.Thread(target=another)
        waiting.start()
        passwords.hash_password("a long password")
        waiting.join(10)
        admission.places.release()
    assert another_got_in.is_set()
