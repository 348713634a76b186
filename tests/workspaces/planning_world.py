"""Test data for tasks and meetings, made through the services."""

from __future__ import annotations

from types import SimpleNamespace

from portal.accounts.models import User
from portal.extensions import db
from portal.workspaces import items_service, tasks_service
from portal.workspaces.models import SharePermission, Workspace

from ..factories import make_item_world


def make_planning_world() -> SimpleNamespace:
    """`make_item_world` plus a task of `ws` (by its member, assigned to them) shared
    for view and for edit like the memo."""
    world = make_item_world()
    member = db.session.get(User, world.member.id)
    coordinator = db.session.get(User, world.coordinator.id)
    ws = db.session.get(Workspace, world.ws_id)
    view_ws = db.session.get(Workspace, world.view_ws_id)
    edit_ws = db.session.get(Workspace, world.edit_ws_id)
    task = tasks_service.create_task(
        member, ws, title="Mapear los procesos de importación", assignees=[member]
    )
    for item in (task,):
        items_service.share(coordinator, item, view_ws, SharePermission.view)
        items_service.share(coordinator, item, edit_ws, SharePermission.edit)
    world.task_id = task.id
    return world
