"""JSON routes of meetings: the meeting, its agenda and backlog, outcomes, attendance."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, jsonify
from flask_login import current_user
from sqlalchemy import select

from .. import permissions
from ..accounts.api import user_summary
from ..accounts.models import User
from ..api import API_PREFIX, PageQuery, changes_of, endpoint, iso, paginate
from ..extensions import db
from ..permissions import ItemAccess, WorkspaceAction
from ..text import render_markdown
from ..workspaces import items_service, kinds
from ..workspaces.items_api import check_if_match, item_list, revision_json
from ..workspaces.models import Item, TextRevision
from ..workspaces.serialize import etag_of, html_of, item_response
from . import service as meetings_service
from .models import AgendaItem, Attendance, Meeting, Outcome
from .schemas import (
    AgendaItemBody,
    AgendaItemUpdateBody,
    AgendaOrderBody,
    AttendanceBody,
    MeetingBody,
    MeetingQuery,
    MeetingUpdateBody,
    OutcomeBody,
)

bp = Blueprint("meetings_api", __name__, url_prefix=API_PREFIX)


def local_time(moment: Any, timezone: str) -> str | None:
    return moment.astimezone(ZoneInfo(timezone)).isoformat(timespec="seconds") if moment else None


def _meeting_fields(meeting: Meeting, _: Any) -> dict[str, Any]:
    return {
        "starts_at": iso(meeting.starts_at),
        "ends_at": iso(meeting.ends_at),
        "timezone": meeting.timezone,
        "local_starts_at": local_time(meeting.starts_at, meeting.timezone),
        "local_ends_at": local_time(meeting.ends_at, meeting.timezone),
        "location": meeting.location,
        "online_url": meeting.online_url,
        "guidelines": meeting.guidelines,
        "guidelines_html": html_of(meeting.guidelines),
        "minutes": meeting.minutes,
        "minutes_html": html_of(meeting.minutes),
        "status": str(meeting.status),
    }


kinds.register("meeting", Meeting, _meeting_fields, parts={"agenda_item": AgendaItem})


def _moment(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), tzinfo=UTC)


@bp.get("/workspaces/<int:workspace_id>/meetings")
@endpoint(access=permissions.signed_in, query=MeetingQuery)
def list_meetings(workspace_id: int, query: MeetingQuery) -> dict[str, Any]:
    """The workspace's meetings and those shared with it, by start; `from` and `to`
    (dates or times with offset) keep those overlapping the period."""
    workspace = permissions.load_workspace(workspace_id)
    statement = (
        select(Meeting)
        .where(Meeting.id.in_(permissions.workspace_item_ids(workspace.id)))
        .order_by(Meeting.starts_at, Meeting.id)
    )
    if query.from_ is not None:
        statement = statement.where(Meeting.ends_at > _moment(query.from_))
    if query.to is not None:
        statement = statement.where(Meeting.starts_at < _moment(query.to))
    return item_list(statement, query)


@bp.post("/workspaces/<int:workspace_id>/meetings")
@endpoint(access=permissions.signed_in, body=MeetingBody, status=201)
def create_meeting(workspace_id: int, body: MeetingBody) -> Response:
    """Plan a meeting (members and coordinators); times with an offset, and the IANA
    timezone where it is held."""
    workspace = permissions.load_workspace(workspace_id, WorkspaceAction.contribute)
    meeting = meetings_service.create_meeting(current_user, workspace, **body.model_dump())
    return meeting_response(meeting, 201)


# --- one meeting, with agenda, backlog and attendance -------------------------


def _agenda_json(
    point: AgendaItem,
    people: dict[int, User],
    documents: dict[int, Item],
    outcomes: dict[int, list[Outcome]],
) -> dict[str, Any]:
    presenter = people.get(point.presenter_id or 0)
    document = documents.get(point.document_id or 0)
    return {
        "id": point.id,
        "meeting_id": point.meeting_id,
        "position": point.position,
        "scheduled": point.scheduled,
        "title": point.title,
        "notes": point.notes,
        "notes_html": render_markdown(point.notes),
        "duration_minutes": point.duration_minutes,
        "presenter": user_summary(presenter) if presenter else None,
        "document": {"id": document.id, "title": document.title} if document else None,
        "outcomes": [outcome_json(o) for o in outcomes.get(point.id, [])],
    }


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    return {
        "id": outcome.id,
        "agenda_item_id": outcome.agenda_item_id,
        "kind": str(outcome.kind),
        "text": outcome.text,
        "task_id": outcome.task_id,
        "created_by_id": outcome.created_by_id,
        "created_at": iso(outcome.created_at),
    }


def agenda_json(meeting: Meeting, points: list[AgendaItem]) -> list[dict[str, Any]]:
    """Agenda points in a fixed number of queries: presenters, documents, outcomes."""
    people_ids = {p.presenter_id for p in points if p.presenter_id}
    document_ids = {p.document_id for p in points if p.document_id}
    people = (
        {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(people_ids)))}
        if people_ids
        else {}
    )
    documents = (
        {
            d.id: d
            for d in db.session.scalars(
                select(Item).where(
                    Item.id.in_(document_ids),
                    Item.id.in_(permissions.workspace_item_ids(meeting.workspace_id)),
                )
            )
        }
        if document_ids
        else {}
    )
    outcomes: dict[int, list[Outcome]] = defaultdict(list)
    if points:
        for outcome in db.session.scalars(
            select(Outcome)
            .where(Outcome.agenda_item_id.in_([p.id for p in points]))
            .order_by(Outcome.id)
        ):
            outcomes[outcome.agenda_item_id].append(outcome)
    return [_agenda_json(p, people, documents, outcomes) for p in points]


def meeting_details(meeting: Meeting) -> dict[str, Any]:
    return meeting_agenda(meeting) | meeting_attendance(meeting)


def meeting_agenda(meeting: Meeting) -> dict[str, Any]:
    """The scheduled points (`agenda`) and the `backlog`, in their order."""
    points = list(
        db.session.scalars(
            select(AgendaItem)
            .where(AgendaItem.meeting_id == meeting.id)
            .order_by(AgendaItem.position, AgendaItem.id)
        )
    )
    rendered = agenda_json(meeting, points)
    return {
        "agenda": [p for p in rendered if p["scheduled"]],
        "backlog": [p for p in rendered if not p["scheduled"]],
    }


def meeting_attendance(meeting: Meeting) -> dict[str, Any]:
    """Who answered whether they attend, by name."""
    attendance = db.session.execute(
        select(Attendance, User)
        .join(User, User.id == Attendance.user_id)
        .where(Attendance.meeting_id == meeting.id)
        .order_by(User.name)
    )
    return {
        "attendance": [
            {"user": user_summary(user), "response": str(row.response)} for row, user in attendance
        ]
    }


def meeting_response(meeting: Meeting, status: int = 200) -> Response:
    return item_response(current_user, meeting, status, **meeting_details(meeting))


@bp.get("/meetings/<int:meeting_id>")
@endpoint(access=permissions.signed_in)
def get_meeting(meeting_id: int) -> Response:
    """One meeting with its agenda, backlog and attendance; times also in local time."""
    return meeting_response(permissions.load_item(meeting_id, kind=Meeting))


@bp.patch("/meetings/<int:meeting_id>")
@endpoint(access=permissions.signed_in, body=MeetingUpdateBody)
def update_meeting(meeting_id: int, body: MeetingUpdateBody) -> Response:
    """Change a meeting; status moves planned → in_progress → held, or cancelled.
    Minutes are kept as revisions. Send the ETag you read as If-Match."""
    meeting = permissions.load_item(meeting_id, ItemAccess.edit, kind=Meeting)
    check_if_match(meeting)
    meetings_service.update_meeting(current_user, meeting, changes_of(body))
    return meeting_response(meeting)


@bp.delete("/meetings/<int:meeting_id>")
@endpoint(access=permissions.signed_in)
def delete_meeting(meeting_id: int) -> Response:
    """Move a meeting to the trash (coordinators)."""
    meeting = permissions.load_item(meeting_id, ItemAccess.manage, kind=Meeting)
    items_service.move_to_trash(current_user, meeting)
    return item_response(current_user, meeting)


@bp.get("/meetings/<int:meeting_id>/minutes/revisions")
@endpoint(access=permissions.signed_in, query=PageQuery)
def list_minutes_revisions(meeting_id: int, query: PageQuery) -> dict[str, Any]:
    """Every saved version of the minutes, newest first."""
    meeting = permissions.load_item(meeting_id, kind=Meeting)
    statement = (
        select(TextRevision)
        .where(TextRevision.item_id == meeting.id, TextRevision.field == "minutes")
        .order_by(TextRevision.number.desc())
    )
    return paginate(statement, query, revision_json)


# --- agenda -------------------------------------------------------------------


def _point_response(meeting: Meeting, point: AgendaItem, status: int = 200) -> Response:
    response = jsonify(agenda_json(meeting, [point])[0])
    response.status_code = status
    response.headers["ETag"] = etag_of(meeting)  # the agenda versions with its meeting
    return response


def check_point_refs(meeting: Meeting, fields: dict[str, Any]) -> None:
    if fields.get("presenter_id") is not None:
        permissions.check_readers([fields["presenter_id"]], meeting, field="presenter_id")
    if fields.get("document_id") is not None:
        permissions.check_agenda_document(fields["document_id"], meeting)


@bp.post("/meetings/<int:meeting_id>/agenda")
@endpoint(access=permissions.signed_in, body=AgendaItemBody, status=201)
def add_agenda_item(meeting_id: int, body: AgendaItemBody) -> Response:
    """Add a point to the agenda, or to the backlog with `scheduled: false`."""
    meeting = permissions.load_item(meeting_id, ItemAccess.edit, kind=Meeting)
    check_if_match(meeting)
    fields = body.model_dump()
    check_point_refs(meeting, fields)
    point = meetings_service.add_agenda_item(current_user, meeting, **fields)
    return _point_response(meeting, point, 201)


@bp.patch("/agenda-items/<int:agenda_item_id>")
@endpoint(access=permissions.signed_in, body=AgendaItemUpdateBody)
def update_agenda_item(agenda_item_id: int, body: AgendaItemUpdateBody) -> Response:
    """Change an agenda point; `scheduled` moves it between agenda and backlog.
    If-Match takes the meeting's ETag."""
    point = permissions.load_agenda_item(agenda_item_id, ItemAccess.edit)
    meeting = db.session.get(Meeting, point.meeting_id)
    check_if_match(meeting)  # type: ignore[arg-type]
    changes = changes_of(body, nullable={"duration_minutes", "presenter_id", "document_id"})
    check_point_refs(meeting, changes)  # type: ignore[arg-type]
    meetings_service.update_agenda_item(current_user, meeting, point, changes)  # type: ignore[arg-type]
    return _point_response(meeting, point)  # type: ignore[arg-type]


