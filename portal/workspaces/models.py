"""Working groups, their members, and the base of everything shared in them."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..events import UTCDateTime, utcnow
from ..extensions import db

if TYPE_CHECKING:
    from ..accounts.models import User


class Role(enum.StrEnum):
    """A member's role in a workspace, weakest first."""

    observer = "observer"
    member = "member"
    coordinator = "coordinator"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


class Publication(enum.StrEnum):
    private = "private"
    submitted = "submitted"
    published = "published"
    rejected = "rejected"


def text_enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as text with a CHECK constraint, so adding a value needs no ALTER TYPE.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda e: [m.value for m in e],
    )


class Workspace(db.Model):  # type: ignore[name-defined]
    """One working group."""

    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Archived groups stay readable by their members but take no changes.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    def __repr__(self) -> str:
        return f"<Workspace {self.slug}>"


class Membership(db.Model):  # type: ignore[name-defined]
    __tablename__ = "memberships"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[Role] = mapped_column(text_enum(Role, "membership_role"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")
    workspace: Mapped[Workspace] = relationship(lazy="joined")


class Item(db.Model):  # type: ignore[name-defined]
    """The base of documents, memos, tasks and meetings (joined-table inheritance).

    Ids are global across kinds, so shares, comments, publication, search hits
    and live events all point at an item the same way. `version` is bumped by
    every update (SQLAlchemy's version counter) and serves as the ETag.
    """

    __tablename__ = "items"
    __table_args__ = (
        Index("ix_items_workspace_id_created_at", "workspace_id", "created_at"),
        Index("ix_items_publication_published_at", "publication", "published_at"),
        CheckConstraint(
            "(publication = 'published') = (published_at IS NOT NULL)", name="published_at_set"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # document | memo | task | meeting: the subclass table holding the rest.
    kind: Mapped[str] = mapped_column(String(16), index=True)
    # The owner workspace.
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Set when moved to the trash; purged after the retention period.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    publication: Mapped[Publication] = mapped_column(
        text_enum(Publication, "item_publication"), default=Publication.private
    )
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    workspace: Mapped[Workspace] = relationship(lazy="raise")
    created_by: Mapped[User | None] = relationship(lazy="raise")

    __mapper_args__ = {"polymorphic_on": "kind", "version_id_col": version}


# --- sharing, comments, revisions ---------------------------------------------


class SharePermission(enum.StrEnum):
    view = "view"
    edit = "edit"


class Share(db.Model):  # type: ignore[name-defined]
    """An item shared with another working group, for view or for edit."""

    __tablename__ = "shares"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    # The group it is shared with (never the owner workspace).
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    permission: Mapped[SharePermission] = mapped_column(
        text_enum(SharePermission, "share_permission")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Comment(db.Model):  # type: ignore[name-defined]
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_item_id_id", "item_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Markdown; rendered through the sanitizer.
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship(lazy="joined")


class TextRevision(db.Model):  # type: ignore[name-defined]
    """One saved state of a long text (a memo's body, a meeting's minutes).

    A save that does not change the text makes no revision.
    """

    __tablename__ = "text_revisions"
    __table_args__ = (UniqueConstraint("item_id", "field", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    # `body` (memo) or `minutes` (meeting).
    field: Mapped[str] = mapped_column(String(16))
    # 1, 2, 3... per item and field.
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship(lazy="joined")


# --- item kinds -----------------------------------------------------------------


class Memo(Item):
    __tablename__ = "memos"

    id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    # Markdown.
    body: Mapped[str] = mapped_column(Text, default="")

    __mapper_args__ = {"polymorphic_identity": "memo"}


class TaskStatus(enum.StrEnum):
    todo = "todo"
    doing = "doing"
    done = "done"


class TaskPriority(enum.StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


task_assignees = Table(
    "task_assignees",
    db.metadata,
    Column("task_id", ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Task(Item):
    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(
            "(status = 'done') = (completed_at IS NOT NULL)", name="completed_at_when_done"
        ),
    )

    id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[TaskStatus] = mapped_column(
        text_enum(TaskStatus, "task_status"), default=TaskStatus.todo, index=True
    )
    priority: Mapped[TaskPriority] = mapped_column(
        text_enum(TaskPriority, "task_priority"), default=TaskPriority.normal
    )
    due_date: Mapped[date | None] = mapped_column(Date, index=True)
    # Set when the status becomes done, cleared when it leaves done.
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The meeting whose outcome created it, if any.
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meetings.id", ondelete="SET NULL"), index=True
    )

    assignees: Mapped[list[User]] = relationship(
        secondary=task_assignees, lazy="selectin", order_by="User.name"
    )

    __mapper_args__ = {"polymorphic_identity": "task"}


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
