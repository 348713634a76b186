"""iCalendar export: one meeting, and a workspace's feed that calendar applications
subscribe to with a per-user secret token (`?token=`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from flask import Blueprint, Response, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import permissions
from ..api import API_PREFIX, endpoint
from ..events import utcnow
from ..extensions import db
from ..text import xml_safe
from ..workspaces.models import Workspace
from ..workspaces.serialize import etag_of
from . import calendar_service
from .models import Meeting, MeetingStatus

bp = Blueprint("calendar_api", __name__, url_prefix=API_PREFIX)

# A feed holds the meetings from this long ago onwards.
FEED_PAST = timedelta(days=365)
FEED_LIMIT = 2000
_STATUS = {
    MeetingStatus.planned: "CONFIRMED",
    MeetingStatus.in_progress: "CONFIRMED",
    MeetingStatus.held: "CONFIRMED",
    MeetingStatus.cancelled: "CANCELLED",
}


def _vevent(meeting: Meeting) -> icalendar.Event:
    zone = ZoneInfo(meeting.timezone)
    event = icalendar.Event()
    event.add("uid", f"meeting-{meeting.id}@{request.host}")
    event.add("dtstamp", utcnow())
    event.add("last-modified", meeting.updated_at)
    event.add("sequence", meeting.version)
    event.add("summary", xml_safe(meeting.title))
    event.add("dtstart", meeting.starts_at.astimezone(zone))
    event.add("dtend", meeting.ends_at.astimezone(zone))
    event.add("status", _STATUS[meeting.status])
    if meeting.location:
        event.add("location", xml_safe(meeting.location))
    if meeting.online_url:
        event.add("url", xml_safe(meeting.online_url))
    description = "\n\n".join(part for part in (meeting.online_url, meeting.guidelines) if part)
    if description:
        event.add("description", xml_safe(description))
    return event


def _calendar(name: str, meetings: list[Meeting]) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Port Network Portal//Meetings//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", xml_safe(name))
    for meeting in meetings:
        calendar.add_component(_vevent(meeting))
    calendar.add_missing_timezones()
    return calendar.to_ical()


def _ics(body: bytes, filename: str) -> Response:
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/meetings/<int:meeting_id>.ics")
@endpoint(access=permissions.calendar_reader)
def meeting_ics(meeting_id: int) -> Response:
    """One meeting as an iCalendar file (signed in, or `?token=` a calendar token)."""
    meeting = permissions.load_calendar_meeting(meeting_id)
    response = _ics(_calendar(meeting.title, [meeting]), f"meeting-{meeting.id}.ics")
    response.headers["ETag"] = etag_of(meeting)
    return response


@bp.get("/workspaces/<int:workspace_id>/calendar.ics")
@endpoint(access=permissions.calendar_reader)
def workspace_calendar(workspace_id: int) -> Response:
    """The workspace's meetings (own and shared with it) as a feed to subscribe to;
    `?token=` a calendar token from POST /me/calendar-token."""
    workspace = permissions.load_calendar_workspace(workspace_id)
    meetings = list(
        db.session.scalars(
            select(Meeting)
            .where(
                Meeting.id.in_(permissions.workspace_item_ids(workspace.id)),
                Meeting.ends_at > utcnow() - FEED_PAST,
            )
            .order_by(Meeting.starts_at, Meeting.id)
            .limit(FEED_LIMIT)
        )
    )
    return _ics(_calendar(workspace.name, meetings), f"{workspace.slug}.ics")


ICS_RESPONSES = {
    "200": {
        "description": "iCalendar (RFC 5545)",
        "content": {"text/calendar": {"schema": {"type": "string"}}},
    }
}
# A calendar application sends no cookie: the feed's secret token is in the query string.
TOKEN_PARAMETER = {"name": "token", "in": "query", "required": False, "schema": {"type": "string"}}
for _view in (meeting_ics, workspace_calendar):
    _view.openapi_responses = ICS_RESPONSES  # type: ignore[attr-defined]
    _view.openapi_parameters = [TOKEN_PARAMETER]  # type: ignore[attr-defined]


# --- the caller's calendar token ------------------------------------------------


def feed_urls(token: str) -> list[dict[str, Any]]:
    """The caller's feed URL of each group they read, with the calendar token `token`."""
    workspaces = db.session.scalars(
        permissions.visible_workspaces(current_user).order_by(Workspace.name)
    )
    return [
        {
            "workspace_id": w.id,
            "name": w.name,
            "url": url_for(
                "calendar_api.workspace_calendar", workspace_id=w.id, token=token, _external=True
            ),
        }
        for w in workspaces
    ]


@bp.post("/me/calendar-token")
@endpoint(access=permissions.signed_in, status=201)
def create_calendar_token() -> dict[str, Any]:
    """Create (or replace) the caller's calendar token; its feed URLs are shown once."""
    token = calendar_service.rotate_token(current_user)
    return {"token": token, "feeds": feed_urls(token)}


@bp.delete("/me/calendar-token")
@endpoint(access=permissions.signed_in)
def revoke_calendar_token() -> dict[str, Any]:
    """Revoke the caller's calendar token: its feeds stop answering at once."""
    return {"revoked": calendar_service.revoke_tokens(current_user)}
