"""The pages of memos: a group's list, a memo with its rendered body, the Markdown
editor with a preview, and the revisions with the difference between any two.

An edit carries the ETag of the version it started from. Saving over a newer change
applies the API's If-Match rule (`items_api.is_current`) but never refuses the text:
the page shows both versions and their difference, and lets the user merge."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user
from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from .. import permissions
from ..api import MAX_INT, PageQuery, Query, paginate
from ..extensions import db
from ..pages import page, parse_form, render
from ..permissions import ItemAccess, WorkspaceAction
from ..text import line_diff
from ..workspaces import kinds
from ..workspaces.items_api import is_current
from ..workspaces.models import Item, TextRevision, Workspace
from ..workspaces.serialize import etag_of, html_of
from ..workspaces.views import item_context
from . import api as memos_api
from . import service as memos_service
from .models import Memo
from .schemas import MemoBody

bp = Blueprint("memos", __name__)

kinds.register_pages(
    "memo", item="memos.memo_page", listing="memos.list_page", new="memos.new_page"
)

PER_PAGE = 25


class CompareQuery(Query):
    """Two revisions to compare: `old` and `new` (by default the two newest)."""

    old: int | None = Field(None, ge=1, le=MAX_INT)
    new: int | None = Field(None, ge=1, le=MAX_INT)


def _page_number() -> int:
    """The `page` of the query string; an unreadable one shows the first page."""
    query, _ = parse_form(PageQuery, form=request.args)
    return query.page if query else 1


def _listing(statement: Any) -> dict[str, Any]:
    return paginate(statement, PageQuery(page=_page_number(), per_page=PER_PAGE), lambda row: row)


def _may_contribute(workspace: Workspace) -> bool:
    return workspace.archived_at is None and permissions.may_on_workspace(
        current_user, workspace, WorkspaceAction.contribute
    )


def _posted_memo() -> tuple[MemoBody | None, dict[str, str]]:
    """The posted title and body; a browser sends a text area's lines ended by CRLF, the
    body is kept with LF as the API's clients send it (or every save would differ)."""
    body, errors = parse_form(MemoBody)
    if body is not None:
        body = body.model_copy(update={"body": body.body.replace("\r\n", "\n")})
    return body, errors


def _preview() -> str | None:
    """The rendered Markdown of the posted body when the form asks for a preview."""
    return html_of(request.form.get("body", "")) if "preview" in request.form else None


@bp.get("/groups/<int:workspace_id>/memos")
@page(access=permissions.signed_in)
def list_page(workspace_id: int) -> str:
    workspace = permissions.load_workspace(workspace_id)
    # Ordered and counted on the items table alone, then the page's memos loaded: sorting
    # the join of items and memos cost ~100 ms at 10,000 memos (see mixed_item_list).
    ids = permissions.workspace_item_ids(workspace.id).where(Item.kind == "memo")
    listing = _listing(ids.order_by(Item.created_at.desc(), Item.id.desc()))
    memos = {
        memo.id: memo
        for memo in db.session.scalars(
            select(Memo).where(Memo.id.in_(listing["items"])).options(selectinload(Memo.created_by))
        )
    }
    listing["items"] = [memos[memo_id] for memo_id in listing["items"]]
    return render(
        "memos/list.html",
        workspace=workspace,
        listing=listing,
        may_contribute=_may_contribute(workspace),
    )


@bp.route("/groups/<int:workspace_id>/memos/new", methods=["GET", "POST"])
@page(access=permissions.signed_in)
def new_page(workspace_id: int) -> Response | tuple[str, int]:
    workspace = permissions.load_workspace(workspace_id, WorkspaceAction.contribute)
    errors: dict[str, str] = {}
    if request.method == "POST" and "preview" not in request.form:
        body, errors = _posted_memo()
        if body is not None:
            memo = memos_service.create_memo(
                current_user, workspace, title=body.title, body=body.body
            )
            flash(gettext("Memo saved."))
            return redirect(url_for("memos.memo_page", item_id=memo.id), 303)
    return render(
        "memos/form.html",
        workspace=workspace,
        item=None,
        values=request.form,
        errors=errors,
        preview=_preview(),
    ), 400 if errors else 200


