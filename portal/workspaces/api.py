"""JSON routes of working groups and their memberships."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_login import current_user
from sqlalchemy import func, select

from .. import permissions
from ..accounts.api import user_summary
from ..accounts.models import User
from ..api import API_PREFIX, PageQuery, changes_of, endpoint, iso, not_found, paginate
from ..extensions import db
from ..network.models import Community
from ..permissions import WorkspaceAction
from . import service
from .contacts import ContactsQuery, GroupRole, contacts_statement, groups_by_person
from .models import Membership, Workspace
from .schemas import MembershipBody, WorkspaceCreateBody, WorkspaceQuery, WorkspaceUpdateBody

bp = Blueprint("workspaces_api", __name__, url_prefix=API_PREFIX)


def workspace_json(workspace: Workspace, *, role: str | None, member_count: int) -> dict[str, Any]:
    return {
        "id": workspace.id,
        "slug": workspace.slug,
        "name": workspace.name,
        "description": workspace.description,
        "created_at": iso(workspace.created_at),
        "archived_at": iso(workspace.archived_at),
        "role": role,
        "member_count": member_count,
    }


class _WorkspaceFacts:
    """The caller's role and the member count of a page of workspaces, in two queries."""

    def __init__(self) -> None:
        self.roles: dict[int, str] = {}
        self.counts: dict[int, int] = {}

    def load(self, workspaces: list[Workspace]) -> None:
        ids = [w.id for w in workspaces]
        self.counts = dict(
            db.session.execute(
                select(Membership.workspace_id, func.count())
                .where(Membership.workspace_id.in_(ids))
                .group_by(Membership.workspace_id)
            ).all()
        )
        self.roles = {
            ws_id: str(role)
            for ws_id, role in db.session.execute(
                select(Membership.workspace_id, Membership.role).where(
                    Membership.workspace_id.in_(ids), Membership.user_id == current_user.id
                )
            )
        }

    def json(self, workspace: Workspace) -> dict[str, Any]:
        return workspace_json(
            workspace,
            role=self.roles.get(workspace.id),
            member_count=self.counts.get(workspace.id, 0),
        )


def _one_workspace_json(workspace: Workspace) -> dict[str, Any]:
    facts = _WorkspaceFacts()
    facts.load([workspace])
    return facts.json(workspace)


def membership_json(membership: Membership) -> dict[str, Any]:
    user = membership.user
    return user_summary(user) | {
        "user_id": user.id,
        "email": user.email,
        "community": user.community.name if user.community else None,
        "role": str(membership.role),
        "active": user.active,
        "since": iso(membership.created_at),
    }


@bp.get("/workspaces")
@endpoint(access=permissions.signed_in, query=WorkspaceQuery)
def list_workspaces(query: WorkspaceQuery) -> dict[str, Any]:
    """The working groups the caller may read (all of them for the secretariat)."""
    statement = permissions.visible_workspaces(current_user).order_by(Workspace.name, Workspace.id)
    if query.q:
        statement = statement.where(func.lower(Workspace.name).like(f"%{query.q.lower()}%"))
    if query.archived is not None:
        archived = Workspace.archived_at.is_not(None)
        statement = statement.where(archived if query.archived else ~archived)
    facts = _WorkspaceFacts()
    return paginate(statement, query, facts.json, prepare=facts.load)


@bp.post("/workspaces")
@endpoint(access=permissions.secretariat, body=WorkspaceCreateBody, status=201)
def create_workspace(body: WorkspaceCreateBody) -> dict[str, Any]:
    """Create a working group."""
    workspace = service.create_workspace(current_user, **body.model_dump())
    return _one_workspace_json(workspace)


@bp.get("/workspaces/<int:workspace_id>")
@endpoint(access=permissions.signed_in)
def get_workspace(workspace_id: int) -> dict[str, Any]:
    """One working group, with the caller's role in it."""
    return _one_workspace_json(permissions.load_workspace(workspace_id))


