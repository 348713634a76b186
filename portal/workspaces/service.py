"""Every change to working groups and their memberships."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from .. import events
from ..accounts.models import User
from ..api import conflict, invalid
from ..events import utcnow
from ..extensions import db
from ..text import free_slug
from .models import Membership, Role, Workspace


def create_workspace(
    actor: User | None,
    *,
    name: str,
    description: str = "",
    slug: str | None = None,
    is_demo: bool = False,
) -> Workspace:
    if slug is not None and db.session.scalar(select(Workspace.id).where(Workspace.slug == slug)):
        raise conflict("A workspace already uses this slug.", fields={"slug": "Taken."})
    workspace = Workspace(
        slug=slug or free_slug(Workspace.slug, name),
        name=name,
        description=description,
        created_at=utcnow(),
        is_demo=is_demo,
    )
    db.session.add(workspace)
    db.session.flush()
    events.record("workspace.created", actor=actor, workspace=workspace, data={"name": name})
    db.session.commit()
    return workspace


def update_workspace(actor: User, workspace: Workspace, changes: dict[str, Any]) -> Workspace:
    """Rename, describe, archive (`archived: true`) or restore a workspace."""
    verb = "workspace.updated"
    changed = []
    if "archived" in changes:
        archived = changes.pop("archived")
        if archived and workspace.archived_at is None:
            workspace.archived_at = utcnow()
            verb = "workspace.archived"
            changed.append("archived")
        elif not archived and workspace.archived_at is not None:
            workspace.archived_at = None
            verb = "workspace.restored"
            changed.append("archived")
    for field, value in changes.items():
        if getattr(workspace, field) != value:
            setattr(workspace, field, value)
            changed.append(field)
    if changed:
        events.record(verb, actor=actor, workspace=workspace, data={"fields": sorted(changed)})
        db.session.commit()
    return workspace


def _require_open(workspace: Workspace) -> None:
    if workspace.archived_at is not None:
        raise conflict("The workspace is archived; restore it first.")


def set_membership(
    actor: User | None, workspace: Workspace, user: User, role: Role, *, commit: bool = True
) -> Membership:
    """Add the user with `role`, or change their role (`commit=False`: in the caller's
    transaction)."""
    _require_open(workspace)
    if not user.active:
        raise invalid({"user_id": "This user is deactivated."})
    membership = db.session.get(Membership, (workspace.id, user.id))
    data = {"user_id": user.id, "role": str(role)}
    if membership is None:
        membership = Membership(
            workspace_id=workspace.id, user_id=user.id, role=role, created_at=utcnow()
        )
        db.session.add(membership)
        events.record("member.added", actor=actor, workspace=workspace, data=data)
    elif membership.role is not role:
        data["previous_role"] = str(membership.role)
        membership.role = role
        events.record("member.role_changed", actor=actor, workspace=workspace, data=data)
    else:
        return membership
    if commit:
        db.session.commit()
    return membership


def remove_membership(actor: User, workspace: Workspace, membership: Membership) -> None:
    _require_open(workspace)
    user_id = membership.user_id
    db.session.delete(membership)
    events.record("member.removed", actor=actor, workspace=workspace, data={"user_id": user_id})
    db.session.commit()
