"""The pages of meetings: a group's upcoming and past meetings, the form that plans or
changes one, and the meeting's page (times in the viewer's zone and the meeting's,
the agenda and its backlog, outcomes, attendance, minutes with revisions, calendars).

Each page parses, authorizes through `permissions`, calls the service the API calls
(`meetings.service`, `meetings.calendar_service`) and renders; every form works
without JavaScript (static/js/agenda.js adds dragging and keyboard moves).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_interval, format_skeleton
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from .. import permissions
from ..accounts.models import User
from ..api import ApiError
from ..events import utcnow
from ..extensions import db
from ..i18n import current_language
from ..pages import page, parse_form, render, renders, viewer_zone
from ..permissions import ItemAccess, WorkspaceAction
from ..text import line_diff, render_markdown
from ..workspaces import kinds
from ..workspaces.models import Item, Membership, Share, TextRevision, Workspace
from ..workspaces.views import item_context
from . import calendar_service
from . import service as meetings_service
from .api import check_point_refs, meeting_agenda, meeting_attendance
from .models import AgendaItem, Attendance, AttendanceResponse, Meeting, MeetingStatus
from .schemas import (
    AgendaItemBody,
    AttendanceBody,
    MeetingBody,
    MeetingUpdateBody,
    OutcomeBody,
    OutcomeTaskBody,
    _timezone_names,
)

bp = Blueprint("meetings", __name__)
kinds.register_pages(
    "meeting", item="meetings.meeting_page", listing="meetings.list_page", new="meetings.new_page"
)

PER_PAGE = 25
# Documents offered to present with an agenda point: the most recently changed.
DOCUMENT_CHOICES = 100
# Where the network's groups meet (Latin America and the Caribbean) and its partners;
# the viewer's own zone and the meeting's are always added.
COMMON_ZONES = (
    "America/Argentina/Buenos_Aires", "America/Asuncion", "America/Barbados",
    "America/Bogota", "America/Caracas", "America/Costa_Rica", "America/El_Salvador",
    "America/Guatemala", "America/Guayaquil", "America/Havana", "America/Jamaica",
    "America/La_Paz", "America/Lima", "America/Managua", "America/Mexico_City",
    "America/Montevideo", "America/Panama", "America/Port_of_Spain", "America/Puerto_Rico",
    "America/Santiago", "America/Santo_Domingo", "America/Sao_Paulo", "America/Tegucigalpa",
    "Europe/Lisbon", "Europe/Madrid", "UTC",
)  # fmt: skip

STATUS_LABELS = {
    MeetingStatus.planned: lazy_gettext("Planned"),
    MeetingStatus.in_progress: lazy_gettext("In progress"),
    MeetingStatus.held: lazy_gettext("Held"),
    MeetingStatus.cancelled: lazy_gettext("Cancelled"),
}
# The button that moves a meeting to a status, on its page.
STATUS_ACTIONS = {
    MeetingStatus.in_progress: lazy_gettext("Start the meeting"),
    MeetingStatus.held: lazy_gettext("Mark as held"),
    MeetingStatus.cancelled: lazy_gettext("Cancel the meeting"),
}
RESPONSE_LABELS = {
    AttendanceResponse.yes: lazy_gettext("Yes"),
    AttendanceResponse.maybe: lazy_gettext("Maybe"),
    AttendanceResponse.no: lazy_gettext("No"),
}


@bp.app_template_global()
def meeting_status_label(status: Any) -> str:
    return str(STATUS_LABELS.get(MeetingStatus(str(status)), status))


@bp.app_template_global()
def attendance_label(response: Any) -> str:
    return str(RESPONSE_LABELS.get(AttendanceResponse(str(response)), response))


@bp.app_template_filter()
def meeting_span(meeting: Any, zone: str | None = None) -> str:
    """When a meeting is, in the viewer's zone or in `zone` ("Wed, Jun 10, 2026, 09:00 to
    10:30" in the page's language), both ends dated when it ends on another day."""
    shown = ZoneInfo(zone) if zone else viewer_zone()
    language = current_language()
    start, end = meeting.starts_at.astimezone(shown), meeting.ends_at.astimezone(shown)

    def day(moment: datetime) -> str:
        return format_skeleton("yMMMEd", moment, tzinfo=shown, locale=language)

    if start.date() == end.date():
        hours = format_interval(start, end, "Hm", tzinfo=shown, locale=language)
        return f"{day(start)}, {hours}"
    start_text = f"{day(start)}, {format_skeleton('Hm', start, tzinfo=shown, locale=language)}"
    end_text = f"{day(end)}, {format_skeleton('Hm', end, tzinfo=shown, locale=language)}"
    return f"{start_text} \u2013 {end_text}"


