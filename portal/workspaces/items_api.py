"""JSON routes every item kind shares: a workspace's items, sharing, comments,
the activity feed and the trash."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, request
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import defaultload, selectinload

from .. import permissions
from ..accounts.api import user_summary
from ..accounts.models import User, without_community
from ..api import API_PREFIX, conflict, endpoint, iso, not_found, paginate, setting
from ..events import Event, utcnow
from ..extensions import db
from ..permissions import ItemAccess
from ..text import render_markdown
from . import items_service, kinds
from .models import Comment, Item, Share, TextRevision
from .schemas import ActivityQuery, CommentBody, ItemQuery, ShareBody
from .serialize import ItemPage, etag_of, item_json

bp = Blueprint("items_api", __name__, url_prefix=API_PREFIX)


def is_current(item: Item, etags: str) -> bool:
    """Whether a write based on `etags` (If-Match's list of ETags, or "*") is based on
    the item's current version: the API's If-Match and a page's form (which carries
    the ETag it was read at) apply the same rule."""
    if etags.strip() == "*":
        return True
    return etag_of(item) in {tag.strip() for tag in etags.split(",")}


def check_if_match(item: Item) -> None:
    """A write based on a stale version is refused with the current state (409)."""
    wanted = request.headers.get("If-Match")
    if wanted is not None and not is_current(item, wanted):
        raise conflict(
            "The item changed since you read it; merge with the current version.",
            current=item_json(current_user, item),
        )


def item_list(statement: Any, query: Any) -> dict[str, Any]:
    """A page of items of one kind in a fixed number of queries."""
    page = ItemPage(current_user)
    return paginate(statement, query, page.json, prepare=page.load)


class _MixedPage:
    """A page of item ids turned into items of every kind, in one more query."""

    def __init__(self) -> None:
        self.page = ItemPage(current_user)
        self.items: dict[int, Item] = {}

    def load(self, ids: list[int]) -> None:
        any_item = kinds.any_item()
        self.items = {
            i.id: i for i in db.session.scalars(select(any_item).where(any_item.id.in_(ids)))
        }
        self.page.load(self.items.values())

    def json(self, item_id: int) -> dict[str, Any]:
        return self.page.json(self.items[item_id])


def mixed_item_list(id_statement: Any, query: Any) -> dict[str, Any]:
    """A page of items of mixed kinds: ordered and counted on the items table alone
    (sorting the whole polymorphic join cost ~100 ms at 10,000 items), then the
    page's rows loaded with their kinds' columns."""
    page = _MixedPage()
    return paginate(id_statement, query, page.json, prepare=page.load)


@bp.get("/workspaces/<int:workspace_id>/items")
@endpoint(access=permissions.signed_in, query=ItemQuery)
def list_items(workspace_id: int, query: ItemQuery) -> dict[str, Any]:
    """Everything the workspace owns or has been shared, newest first."""
    workspace = permissions.load_workspace(workspace_id)
    statement = permissions.workspace_item_ids(workspace.id).order_by(
        Item.created_at.desc(), Item.id.desc()
    )
    if query.kind:
        statement = statement.where(Item.kind == query.kind)
    if query.q:
        statement = statement.where(func.lower(Item.title).like(f"%{query.q.lower()}%"))
    return mixed_item_list(statement, query)


# --- sharing ------------------------------------------------------------------


def share_json(share: Share) -> dict[str, Any]:
    return {
        "workspace_id": share.workspace_id,
        "permission": str(share.permission),
        "created_at": iso(share.created_at),
    }


@bp.get("/items/<int:item_id>/shares")
@endpoint(access=permissions.signed_in)
def list_shares(item_id: int) -> dict[str, Any]:
    """The groups an item is shared with (that the caller may know of)."""
    item = permissions.load_item(item_id)
    return {"items": item_json(current_user, item)["shared_with"]}


@bp.post("/items/<int:item_id>/shares")
@endpoint(access=permissions.signed_in, body=ShareBody, status=201)
def create_share(item_id: int, body: ShareBody) -> dict[str, Any]:
    """Share an item with another working group, for view or edit (coordinators)."""
    item = permissions.load_item(item_id, ItemAccess.manage)
    target = permissions.check_share_target(item, body.workspace_id)
    return share_json(items_service.share(current_user, item, target, body.permission))


@bp.delete("/items/<int:item_id>/shares/<int:workspace_id>")
@endpoint(access=permissions.signed_in)
def delete_share(item_id: int, workspace_id: int) -> dict[str, Any]:
    """Stop sharing: the item leaves the other group's lists, feeds and search at once."""
    item = permissions.load_item(item_id, ItemAccess.manage)
    share = db.session.get(Share, (item.id, workspace_id))
    if share is None:
        raise not_found("share")
    items_service.unshare(current_user, item, share)
    return {"unshared": True, "workspace_id": workspace_id}


# --- comments -----------------------------------------------------------------


def comment_json(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "item_id": comment.item_id,
        "author": user_summary(comment.author) if comment.author else None,
        "body": comment.body,
        "body_html": render_markdown(comment.body),
        "created_at": iso(comment.created_at),
    }


