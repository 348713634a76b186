"""Inviting people and accepting invitations.

The link's token is shown only in the e-mail; the table keeps its SHA-256, so a copy
of the database opens no account. A resend makes a new token (the old link stops
working); accepting, revoking or expiry end it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import select

from .. import events, mail
from ..accounts import service as accounts
from ..accounts.models import User
from ..api import conflict, not_found
from ..events import utcnow
from ..extensions import db
from ..i18n import DEFAULT_LOCALE, names_list
from ..network import service as network
from ..network.models import Community
from ..workspaces import service as workspaces
from ..workspaces.models import Role, Workspace
from .models import Invitation, InvitationStatus


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_link(invitation: Invitation) -> str:
    """A fresh token for the invitation (replacing any earlier one) and its expiry."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    invitation.token_hash = _hash(token)
    invitation.sent_at = now
    invitation.expires_at = now + timedelta(days=current_app.config["PORTAL"]["INVITATION_DAYS"])
    return token


def invitation_url(token: str) -> str:
    return f"{current_app.config['PORTAL']['BASE_URL'].rstrip('/')}/invitation/{token}"


def _send(invitation: Invitation, token: str, inviter: User | None) -> None:
    """The invitation e-mail, in the invitee's language, in the current transaction."""
    context = {
        "invitation": invitation,
        "inviter": inviter,
        "url": invitation_url(token),
        "base_url": current_app.config["PORTAL"]["BASE_URL"].rstrip("/"),
    }
    text, html = mail.render("invitation", invitation.locale, **context)
    with force_locale(invitation.locale):
        if invitation.more_groups:
            subject = gettext(
                "You are invited to the working groups %(groups)s",
                groups=names_list([group.name for group in invitation.groups]),
            )
        elif invitation.workspace is not None:
            subject = gettext(
                "You are invited to the working group %(group)s", group=invitation.workspace.name
            )
        else:
            subject = gettext("You are invited to the Port Network Portal")
    mail.queue(mail.address(invitation.name, invitation.email), subject, text, html)


