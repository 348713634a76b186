"""Tasks: what a working group has to do, who does it and by when."""

from __future__ import annotations

from datetime import date
from typing import Any

from ..accounts.models import User
from ..accounts.service import notify
from ..events import utcnow
from ..extensions import db
from ..workspaces import items_service
from ..workspaces.models import Workspace
from .models import Task, TaskPriority, TaskStatus


def _set_status(task: Task, status: TaskStatus) -> None:
    """`completed_at` follows the status: set on entering done, cleared on leaving it."""
    if status is TaskStatus.done and task.completed_at is None:
        task.completed_at = utcnow()
    elif status is not TaskStatus.done:
        task.completed_at = None
    task.status = status


def _assign(actor: User, task: Task, assignees: list[User]) -> None:
    """Make `assignees` the task's; the newly assigned hear of it."""
    before = {u.id for u in task.assignees}
    task.assignees = assignees
    added = [u.id for u in assignees if u.id not in before]
    if added:
        event = items_service.record_item_event("task.assigned", actor, task, user_ids=added)
        notify(event, added, actor=actor)


def add_task(
    actor: User,
    workspace: Workspace,
    *,
    title: str,
    description: str = "",
    status: TaskStatus = TaskStatus.todo,
    priority: TaskPriority = TaskPriority.normal,
    due_date: date | None = None,
    assignees: list[User] | None = None,
    meeting_id: int | None = None,
) -> Task:
    """Insert a task with its events, without committing (outcomes add one to their own)."""
    task = Task(
        title=title,
        description=description,
        priority=priority,
        due_date=due_date,
        meeting_id=meeting_id,
        assignees=[],
    )
    _set_status(task, status)
    items_service.add_item(actor, workspace, task)
    _assign(actor, task, assignees or [])
    return task


def create_task(actor: User, workspace: Workspace, **fields: Any) -> Task:
    task = add_task(actor, workspace, **fields)
    db.session.commit()
    return task


def update_task(
    actor: User, task: Task, changes: dict[str, Any], assignees: list[User] | None = None
) -> Task:
    """Apply the changed fields; `assignees`, when given, replaces the assignees."""
    changes = dict(changes)
    changes.pop("assignee_ids", None)
    changed = sorted(field for field, value in changes.items() if getattr(task, field) != value)
    for field in changed:
        if field == "status":
            _set_status(task, changes[field])
        else:
            setattr(task, field, changes[field])
    if assignees is not None and {u.id for u in assignees} != {u.id for u in task.assignees}:
        changed.append("assignee_ids")
        _assign(actor, task, assignees)
    if not changed:
        return task
    items_service.touch(task)
    # The new status, for the activity's "moved to Doing".
    moved = {"status": str(task.status)} if "status" in changed else {}
    items_service.record_item_event("item.updated", actor, task, fields=sorted(changed), **moved)
    db.session.commit()
    return task