def next_statuses(meeting: Meeting) -> list[MeetingStatus]:
    """Where the meeting's status may go, forward steps first, cancelling last."""
    return [s for s in MeetingStatus if s in meetings_service.TRANSITIONS[meeting.status]]


def _zone_name(zone: ZoneInfo) -> str:
    return zone.key


def zone_options(*extra: str | None) -> list[tuple[str, str]]:
    names = set(COMMON_ZONES) | {name for name in extra if name and name in _timezone_names()}
    return [(name, name.replace("_", " ")) for name in sorted(names)]


def _attempt(action: Callable[[], Any]) -> dict[str, str]:
    """Run a service call; its refusal of the input (400 naming fields) becomes the
    form's errors, anything else propagates."""
    try:
        action()
    except ApiError as error:
        db.session.rollback()
        if error.status == 400 and error.fields:
            return {name.split(".")[-1]: message for name, message in error.fields.items()}
        raise
    return {}


def _conflict_flashed(action: Callable[[], Any], message: str) -> None:
    """Run a service call whose only refusal is a state conflict (409): say so in words."""
    try:
        action()
    except ApiError as error:
        db.session.rollback()
        if error.status != 409:
            raise
        flash(message)


def _page_url(meeting_id: int, anchor: str = "") -> str:
    return url_for("meetings.meeting_page", item_id=meeting_id, _anchor=anchor or None)


# --- the list -------------------------------------------------------------------


def _page_number(name: str) -> int:
    value = request.args.get(name, "1")
    return int(value) if value.isdigit() and 0 < int(value) <= 100_000 else 1


def _meeting_rows(workspace_id: int, upcoming: bool, number: int) -> dict[str, Any]:
    """One page of upcoming (soonest first) or past (latest first) meetings: two queries."""
    now = utcnow()
    visible = Meeting.id.in_(permissions.workspace_item_ids(workspace_id))
    when = Meeting.ends_at > now if upcoming else Meeting.ends_at <= now
    if upcoming:
        order = (Meeting.starts_at, Meeting.id)
    else:
        order = (Meeting.starts_at.desc(), Meeting.id.desc())
    total = db.session.scalar(select(func.count()).select_from(Meeting).where(visible, when))
    rows = db.session.scalars(
        select(Meeting)
        .where(visible, when)
        .order_by(*order)
        .limit(PER_PAGE)
        .offset((number - 1) * PER_PAGE)
    ).all()
    return {"rows": rows, "total": total or 0, "page": number}


@bp.get("/groups/<int:workspace_id>/meetings")
@page(access=permissions.signed_in)
def list_page(workspace_id: int) -> str:
    workspace = permissions.load_workspace(workspace_id)
    upcoming = _meeting_rows(workspace.id, True, _page_number("upcoming"))
    past = _meeting_rows(workspace.id, False, _page_number("past"))
    shown = [m.id for m in (*upcoming["rows"], *past["rows"])]
    answers = dict(
        db.session.execute(
            select(Attendance.meeting_id, Attendance.response).where(
                Attendance.user_id == current_user.id, Attendance.meeting_id.in_(shown)
            )
        ).all()
    )
    may_contribute = (
        permissions.may_on_workspace(current_user, workspace, WorkspaceAction.contribute)
        and workspace.archived_at is None
    )
    return render(
        "meetings/list.html",
        workspace=workspace,
        upcoming=upcoming,
        past=past,
        answers=answers,
        per_page=PER_PAGE,
        may_contribute=may_contribute,
        viewer_zone=_zone_name(viewer_zone()),
    )


