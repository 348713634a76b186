"""Tasks: what a working group has to do, who does it and by when."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Column, ColumnElement, Date, ForeignKey, Table, Text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..events import UTCDateTime, utcnow
from ..extensions import db
from ..workspaces.models import Item, text_enum

if TYPE_CHECKING:
    from ..accounts.models import User


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

    @hybrid_property
    def overdue(self) -> bool:
        """Due before today (UTC) and not done: one rule for the list filter and the pages."""
        return (
            self.due_date is not None
            and self.due_date < utcnow().date()
            and self.status is not TaskStatus.done
        )

    @overdue.inplace.expression
    @classmethod
    def _overdue_expression(cls) -> ColumnElement[bool]:
        # NULL for a task without a due date: filter with `or_(due_date IS NULL, ...)`.
        return (cls.due_date < utcnow().date()) & (cls.status != TaskStatus.done)
