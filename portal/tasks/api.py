"""JSON routes of tasks."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response
from flask_login import current_user
from sqlalchemy import Select, exists, or_, select

from .. import permissions
from ..api import API_PREFIX, changes_of, endpoint, iso
from ..permissions import ItemAccess, WorkspaceAction
from ..workspaces import items_service, kinds
from ..workspaces.items_api import check_if_match, item_list
from ..workspaces.serialize import html_of, item_response
from . import service as tasks_service
from .models import Task, task_assignees
from .schemas import TaskBody, TaskQuery, TaskUpdateBody

bp = Blueprint("tasks_api", __name__, url_prefix=API_PREFIX)


def _task_fields(task: Task, _: Any) -> dict[str, Any]:
    return {
        "description": task.description,
        "description_html": html_of(task.description),
        "status": str(task.status),
        "priority": str(task.priority),
        "due_date": task.due_date.isoformat() if task.due_date else None,
        "completed_at": iso(task.completed_at),
        "assignees": [{"id": u.id, "name": u.name} for u in task.assignees],
        "meeting_id": task.meeting_id,
    }


kinds.register("task", Task, _task_fields)


def filtered_tasks(workspace_id: int, query: TaskQuery) -> Select[tuple[Task]]:
    """The workspace's tasks and those shared with it, newest first, as `query` filters
    them: the rule of the API's list and of the tasks page."""
    statement = (
        select(Task)
        .where(permissions.in_workspace(workspace_id))
        .order_by(Task.created_at.desc(), Task.id.desc())
    )
    if query.status is not None:
        statement = statement.where(Task.status == query.status)
    if query.assignee is not None:
        statement = statement.where(
            exists().where(
                task_assignees.c.task_id == Task.id, task_assignees.c.user_id == query.assignee
            )
        )
    if query.due_before is not None:
        statement = statement.where(Task.due_date < query.due_before)
    if query.overdue is not None:
        statement = statement.where(
            Task.overdue if query.overdue else or_(Task.due_date.is_(None), ~Task.overdue)
        )
    return statement


@bp.get("/workspaces/<int:workspace_id>/tasks")
@endpoint(access=permissions.signed_in, query=TaskQuery)
def list_tasks(workspace_id: int, query: TaskQuery) -> dict[str, Any]:
    """The workspace's tasks and those shared with it, newest first; filter by
    `status`, `assignee` (a user id), `due_before` (a date) and `overdue`."""
    workspace = permissions.load_workspace(workspace_id)
    return item_list(filtered_tasks(workspace.id, query), query)


@bp.post("/workspaces/<int:workspace_id>/tasks")
@endpoint(access=permissions.signed_in, body=TaskBody, status=201)
def create_task(workspace_id: int, body: TaskBody) -> Response:
    """Create a task (members and coordinators); assignees must be able to read it."""
    workspace = permissions.load_workspace(workspace_id, WorkspaceAction.contribute)
    assignees = permissions.check_readers(body.assignee_ids, Task(workspace_id=workspace.id))
    fields = body.model_dump(exclude={"assignee_ids"})
    task = tasks_service.create_task(current_user, workspace, assignees=assignees, **fields)
    return item_response(current_user, task, 201)


@bp.get("/tasks/<int:task_id>")
@endpoint(access=permissions.signed_in)
def get_task(task_id: int) -> Response:
    """One task."""
    return item_response(current_user, permissions.load_item(task_id, kind=Task))


@bp.patch("/tasks/<int:task_id>")
@endpoint(access=permissions.signed_in, body=TaskUpdateBody)
def update_task(task_id: int, body: TaskUpdateBody) -> Response:
    """Change a task; `status: done` sets `completed_at`, leaving done clears it.
    Send the ETag you read as If-Match."""
    task = permissions.load_item(task_id, ItemAccess.edit, kind=Task)
    check_if_match(task)
    changes = changes_of(body, nullable={"due_date"})
    assignees = None
    if "assignee_ids" in changes:
        assignees = permissions.check_readers(changes["assignee_ids"], task)
    tasks_service.update_task(current_user, task, changes, assignees)
    return item_response(current_user, task)


@bp.delete("/tasks/<int:task_id>")
@endpoint(access=permissions.signed_in)
def delete_task(task_id: int) -> Response:
    """Move a task to the trash (coordinators)."""
    task = permissions.load_item(task_id, ItemAccess.manage, kind=Task)
    items_service.move_to_trash(current_user, task)
    return item_response(current_user, task)