# --- planning and changing a meeting ------------------------------------------------


def _local_input(moment: datetime, zone: str) -> str:
    """A stored time as a datetime-local field shows it, on the meeting's wall clock."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def _meeting_form() -> tuple[MeetingBody | None, dict[str, str]]:
    """The meeting form, its datetime-local times read on the chosen zone's wall clock."""
    data = MultiDict(request.form)
    name = data.get("timezone", "")
    zone = ZoneInfo(name) if name in _timezone_names() else ZoneInfo("UTC")
    for field in ("starts_at", "ends_at"):
        try:
            moment = datetime.fromisoformat(data.get(field, ""))
        except ValueError:
            continue  # left as typed: the model names the problem
        if moment.tzinfo is None:
            data[field] = moment.replace(tzinfo=zone).isoformat()
    return parse_form(MeetingBody, form=data)


def _form_page(
    workspace: Workspace, values: dict[str, Any], errors: dict[str, str], meeting: Any = None
) -> tuple[str, int]:
    # A new meeting is planned; a planned one may start or be cancelled...
    statuses = [meeting.status, *next_statuses(meeting)] if meeting is not None else []
    return render(
        "meetings/form.html",
        workspace=workspace,
        meeting=meeting,
        values=values,
        errors=errors,
        zones=zone_options(_zone_name(viewer_zone()), values.get("timezone")),
        statuses=[(str(s), meeting_status_label(s)) for s in statuses],
    ), 400 if errors else 200


@bp.route("/groups/<int:workspace_id>/meetings/new", methods=["GET", "POST"])
@page(access=permissions.signed_in)
def new_page(workspace_id: int) -> Any:
    workspace = permissions.load_workspace(workspace_id, WorkspaceAction.contribute)
    if request.method == "GET":
        values = {"timezone": _zone_name(viewer_zone()), "status": "planned"}
        return _form_page(workspace, values, {})
    body, errors = _meeting_form()
    created: list[Meeting] = []
    if body is not None:
        fields = body.model_dump()
        errors = _attempt(
            lambda: created.append(
                meetings_service.create_meeting(current_user, workspace, **fields)
            )
        )
    if errors:
        return _form_page(workspace, dict(request.form), errors)
    flash(gettext("The meeting is planned."))
    return redirect(_page_url(created[0].id), 303)


@bp.route("/meetings/<int:item_id>/edit", methods=["GET", "POST"])
@page(access=permissions.signed_in)
def edit_page(item_id: int) -> Any:
    meeting = permissions.load_item(item_id, ItemAccess.edit, kind=Meeting)
    workspace = db.session.get(Workspace, meeting.workspace_id)
    if request.method == "GET":
        values = {
            "title": meeting.title,
            "starts_at": _local_input(meeting.starts_at, meeting.timezone),
            "ends_at": _local_input(meeting.ends_at, meeting.timezone),
            "timezone": meeting.timezone,
            "location": meeting.location,
            "online_url": meeting.online_url,
            "guidelines": meeting.guidelines,
            "status": str(meeting.status),
        }
        return _form_page(workspace, values, {}, meeting)  # type: ignore[arg-type]
    body, errors = _meeting_form()
    if body is not None:
        changes = body.model_dump(exclude={"minutes"})
        try:
            errors = _attempt(
                lambda: meetings_service.update_meeting(current_user, meeting, changes)
            )
        except ApiError as error:
            if error.status != 409:
                raise
            errors = {"status": gettext("The meeting cannot go back to an earlier status.")}
    if errors:
        return _form_page(workspace, dict(request.form), errors, meeting)  # type: ignore[arg-type]
    flash(gettext("The meeting is saved."))
    return redirect(_page_url(meeting.id), 303)


