"""JSON routes of memos."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response
from flask_login import current_user
from sqlalchemy import Select, select

from .. import permissions
from ..api import API_PREFIX, PageQuery, changes_of, endpoint, not_found, paginate
from ..extensions import db
from ..permissions import ItemAccess, WorkspaceAction
from ..workspaces import items_service, kinds
from ..workspaces.items_api import check_if_match, item_list, revision_json
from ..workspaces.models import TextRevision
from ..workspaces.serialize import html_of, item_response
from . import service as memos_service
from .models import Memo
from .schemas import MemoBody, MemoUpdateBody

bp = Blueprint("memos_api", __name__, url_prefix=API_PREFIX)


def _memo_fields(memo: Memo, _: Any) -> dict[str, Any]:
    return {"body": memo.body, "body_html": html_of(memo.body)}


kinds.register("memo", Memo, _memo_fields)


def memos_in(workspace_id: int) -> Select[tuple[Memo]]:
    """The workspace's memos and those shared with it, newest first (the API and the page)."""
    return (
        select(Memo)
        .where(Memo.id.in_(permissions.workspace_item_ids(workspace_id)))
        .order_by(Memo.created_at.desc(), Memo.id.desc())
    )


def revisions_of(memo: Memo) -> Select[tuple[TextRevision]]:
    """Every saved body of the memo, newest first."""
    return (
        select(TextRevision)
        .where(TextRevision.item_id == memo.id, TextRevision.field == "body")
        .order_by(TextRevision.number.desc())
    )


def revision_of(memo: Memo, number: int) -> TextRevision:
    """One saved body by its number (404 when the memo has none of that number)."""
    revision = db.session.scalar(revisions_of(memo).where(TextRevision.number == number))
    if revision is None:
        raise not_found("revision")
    return revision


@bp.get("/workspaces/<int:workspace_id>/memos")
@endpoint(access=permissions.signed_in, query=PageQuery)
def list_memos(workspace_id: int, query: PageQuery) -> dict[str, Any]:
    """The workspace's memos and those shared with it, newest first."""
    workspace = permissions.load_workspace(workspace_id)
    return item_list(memos_in(workspace.id), query)


@bp.post("/workspaces/<int:workspace_id>/memos")
@endpoint(access=permissions.signed_in, body=MemoBody, status=201)
def create_memo(workspace_id: int, body: MemoBody) -> Response:
    """Write a memo (members and coordinators)."""
    workspace = permissions.load_workspace(workspace_id, WorkspaceAction.contribute)
    memo = memos_service.create_memo(current_user, workspace, title=body.title, body=body.body)
    return item_response(current_user, memo, 201)


@bp.get("/memos/<int:memo_id>")
@endpoint(access=permissions.signed_in)
def get_memo(memo_id: int) -> Response:
    """One memo, with its body rendered to sanitized HTML."""
    return item_response(current_user, permissions.load_item(memo_id, kind=Memo))


@bp.patch("/memos/<int:memo_id>")
@endpoint(access=permissions.signed_in, body=MemoUpdateBody)
def update_memo(memo_id: int, body: MemoUpdateBody) -> Response:
    """Change a memo; send the ETag you read as If-Match to never overwrite another's edit."""
    memo = permissions.load_item(memo_id, ItemAccess.edit, kind=Memo)
    check_if_match(memo)
    memos_service.update_memo(current_user, memo, changes_of(body))
    return item_response(current_user, memo)


@bp.delete("/memos/<int:memo_id>")
@endpoint(access=permissions.signed_in)
def delete_memo(memo_id: int) -> Response:
    """Move a memo to the trash (coordinators)."""
    memo = permissions.load_item(memo_id, ItemAccess.manage, kind=Memo)
    items_service.move_to_trash(current_user, memo)
    return item_response(current_user, memo)


@bp.get("/memos/<int:memo_id>/revisions")
@endpoint(access=permissions.signed_in, query=PageQuery)
def list_revisions(memo_id: int, query: PageQuery) -> dict[str, Any]:
    """Every saved body of the memo, newest first."""
    memo = permissions.load_item(memo_id, kind=Memo)
    return paginate(revisions_of(memo), query, revision_json)


@bp.post("/memos/<int:memo_id>/revisions/<int:number>/restore")
@endpoint(access=permissions.signed_in)
def restore_revision(memo_id: int, number: int) -> Response:
    """Make an old body current again (saved as a new revision)."""
    memo = permissions.load_item(memo_id, ItemAccess.edit, kind=Memo)
    check_if_match(memo)
    revision = revision_of(memo, number)
    memos_service.restore_revision(current_user, memo, revision)
    return item_response(current_user, memo)
