"""The console's working groups: the list (members and items counted, archived or
not), creating and editing a group, archiving and restoring it, and its members with
their roles (add, change, remove) through the workspaces service."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import func, select, true
from werkzeug.wrappers import Response

from .. import permissions
from ..accounts.models import User
from ..api import ApiError, Id, paginate
from ..extensions import db
from ..pages import ROLE_LABELS, page, parse_form, render
from ..permissions import WorkspaceAction
from ..work.group import members_of
from ..workspaces import service as workspaces
from ..workspaces.models import Item, Membership, Role, Workspace
from ..workspaces.schemas import MembershipBody, WorkspaceCreateBody, WorkspaceQuery
from . import bp
from .lists import PER_PAGE, list_filters

FILTERS = ("q", "archived")


class MemberAddBody(MembershipBody):
    """The console's "add a member" form: the person and their role."""

    user_id: Id


def role_options() -> list[tuple[str, str]]:
    return [(role, str(ROLE_LABELS[role])) for role in ("coordinator", "member", "observer")]


def _counts(column: Any, where: Any, ids: list[int]) -> dict[int, int]:
    """Rows per working group among `ids`, in one grouped query."""
    return dict(
        db.session.execute(
            select(column, func.count()).where(column.in_(ids), where).group_by(column)
        ).all()
    )


@bp.get("/groups")
@page(access=permissions.console)
def groups() -> tuple[str, int]:
    query, errors, filters = list_filters(WorkspaceQuery, FILTERS)
    statement = select(Workspace).order_by(func.lower(Workspace.name), Workspace.id)
    if query.q:
        statement = statement.where(func.lower(Workspace.name).like(f"%{query.q.lower()}%"))
    if query.archived is not None:
        archived = Workspace.archived_at.is_not(None)
        statement = statement.where(archived if query.archived else ~archived)
    result = paginate(statement, query, lambda workspace: workspace)
    ids = [workspace.id for workspace in result["items"]]
    return render(
        "console/groups.html",
        rows=result["items"],
        members=_counts(Membership.workspace_id, true(), ids),
        items=_counts(Item.workspace_id, Item.deleted_at.is_(None), ids),
        total=result["total"],
        page_number=query.page,
        per_page=PER_PAGE,
        filters=filters,
        values={name: request.args.get(name, "") for name in FILTERS},
        errors=errors,
        page_url=lambda number: url_for(".groups", page=number, **filters),
    ), 400 if errors else 200


# --- create and edit ----------------------------------------------------------------


def _group_form(
    workspace: Workspace | None, values: dict[str, str], errors: dict[str, str]
) -> tuple[str, int]:
    return render(
        "console/group_form.html", workspace=workspace, values=values, errors=errors
    ), 400 if errors else 200


def _posted_group() -> tuple[WorkspaceCreateBody | None, dict[str, str], dict[str, str]]:
    values = {name: request.form.get(name, "") for name in ("name", "description")}
    body, errors = parse_form(WorkspaceCreateBody)
    return body, errors, values


@bp.route("/groups/new", methods=["GET", "POST"])
@page(access=permissions.console)
def new_group() -> Response | tuple[str, int]:
    if request.method == "GET":
        return _group_form(None, {"name": "", "description": ""}, {})
    body, errors, values = _posted_group()
    if body is None:
        return _group_form(None, values, errors)
    workspace = workspaces.create_workspace(
        current_user, name=body.name, description=body.description
    )
    flash(gettext("Created the working group %(name)s: now add its members.", name=body.name))
    return redirect(url_for(".group_page", workspace_id=workspace.id), 303)


def _load(workspace_id: int) -> Workspace:
    return permissions.load_workspace(workspace_id, WorkspaceAction.administer)


@bp.route("/groups/<int:workspace_id>/edit", methods=["GET", "POST"])
@page(access=permissions.console)
def edit_group(workspace_id: int) -> Response | tuple[str, int]:
    workspace = _load(workspace_id)
    if request.method == "GET":
        values = {"name": workspace.name, "description": workspace.description}
        return _group_form(workspace, values, {})
    body, errors, values = _posted_group()
    if body is None:
        return _group_form(workspace, values, errors)
    workspaces.update_workspace(
        current_user, workspace, {"name": body.name, "description": body.description}
    )
    flash(gettext("Saved the working group %(name)s.", name=workspace.name))
    return redirect(url_for(".group_page", workspace_id=workspace.id), 303)


@bp.post("/groups/<int:workspace_id>/archive")
@page(access=permissions.console)
def archive_group(workspace_id: int) -> Response:
    """Archive (its members keep reading it, nobody changes it) or restore."""
    workspace = _load(workspace_id)
    archived = request.form.get("archived") == "true"
    workspaces.update_workspace(current_user, workspace, {"archived": archived})
    if archived:
        flash(gettext("Archived %(name)s: its members can read it, nobody can change it.",
                      name=workspace.name))  # fmt: skip
    else:
        flash(gettext("Restored %(name)s: its members can work in it again.", name=workspace.name))
    return redirect(url_for(".group_page", workspace_id=workspace.id), 303)


