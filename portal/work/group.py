"""A working group's page: its items of every kind, its activity, its members and who
is online, and a "new" menu showing only what the viewer's role allows."""

from __future__ import annotations

import functools
from typing import Any

from flask_login import current_user
from sqlalchemy import Select, func, select, union_all

from .. import permissions
from ..extensions import db
from ..pages import page, render, renders
from ..permissions import WorkspaceAction
from ..workspaces import kinds
from ..workspaces.models import Item, Membership, Role
from . import activity, bp
from .live import online_user_ids

# Items of each kind shown on the group page; the kind's own list has the rest.
RECENT_PER_KIND = 5
ROLE_ORDER = {Role.coordinator: 0, Role.member: 1, Role.observer: 2}


def recent_items(workspace_id: int) -> dict[str, dict[str, Any]]:
    """Kind name -> {count, items}: the newest changed items of each kind with a page.

    Two queries: one count for every kind, and the items of one union of, per kind,
    the newest few of the group's own items and of those shared with it, each part
    read from its index: the cost does not grow with the group's size."""
    counting, newest_items = _recent_statements()
    group = {permissions.GROUP: workspace_id}
    counts = dict(db.session.execute(counting, group).all())
    found = db.session.scalars(newest_items, group).all()
    sections: dict[str, dict[str, Any]] = {}
    for kind in kinds.with_pages():
        rows = [item for item in found if item.kind == kind.name]
        sections[kind.name] = {"count": counts.get(kind.name, 0), "items": rows[:RECENT_PER_KIND]}
    return sections


@functools.cache
def _recent_statements() -> tuple[Select[tuple[str, int]], Select[tuple[Item]]]:
    """`recent_items`' two queries, built once for any group (permissions.GROUP)."""
    workspace_id = permissions.bound_id(permissions.GROUP)
    counting = (
        select(Item.kind, func.count())
        .where(permissions.in_workspace(workspace_id))
        .group_by(Item.kind)
    )
    newest = (Item.updated_at.desc(), Item.id.desc())
    parts = [
        select(
            select(Item.id)
            .where(Item.kind == kind.name, half)
            .order_by(*newest)
            .limit(RECENT_PER_KIND)
            .subquery()
        )
        for kind in kinds.with_pages()
        for half in permissions.in_workspace_apart(workspace_id)
    ]
    return counting, select(Item).where(Item.id.in_(union_all(*parts))).order_by(*newest)


def members_of(workspace_id: int) -> list[Membership]:
    memberships = db.session.scalars(
        select(Membership).where(Membership.workspace_id == workspace_id)
    ).all()
    return sorted(memberships, key=lambda m: (ROLE_ORDER[m.role], m.user.name.casefold()))


@bp.get("/groups/<int:workspace_id>")
@page(access=permissions.signed_in)
def group_page(workspace_id: int) -> str:
    workspace = permissions.load_workspace(workspace_id)
    members = members_of(workspace.id) if renders("group_members") else []
    return render(
        "work/group.html",
        workspace=workspace,
        role=permissions.role_in(current_user, workspace.id),
        may_contribute=permissions.may_on_workspace(
            current_user, workspace, WorkspaceAction.contribute
        )
        and workspace.archived_at is None,
        sections=recent_items(workspace.id) if renders("group_items") else {},
        members=members,
        online=online_user_ids(m.user_id for m in members),
        activity=activity.latest(workspace.id) if renders("group_activity") else [],
    )
