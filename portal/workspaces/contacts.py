"""The network's contacts as members read them (the contacts page and GET /contacts):
who is listed, how a search narrows them, and the groups each is seen in. What may be
read is `permissions`' (`contact_people`, `visible_memberships`, `contact_details`)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import StringConstraints
from sqlalchemy import Select, func, or_

from .. import permissions
from ..accounts.models import User
from ..api import Id, PageQuery
from ..extensions import db
from ..network.models import Community
from .models import Membership, Workspace

# (group id, group name, role) of a person's membership.
GroupRole = tuple[int, str, str]


class ContactsQuery(PageQuery):
    # Part of a person's name, or of a community's name or port (never of a detail the
    # person may hide: a search must not reveal what the page does not show).
    q: Annotated[str, StringConstraints(max_length=100)] = ""
    community_id: Id | None = None


def contacts_statement(viewer: Any, query: ContactsQuery) -> Select[tuple[User]]:
    """The people the viewer finds with `query` (unordered)."""
    people = permissions.contact_people(viewer)
    if query.q:
        pattern = f"%{query.q.lower()}%"
        people = people.where(
            or_(
                func.lower(User.name).like(pattern),
                func.lower(Community.name).like(pattern),
                func.lower(Community.port).like(pattern),
            )
        )
    if query.community_id is not None:
        people = people.where(
            User.community_id == query.community_id, User.is_secretariat.is_(False)
        )
    return people


def groups_by_person(viewer: Any, user_ids: Any) -> dict[int, list[GroupRole]]:
    """User id -> the open groups the viewer sees them in, by name, for every id of
    `user_ids` (a list or a select of ids) in one query."""
    rows = db.session.execute(
        permissions.visible_memberships(viewer)
        .with_only_columns(Membership.user_id, Workspace.id, Workspace.name, Membership.role)
        .join(Workspace, Workspace.id == Membership.workspace_id)
        .where(Workspace.archived_at.is_(None), Membership.user_id.in_(user_ids))
        .order_by(Workspace.name)
    )
    groups: dict[int, list[GroupRole]] = {}
    for user_id, workspace_id, name, role in rows:
        groups.setdefault(user_id, []).append((workspace_id, name, str(role)))
    return groups