@bp.post("/meetings/<int:item_id>/status")
@page(access=permissions.signed_in)
def status_action(item_id: int) -> Response:
    """The buttons that start, close or cancel a meeting."""
    meeting = permissions.load_item(item_id, ItemAccess.edit, kind=Meeting)
    body, _errors = parse_form(MeetingUpdateBody)
    if body is None or body.status is None:
        abort(400)
    _conflict_flashed(
        lambda: meetings_service.update_meeting(current_user, meeting, {"status": body.status}),
        gettext("The meeting's status changed meanwhile; nothing was done."),
    )
    return redirect(_page_url(meeting.id), 303)


# --- the meeting's page -------------------------------------------------------------


def _readers(meeting: Meeting) -> list[User]:
    """Who may present a point or be given a task: the members of the owner group and
    of the groups the meeting is shared with (`permissions.check_readers` decides)."""
    groups = select(Share.workspace_id).where(Share.item_id == meeting.id)
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.active,
                User.id.in_(
                    select(Membership.user_id).where(
                        (Membership.workspace_id == meeting.workspace_id)
                        | Membership.workspace_id.in_(groups)
                    )
                ),
            )
            .order_by(User.name)
        )
    )


def _documents(meeting: Meeting) -> list[Item]:
    return list(
        db.session.scalars(
            select(Item)
            .where(
                Item.kind == "document",
                Item.id.in_(permissions.workspace_item_ids(meeting.workspace_id)),
            )
            .order_by(Item.updated_at.desc())
            .limit(DOCUMENT_CHOICES)
        )
    )


def _revision_count(meeting: Meeting) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(TextRevision)
            .where(TextRevision.item_id == meeting.id, TextRevision.field == "minutes")
        )
        or 0
    )


def meeting_context(meeting: Meeting, access: ItemAccess) -> dict[str, Any]:
    """Everything meetings/meeting.html shows, for the page and each refreshed block (a
    live refresh reads only what its block shows)."""
    context = item_context(meeting, access)
    # What `load_item(..., edit)` and `load_meeting_to_attend` allow, to show the controls.
    still_open = meeting.deleted_at is None and context["workspace"].archived_at is None
    may_change = still_open and access >= ItemAccess.edit
    context |= {
        "meeting": meeting,
        "may_change": may_change,
        "may_attend": still_open
        and meeting.status not in (MeetingStatus.held, MeetingStatus.cancelled),
        "may_record": may_change and meeting.status is MeetingStatus.in_progress,
        "responses": [(str(r), attendance_label(r)) for r in AttendanceResponse],
        "next_statuses": [
            (str(s), STATUS_ACTIONS[s]) for s in next_statuses(meeting) if may_change
        ],
        "task_pages": kinds.pages_of("task"),
        "document_pages": kinds.pages_of("document"),
    }
    if renders("meeting_agenda"):
        agenda = meeting_agenda(meeting)
        total = sum(p["duration_minutes"] or 0 for p in agenda["agenda"])
        context |= agenda | {"total_minutes": total}
    if renders("meeting_attendance"):
        attendance = meeting_attendance(meeting)["attendance"]
        mine = (a["response"] for a in attendance if a["user"]["id"] == current_user.id)
        context |= {"attendance": attendance, "my_response": next(mine, None)}
    if renders():
        context |= {
            "viewer_zone": _zone_name(viewer_zone()),
            "guidelines_html": render_markdown(meeting.guidelines),
            "minutes_html": render_markdown(meeting.minutes),
            "revision_count": _revision_count(meeting),
        }
    return context


@bp.get("/meetings/<int:item_id>")
@page(access=permissions.signed_in)
def meeting_page(item_id: int) -> str:
    meeting, access = permissions.load_item_access(item_id, kind=Meeting)
    return render("meetings/meeting.html", **meeting_context(meeting, access))


# --- the agenda and its backlog ------------------------------------------------------