@bp.get("/items/<int:item_id>/comments")
@endpoint(access=permissions.signed_in, query=ItemQuery)
def list_comments(item_id: int, query: ItemQuery) -> dict[str, Any]:
    """The comments on an item, oldest first."""
    item = permissions.load_item(item_id)
    statement = (
        select(Comment)
        .where(Comment.item_id == item.id)
        .options(without_community(defaultload(Comment.author)))
        .order_by(Comment.id)
    )
    return paginate(statement, query, comment_json)


@bp.post("/items/<int:item_id>/comments")
@endpoint(access=permissions.signed_in, body=CommentBody, status=201)
def create_comment(item_id: int, body: CommentBody) -> dict[str, Any]:
    """Comment on an item (members of a group that reads it; not observers)."""
    item = permissions.load_item(item_id, ItemAccess.comment)
    comment = items_service.add_comment(current_user, item, body.body)
    return comment_json(comment)


# --- revisions ----------------------------------------------------------------


def revision_json(revision: TextRevision) -> dict[str, Any]:
    """A saved state of a memo's body or a meeting's minutes (`body` for both)."""
    return {
        "number": revision.number,
        "author": user_summary(revision.author) if revision.author else None,
        "created_at": iso(revision.created_at),
        "body": revision.text,
    }


# --- activity -----------------------------------------------------------------


def activity_json(
    event: Any, actor: User | None, item: Item | None, *, with_data: bool = True
) -> dict[str, Any]:
    """The `activity` shape of API.md, for the feed and for live updates. `event` is the
    row or its committed snapshot. Live messages leave out `data` (it may name groups
    that some rooms' members may not know of); the feed reader may see it."""
    payload = {
        "event_id": event.id,
        "verb": event.verb,
        "at": iso(event.at),
        "actor": user_summary(actor) if actor else None,
        "workspace_id": event.workspace_id,
        "item": {"id": item.id, "kind": item.kind, "title": item.title} if item else None,
    }
    if with_data:
        payload["data"] = event.data
    return payload


def workspace_feed(workspace_id: permissions.AnyId) -> Any:
    """The events a workspace's members see: the group's own, its items', and the
    items shared with it while they are shared."""
    return select(Event).where(
        or_(
            Event.workspace_id == workspace_id,
            Event.item_id.in_(permissions.shared_item_ids([workspace_id])),
        )
    )


@bp.get("/workspaces/<int:workspace_id>/activity")
@endpoint(access=permissions.signed_in, query=ActivityQuery)
def activity(workspace_id: int, query: ActivityQuery) -> dict[str, Any]:
    """The activity feed, oldest first after the cursor `after` (an event id).

    Event ids follow commit order (see events.py), so a client that resumes
    after the last id it saw misses nothing.
    """
    workspace = permissions.load_workspace(workspace_id)
    statement = (
        workspace_feed(workspace.id)
        .where(Event.id > query.after)
        .options(selectinload(Event.actor))
        .order_by(Event.id)
    )
    total = db.session.scalar(select(func.count()).select_from(statement.subquery()))
    events = list(db.session.scalars(statement.limit(query.per_page)))
    item_ids = {e.item_id for e in events if e.item_id}
    items = (
        {i.id: i for i in db.session.scalars(select(Item).where(Item.id.in_(item_ids)))}
        if item_ids
        else {}
    )
    return {
        "items": [activity_json(e, e.actor, items.get(e.item_id or 0)) for e in events],
        "page": 1,
        "per_page": query.per_page,
        "total": total or 0,
        "after": query.after,
        "next_after": events[-1].id if events else query.after,
        "has_more": (total or 0) > len(events),
    }


# --- trash ----------------------------------------------------------------------


def trashed_item_ids(user: Any) -> Any:
    """Ids of the deleted items of the workspaces `user` coordinates, restorable until
    purged, most recently deleted first (the trash of the API and of the page)."""
    cutoff = utcnow() - timedelta(days=setting("TRASH_DAYS"))
    return (
        select(Item.id)
        .where(
            Item.deleted_at.is_not(None),
            Item.deleted_at > cutoff,
            Item.workspace_id.in_(permissions.trash_workspace_ids(user)),
        )
        .order_by(Item.deleted_at.desc(), Item.id.desc())
    )


@bp.get("/trash")
@endpoint(access=permissions.signed_in, query=ItemQuery)
def trash(query: ItemQuery) -> dict[str, Any]:
    """Deleted items of the workspaces the caller coordinates, restorable until purged."""
    statement = trashed_item_ids(current_user)
    if query.kind:
        statement = statement.where(Item.kind == query.kind)
    return mixed_item_list(statement, query)


@bp.post("/items/<int:item_id>/restore")
@endpoint(access=permissions.signed_in)
def restore(item_id: int) -> dict[str, Any]:
    """Take an item out of the trash (coordinators)."""
    item = permissions.load_item(item_id, ItemAccess.manage, from_trash=True)
    if item.deleted_at is None:
        raise conflict("The item is not in the trash.")
    items_service.restore(current_user, item)
    return item_json(current_user, item)
