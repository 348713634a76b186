"""Test data for tasks and meetings, made through the services."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from portal.accounts.models import User
from portal.extensions import db
from portal.meetings import service as meetings_service
from portal.meetings.models import MeetingStatus
from portal.tasks import service as tasks_service
from portal.workspaces import items_service
from portal.workspaces.models import SharePermission, Workspace

from ..factories import make_item_world


def make_planning_world() -> SimpleNamespace:
    """`make_item_world` plus, by `ws`'s member and shared for view and for edit like
    the memo: a task assigned to them, and a meeting in progress with one agenda point
    (`agenda`) and one backlog point (`backlog`)."""
    world = make_item_world()
    member = db.session.get(User, world.member.id)
    coordinator = db.session.get(User, world.coordinator.id)
    ws = db.session.get(Workspace, world.ws_id)
    view_ws = db.session.get(Workspace, world.view_ws_id)
    edit_ws = db.session.get(Workspace, world.edit_ws_id)
    task = tasks_service.create_task(
        member, ws, title="Mapear los procesos de importación", assignees=[member]
    )
    meeting = meetings_service.create_meeting(
        member,
        ws,
        title="Reunión de coordinación de importación",
        starts_at=datetime(2026, 12, 3, 14, 0, tzinfo=UTC),
        ends_at=datetime(2026, 12, 3, 16, 0, tzinfo=UTC),
        timezone="America/Bogota",
        location="Sala de juntas, Cartagena",
    )
    agenda = meetings_service.add_agenda_item(
        member, meeting, title="Estado del piloto", presenter_id=member.id, duration_minutes=20
    )
    backlog = meetings_service.add_agenda_item(
        member, meeting, title="Tarifas 2027", scheduled=False
    )
    meetings_service.update_meeting(member, meeting, {"status": MeetingStatus.in_progress})
    for item in (task, meeting):
        items_service.share(coordinator, item, view_ws, SharePermission.view)
        items_service.share(coordinator, item, edit_ws, SharePermission.edit)
    world.task_id = task.id
    world.meeting_id = meeting.id
    world.agenda_id = agenda.id
    world.backlog_id = backlog.id
    return world