def _point_form_page(
    meeting: Meeting,
    access: ItemAccess,
    point: AgendaItem | None,
    values: dict[str, Any],
    errors: dict[str, str],
) -> tuple[str, int]:
    people = [("", gettext("Nobody in particular"))] + [(u.id, u.name) for u in _readers(meeting)]
    documents = [("", gettext("None"))] + [(d.id, d.title) for d in _documents(meeting)]
    return render(
        "meetings/point_form.html",
        **item_context(meeting, access),
        meeting=meeting,
        point=point,
        values=values,
        errors=errors,
        people=people,
        documents=documents,
        places=[("true", gettext("On the agenda")), ("false", gettext("In the backlog"))],
    ), 400 if errors else 200


def _point_form(meeting: Meeting, save: Callable[[dict[str, Any]], Any]) -> dict[str, str]:
    body, errors = parse_form(AgendaItemBody)
    if body is None:
        return errors
    fields = body.model_dump()

    def checked_save() -> None:
        check_point_refs(meeting, fields)
        save(fields)

    return _attempt(checked_save)


@bp.route("/meetings/<int:item_id>/agenda/new", methods=["GET", "POST"])
@page(access=permissions.signed_in)
def new_point_page(item_id: int) -> Any:
    meeting, access = permissions.load_item_access(item_id, ItemAccess.edit, kind=Meeting)
    if request.method == "GET":
        scheduled = "false" if request.args.get("backlog") else "true"
        return _point_form_page(meeting, access, None, {"scheduled": scheduled}, {})
    errors = _point_form(
        meeting,
        lambda fields: meetings_service.add_agenda_item(current_user, meeting, **fields),
    )
    if errors:
        return _point_form_page(meeting, access, None, dict(request.form), errors)
    flash(gettext("The point is added."))
    anchor = "meeting_agenda" if request.form.get("scheduled") != "false" else "backlog"
    return redirect(_page_url(meeting.id, anchor), 303)


def _load_point(point_id: int) -> tuple[AgendaItem, Meeting, ItemAccess]:
    point, access = permissions.load_agenda_item_access(point_id, ItemAccess.edit)
    return point, db.session.get(Meeting, point.meeting_id), access  # type: ignore[return-value]


@bp.route("/agenda-items/<int:point_id>/edit", methods=["GET", "POST"])
@page(access=permissions.signed_in)
def edit_point_page(point_id: int) -> Any:
    point, meeting, access = _load_point(point_id)
    if request.method == "GET":
        values = {
            "title": point.title,
            "notes": point.notes,
            "duration_minutes": point.duration_minutes,
            "presenter_id": point.presenter_id,
            "document_id": point.document_id,
            "scheduled": "true" if point.scheduled else "false",
        }
        return _point_form_page(meeting, access, point, values, {})
    errors = _point_form(
        meeting,
        lambda fields: meetings_service.update_agenda_item(current_user, meeting, point, fields),
    )
    if errors:
        return _point_form_page(meeting, access, point, dict(request.form), errors)
    flash(gettext("The point is saved."))
    return redirect(_page_url(meeting.id, f"point-{point.id}"), 303)


@bp.post("/agenda-items/<int:point_id>/delete")
@page(access=permissions.signed_in)
def delete_point(point_id: int) -> Response:
    point, meeting, _access = _load_point(point_id)
    meetings_service.delete_agenda_item(current_user, meeting, point)
    flash(gettext("The point is removed."))
    return redirect(_page_url(meeting.id, "meeting_agenda"), 303)


@bp.post("/agenda-items/<int:point_id>/schedule")
@page(access=permissions.signed_in)
def schedule_point(point_id: int) -> Response:
    """Move a point from the backlog to the end of the agenda, or back."""
    point, meeting, _access = _load_point(point_id)
    scheduled = request.form.get("scheduled") == "true"
    meetings_service.update_agenda_item(current_user, meeting, point, {"scheduled": scheduled})
    flash(
        gettext("The point is on the agenda.")
        if scheduled
        else gettext("The point is in the backlog.")
    )
    return redirect(_page_url(meeting.id, f"point-{point.id}"), 303)