@bp.delete("/agenda-items/<int:agenda_item_id>")
@endpoint(access=permissions.signed_in)
def delete_agenda_item(agenda_item_id: int) -> dict[str, Any]:
    """Remove a point (and its outcomes) from the agenda or backlog."""
    point = permissions.load_agenda_item(agenda_item_id, ItemAccess.edit)
    meeting = db.session.get(Meeting, point.meeting_id)
    check_if_match(meeting)  # type: ignore[arg-type]
    meetings_service.delete_agenda_item(current_user, meeting, point)  # type: ignore[arg-type]
    return {"deleted": True, "id": agenda_item_id}


@bp.put("/meetings/<int:meeting_id>/agenda/order")
@endpoint(access=permissions.signed_in, body=AgendaOrderBody)
def reorder_agenda(meeting_id: int, body: AgendaOrderBody) -> Response:
    """Reorder the agenda in one request: `ids` lists every scheduled point once."""
    meeting = permissions.load_item(meeting_id, ItemAccess.edit, kind=Meeting)
    check_if_match(meeting)
    meetings_service.reorder_agenda(current_user, meeting, body.ids)
    return meeting_response(meeting)


# --- outcomes and attendance --------------------------------------------------


@bp.get("/agenda-items/<int:agenda_item_id>/outcomes")
@endpoint(access=permissions.signed_in)
def list_outcomes(agenda_item_id: int) -> dict[str, Any]:
    """What an agenda point produced, oldest first."""
    point = permissions.load_agenda_item(agenda_item_id)
    outcomes = db.session.scalars(
        select(Outcome).where(Outcome.agenda_item_id == point.id).order_by(Outcome.id)
    )
    return {"items": [outcome_json(o) for o in outcomes]}


