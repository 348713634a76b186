"""Request bodies and query strings of the workspace administration API."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

from ..api import MAX_INT, Body, Id, PageQuery, Query
from .models import (
    AttendanceResponse,
    MeetingStatus,
    OutcomeKind,
    Role,
    SharePermission,
    TaskPriority,
    TaskStatus,
)

WorkspaceName = Annotated[str, StringConstraints(min_length=1, max_length=160)]
Description = Annotated[str, StringConstraints(max_length=5000)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=80)]


class WorkspaceCreateBody(Body):
    name: WorkspaceName
    description: Description = ""
    slug: Slug | None = None


class WorkspaceUpdateBody(Body):
    name: WorkspaceName | None = None
    description: Description | None = None
    archived: bool | None = None


class WorkspaceQuery(PageQuery):
    q: Annotated[str, StringConstraints(max_length=100)] | None = None
    archived: bool | None = None


class MembershipBody(Body):
    role: Role


ItemKind = Literal["document", "memo", "task", "meeting"]


class ItemQuery(PageQuery):
    kind: ItemKind | None = None
    q: Annotated[str, StringConstraints(max_length=200)] | None = None


class ActivityQuery(Query):
    after: int = Field(0, ge=0, le=MAX_INT)
    per_page: int = Field(50, ge=1, le=100)


class ShareBody(Body):
    workspace_id: Id
    permission: SharePermission = SharePermission.view


class CommentBody(Body):
    body: Annotated[str, StringConstraints(min_length=1, max_length=20_000)]


Title = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Markdown = Annotated[str, StringConstraints(max_length=200_000)]


class MemoBody(Body):
    title: Title
    body: Markdown = ""


class MemoUpdateBody(Body):
    title: Title | None = None
    body: Markdown | None = None


# --- tasks and meetings ---------------------------------------------------------


@functools.cache
def _timezone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _check_timezone(name: str) -> str:
    if name not in _timezone_names():
        raise ValueError("Not an IANA timezone name (such as America/Santiago).")
    return name


def _check_online_url(url: str) -> str:
    if url and not url.lower().startswith(("https://", "http://")):
        raise ValueError("Give an http:// or https:// link.")
    return url


TimezoneName = Annotated[str, StringConstraints(max_length=64), AfterValidator(_check_timezone)]
OnlineUrl = Annotated[str, StringConstraints(max_length=500), AfterValidator(_check_online_url)]
Place = Annotated[str, StringConstraints(max_length=300)]
UserIds = Annotated[list[Id], Field(max_length=50)]


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


class MeetingBody(Body):
    title: Title
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    timezone: TimezoneName
    location: Place = ""
    online_url: OnlineUrl = ""
    guidelines: Markdown = ""
    minutes: Markdown = ""
    status: MeetingStatus = MeetingStatus.planned


class MeetingUpdateBody(Body):
    title: Title | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    timezone: TimezoneName | None = None
    location: Place | None = None
    online_url: OnlineUrl | None = None
    guidelines: Markdown | None = None
    minutes: Markdown | None = None
    status: MeetingStatus | None = None


class MeetingQuery(PageQuery):
    from_: AwareDatetime | date | None = Field(None, alias="from")
    to: AwareDatetime | date | None = None


class AgendaItemBody(Body):
    title: Title
    notes: Markdown = ""
    duration_minutes: Annotated[int, Field(ge=1, le=1440)] | None = None
    presenter_id: Id | None = None
    document_id: Id | None = None
    scheduled: bool = True


class AgendaItemUpdateBody(Body):
    title: Title | None = None
    notes: Markdown | None = None
    duration_minutes: Annotated[int, Field(ge=1, le=1440)] | None = None
    presenter_id: Id | None = None
    document_id: Id | None = None
    scheduled: bool | None = None


class AgendaOrderBody(Body):
    ids: Annotated[list[Id], Field(max_length=500)]


class OutcomeTaskBody(Body):
    title: Title
    assignee_ids: UserIds = []
    due_date: date | None = None


class OutcomeBody(Body):
    kind: OutcomeKind
    text: Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
    task: OutcomeTaskBody | None = None


class AttendanceBody(Body):
    response: AttendanceResponse
