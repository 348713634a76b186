"""Request bodies and query strings of the meetings API: meetings, agenda, outcomes,
attendance."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

from ..api import Body, Id, PageQuery
from ..workspaces.schemas import Markdown, Title, UserIds
from .models import AttendanceResponse, MeetingStatus, OutcomeKind


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
