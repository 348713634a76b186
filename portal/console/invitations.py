"""The console's invitations: every invitation by status, the form that invites anyone
(to a community, a working group, the secretariat), and resending or revoking one.

The same service and the same rules as `POST /api/v1/invitations` (`check_invitation`,
`onboarding.service`); the secretariat sees them all (`visible_invitations`)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from .. import permissions
from ..api import ApiError
from ..events import utcnow
from ..extensions import db
from ..network.models import Community
from ..onboarding import service
from ..onboarding.api import with_status
from ..onboarding.models import Invitation, InvitationStatus
from ..onboarding.schemas import InvitationBody
from ..pages import page, parse_form, render
from ..workspaces.models import Role
from . import bp
from .network import (
    Errors,
    Page,
    address_taken,
    language_options,
    refusal_errors,
    role_options,
    workspace_options,
)

PER_PAGE = 50

STATUS_LABELS = {
    InvitationStatus.pending: lazy_gettext("Pending"),
    InvitationStatus.accepted: lazy_gettext("Accepted"),
    InvitationStatus.revoked: lazy_gettext("Revoked"),
    InvitationStatus.expired: lazy_gettext("Expired"),
}

# Where resend and revoke may send the secretariat back to (the page they came from).
BACK_PREFIX = "/console/"


@bp.get("/invitations")
@page(access=permissions.console)
def invitations() -> str:
    """The invitations, newest first, of one status or all."""
    status = request.args.get("status", "")
    status = status if status in InvitationStatus.__members__ else ""
    number = request.args.get("page", "1")
    number = max(int(number), 1) if number.isdigit() else 1
    statement = with_status(permissions.visible_invitations(current_user), status or None, utcnow())
    total = db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = db.session.scalars(
        statement.order_by(Invitation.created_at.desc(), Invitation.id.desc())
        .limit(PER_PAGE)
        .offset((number - 1) * PER_PAGE)
    ).all()
    return render(
        "console/invitations.html",
        rows=rows,
        status=status,
        statuses=STATUS_LABELS,
        page_number=number,
        per_page=PER_PAGE,
        total=total,
        page_url=lambda n: url_for("console.invitations", status=status or None, page=n),
    )


def community_options() -> list[tuple[str, str]]:
    communities = db.session.execute(
        select(Community.id, Community.name).where(Community.active).order_by(Community.name)
    )
    return [("", gettext("No community")), *((str(id_), name) for id_, name in communities)]


INVITE_FIELDS = ("email", "name", "locale", "community_id", "workspace_id", "role")


@bp.route("/invitations/new", methods=["GET", "POST"])
@page(access=permissions.console)
def new_invitation() -> Page:
    """Invite anyone: an address with an account already is added to the group named."""
    errors: Errors = {}
    values = {"role": Role.member.value, "locale": "", "is_secretariat": ""}
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in (*INVITE_FIELDS, "is_secretariat")}
        body, errors = parse_form(InvitationBody)
        if body is not None:
            errors = _choice_errors(body)
        if body is not None and not errors:
            role = (body.role or Role.member) if body.workspace_id is not None else None
            try:
                workspace = permissions.check_invitation(
                    body.workspace_id, role, body.community_id, body.is_secretariat
                )
                _, outcome = service.invite(
                    current_user,
                    email=body.email,
                    name=body.name or "",
                    locale=body.locale,
                    community_id=body.community_id,
                    workspace=workspace,
                    role=role,
                    is_secretariat=body.is_secretariat,
                )
            except ApiError as error:
                db.session.rollback()
                errors = refusal_errors(error, {"email": ("email", address_taken())})
            else:
                if outcome == "added":
                    flash(
                        gettext(
                            "%(email)s already has an account: they are added to the group.",
                            email=body.email,
                        )
                    )
                    return redirect(url_for("console.invitations"), 303)
                flash(gettext("The invitation is sent to %(email)s.", email=body.email))
                return redirect(url_for("console.invitations", status="pending"), 303)
    page_html = render(
        "console/invitation_form.html",
        values=values,
        errors=errors,
        languages=[("", gettext("The same as mine")), *language_options()],
        communities=community_options(),
        groups=workspace_options(gettext("No working group")),
        roles=role_options(),
    )
    return (page_html, 400) if errors else page_html


def _choice_errors(body: InvitationBody) -> Errors:
    """The community and the group chosen are among those the form offers."""
    errors: Errors = {}
    if body.community_id is not None and str(body.community_id) not in dict(community_options()):
        errors["community_id"] = gettext("Choose one of the communities.")
    if body.workspace_id is not None and str(body.workspace_id) not in dict(workspace_options("")):
        errors["workspace_id"] = gettext("Choose one of the working groups.")
    return errors


def _back() -> Response:
    """To the page the button was on (a console page), else the invitations."""
    back = request.form.get("next", "")
    if not back.startswith(BACK_PREFIX) or "//" in back:
        back = url_for("console.invitations")
    return redirect(back, 303)


@bp.post("/invitations/<int:invitation_id>/resend")
@page(access=permissions.console)
def resend_invitation(invitation_id: int) -> Response:
    """A new link (the old one stops working) and a new expiry."""
    invitation = permissions.load_invitation(invitation_id)
    try:
        service.resend(current_user, invitation)
    except ApiError as error:
        if error.status != 409:
            raise
        flash(gettext("This invitation can no longer be sent again."))
    else:
        flash(gettext("The invitation is sent again to %(email)s.", email=invitation.email))
    return _back()


@bp.post("/invitations/<int:invitation_id>/revoke")
@page(access=permissions.console)
def revoke_invitation(invitation_id: int) -> Response:
    """The link stops working."""
    invitation = permissions.load_invitation(invitation_id)
    try:
        service.revoke(current_user, invitation)
    except ApiError as error:
        if error.status != 409:
            raise
        flash(gettext("This invitation was already accepted or revoked."))
    else:
        flash(gettext("The invitation to %(email)s is revoked.", email=invitation.email))
    return _back()
