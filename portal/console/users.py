"""The console's users: find a person by name or e-mail, community, member state,
secretariat rights or state; on their page, their account and working groups, and what
the secretariat changes for them (active, secretariat rights, community).

People invited who have not joined yet have no account: a search shows their pending
invitations beside the users it finds, with "send it again".
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import Select, func, select
from werkzeug.wrappers import Response

from .. import permissions
from ..accounts import service as accounts
from ..accounts import two_factor
from ..accounts.api import filtered_users, person_filters
from ..accounts.models import User
from ..accounts.schemas import UserQuery, UserUpdateBody
from ..api import ApiError, paginate
from ..events import utcnow
from ..extensions import db
from ..i18n import LANGUAGE_NAMES
from ..network.models import Community, MemberState
from ..onboarding.models import Invitation
from ..pages import page, parse_form, render
from ..public.views import country_name
from ..workspaces.models import Membership, Workspace
from . import bp
from .lists import PER_PAGE, list_filters

FILTERS = ("q", "community_id", "member_state", "is_secretariat", "active")
# Invitations shown beside a search's users: enough to find a person, not a list.
INVITATIONS_SHOWN = 10


def community_options() -> list[tuple[str, str]]:
    """Every community as (id, "name · country"), by name."""
    rows = db.session.scalars(select(Community).order_by(func.lower(Community.name))).all()
    return [
        (str(c.id), f"{c.name} · {country_name(c.member_state_code, c.member_state.name)}")
        for c in rows
    ]


def member_state_options() -> list[tuple[str, str]]:
    states = db.session.scalars(select(MemberState)).all()
    named = [(s.code, country_name(s.code, s.name)) for s in states]
    return sorted(named, key=lambda option: option[1].casefold())


def pending_invitations(query: UserQuery) -> Select[tuple[Invitation]]:
    """The invitations not accepted, not revoked (expired ones too: they can be sent
    again) that match a search's text and filters, newest first."""
    return (
        select(Invitation)
        .where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .where(*person_filters(query, Invitation))
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    )


@bp.get("/users")
@page(access=permissions.console)
def users() -> tuple[str, int]:
    query, errors, filters = list_filters(UserQuery, FILTERS)
    result = paginate(filtered_users(query), query, lambda user: user)
    # Only a search looks for invitees, and never among deactivated accounts.
    invitations = (
        db.session.scalars(pending_invitations(query).limit(INVITATIONS_SHOWN)).all()
        if query.q and query.active is not False
        else []
    )
    return render(
        "console/users.html",
        people=result["items"],
        total=result["total"],
        page_number=query.page,
        per_page=PER_PAGE,
        filters=filters,
        values={name: request.args.get(name, "") for name in FILTERS},
        errors=errors,
        invitations=invitations,
        now=utcnow(),
        community_options=community_options(),
        member_state_options=member_state_options(),
        page_url=lambda number: url_for(".users", page=number, **filters),
    ), 400 if errors else 200


# --- one person ---------------------------------------------------------------------


def _groups_of(user: User) -> list[tuple[Workspace, Any]]:
    """(working group, role) of each group the person belongs to, by name."""
    rows = db.session.execute(
        select(Workspace, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user.id)
        .order_by(func.lower(Workspace.name), Workspace.id)
    ).all()
    return [(workspace, role) for workspace, role in rows]


def _user_page(
    person: User,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    refusal: str = "",
    status: int = 200,
) -> tuple[str, int]:
    return render(
        "console/user.html",
        person=person,
        groups=_groups_of(person),
        two_factor_on=two_factor.is_enabled(person),
        language=LANGUAGE_NAMES.get(person.locale or ""),
        is_self=person.id == current_user.id,
        community_options=community_options(),
        errors=errors or {},
        values=values or {"community_id": str(person.community_id) if person.community_id else ""},
        refusal=refusal,
    ), status


@bp.get("/users/<int:user_id>")
@page(access=permissions.console)
def user_page(user_id: int) -> tuple[str, int]:
    return _user_page(permissions.load_user(user_id))


def _change(person: User, changes: dict[str, Any], done: str) -> Response | tuple[str, int]:
    """Apply a change through the accounts service, under the rule that nobody
    deactivates or demotes themselves (the page then says why, changing nothing)."""
    try:
        permissions.check_user_change(person, changes)
    except ApiError as refusal:
        if refusal.status != 403:
            raise
        message = gettext(
            "You cannot deactivate your own account or remove your own secretariat rights: "
            "ask another member of the secretariat."
        )
        return _user_page(person, refusal=message, status=403)
    accounts.update_user(current_user, person, changes)
    flash(done)
    return redirect(url_for(".user_page", user_id=person.id), 303)


def _flag(name: str) -> bool:
    """A yes/no form field: "true" or "false", anything else is the 400 page."""
    value = request.form.get(name)
    if value not in {"true", "false"}:
        raise ApiError(400, "invalid", "Not a yes or no.", fields={name: "Not a yes or no."})
    return value == "true"


@bp.post("/users/<int:user_id>/active")
@page(access=permissions.console)
def set_active(user_id: int) -> Response | tuple[str, int]:
    """Deactivate (signed out everywhere, API tokens revoked) or reactivate."""
    person = permissions.load_user(user_id)
    active = _flag("active")
    done = (
        gettext("%(name)s can sign in again.", name=person.name)
        if active
        else gettext(
            "Deactivated the account of %(name)s: they were signed out everywhere and "
            "their API tokens were revoked.",
            name=person.name,
        )
    )
    return _change(person, {"active": active}, done)


@bp.post("/users/<int:user_id>/secretariat")
@page(access=permissions.console)
def set_secretariat(user_id: int) -> Response | tuple[str, int]:
    person = permissions.load_user(user_id)
    granted = _flag("is_secretariat")
    done = (
        gettext("%(name)s now has the secretariat's rights.", name=person.name)
        if granted
        else gettext("%(name)s no longer has the secretariat's rights.", name=person.name)
    )
    return _change(person, {"is_secretariat": granted}, done)


@bp.post("/users/<int:user_id>/community")
@page(access=permissions.console)
def set_community(user_id: int) -> Response | tuple[str, int]:
    person = permissions.load_user(user_id)
    values = {"community_id": request.form.get("community_id", "")}
    body, errors = parse_form(UserUpdateBody)
    if body is not None:
        try:
            accounts.update_user(current_user, person, {"community_id": body.community_id})
        except ApiError as refusal:  # a community that does not exist (any more)
            if refusal.status != 400:
                raise
            db.session.rollback()
            errors = refusal.fields or {}
    if errors:
        errors = {"community_id": gettext("Choose a community from the list.")}
        return _user_page(person, errors=errors, values=values, status=400)
    flash(gettext("Saved the community of %(name)s.", name=person.name))
    return redirect(url_for(".user_page", user_id=person.id), 303)
