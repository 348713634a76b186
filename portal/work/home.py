"""My work: where a signed-in member lands. Their groups, their open tasks by due date,
the next meetings, unread notifications and what others changed in their groups since
their previous sign-in; each part a few queries, whatever the size of the groups."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_login import current_user
from sqlalchemy import Select, exists, select
from sqlalchemy.orm import aliased

from .. import permissions
from ..accounts.auth import previous_sign_in
from ..events import utcnow
from ..extensions import db
from ..meetings.models import Meeting, MeetingStatus
from ..pages import page, render, renders, viewer_zone
from ..tasks.models import Task, TaskStatus, task_assignees
from ..workspaces.models import Membership, Workspace
from . import activity, bp
from .notifications import newest_unread

TASKS_SHOWN = 10
MEETINGS_SHOWN = 5
NOTIFICATIONS_SHOWN = 5
CHANGES_SHOWN = 10


def _my_groups_statement() -> Select[tuple[Workspace]]:
    """The groups the viewer reads, not archived, by name."""
    return (
        permissions.visible_workspaces(current_user)
        .where(Workspace.archived_at.is_(None))
        .order_by(Workspace.name)
    )


def my_groups() -> list[tuple[Workspace, Any]]:
    """The groups the viewer reads, by name, each with the viewer's role (None for the
    secretariat outside theirs): one query."""
    mine = aliased(Membership)
    role = (
        select(mine.role)
        .where(mine.workspace_id == Workspace.id, mine.user_id == current_user.id)
        .scalar_subquery()
    )
    rows = db.session.execute(_my_groups_statement().add_columns(role))
    return [(group, group_role) for group, group_role in rows]


def my_group_ids() -> list[int]:
    """The ids of `my_groups`, by name, without loading the groups."""
    return list(db.session.scalars(_my_groups_statement().with_only_columns(Workspace.id)))


def readable(model: Any) -> Any:
    """The row's item is one the viewer may read, looked up by its key: building the set
    of every readable item first would cost as much as the groups are big."""
    ids = permissions.readable_item_ids(current_user).subquery()
    return exists(select(ids.c.id).where(ids.c.id == model.id))


def open_tasks() -> list[Task]:
    """The viewer's open tasks that they may still read, due soonest first (no date last)."""
    return list(
        db.session.scalars(
            select(Task)
            .join(task_assignees, task_assignees.c.task_id == Task.id)
            .where(
                task_assignees.c.user_id == current_user.id,
                Task.status != TaskStatus.done,
                readable(Task),
            )
            .order_by(Task.due_date.is_(None), Task.due_date, Task.id)
            .limit(TASKS_SHOWN)
        )
    )


def next_meetings() -> list[Meeting]:
    """Meetings the viewer may read that have not ended nor been cancelled, soonest first."""
    return list(
        db.session.scalars(
            select(Meeting)
            .where(
                Meeting.ends_at > utcnow(),
                Meeting.status.in_([MeetingStatus.planned, MeetingStatus.in_progress]),
                readable(Meeting),
            )
            .order_by(Meeting.starts_at, Meeting.id)
            .limit(MEETINGS_SHOWN)
        )
    )


def group_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.session.execute(select(Workspace.id, Workspace.name).where(Workspace.id.in_(ids)))
    return dict(rows.all())


@bp.get("/work")
@page(access=permissions.signed_in)
def my_work() -> str:
    groups = my_groups() if renders() else []
    # A refresh shows no group, but its block listens to each one's events.
    group_ids = [group.id for group, _role in groups] if renders() else my_group_ids()
    tasks = open_tasks() if renders() else []
    meetings = next_meetings() if renders() else []
    since = previous_sign_in()
    changes = []
    if renders("my_changes"):
        changes = activity.newest_in_my_groups(since, CHANGES_SHOWN)
    notifications = newest_unread(NOTIFICATIONS_SHOWN) if renders("my_notifications") else []
    today: date = utcnow().astimezone(viewer_zone()).date()
    return render(
        "work/my_work.html",
        groups=groups,
        tasks=tasks,
        meetings=meetings,
        names=group_names({i.workspace_id for i in [*tasks, *meetings]}),
        today=today,
        since=since,
        changes=changes,
        notifications=notifications,
        live_events=[f"live:workspace-{group_id}" for group_id in group_ids],
    )
