"""Meetings: when and where a working group meets, its agenda and backlog, the
outcomes of each point, who attends, and the minutes (kept as revisions).

A task outcome creates its task through `tasks.service`: the one import between
item kinds (DESIGN.md's dependency rule; `tests/test_layout.py` holds the list).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from ..accounts.models import User
from ..accounts.service import notify
from ..api import conflict, invalid
from ..events import utcnow
from ..extensions import db
from ..tasks import service as tasks_service
from ..workspaces import items_service
from ..workspaces.models import Share, Workspace
from .models import (
    AgendaItem,
    Attendance,
    AttendanceResponse,
    Meeting,
    MeetingStatus,
    Outcome,
    OutcomeKind,
)

# Where a meeting's status may go next; staying put is always allowed.
TRANSITIONS: dict[MeetingStatus, set[MeetingStatus]] = {
    MeetingStatus.planned: {MeetingStatus.in_progress, MeetingStatus.cancelled},
    MeetingStatus.in_progress: {MeetingStatus.held, MeetingStatus.cancelled},
    MeetingStatus.held: set(),
    MeetingStatus.cancelled: set(),
}


def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise invalid({"ends_at": "The meeting must end after it starts."})


def create_meeting(actor: User, workspace: Workspace, **fields: Any) -> Meeting:
    if fields.get("status", MeetingStatus.planned) is not MeetingStatus.planned:
        raise invalid({"status": "A new meeting is planned; start it later."})
    _check_times(fields["starts_at"], fields["ends_at"])
    meeting = items_service.add_item(actor, workspace, Meeting(**fields))
    if meeting.minutes:
        items_service.save_revision(meeting, "minutes", meeting.minutes, actor)
    db.session.commit()
    return meeting


def _attendee_ids(meeting: Meeting) -> list[int]:
    """Who said they come (yes or maybe): told when the meeting moves or is cancelled."""
    return list(
        db.session.scalars(
            select(Attendance.user_id).where(
                Attendance.meeting_id == meeting.id,
                Attendance.response.in_([AttendanceResponse.yes, AttendanceResponse.maybe]),
            )
        )
    )


def update_meeting(actor: User, meeting: Meeting, changes: dict[str, Any]) -> Meeting:
    """Apply the changed fields; the status only moves forward (409 otherwise)."""
    changed = sorted(field for field, value in changes.items() if getattr(meeting, field) != value)
    if not changed:
        return meeting
    _check_times(
        changes.get("starts_at", meeting.starts_at), changes.get("ends_at", meeting.ends_at)
    )
    if "status" in changed and changes["status"] not in TRANSITIONS[meeting.status]:
        raise conflict(f"A {meeting.status} meeting cannot become {changes['status']}.")
    for field in changed:
        setattr(meeting, field, changes[field])
    if "minutes" in changed:
        items_service.save_revision(meeting, "minutes", meeting.minutes, actor)
    items_service.touch(meeting)
    items_service.record_item_event("item.updated", actor, meeting, fields=changed)
    if "status" in changed and meeting.status is MeetingStatus.cancelled:
        event = items_service.record_item_event("meeting.cancelled", actor, meeting)
        notify(event, _attendee_ids(meeting), actor=actor)
    elif {"starts_at", "ends_at"} & set(changed):
        event = items_service.record_item_event(
            "meeting.rescheduled",
            actor,
            meeting,
            starts_at=meeting.starts_at.isoformat(),
            ends_at=meeting.ends_at.isoformat(),
        )
        notify(event, _attendee_ids(meeting), actor=actor)
    db.session.commit()
    return meeting


# --- agenda -------------------------------------------------------------------


def _next_position(meeting: Meeting, scheduled: bool) -> int:
    last = db.session.scalar(
        select(func.max(AgendaItem.position)).where(
            AgendaItem.meeting_id == meeting.id, AgendaItem.scheduled.is_(scheduled)
        )
    )
    return (last or 0) + 1


def add_agenda_item(actor: User, meeting: Meeting, **fields: Any) -> AgendaItem:
    point = AgendaItem(meeting_id=meeting.id, **fields)
    point.position = _next_position(meeting, point.scheduled)
    db.session.add(point)
    db.session.flush()
    items_service.touch(meeting)
    items_service.record_item_event(
        "agenda.item_added", actor, meeting, agenda_item_id=point.id, scheduled=point.scheduled
    )
    db.session.commit()
    return point


def update_agenda_item(
    actor: User, meeting: Meeting, point: AgendaItem, changes: dict[str, Any]
) -> AgendaItem:
    changed = sorted(field for field, value in changes.items() if getattr(point, field) != value)
    if not changed:
        return point
    if "scheduled" in changed:
        # Moving between the agenda and the backlog puts the point at the end.
        point.position = _next_position(meeting, changes["scheduled"])
    for field in changed:
        setattr(point, field, changes[field])
    items_service.touch(meeting)
    items_service.record_item_event(
        "agenda.item_changed", actor, meeting, agenda_item_id=point.id, fields=changed
    )
    db.session.commit()
    return point


def delete_agenda_item(actor: User, meeting: Meeting, point: AgendaItem) -> None:
    point_id = point.id
    db.session.delete(point)
    items_service.touch(meeting)
    items_service.record_item_event("agenda.item_removed", actor, meeting, agenda_item_id=point_id)
    db.session.commit()


def scheduled_points(meeting: Meeting) -> list[AgendaItem]:
    return list(
        db.session.scalars(
            select(AgendaItem)
            .where(AgendaItem.meeting_id == meeting.id, AgendaItem.scheduled.is_(True))
            .order_by(AgendaItem.position, AgendaItem.id)
        )
    )


def reorder_agenda(actor: User, meeting: Meeting, ids: list[int]) -> None:
    """Put the scheduled points in this order; `ids` must name each of them once."""
    points = {p.id: p for p in scheduled_points(meeting)}
    if len(ids) != len(set(ids)) or set(ids) != set(points):
        raise invalid({"ids": "Give each scheduled point of this meeting's agenda exactly once."})
    if [p.id for p in sorted(points.values(), key=lambda p: (p.position, p.id))] == ids:
        return
    for position, point_id in enumerate(ids, start=1):
        points[point_id].position = position
    items_service.touch(meeting)
    items_service.record_item_event("agenda.reordered", actor, meeting, ids=ids)
    db.session.commit()


# --- outcomes and attendance --------------------------------------------------


def add_outcome(
    actor: User,
    meeting: Meeting,
    point: AgendaItem,
    *,
    kind: OutcomeKind,
    text: str,
    task: dict[str, Any] | None = None,
    assignees: list[User] | None = None,
) -> Outcome:
    """Record what a point produced while the meeting is in progress (409 otherwise).

    A task outcome creates the task in the meeting's workspace, linked both ways
    (`Task.meeting_id`, `Outcome.task_id`) and shared like the meeting, so whoever
    reads the meeting reads the task it produced.
    """
    if meeting.status is not MeetingStatus.in_progress:
        raise conflict("Outcomes are recorded while the meeting is in progress.")
    if kind is OutcomeKind.task and task is None:
        raise invalid({"task": "A task outcome needs the task: {title, assignee_ids, due_date}."})
    if kind is OutcomeKind.decision and task is not None:
        raise invalid({"task": "A decision creates no task."})
    outcome = Outcome(
        agenda_item_id=point.id,
        kind=kind,
        text=text,
        created_by_id=actor.id,
        created_at=utcnow(),
    )
    if task is not None:
        workspace = db.session.get(Workspace, meeting.workspace_id)
        new_task = tasks_service.add_task(
            actor,
            workspace,  # type: ignore[arg-type]
            title=task["title"],
            description=text,
            due_date=task.get("due_date"),
            assignees=assignees or [],
            meeting_id=meeting.id,
        )
        for share in db.session.scalars(select(Share).where(Share.item_id == meeting.id)):
            db.session.add(
                Share(
                    item_id=new_task.id,
                    workspace_id=share.workspace_id,
                    permission=share.permission,
                    created_at=utcnow(),
                    created_by_id=actor.id,
                )
            )
        outcome.task_id = new_task.id
    db.session.add(outcome)
    db.session.flush()
    items_service.record_item_event(
        "meeting.outcome_recorded",
        actor,
        meeting,
        agenda_item_id=point.id,
        outcome_id=outcome.id,
        outcome_kind=str(kind),
        task_id=outcome.task_id,
    )
    db.session.commit()
    return outcome


def set_attendance(actor: User, meeting: Meeting, response: AttendanceResponse) -> Attendance:
    if meeting.status in (MeetingStatus.held, MeetingStatus.cancelled):
        raise conflict(f"The meeting is {meeting.status}; attendance is closed.")
    row = db.session.get(Attendance, (meeting.id, actor.id))
    if row is not None and row.response is response:
        return row
    if row is None:
        row = Attendance(meeting_id=meeting.id, user_id=actor.id, response=response)
        db.session.add(row)
    row.response = response
    row.updated_at = utcnow()
    items_service.record_item_event(
        "meeting.attendance", actor, meeting, user_id=actor.id, response=str(response)
    )
    db.session.commit()
    return row