@bp.post("/agenda-items/<int:point_id>/move")
@page(access=permissions.signed_in)
def move_point(point_id: int) -> Response:
    """Move up or Move down: the reorder of the whole agenda, as the API does it."""
    point, meeting, _access = _load_point(point_id)
    ids = [p.id for p in meetings_service.scheduled_points(meeting)]
    if point.id in ids:
        at = ids.index(point.id)
        to = at - 1 if request.form.get("direction") == "up" else at + 1
        if 0 <= to < len(ids):
            ids[at], ids[to] = ids[to], ids[at]
            meetings_service.reorder_agenda(current_user, meeting, ids)
    return redirect(_page_url(meeting.id, f"point-{point.id}"), 303)


@bp.post("/meetings/<int:item_id>/agenda/order")
@page(access=permissions.signed_in)
def reorder_page(item_id: int) -> Response:
    """The agenda in a new order (`ids`, each scheduled point once), as a form."""
    meeting = permissions.load_item(item_id, ItemAccess.edit, kind=Meeting)
    ids = [int(value) for value in request.form.getlist("ids") if value.isdigit()]
    meetings_service.reorder_agenda(current_user, meeting, ids)
    flash(gettext("The agenda is reordered."))
    return redirect(_page_url(meeting.id, "meeting_agenda"), 303)


# --- outcomes -------------------------------------------------------------------------


