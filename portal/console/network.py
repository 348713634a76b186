"""The console's network pages: member states, communities (with their people and
pending invitations), and onboarding a community in one flow.

Every form is validated by the network API's own body models (`parse_form`); the
services' refusals (a code or a name taken, an address already invited) come back
beside the field that caused them, through `refusal_errors`."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from .. import permissions
from ..accounts.models import User
from ..api import ApiError
from ..events import utcnow
from ..extensions import db
from ..i18n import LANGUAGE_NAMES, LANGUAGES
from ..network import service
from ..network.models import Community, MemberState
from ..network.schemas import CommunityCreateBody, MemberStateBody
from ..onboarding import service as onboarding
from ..onboarding.api import with_status
from ..onboarding.models import Invitation
from ..onboarding.schemas import InvitationBody
from ..pages import ROLE_LABELS, page, parse_form, render
from ..workspaces.models import Role, Workspace
from . import bp

Errors = dict[str, str]
Page = str | tuple[str, int] | Response

# The fields of a community's form, as the API names them.
COMMUNITY_FIELDS = ("name", "port", "member_state", "description", "website")


def refusal_errors(error: ApiError, messages: dict[str, tuple[str, str]]) -> Errors:
    """A service's refusal as the form's errors: `messages` maps each field the service
    names to (the form's field, what to say). A refusal the form does not expect is
    raised again (its error page)."""
    # A conflict names its fields among its extras; an invalid request, as its fields.
    fields = error.fields or error.extra.get("fields") or {}
    errors = {messages[name][0]: messages[name][1] for name in fields if name in messages}
    if not errors:
        raise error
    return errors


def _state_messages(prefix: str = "") -> dict[str, tuple[str, str]]:
    return {
        "code": (f"{prefix}code", gettext("This code is already a member state of the network.")),
        "name": (f"{prefix}name", gettext("Another member state already has this name.")),
    }


def address_taken() -> str:
    return gettext("This address already has an account or a pending invitation.")


def member_state_options() -> list[tuple[str, str]]:
    return [
        (state.code, f"{state.name} ({state.code})")
        for state in db.session.scalars(select(MemberState).order_by(MemberState.name))
    ]


def workspace_options(empty: str) -> list[tuple[str, str]]:
    """The open working groups, for a form that may invite to one."""
    groups = db.session.execute(
        select(Workspace.id, Workspace.name)
        .where(Workspace.archived_at.is_(None))
        .order_by(Workspace.name)
    )
    return [("", empty), *((str(id_), name) for id_, name in groups)]


def role_options() -> list[tuple[str, str]]:
    return [(role.value, str(ROLE_LABELS[role.value])) for role in Role]


def language_options() -> list[tuple[str, str]]:
    return [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES]


# --- member states --------------------------------------------------------------


@bp.route("/member-states", methods=["GET", "POST"])
@page(access=permissions.console)
def member_states() -> Page:
    """The member states with their number of communities, and the form that adds one."""
    errors: Errors = {}
    values: dict[str, str] = {}
    if request.method == "POST":
        values = {"code": request.form.get("code", ""), "name": request.form.get("name", "")}
        body, errors = parse_form(MemberStateBody)
        if body is not None:
            try:
                state = service.create_member_state(current_user, body.code, body.name)
            except ApiError as error:
                db.session.rollback()
                errors = refusal_errors(error, _state_messages())
            else:
                flash(gettext("%(name)s joined the network's member states.", name=state.name))
                return redirect(url_for("console.member_states"), 303)
    counts = (
        select(Community.member_state_code, func.count(Community.id).label("n"))
        .group_by(Community.member_state_code)
        .subquery()
    )
    rows = db.session.execute(
        select(MemberState, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.member_state_code == MemberState.code)
        .order_by(MemberState.name)
    ).all()
    page_html = render("console/member_states.html", rows=rows, values=values, errors=errors)
    return (page_html, 400) if errors else page_html


def _load_member_state(code: str) -> MemberState:
    state = db.session.get(MemberState, code.upper()) if len(code) == 2 else None
    if state is None:
        raise permissions.not_found("member state")
    return state


@bp.route("/member-states/<code>", methods=["GET", "POST"])
@page(access=permissions.console)
def member_state_page(code: str) -> Page:
    """A member state: its communities, and its name to correct (the code stays)."""
    state = _load_member_state(code)
    errors: Errors = {}
    name = state.name
    if request.method == "POST":
        name = request.form.get("name", "")
        body, errors = parse_form(
            MemberStateBody, form=MultiDict({"code": state.code, "name": name})
        )
        if body is not None:
            try:
                service.rename_member_state(current_user, state, body.name)
            except ApiError as error:
                db.session.rollback()
                errors = refusal_errors(error, _state_messages())
            else:
                flash(gettext("The member state is saved."))
                return redirect(url_for("console.member_state_page", code=state.code), 303)
    communities = db.session.scalars(
        select(Community).where(Community.member_state_code == state.code).order_by(Community.name)
    ).all()
    page_html = render(
        "console/member_state.html", state=state, name=name, errors=errors, communities=communities
    )
    return (page_html, 400) if errors else page_html


# --- communities ----------------------------------------------------------------

STATUSES = ("active", "inactive")


@bp.get("/communities")
@page(access=permissions.console)
def communities() -> str:
    """Every community, active or not, by member state and name, with its number of
    users; filtered by member state and status."""
    codes = {code for code, _label in member_state_options()}
    chosen_state = request.args.get("member_state", "").upper()
    chosen_state = chosen_state if chosen_state in codes else ""
    status = request.args.get("status", "")
    status = status if status in STATUSES else ""
    users = (
        select(User.community_id, func.count(User.id).label("n"))
        .where(User.active)
        .group_by(User.community_id)
        .subquery()
    )
    statement = (
        permissions.visible_communities(current_user)
        .add_columns(func.coalesce(users.c.n, 0))
        .outerjoin(users, users.c.community_id == Community.id)
        .order_by(Community.member_state_code, Community.name)
    )
    if chosen_state:
        statement = statement.where(Community.member_state_code == chosen_state)
    if status:
        statement = statement.where(Community.active.is_(status == "active"))
    return render(
        "console/communities.html",
        rows=db.session.execute(statement).all(),
        states=member_state_options(),
        filters={"member_state": chosen_state, "status": status},
    )


def _community_messages() -> dict[str, tuple[str, str]]:
    return {"member_state": ("member_state", gettext("Choose a member state of the network."))}


@bp.route("/communities/new", methods=["GET", "POST"])
@page(access=permissions.console)
def new_community() -> Page:
    errors: Errors = {}
    values: dict[str, str] = {}
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in COMMUNITY_FIELDS}
        body, errors = parse_form(CommunityCreateBody)
        if body is not None:
            try:
                community = service.create_community(
                    current_user, **body.model_dump(exclude={"slug"})
                )
            except ApiError as error:
                db.session.rollback()
                errors = refusal_errors(error, _community_messages())
            else:
                flash(gettext("%(name)s joined the network.", name=community.name))
                return redirect(url_for("console.community_page", community_id=community.id), 303)
    page_html = render(
        "console/community_form.html",
        community=None,
        values=values,
        errors=errors,
        states=member_state_options(),
    )
    return (page_html, 400) if errors else page_html


def _community_values(community: Community) -> dict[str, str]:
    return {
        "name": community.name,
        "port": community.port,
        "member_state": community.member_state_code,
        "description": community.description,
        "website": community.website,
    }


@bp.route("/communities/<int:community_id>", methods=["GET", "POST"])
@page(access=permissions.console)
def community_page(community_id: int) -> Page:
    """A community: its details to edit, its people, its pending invitations."""
    community = permissions.load_community(community_id)
    errors: Errors = {}
    values = _community_values(community)
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in COMMUNITY_FIELDS}
        # The whole form is sent, so the rules are those of a new community's.
        body, errors = parse_form(CommunityCreateBody)
        if body is not None:
            try:
                service.update_community(current_user, community, body.model_dump(exclude={"slug"}))
            except ApiError as error:
                db.session.rollback()
                errors = refusal_errors(error, _community_messages())
            else:
                flash(gettext("The community is saved."))
                return redirect(url_for("console.community_page", community_id=community.id), 303)
    people = db.session.scalars(
        select(User).where(User.community_id == community.id).order_by(User.name)
    ).all()
    invitations = db.session.scalars(
        with_status(select(Invitation), "pending", utcnow())
        .where(Invitation.community_id == community.id)
        .order_by(Invitation.created_at.desc())
    ).all()
    page_html = render(
        "console/community.html",
        community=community,
        values=values,
        errors=errors,
        states=member_state_options(),
        people=people,
        invitations=invitations,
    )
    return (page_html, 400) if errors else page_html


@bp.post("/communities/<int:community_id>/active")
@page(access=permissions.console)
def community_active(community_id: int) -> Response:
    """Deactivate (it leaves the public directory, keeping its history) or reactivate."""
    community = permissions.load_community(community_id)
    active = request.form.get("active") == "1"
    service.update_community(current_user, community, {"active": active})
    if active:
        flash(gettext("%(name)s is active again.", name=community.name))
    else:
        flash(gettext("%(name)s is deactivated.", name=community.name))
    return redirect(url_for("console.community_page", community_id=community.id), 303)


# --- onboarding a community -------------------------------------------------------

NEW_STATE = "new"

# The form's sections: a prefix for each body model's fields.
STATE, COMMUNITY, PERSON = "state-", "community-", "person-"
# The working groups the focal point joins: checkboxes, outside the body models.
GROUPS = "groups"


def _section(prefix: str, **extra: str) -> MultiDict[str, str]:
    """The posted fields named `prefix<field>`, as `<field>`."""
    fields = MultiDict(
        [
            (name[len(prefix) :], value)
            for name, value in request.form.items(multi=True)
            if name.startswith(prefix)
        ]
    )
    for name, value in extra.items():
        fields[name] = value
    return fields


def _prefixed(prefix: str, errors: Errors) -> Errors:
    return {f"{prefix}{name}": message for name, message in errors.items()}


def _onboard(values: dict[str, str]) -> tuple[Invitation | None, Errors]:
    """Validate the three sections and onboard, or say what to correct."""
    errors: Errors = {}
    state_code = values["member_state"]
    new_state_name = None
    if state_code == NEW_STATE:
        state, state_errors = parse_form(MemberStateBody, form=_section(STATE))
        errors |= _prefixed(STATE, state_errors)
        if state is not None:
            state_code, new_state_name = state.code, state.name
    elif not state_code:
        errors["member_state"] = gettext("Choose a member state, or add a new one.")
    community, community_errors = parse_form(
        CommunityCreateBody, form=_section(COMMUNITY, member_state=state_code)
    )
    community_errors.pop("member_state", None)  # the member state's own fields say it
    errors |= _prefixed(COMMUNITY, community_errors)
    person, person_errors = parse_form(InvitationBody, form=_section(PERSON))
    errors |= _prefixed(PERSON, person_errors)
    role = (person.role if person is not None else None) or Role.member
    chosen = request.form.getlist(GROUPS)
    # Open groups the form offers (an archived one takes nobody in).
    if not set(chosen) <= dict(workspace_options("")).keys():
        errors[GROUPS] = gettext("Choose among the working groups shown.")
    if errors or community is None or person is None:
        return None, errors
    groups = [permissions.check_invitation(int(id_), role, None, False) for id_ in chosen]
    try:
        invitation = onboarding.onboard_community(
            current_user,
            member_state=state_code,
            new_member_state_name=new_state_name,
            community=community.model_dump(exclude={"member_state", "slug"}),
            focal_point={"email": person.email, "name": person.name, "locale": person.locale},
            groups=groups,
            role=role,
        )
    except ApiError as error:
        return None, refusal_errors(
            error,
            _state_messages(STATE)
            | _community_messages()
            | {"email": ("person-email", address_taken())},
        )
    return invitation, {}


@bp.route("/onboarding", methods=["GET", "POST"])
@page(access=permissions.console)
def onboarding_page() -> Page:
    """A community joins the network in one form: its member state (an existing one or
    a new one), the community, its focal point invited, optionally to working groups.
    All of it is saved, and the invitation sent, or nothing."""
    errors: Errors = {}
    values: dict[str, str] = {"member_state": "", f"{PERSON}role": Role.member.value}
    if request.method == "POST":
        values = request.form.to_dict()
        values.pop("csrf_token", None)
        values.pop(GROUPS, None)
        values.setdefault("member_state", "")
        invitation, errors = _onboard(values)
        if invitation is not None:
            flash(
                gettext(
                    "%(community)s joined the network and %(email)s is invited.",
                    community=invitation.community.name if invitation.community else "",
                    email=invitation.email,
                )
            )
            return redirect(
                url_for("console.community_page", community_id=invitation.community_id), 303
            )
    page_html = render(
        "console/onboarding.html",
        values=values,
        errors=errors,
        states=[
            ("", gettext("Choose…")),
            *member_state_options(),
            (NEW_STATE, gettext("A new member state (fill in below)")),
        ],
        groups=workspace_options("")[1:],
        chosen_groups=request.form.getlist(GROUPS),
        roles=role_options(),
        languages=language_options(),
    )
    return (page_html, 400) if errors else page_html