@bp.get("/memos/<int:item_id>")
@page(access=permissions.signed_in)
def memo_page(item_id: int) -> str:
    memo, access = permissions.load_item_access(item_id, kind=Memo)
    return render("memos/memo.html", body_html=html_of(memo.body), **item_context(memo, access))


def _latest_revision(memo: Memo) -> TextRevision | None:
    return db.session.scalar(memos_api.revisions_of(memo).limit(1))


def _editor(
    memo: Memo, access: ItemAccess, values: Any, status: int = 200, **context: Any
) -> tuple[str, int]:
    """The edit page: `values` are the form's title, body and the ETag it is based on."""
    return render(
        "memos/form.html",
        values=values,
        latest=_latest_revision(memo),
        errors=context.pop("errors", {}),
        preview=_preview(),
        **context,
        **item_context(memo, access),
    ), status


@bp.route("/memos/<int:item_id>/edit", methods=["GET", "POST"])
@page(access=permissions.signed_in)
def edit_page(item_id: int) -> Response | tuple[str, int]:
    memo, access = permissions.load_item_access(item_id, ItemAccess.edit, kind=Memo)
    if request.method == "GET":
        return _editor(
            memo, access, {"title": memo.title, "body": memo.body, "etag": etag_of(memo)}
        )
    if "preview" in request.form:
        if "merging" in request.form:  # a preview of the merge keeps both versions in view
            mine = request.form.get("body", "").replace("\r\n", "\n").splitlines()
            return _editor(
                memo, access, request.form, conflict=line_diff(memo.body.splitlines(), mine)
            )
        return _editor(memo, access, request.form)
    body, errors = _posted_memo()
    if body is None:
        return _editor(memo, access, request.form, 400, errors=errors)
    yours = {"title": body.title, "body": body.body}
    if not is_current(memo, request.form.get("etag", "")) and yours != {
        "title": memo.title,
        "body": memo.body,
    }:
        # Someone saved since this edit began: keep both texts, the next save merges.
        return _editor(
            memo,
            access,
            yours | {"etag": etag_of(memo)},
            409,
            conflict=line_diff(memo.body.splitlines(), body.body.splitlines()),
        )
    memos_service.update_memo(current_user, memo, yours)
    flash(gettext("Memo saved."))
    return redirect(url_for("memos.memo_page", item_id=memo.id), 303)


@bp.get("/memos/<int:item_id>/revisions")
@page(access=permissions.signed_in)
def revisions_page(item_id: int) -> tuple[str, int]:
    memo, access = permissions.load_item_access(item_id, kind=Memo)
    newest = db.session.scalar(
        select(func.max(TextRevision.number)).where(
            TextRevision.item_id == memo.id, TextRevision.field == "body"
        )
    )
    query, errors = parse_form(CompareQuery, form=request.args)
    compared: dict[str, Any] = {}
    if query is not None and newest:
        old = query.old or max(newest - 1, 1)
        new = query.new or newest
        found = {
            r.number: r
            for r in db.session.scalars(
                memos_api.revisions_of(memo).where(TextRevision.number.in_({old, new}))
            )
        }
        for name, number in (("old", old), ("new", new)):
            if number not in found:
                errors[name] = gettext("There is no revision %(number)d.", number=number)
        if not errors:
            compared = {
                "old": found[old],
                "new": found[new],
                "rows": line_diff(found[old].text.splitlines(), found[new].text.splitlines()),
            }
    return render(
        "memos/revisions.html",
        listing=_listing(memos_api.revisions_of(memo)),
        newest=newest or 0,
        compared=compared,
        values=request.args,
        errors=errors,
        **item_context(memo, access),
    ), 400 if errors else 200


@bp.post("/memos/<int:item_id>/revisions/<int:number>/restore")
@page(access=permissions.signed_in)
def restore_revision(item_id: int, number: int) -> Response:
    """Make an old text current again, as a new revision (as the API's restore)."""
    memo = permissions.load_item(item_id, ItemAccess.edit, kind=Memo)
    memos_service.restore_revision(current_user, memo, memos_api.revision_of(memo, number))
    flash(gettext("Revision %(number)d is the current text again.", number=number))
    return redirect(url_for("memos.memo_page", item_id=memo.id), 303)