def _outcome_form() -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The outcome form: a decision, or a task (its `task_*` fields) as OutcomeBody has it."""
    body, errors = parse_form(OutcomeBody, form=MultiDict({
        "kind": request.form.get("kind", ""), "text": request.form.get("text", "")
    }))  # fmt: skip
    task, task_errors = None, {}
    if request.form.get("kind") == "task":
        fields = MultiDict(
            [(name[len("task_") :], value) for name, value in request.form.items(multi=True)
             if name.startswith("task_")]
        )  # fmt: skip
        task, task_errors = parse_form(OutcomeTaskBody, lists=("assignee_ids",), form=fields)
    errors |= {f"task_{name}": message for name, message in task_errors.items()}
    if body is None or errors:
        return None, errors
    return {"kind": body.kind, "text": body.text, "task": task.model_dump() if task else None}, {}


@bp.route("/agenda-items/<int:point_id>/outcomes", methods=["GET", "POST"])
@page(access=permissions.signed_in)
def outcome_page(point_id: int) -> Any:
    point, meeting, access = _load_point(point_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        fields, errors = _outcome_form()
        if fields is not None:

            def record() -> None:
                task = fields["task"]
                assignees = (
                    permissions.check_readers(task["assignee_ids"], meeting, "task_assignee_ids")
                    if task
                    else []
                )
                meetings_service.add_outcome(
                    current_user, meeting, point, **fields, assignees=assignees
                )

            try:
                errors = _attempt(record)
            except ApiError as error:
                if error.status != 409:
                    raise
                errors = {"form": gettext("Outcomes are recorded while the meeting is on.")}
        if not errors:
            flash(gettext("The outcome is recorded."))
            return redirect(_page_url(meeting.id, f"point-{point.id}"), 303)
    values = dict(request.form) | {"task_assignee_ids": request.form.getlist("task_assignee_ids")}
    return render(
        "meetings/outcome_form.html",
        **item_context(meeting, access),
        meeting=meeting,
        point=point,
        values=values if request.method == "POST" else {"kind": "decision"},
        errors=errors,
        people=[("", gettext("Nobody yet"))] + [(u.id, u.name) for u in _readers(meeting)],
    ), 400 if errors else 200


# --- attendance -----------------------------------------------------------------------


@bp.post("/meetings/<int:item_id>/attendance")
@page(access=permissions.signed_in)
def attendance_action(item_id: int) -> Response:
    meeting = permissions.load_meeting_to_attend(item_id)
    body, _errors = parse_form(AttendanceBody)
    if body is None:
        abort(400)
    _conflict_flashed(
        lambda: meetings_service.set_attendance(current_user, meeting, body.response),
        gettext("Attendance is closed for this meeting."),
    )
    return redirect(_page_url(meeting.id, "attendance"), 303)


# --- minutes ----------------------------------------------------------------------------


@bp.route("/meetings/<int:item_id>/minutes", methods=["GET", "POST"])
@page(access=permissions.signed_in)
def minutes_page(item_id: int) -> Any:
    """The minutes editor; a save based on an older version shows what changed meanwhile
    and keeps the text being written."""
    meeting, access = permissions.load_item_access(item_id, ItemAccess.edit, kind=Meeting)
    context = item_context(meeting, access) | {"meeting": meeting, "errors": {}, "newer": None}
    if request.method == "GET":
        return render("meetings/minutes_form.html", **context, text=meeting.minutes)
    text = request.form.get("minutes", "")
    body, errors = parse_form(MeetingUpdateBody)
    if body is None:
        return render("meetings/minutes_form.html", **context | {"errors": errors}, text=text), 400
    if request.form.get("version") != str(meeting.version) and text != meeting.minutes:
        newer = line_diff(text.splitlines(), meeting.minutes.splitlines())
        return render("meetings/minutes_form.html", **context | {"newer": newer}, text=text), 409
    meetings_service.update_meeting(current_user, meeting, {"minutes": body.minutes or ""})
    flash(gettext("The minutes are saved."))
    return redirect(_page_url(meeting.id, "minutes"), 303)


@bp.get("/meetings/<int:item_id>/minutes/revisions")
@page(access=permissions.signed_in)
def revisions_page(item_id: int) -> str:
    """The saved versions of the minutes, newest first, and what one changed."""
    meeting, access = permissions.load_item_access(item_id, kind=Meeting)
    number = _page_number("page")
    of_minutes = (TextRevision.item_id == meeting.id, TextRevision.field == "minutes")
    total = _revision_count(meeting)
    revisions = db.session.scalars(
        select(TextRevision)
        .where(*of_minutes)
        .order_by(TextRevision.number.desc())
        .limit(PER_PAGE)
        .offset((number - 1) * PER_PAGE)
    ).all()
    shown = request.args.get("revision", "")
    changes = None
    selected = None
    if shown.isdigit():
        pair = {
            r.number: r.text
            for r in db.session.scalars(
                select(TextRevision).where(
                    *of_minutes, TextRevision.number.in_([int(shown) - 1, int(shown)])
                )
            )
        }
        if int(shown) in pair:
            selected = int(shown)
            before = pair.get(selected - 1, "")
            changes = line_diff(before.splitlines(), pair[selected].splitlines())
    return render(
        "meetings/revisions.html",
        **item_context(meeting, access),
        meeting=meeting,
        revisions=revisions,
        total=total,
        page_number=number,
        per_page=PER_PAGE,
        selected=selected,
        changes=changes,
    )


# --- calendars ----------------------------------------------------------------------------


@bp.route("/groups/<int:workspace_id>/calendar", methods=["GET", "POST"])
@page(access=permissions.signed_in)
def calendar_page(workspace_id: int) -> Any:
    """How to subscribe to the group's meetings in a calendar application, and the
    personal link to do it (shown once when created, as the API does)."""
    workspace = permissions.load_workspace(workspace_id)
    link = None
    if request.method == "POST":
        if request.form.get("action") == "revoke":
            calendar_service.revoke_tokens(current_user)
            flash(gettext("Your calendar link no longer works."))
            return redirect(url_for("meetings.calendar_page", workspace_id=workspace.id), 303)
        token = calendar_service.rotate_token(current_user)
        link = url_for(
            "calendar_api.workspace_calendar",
            workspace_id=workspace.id,
            token=token,
            _external=True,
        )
    page_html = render("meetings/calendar.html", workspace=workspace, link=link)
    response = Response(page_html, mimetype="text/html")
    response.headers["Cache-Control"] = "private, no-store"
    return response