def invite(
    actor: User,
    *,
    email: str,
    name: str = "",
    locale: str | None = None,
    community_id: int | None = None,
    workspace: Workspace | None = None,
    role: Role | None = None,
    is_secretariat: bool = False,
    more_groups: Sequence[Workspace] = (),
    is_focal_point: bool = False,
    commit: bool = True,
) -> tuple[Invitation | None, str]:
    """Invite an address; (invitation, "pending"), or (None, "added") when the address
    already has an active account and a group was named: they are added to it (the
    membership's event notifies them). `more_groups` are joined with the same role as
    `workspace`; `is_focal_point` makes them their community's focal point.
    `commit=False` leaves it all in the caller's transaction."""
    email = accounts.normalize_email(email)
    existing = db.session.scalar(select(User).where(User.email == email))
    if existing is not None:
        if existing.active and workspace is not None and role is not None:
            workspaces.set_membership(actor, workspace, existing, role, commit=commit)
            return None, "added"
        raise conflict("This address already has an account.", fields={"email": "Has an account."})
    if community_id is not None and db.session.get(Community, community_id) is None:
        raise not_found("community")
    now = utcnow()
    pending = db.session.scalars(
        select(Invitation).where(
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
    ).first()
    if pending is not None:
        raise conflict(
            "A pending invitation exists for this address: send it again instead.",
            fields={"email": "Already invited."},
            invitation_id=pending.id,
        )
    invitation = Invitation(
        email=email,
        name=name or "",
        locale=locale or getattr(actor, "locale", None) or DEFAULT_LOCALE,
        community_id=community_id,
        workspace=workspace,
        workspace_id=workspace.id if workspace else None,
        role=role if workspace is not None else None,
        is_secretariat=is_secretariat,
        is_focal_point=is_focal_point and community_id is not None,
        more_groups=[g for g in more_groups if workspace is not None and g != workspace],
        invited_by_id=actor.id,
        created_at=now,
    )
    token = _new_link(invitation)
    db.session.add(invitation)
    db.session.flush()
    events.record("invitation.created", actor=actor, data=_event_data(invitation))
    _send(invitation, token, actor)
    if commit:
        db.session.commit()
    return invitation, "pending"


def onboard_community(
    actor: User,
    *,
    member_state: str,
    new_member_state_name: str | None,
    community: dict[str, Any],
    focal_point: dict[str, Any],
    groups: Sequence[Workspace] = (),
    role: Role = Role.member,
) -> Invitation:
    """A community joins in one transaction: its member state when new
    (`new_member_state_name` given), the community, and the invitation of its focal
    point (to the working `groups`, if any, with `role`), whose e-mail goes out only if
    all of it commits. Any refusal rolls everything back and is raised.

    The focal point is a new person: an address that already has an account is refused
    (adding an existing user to a group is the group's members page)."""
    try:
        if new_member_state_name is not None:
            network.create_member_state(actor, member_state, new_member_state_name, commit=False)
        created = network.create_community(
            actor, member_state=member_state, commit=False, **community
        )
        email = accounts.normalize_email(focal_point["email"])
        if db.session.scalar(select(User.id).where(User.email == email)) is not None:
            raise conflict(
                "This address already has an account.", fields={"email": "Has an account."}
            )
        invitation, _ = invite(
            actor,
            email=email,
            name=focal_point.get("name") or "",
            locale=focal_point.get("locale"),
            community_id=created.id,
            workspace=groups[0] if groups else None,
            role=role if groups else None,
            more_groups=groups[1:],
            is_focal_point=True,
            commit=False,
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    assert invitation is not None  # a new address is always invited, never "added"
    return invitation


def _event_data(invitation: Invitation) -> dict[str, Any]:
    return {
        "invitation_id": invitation.id,
        "email": invitation.email,
        "workspace_id": invitation.workspace_id,
        "more_workspace_ids": [group.id for group in invitation.more_groups],
        "role": str(invitation.role) if invitation.role else None,
    }


def _require_pending(invitation: Invitation) -> None:
    status = invitation.status
    if status is not InvitationStatus.pending and status is not InvitationStatus.expired:
        raise conflict(f"This invitation is {status}.")


def resend(actor: User, invitation: Invitation) -> Invitation:
    """A new link (the old one stops working) and a new expiry."""
    _require_pending(invitation)
    token = _new_link(invitation)
    events.record("invitation.resent", actor=actor, data=_event_data(invitation))
    _send(invitation, token, actor)
    db.session.commit()
    return invitation


def revoke(actor: User, invitation: Invitation) -> Invitation:
    _require_pending(invitation)
    invitation.revoked_at = utcnow()
    events.record("invitation.revoked", actor=actor, data=_event_data(invitation))
    db.session.commit()
    return invitation


def by_token(token: str) -> Invitation:
    """The pending invitation of a link; 404 when unknown, used, revoked or expired."""
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == _hash(token)))
    if invitation is None or invitation.status is not InvitationStatus.pending:
        raise not_found("invitation")
    return invitation


def accept(
    invitation: Invitation,
    *,
    name: str,
    password: str,
    locale: str | None = None,
    timezone: str | None = None,
) -> User:
    """Create the account and its membership and sign it in, all in one transaction."""
    if invitation.workspace is not None and invitation.workspace.archived_at is not None:
        raise conflict("The working group of this invitation is archived.")
    user = accounts.create_user(
        None,
        email=invitation.email,
        name=name,
        community_id=invitation.community_id,
        password=password,
        is_secretariat=invitation.is_secretariat,
        locale=locale or invitation.locale,
        timezone=timezone,
        commit=False,
    )
    user.is_focal_point = invitation.is_focal_point and user.community_id is not None
    if invitation.role is not None:
        # A further group archived since the invitation takes nobody in; the others do.
        for group in invitation.groups:
            if group is invitation.workspace or group.archived_at is None:
                workspaces.set_membership(
                    invitation.invited_by, group, user, invitation.role, commit=False
                )
    invitation.accepted_at = utcnow()
    invitation.user_id = user.id
    event = events.record("invitation.accepted", actor=user, data=_event_data(invitation))
    # The inviter hears that the person is in (and, by their choice, by e-mail).
    if invitation.invited_by_id is not None:
        accounts.notify(event, [invitation.invited_by_id], actor=user)
    accounts.sign_in(user, password)  # commits the whole
    return user
