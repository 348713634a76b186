"""What every item's page shares, whatever its kind: the frame (`item_context` and
templates/workspaces/item.html) and the pages of the parts every item has (comments,
sharing, the trash; `public` adds the publication panel through `panel_contexts`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import defaultload, selectinload
from werkzeug.wrappers import Response

from .. import permissions
from ..accounts.models import without_community
from ..api import conflict, not_found, setting
from ..events import Event
from ..extensions import db
from ..pages import page, parse_form, render, renders
from ..permissions import ItemAccess
from . import items_service, kinds
from .items_api import trashed_item_ids
from .models import Comment, Item, Share, Workspace
from .schemas import CommentBody, ShareBody
from .serialize import ItemPage, html_of

bp = Blueprint("items", __name__)

# An item's page shows its newest comments; the API pages through all of them.
COMMENTS_SHOWN = 100
TRASH_PER_PAGE = 25

# The parts of every item's page that packages above `workspaces` add (`public`: the
# publication panel): `(item, access) -> context`, registered when they are imported, so
# `workspaces` imports none of them (DESIGN.md).
PanelContext = Callable[[Item, ItemAccess], dict[str, Any]]
panel_contexts: list[PanelContext] = []


def item_context(item: Item, access: ItemAccess) -> dict[str, Any]:
    """What templates/workspaces/item.html and its panels need besides the kind's own:
    the item, its owner group, what the viewer may do with it (`access`, as
    `permissions.load_item_access` decided it), its comments and shares, in a fixed
    number of queries; a live refresh runs those of its block alone (`pages.renders`)."""
    workspace = db.session.get(Workspace, item.workspace_id)
    # Changes need the item out of the trash and its group open (as `load_item` decides).
    changeable = item.deleted_at is None and workspace.archived_at is None
    context: dict[str, Any] = {
        "item": item,
        "workspace": workspace,
        "access": access,
        "ItemAccess": ItemAccess,
        "changeable": changeable,
        "comments": _comments(item) if renders("item_comments") else None,
        # A form of a panel refused: {panel: {field: message}} and what was posted.
        "panel_errors": g.get("panel_errors", {}),
        "panel_values": g.get("panel_values", {}),
    }
    if renders():  # the sharing and the other panels refresh with the whole page only
        may_share = changeable and access >= ItemAccess.manage
        context["shares"] = _shares(item)
        context["share_targets"] = _share_targets(item) if may_share else []
        for contribute in panel_contexts:
            context |= contribute(item, access)
    return context


def _comments(item: Item) -> dict[str, Any]:
    """The newest comments, oldest first, with their authors and sanitized HTML."""
    newest = db.session.scalars(
        select(Comment)
        .where(Comment.item_id == item.id)
        .options(without_community(defaultload(Comment.author)))
        .order_by(Comment.id.desc())
        .limit(COMMENTS_SHOWN)
    ).all()
    total = len(newest)
    if total == COMMENTS_SHOWN:
        total = db.session.scalar(select(func.count()).where(Comment.item_id == item.id)) or 0
    # html_of is the API's sanitizer (`body_html`).
    rows = [(comment, Markup(html_of(comment.body))) for comment in reversed(newest)]  # noqa: S704
    return {"rows": rows, "total": total}


def _shares(item: Item) -> list[dict[str, Any]]:
    """The groups the item is shared with that the viewer may know of (the API's rule)."""
    shared = ItemPage(current_user).load_shares([item]).visible_shares(item)
    if not shared:
        return []
    names = dict(
        db.session.execute(
            select(Workspace.id, Workspace.name).where(
                Workspace.id.in_([share["workspace_id"] for share in shared])
            )
        ).all()
    )
    return [share | {"name": names.get(share["workspace_id"], "")} for share in shared]


def _share_targets(item: Item) -> list[tuple[int, str]]:
    """The open groups an item may be shared with: every other one."""
    rows = db.session.execute(
        select(Workspace.id, Workspace.name)
        .where(Workspace.id != item.workspace_id, Workspace.archived_at.is_(None))
        .order_by(Workspace.name)
    )
    return [(workspace_id, name) for workspace_id, name in rows]


# --- answering a panel's form -------------------------------------------------------


def back_to(item: Item, panel: str) -> Response:
    """After a panel's form succeeded: the item's page, at the panel (Post/Redirect/Get)."""
    return redirect(f"{kinds.page_url(item)}#{panel}", 303)


def item_page_again(item: Item, panel: str, errors: dict[str, str]) -> Response:
    """A panel's form refused: the item's own page (its kind's view) again, with the
    errors beside the fields and what was typed kept, answered 400."""
    g.panel_errors = {panel: errors}
    g.panel_values = {panel: request.form.to_dict()}
    view = current_app.view_functions[kinds.pages_of(item.kind).item]  # type: ignore[union-attr]
    response = make_response(view(item_id=item.id))
    response.status_code = 400
    return response


# --- comments -----------------------------------------------------------------------


@bp.post("/items/<int:item_id>/comments")
@page(access=permissions.signed_in)
def comment(item_id: int) -> Response:
    item = permissions.load_item(item_id, ItemAccess.comment)
    body, errors = parse_form(CommentBody)
    if body is None:
        return item_page_again(item, "comment", errors)
    items_service.add_comment(current_user, item, body.body)
    flash(gettext("Your comment was added."))
    return back_to(item, "item_comments")


# --- sharing --------------------------------------------------------------------------


@bp.post("/items/<int:item_id>/shares")
@page(access=permissions.signed_in)
def share(item_id: int) -> Response:
    item = permissions.load_item(item_id, ItemAccess.manage)
    body, errors = parse_form(ShareBody)
    if body is None:
        return item_page_again(item, "share", errors)
    if body.workspace_id not in dict(_share_targets(item)):
        # An archived group, the owner group or none: the form offers none of them.
        message = gettext("Choose another working group of the list.")
        return item_page_again(item, "share", {"workspace_id": message})
    target = permissions.check_share_target(item, body.workspace_id)
    items_service.share(current_user, item, target, body.permission)
    flash(gettext("Shared with %(group)s.", group=target.name))
    return back_to(item, "item_sharing")


@bp.post("/items/<int:item_id>/shares/<int:workspace_id>/delete")
@page(access=permissions.signed_in)
def unshare(item_id: int, workspace_id: int) -> Response:
    item = permissions.load_item(item_id, ItemAccess.manage)
    shared = db.session.get(Share, (item.id, workspace_id))
    if shared is None:
        raise not_found("share")
    name = db.session.get(Workspace, workspace_id).name  # type: ignore[union-attr]
    items_service.unshare(current_user, item, shared)
    flash(gettext("No longer shared with %(group)s.", group=name))
    return back_to(item, "item_sharing")


# --- the trash ------------------------------------------------------------------------


@bp.post("/items/<int:item_id>/trash")
@page(access=permissions.signed_in)
def trash(item_id: int) -> Response | str:
    """Asked first (a page of its own, so it works without JavaScript), then done: the
    group's page follows, with a button to undo."""
    item = permissions.load_item(item_id, ItemAccess.manage)
    if request.form.get("confirm") != "yes":
        return render(
            "workspaces/trash_confirm.html",
            item=item,
            workspace=db.session.get(Workspace, item.workspace_id),
            days=setting("TRASH_DAYS"),
        )
    items_service.move_to_trash(current_user, item)
    notice = render_template("workspaces/_trashed_notice.html", item=item)
    flash(Markup(notice))  # noqa: S704  # a template's output, escaped by Jinja
    return redirect(url_for("work.group_page", workspace_id=item.workspace_id), 303)


@bp.post("/items/<int:item_id>/restore")
@page(access=permissions.signed_in)
def restore(item_id: int) -> Response:
    item = permissions.load_item(item_id, ItemAccess.manage, from_trash=True)
    if item.deleted_at is None:
        raise conflict("The item is not in the trash.")
    items_service.restore(current_user, item)
    flash(gettext("“%(title)s” is back in its working group.", title=item.title))
    if request.form.get("back") == "trash":
        return redirect(url_for(".trash_page"), 303)
    return redirect(kinds.page_url(item), 303)


@bp.get("/trash")
@page(access=permissions.signed_in)
def trash_page() -> str:
    """The deleted items of the groups the viewer coordinates, with who deleted them and
    when they go for good; a page costs a fixed number of queries."""
    number = min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)
    statement = trashed_item_ids(current_user)
    total = db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    offset = (number - 1) * TRASH_PER_PAGE
    ids = list(db.session.scalars(statement.limit(TRASH_PER_PAGE).offset(offset)))
    items = {i.id: i for i in db.session.scalars(select(Item).where(Item.id.in_(ids)))}
    # The latest deletion of each item says who deleted it.
    deleted_by = {
        event.item_id: event.actor
        for event in db.session.scalars(
            select(Event)
            .where(Event.item_id.in_(ids), Event.verb == "item.deleted")
            .options(selectinload(Event.actor))
            .order_by(Event.id)
        )
    }
    groups = dict(
        db.session.execute(
            select(Workspace.id, Workspace.name).where(
                Workspace.id.in_({item.workspace_id for item in items.values()})
            )
        ).all()
    )
    keep = timedelta(days=setting("TRASH_DAYS"))
    rows = [
        {
            "item": items[i],
            "group": groups.get(items[i].workspace_id, ""),
            "deleted_by": deleted_by.get(i),
            "purged_at": items[i].deleted_at + keep,  # type: ignore[operator]
        }
        for i in ids
        if i in items
    ]
    # Whether the viewer has a trash at all (else the page says who has one).
    coordinates = current_user.is_secretariat or db.session.scalar(
        permissions.trash_workspace_ids(current_user).limit(1)
    )
    return render(
        "workspaces/trash.html",
        rows=rows,
        page=number,
        per_page=TRASH_PER_PAGE,
        total=total,
        days=setting("TRASH_DAYS"),
        coordinates=bool(coordinates),
        trash_page_url=lambda n: url_for(".trash_page", page=n),
    )
