"""Request bodies and query strings of the tasks API."""

from __future__ import annotations

from datetime import date
from typing import Literal

from ..api import Body, Id, PageQuery
from ..workspaces.schemas import Markdown, Title, UserIds
from .models import TaskPriority, TaskStatus


class TaskBody(Body):
    title: Title
    description: Markdown = ""
    status: TaskStatus = TaskStatus.todo
    priority: TaskPriority = TaskPriority.normal
    due_date: date | None = None
    assignee_ids: UserIds = []


class TaskUpdateBody(Body):
    title: Title | None = None
    description: Markdown | None = None
    status: TaskStatus | None = None
    priority: TaskPriority | None = None
    due_date: date | None = None
    assignee_ids: UserIds | None = None


class TaskQuery(PageQuery):
    # Literal, not the enum: query parameters are described inline in OpenAPI.
    status: Literal["todo", "doing", "done"] | None = None
    assignee: Id | None = None
    due_before: date | None = None
    overdue: bool | None = None
