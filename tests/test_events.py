"""Events are written with the change and handed to subscribers only after the commit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from portal import events
from portal.events import Event
from portal.extensions import db
from portal.network import service as network


@pytest.fixture
def received():
    seen: list[list[events.CommittedEvent]] = []
    subscriber = events.subscribe(seen.append)
    yield seen
    events._subscribers.remove(subscriber)


def test_committed_change_reaches_subscribers_with_its_event(ctx, received):
    network.create_member_state(None, "CL", "Chile")

    assert [[e.verb for e in batch] for batch in received] == [["member_state.created"]]
    assert received[0][0].data == {"code": "CL", "name": "Chile"}
    assert received[0][0].id == db.session.scalar(select(Event.id))


def test_rolled_back_change_reaches_nobody_and_leaves_no_row(ctx, received):
    events.record("probe.created", actor=None)
    db.session.flush()

    db.session.rollback()

    assert received == []
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_failing_subscriber_does_not_undo_the_change(ctx, received):
    def broken(batch):
        raise RuntimeError("index down")

    events.subscribe(broken)
    try:
        network.create_member_state(None, "UY", "Uruguay")
    finally:
        events._subscribers.remove(broken)

    assert db.session.scalar(select(func.count()).select_from(Event)) == 1
    assert len(received) == 1


def test_events_of_one_transaction_arrive_together_in_id_order(ctx, received):
    events.record("probe.first", actor=None)
    db.session.flush()
    events.record("probe.second", actor=None)
    db.session.commit()

    assert [e.verb for e in received[0]] == ["probe.first", "probe.second"]


def test_naive_datetimes_are_refused(ctx):
    from datetime import datetime

    db.session.add(Event(verb="probe.naive", at=datetime(2026, 1, 1), data={}))

    with pytest.raises(Exception, match="naive"):
        db.session.flush()
    db.session.rollback()


def test_event_ids_follow_commit_order_under_concurrent_writers(app):
    """The outbox trap: a reader resuming `after` the newest id must not lose an older one.

    T1 records an event and holds its transaction open; T2, recording meanwhile,
    must wait, so its id is higher and commits later. On SQLite the single writer
    lock gives the same order.
    """
    import threading

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the race needs concurrent writers: PostgreSQL")
    t2_done = threading.Event()

    def second_writer():
        with app.app_context():
            events.record("probe.second", actor=None)
            db.session.commit()
            t2_done.set()

    with app.app_context():
        events.record("probe.first", actor=None)
        db.session.flush()
        writer = threading.Thread(target=second_writer)
        writer.start()
        assert not t2_done.wait(0.5), "the second writer committed while the first was open"
        db.session.commit()
    writer.join(10)

    with app.app_context():
        rows = db.session.execute(select(Event.id, Event.verb).order_by(Event.id)).all()
    assert [verb for _, verb in rows] == ["probe.first", "probe.second"]


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
