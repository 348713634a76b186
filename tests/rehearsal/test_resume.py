"""The Python clients' catch-up start (tests/rehearsal/resume.py), as live.js's: an
event heard on the socket settles only once its connection stayed open long enough
after it, and not while a catch-up is under way. (live.js's own: test_live_js.py.)"""

from __future__ import annotations

import time

import pytest

from tests.rehearsal import resume
from tests.rehearsal.resume import ResumePoint

SETTLE = 0.05


@pytest.fixture(autouse=True)
def short_settle(monkeypatch):
    monkeypatch.setattr(resume, "SETTLE_SECONDS", SETTLE)


def test_live_js_settles_after_thirty_seconds():
    assert resume.live_settle_seconds() == 30


def test_an_event_heard_settles_once_its_connection_stayed_open_after_it():
    point = ResumePoint(rendered=9)
    point.hear(11)
    assert point.settled == 9  # 10 may still come: another process publishes it later
    time.sleep(SETTLE * 1.5)
    point.hear(12)
    assert point.settled == 11


def test_a_connection_that_ended_settles_nothing_it_heard_late():
    point = ResumePoint(rendered=9)
    point.hear(11)
    point.connection_ended()
    time.sleep(SETTLE * 1.5)
    point.hear(14)  # on the next connection, before its catch-up
    assert point.catch_up_started() == 9


def test_nothing_heard_settles_while_a_catch_up_is_under_way():
    point = ResumePoint(rendered=9)
    assert point.catch_up_started() == 9
    point.hear(12)
    time.sleep(SETTLE * 1.5)
    point.hear(13)
    assert point.settled == 9  # the feed may yet bring 10 and 11
    point.read(10)
    point.read(11)
    assert point.settled == 11
    point.catch_up_ended()
    time.sleep(SETTLE * 1.5)
    point.hear(14)
    assert point.settled == 13
