"""JSON routes of invitations (API.md, "Onboarding")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import and_, or_

from .. import permissions
from ..accounts.api import me_json
from ..api import API_PREFIX, endpoint, iso, paginate
from ..events import utcnow
from ..workspaces.models import Role
from . import service
from .models import Invitation
from .schemas import AcceptBody, InvitationBody, InvitationQuery

bp = Blueprint("onboarding_api", __name__, url_prefix=API_PREFIX)


def invitation_json(invitation: Invitation) -> dict[str, Any]:
    return {
        "id": invitation.id,
        "email": invitation.email,
        "name": invitation.name,
        "locale": invitation.locale,
        "status": str(invitation.status),
        "community_id": invitation.community_id,
        "workspace_id": invitation.workspace_id,
        "more_workspace_ids": [group.id for group in invitation.more_groups],
        "role": str(invitation.role) if invitation.role else None,
        "is_secretariat": invitation.is_secretariat,
        "is_focal_point": invitation.is_focal_point,
        "invited_by": (
            {"id": invitation.invited_by.id, "name": invitation.invited_by.name}
            if invitation.invited_by
            else None
        ),
        "created_at": iso(invitation.created_at),
        "sent_at": iso(invitation.sent_at),
        "expires_at": iso(invitation.expires_at),
        "accepted_at": iso(invitation.accepted_at),
    }


def with_status(statement: Any, status: str | None, now: datetime) -> Any:
    """Filter invitations by their status as `Invitation.status_at` defines it."""
    live = and_(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
    conditions = {
        "accepted": Invitation.accepted_at.is_not(None),
        "revoked": and_(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_not(None)),
        "expired": and_(live, Invitation.expires_at <= now),
        "pending": and_(live, Invitation.expires_at > now),
    }
    return statement if status is None else statement.where(or_(conditions[status]))


@bp.post("/invitations")
@endpoint(access=permissions.signed_in, body=InvitationBody, status=201)
def create_invitation(body: InvitationBody) -> dict[str, Any]:
    """Invite someone by e-mail (the secretariat anyone; a coordinator to their group)."""
    # Invited to a group without a role: as a member.
    role = body.role or (Role.member if body.workspace_id is not None else None)
    workspace = permissions.check_invitation(
        body.workspace_id, role, body.community_id, body.is_secretariat
    )
    invitation, status = service.invite(
        current_user,
        email=body.email,
        name=body.name or "",
        locale=body.locale,
        community_id=body.community_id,
        workspace=workspace,
        role=role,
        is_secretariat=body.is_secretariat,
    )
    if invitation is None:
        return {"email": body.email.lower(), "status": status, "workspace_id": body.workspace_id,
                "role": str(role)}  # fmt: skip
    return invitation_json(invitation)


@bp.get("/invitations")
@endpoint(access=permissions.signed_in, query=InvitationQuery)
def list_invitations(query: InvitationQuery) -> dict[str, Any]:
    """The invitations the caller manages, newest first."""
    statement = with_status(permissions.visible_invitations(current_user), query.status, utcnow())
    return paginate(
        statement.order_by(Invitation.created_at.desc(), Invitation.id.desc()),
        query,
        invitation_json,
    )


@bp.post("/invitations/<int:invitation_id>/resend")
@endpoint(access=permissions.signed_in)
def resend_invitation(invitation_id: int) -> dict[str, Any]:
    """Send a new link; the old one stops working."""
    invitation = permissions.load_invitation(invitation_id)
    return invitation_json(service.resend(current_user, invitation))


@bp.delete("/invitations/<int:invitation_id>")
@endpoint(access=permissions.signed_in)
def revoke_invitation(invitation_id: int) -> dict[str, Any]:
    """The link stops working."""
    invitation = permissions.load_invitation(invitation_id)
    return invitation_json(service.revoke(current_user, invitation))


def public_invitation_json(invitation: Invitation) -> dict[str, Any]:
    """What the link's holder learns: who invited them to what."""
    return {
        "email": invitation.email,
        "name": invitation.name,
        "community": (
            {"id": invitation.community.id, "name": invitation.community.name}
            if invitation.community
            else None
        ),
        "workspace": (
            {"id": invitation.workspace.id, "name": invitation.workspace.name}
            if invitation.workspace
            else None
        ),
        "more_workspaces": [{"id": g.id, "name": g.name} for g in invitation.more_groups],
        "role": str(invitation.role) if invitation.role else None,
        "invited_by": invitation.invited_by.name if invitation.invited_by else None,
        "expires_at": iso(invitation.expires_at),
    }


@bp.get("/auth/invitations/<token>")
@endpoint(access=permissions.anyone)
def show_invitation(token: str) -> dict[str, Any]:
    """An invitation by its link; 404 when unknown, used, revoked or expired."""
    return public_invitation_json(service.by_token(token))


@bp.post("/auth/invitations/<token>/accept")
@endpoint(access=permissions.anyone, body=AcceptBody, status=201)
def accept_invitation(token: str, body: AcceptBody) -> dict[str, Any]:
    """Create the account with its membership and sign in. The link works once."""
    invitation = service.by_token(token)
    user = service.accept(
        invitation,
        name=body.name,
        password=body.password,
        locale=body.locale,
        timezone=body.timezone,
    )
    return me_json(user) | {"csrf_token": generate_csrf()}


accept_invitation.csrf_exempt = True  # type: ignore[attr-defined]  # no session yet, as login