# --- the group and its members ------------------------------------------------------


def _candidates(workspace: Workspace) -> list[tuple[str, str]]:
    """Active people not in the group, as (id, "name · community or e-mail"), by name."""
    people = db.session.scalars(
        select(User)
        .where(
            User.active,
            User.id.not_in(
                select(Membership.user_id).where(Membership.workspace_id == workspace.id)
            ),
        )
        .order_by(func.lower(User.name), User.id)
    ).all()
    return [(str(p.id), f"{p.name} · {p.community.name if p.community else p.email}")
            for p in people]  # fmt: skip


def _group_page(
    workspace: Workspace,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    refusal: str = "",
    status: int = 200,
) -> tuple[str, int]:
    members = members_of(workspace.id)
    return render(
        "console/group.html",
        workspace=workspace,
        members=members,
        has_coordinator=any(m.role is Role.coordinator for m in members),
        item_count=_counts(Item.workspace_id, Item.deleted_at.is_(None), [workspace.id]).get(
            workspace.id, 0
        ),
        candidates=_candidates(workspace) if workspace.archived_at is None else [],
        role_options=role_options(),
        values=values or {"user_id": "", "role": "member"},
        errors=errors or {},
        refusal=refusal,
    ), status


@bp.get("/groups/<int:workspace_id>")
@page(access=permissions.console)
def group_page(workspace_id: int) -> tuple[str, int]:
    return _group_page(_load(workspace_id))


ARCHIVED = "The workspace is archived; restore it first."


def _refusal(error: ApiError) -> str:
    """A membership change the service refused, in words: the group is archived (409)
    or the person's account is deactivated (400); any other refusal propagates."""
    db.session.rollback()
    if error.status == 409 and error.message == ARCHIVED:
        return gettext("This working group is archived: restore it before changing its members.")
    if error.status == 400 and "user_id" in (error.fields or {}):
        return gettext("This person's account is deactivated: reactivate it first.")
    raise error


@bp.post("/groups/<int:workspace_id>/members")
@page(access=permissions.console)
def add_member(workspace_id: int) -> Response | tuple[str, int]:
    workspace = _load(workspace_id)
    values = {name: request.form.get(name, "") for name in ("user_id", "role")}
    body, errors = parse_form(MemberAddBody)
    person = db.session.get(User, body.user_id) if body is not None else None
    if body is None or person is None:
        errors = errors or {"user_id": gettext("Choose a person from the list.")}
        return _group_page(workspace, values=values, errors=errors, status=400)
    try:
        workspaces.set_membership(current_user, workspace, person, body.role)
    except ApiError as error:
        message = _refusal(error)
        if error.status == 400:
            return _group_page(workspace, values=values, errors={"user_id": message}, status=400)
        return _group_page(workspace, values=values, refusal=message, status=409)
    flash(gettext("Added %(name)s to the group (role: %(role)s).", name=person.name,
                  role=ROLE_LABELS[body.role]))  # fmt: skip
    return redirect(url_for(".group_page", workspace_id=workspace.id), 303)


def _membership(workspace: Workspace, user_id: int) -> Membership:
    membership = db.session.get(Membership, (workspace.id, user_id))
    if membership is None:
        raise ApiError(404, "not_found", "No such member.")
    return membership


@bp.post("/groups/<int:workspace_id>/members/<int:user_id>")
@page(access=permissions.console)
def change_role(workspace_id: int, user_id: int) -> Response | tuple[str, int]:
    workspace = _load(workspace_id)
    membership = _membership(workspace, user_id)
    body, errors = parse_form(MembershipBody)
    if body is None:
        return _group_page(workspace, errors=errors, status=400)
    try:
        workspaces.set_membership(current_user, workspace, membership.user, body.role)
    except ApiError as error:
        return _group_page(workspace, refusal=_refusal(error), status=error.status)
    flash(gettext("The role of %(name)s is now: %(role)s.", name=membership.user.name,
                  role=ROLE_LABELS[body.role]))  # fmt: skip
    return redirect(url_for(".group_page", workspace_id=workspace.id), 303)


@bp.post("/groups/<int:workspace_id>/members/<int:user_id>/remove")
@page(access=permissions.console)
def remove_member(workspace_id: int, user_id: int) -> Response | tuple[str, int]:
    workspace = _load(workspace_id)
    membership = _membership(workspace, user_id)
    name = membership.user.name
    try:
        workspaces.remove_membership(current_user, workspace, membership)
    except ApiError as error:
        return _group_page(workspace, refusal=_refusal(error), status=409)
    flash(gettext("Removed %(name)s from the group.", name=name))
    return redirect(url_for(".group_page", workspace_id=workspace.id), 303)
