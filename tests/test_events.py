"""The outbox hands committed events to subscribers, and only those, savepoints included."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from portal import events
from portal.extensions import db


@pytest.fixture
def fanned_out(ctx: None) -> Iterator[list[str]]:
    seen: list[str] = []

    def subscriber(committed: list[events.CommittedEvent]) -> None:
        seen.extend(e.verb for e in committed)

    events.subscribe(subscriber)
    yield seen
    events._subscribers.remove(subscriber)


def test_a_rolled_back_savepoint_keeps_the_outer_events(fanned_out: list[str]) -> None:
    events.record("outer.kept", actor=None)
    db.session.flush()
    with pytest.raises(RuntimeError), db.session.begin_nested():
        events.record("inner.undone", actor=None)
        db.session.flush()
        raise RuntimeError
    db.session.commit()
    assert fanned_out == ["outer.kept"]


def test_a_released_savepoint_waits_for_the_commit(fanned_out: list[str]) -> None:
    events.record("outer.kept", actor=None)
    with db.session.begin_nested():
        events.record("inner.kept", actor=None)
    assert fanned_out == []
    db.session.commit()
    assert fanned_out == ["outer.kept", "inner.kept"]


def test_a_rollback_hands_out_nothing(fanned_out: list[str]) -> None:
    events.record("undone", actor=None)
    with db.session.begin_nested():
        events.record("inner.undone", actor=None)
    db.session.rollback()
    db.session.commit()
    assert fanned_out == []
