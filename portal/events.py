"""Domain events: recorded in the same transaction as the change, fanned out after commit.

`record()` adds an `Event` row to the session. When the session commits, every
event it wrote is handed to the subscribers (live updates, search indexing,
notifications) in id order; a rollback hands out nothing. A subscriber that
fails is logged and the change stands: consumers catch up from the table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, event, text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .extensions import db

if TYPE_CHECKING:
    from .accounts.models import User

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(db.TypeDecorator):  # type: ignore[name-defined]
    """A timezone-aware UTC datetime on every database (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetimes are not stored; give a timezone")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Event(db.Model):  # type: ignore[name-defined]
    """One change: the activity feed, the audit log and the outbox."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_workspace_id_id", "workspace_id", "id"),
        Index("ix_events_item_id", "item_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # When the change was made (UTC).
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Who made it; null for the system (CLI, scheduled jobs) and failed sign-ins.
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # What happened, `noun.past_participle`: item.created, member.added, ...
    verb: Mapped[str] = mapped_column(String(64), index=True)
    # The item concerned, if any.
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    # The workspace whose feed it belongs to, if any.
    workspace_id: Mapped[int | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="SET NULL")
    )
    # Verb-specific details (ids, changed field names, ...); never secrets.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship(lazy="raise")

    def __repr__(self) -> str:
        return f"<Event {self.id} {self.verb}>"


@dataclass(frozen=True)
class CommittedEvent:
    """What subscribers receive: the event's values, detached from any session."""

    id: int
    at: datetime
    actor_id: int | None
    verb: str
    item_id: int | None
    workspace_id: int | None
    data: dict[str, Any]

    @classmethod
    def of(cls, row: Event) -> CommittedEvent:
        return cls(
            id=row.id,
            at=row.at,
            actor_id=row.actor_id,
            verb=row.verb,
            item_id=row.item_id,
            workspace_id=row.workspace_id,
            data=dict(row.data or {}),
        )


Subscriber = Callable[[list[CommittedEvent]], None]
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> Subscriber:
    """Register a function called with the events of each successful commit."""
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)
    return subscriber


# Any constant: the key of the PostgreSQL advisory lock that orders event commits.
_EVENT_ORDER_LOCK = 7_310_001


def _serialize_event_writers() -> None:
    """Make event ids follow commit order, so `after=<id>` cursors never skip one.

    With concurrent writers a sequence hands out ids in insert order: id 10 may
    commit after id 11, and a reader that saw 11 would never see 10. Taking a
    transaction-scoped lock before the first event of a transaction serializes
    the event-writing tail of concurrent transactions (SQLite's single writer
    lock already does). The lock is held until commit or rollback.
    """
    session = db.session()
    if session.info.get(_LOCKED):
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _EVENT_ORDER_LOCK})
    session.info[_LOCKED] = True


def record(
    verb: str,
    *,
    actor: User | None,
    item: Any = None,
    workspace: Any = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """Add an event for a change to the current transaction.

    An item's event belongs to its owner workspace's feed unless told otherwise.
    """
    _serialize_event_writers()
    if workspace is not None:
        workspace_id = workspace.id
    elif item is not None:
        workspace_id = item.workspace_id
    else:
        workspace_id = None
    entry = Event(
        at=utcnow(),
        verb=verb,
        actor_id=actor.id if actor is not None else None,
        item_id=item.id if item is not None else None,
        workspace_id=workspace_id,
        data=data or {},
    )
    db.session.add(entry)
    return entry


_PENDING = "portal.pending_events"
_LOCKED = "portal.event_lock_transaction"


@event.listens_for(Session, "after_flush")
def _collect(session: Session, flush_context: Any) -> None:
    # Snapshot now: after the commit the rows are expired and SQL is not allowed.
    new = [CommittedEvent.of(obj) for obj in session.new if isinstance(obj, Event)]
    if new:
        # Remember the (innermost) transaction that wrote them, for savepoint rollbacks.
        transaction = session.get_nested_transaction() or session.get_transaction()
        session.info.setdefault(_PENDING, []).extend((transaction, e) for e in new)


@event.listens_for(Session, "after_commit")
def _fan_out(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released; the events wait for the real commit
    session.info.pop(_LOCKED, None)
    pending = [e for _, e in session.info.pop(_PENDING, [])]
    if not pending or not _subscribers:
        return
    pending.sort(key=lambda e: e.id)
    for subscriber in list(_subscribers):
        try:
            subscriber(pending)
        except Exception:
            log.exception("event subscriber %s failed; consumers will catch up", subscriber)


def _inside(transaction: Any, ancestor: Any) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _discard(session: Session, previous_transaction: Any) -> None:
    """A rollback drops the events it undid: all of them, or a savepoint's own."""
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)
        session.info.pop(_LOCKED, None)
        return
    pending = session.info.get(_PENDING, [])
    session.info[_PENDING] = [
        (transaction, e)
        for transaction, e in pending
        if not _inside(transaction, previous_transaction)
    ]