@bp.post("/agenda-items/<int:agenda_item_id>/outcomes")
@endpoint(access=permissions.signed_in, body=OutcomeBody, status=201)
def add_outcome(agenda_item_id: int, body: OutcomeBody) -> dict[str, Any]:
    """Record a decision, or a task (created and linked), while the meeting is in progress."""
    point = permissions.load_agenda_item(agenda_item_id, ItemAccess.edit)
    meeting = db.session.get(Meeting, point.meeting_id)
    task = body.task.model_dump() if body.task is not None else None
    assignees = (
        permissions.check_readers(task["assignee_ids"], meeting, field="task.assignee_ids")  # type: ignore[arg-type]
        if task
        else []
    )
    outcome = meetings_service.add_outcome(
        current_user,
        meeting,  # type: ignore[arg-type]
        point,
        kind=body.kind,
        text=body.text,
        task=task,
        assignees=assignees,
    )
    return outcome_json(outcome)


@bp.put("/meetings/<int:meeting_id>/attendance")
@endpoint(access=permissions.signed_in, body=AttendanceBody)
def set_attendance(meeting_id: int, body: AttendanceBody) -> dict[str, Any]:
    """The caller's answer: yes, no or maybe (anyone who reads the meeting)."""
    meeting = permissions.load_meeting_to_attend(meeting_id)
    row = meetings_service.set_attendance(current_user, meeting, body.response)
    return {
        "meeting_id": meeting.id,
        "user": user_summary(current_user),
        "response": str(row.response),
    }