@bp.patch("/workspaces/<int:workspace_id>")
@endpoint(access=permissions.signed_in, body=WorkspaceUpdateBody)
def update_workspace(workspace_id: int, body: WorkspaceUpdateBody) -> dict[str, Any]:
    """Rename, describe, archive or restore a working group."""
    workspace = permissions.load_workspace(workspace_id, WorkspaceAction.administer)
    service.update_workspace(current_user, workspace, changes_of(body))
    return _one_workspace_json(workspace)


@bp.delete("/workspaces/<int:workspace_id>")
@endpoint(access=permissions.signed_in)
def archive_workspace(workspace_id: int) -> dict[str, Any]:
    """Archive a working group: its members keep reading it, nobody changes it."""
    workspace = permissions.load_workspace(workspace_id, WorkspaceAction.administer)
    service.update_workspace(current_user, workspace, {"archived": True})
    return _one_workspace_json(workspace)


@bp.get("/workspaces/<int:workspace_id>/members")
@endpoint(access=permissions.signed_in, query=PageQuery)
def list_members(workspace_id: int, query: PageQuery) -> dict[str, Any]:
    """The members of a working group and their roles."""
    workspace = permissions.load_workspace(workspace_id)
    statement = (
        select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.workspace_id == workspace.id)
        .order_by(User.name, User.id)
    )
    return paginate(statement, query, membership_json)


@bp.put("/workspaces/<int:workspace_id>/members/<int:user_id>")
@endpoint(access=permissions.signed_in, body=MembershipBody)
def set_member(workspace_id: int, user_id: int, body: MembershipBody) -> dict[str, Any]:
    """Add a member or change their role (coordinators and the secretariat)."""
    workspace = permissions.load_workspace(workspace_id, WorkspaceAction.manage_members)
    user = db.session.get(User, user_id)
    if user is None:
        raise not_found("user")
    permissions.check_membership_change(workspace, user.id, body.role)
    return membership_json(service.set_membership(current_user, workspace, user, body.role))


@bp.delete("/workspaces/<int:workspace_id>/members/<int:user_id>")
@endpoint(access=permissions.signed_in)
def remove_member(workspace_id: int, user_id: int) -> dict[str, Any]:
    """Remove a member (coordinators and the secretariat)."""
    workspace = permissions.load_workspace(workspace_id, WorkspaceAction.manage_members)
    membership = db.session.get(Membership, (workspace.id, user_id))
    if membership is None:
        raise not_found("member")
    permissions.check_membership_change(workspace, user_id, None)
    service.remove_membership(current_user, workspace, membership)
    return {"removed": True, "user_id": user_id}


def contact_json(person: User, groups: list[GroupRole]) -> dict[str, Any]:
    """A person as the contacts show them: only the details they chose to show."""
    community = None if person.is_secretariat else person.community
    return {
        "id": person.id,
        "name": person.name,
        "community": {
            "id": community.id,
            "name": community.name,
            "member_state": community.member_state_code,
        }
        if community
        else None,
        "is_secretariat": person.is_secretariat,
        "is_focal_point": person.is_focal_point,
        **permissions.contact_details(person),
        "workspaces": [{"id": id_, "name": name, "role": role} for id_, name, role in groups],
    }


@bp.get("/contacts")
@endpoint(access=permissions.signed_in, query=ContactsQuery)
def list_contacts(query: ContactsQuery) -> dict[str, Any]:
    """The network's contacts: the secretariat, then each community's focal points and
    staff, with the details each person chose to show and the groups the caller sees
    them in; `q` searches names, communities and ports."""
    statement = contacts_statement(current_user, query).order_by(
        User.is_secretariat.desc(),
        Community.member_state_code,
        Community.name,
        User.is_focal_point.desc(),
        User.name,
        User.id,
    )
    groups: dict[int, list[GroupRole]] = {}

    def load_groups(people: list[User]) -> None:
        groups.update(groups_by_person(current_user, [person.id for person in people]))

    return paginate(
        statement,
        query,
        lambda person: contact_json(person, groups.get(person.id, [])),
        prepare=load_groups,
    )
