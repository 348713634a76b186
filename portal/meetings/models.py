"""Meetings: when and where a working group meets, the agenda and its backlog, what each
point produced, and who attends."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..events import UTCDateTime, utcnow
from ..extensions import db
from ..workspaces.models import Item, text_enum

if TYPE_CHECKING:
    from ..accounts.models import User


class MeetingStatus(enum.StrEnum):
    planned = "planned"
    in_progress = "in_progress"
    held = "held"
    cancelled = "cancelled"


class Meeting(Item):
    __tablename__ = "meetings"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    # In UTC; `timezone` (IANA) is where the meeting is held, for local times.
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(String(300), default="")
    online_url: Mapped[str] = mapped_column(String(500), default="")
    # Markdown: how the meeting is run (preparation, speaking time, decisions).
    guidelines: Mapped[str] = mapped_column(Text, default="")
    # Markdown, with revisions like memos.
    minutes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[MeetingStatus] = mapped_column(
        text_enum(MeetingStatus, "meeting_status"), default=MeetingStatus.planned
    )

    __mapper_args__ = {"polymorphic_identity": "meeting"}


class AgendaItem(db.Model):  # type: ignore[name-defined]
    """A point of a meeting's agenda, or of its backlog when not scheduled."""

    __tablename__ = "agenda_items"
    __table_args__ = (Index("ix_agenda_items_meeting_id_position", "meeting_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    # Order among the meeting's scheduled points (or among its backlog).
    position: Mapped[int] = mapped_column(Integer)
    # False: in the backlog, not yet on the agenda.
    scheduled: Mapped[bool] = mapped_column(Boolean, default=True)
    title: Mapped[str] = mapped_column(String(300))
    notes: Mapped[str] = mapped_column(Text, default="")
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    presenter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # A document of the workspace to present.
    document_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))

    presenter: Mapped[User | None] = relationship(lazy="raise")


class OutcomeKind(enum.StrEnum):
    decision = "decision"
    task = "task"


class Outcome(db.Model):  # type: ignore[name-defined]
    """What an agenda point produced: a decision, or a task (linked both ways)."""

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    agenda_item_id: Mapped[int] = mapped_column(
        ForeignKey("agenda_items.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[OutcomeKind] = mapped_column(text_enum(OutcomeKind, "outcome_kind"))
    text: Mapped[str] = mapped_column(Text)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AttendanceResponse(enum.StrEnum):
    yes = "yes"
    no = "no"
    maybe = "maybe"


class Attendance(db.Model):  # type: ignore[name-defined]
    __tablename__ = "attendance"

    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    response: Mapped[AttendanceResponse] = mapped_column(
        text_enum(AttendanceResponse, "attendance_response")
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(lazy="raise")
