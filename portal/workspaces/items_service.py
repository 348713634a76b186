"""What every item kind shares: creation bookkeeping, trash, sharing, comments, revisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from .. import events
from ..accounts.models import User
from ..accounts.service import notify
from ..events import Event, utcnow
from ..extensions import db
from . import kinds
from .models import Comment, Item, Membership, Share, SharePermission, TextRevision, Workspace


def record_item_event(verb: str, actor: User | None, item: Item, **data: Any) -> Event:
    return events.record(verb, actor=actor, item=item, data={"kind": item.kind} | data)


def add_item(actor: User, workspace: Workspace, item: Item) -> Item:
    """Insert a new item of any kind into its owner workspace, with its event."""
    now = utcnow()
    item.workspace_id = workspace.id
    item.created_by_id = actor.id
    item.created_at = now
    item.updated_at = now
    db.session.add(item)
    db.session.flush()
    record_item_event("item.created", actor, item)
    return item


def touch(item: Item) -> None:
    """Mark an item changed: bumps `updated_at` and, through it, the version (ETag)."""
    item.updated_at = utcnow()


def save_revision(item: Item, field: str, text: str, author: User) -> TextRevision | None:
    """Keep `text` as the next revision of `field`, unless it equals the latest one."""
    latest = db.session.scalar(
        select(TextRevision)
        .where(TextRevision.item_id == item.id, TextRevision.field == field)
        .order_by(TextRevision.number.desc())
        .limit(1)
    )
    if latest is not None and latest.text == text:
        return None
    revision = TextRevision(
        item_id=item.id,
        field=field,
        number=(latest.number + 1) if latest else 1,
        text=text,
        author_id=author.id,
        created_at=utcnow(),
    )
    db.session.add(revision)
    return revision


def move_to_trash(actor: User, item: Item) -> None:
    on_trash = kinds.get(item.kind).on_trash
    if on_trash is not None:
        on_trash(item)
    item.deleted_at = utcnow()
    touch(item)
    record_item_event("item.deleted", actor, item)
    db.session.commit()


def restore(actor: User, item: Item) -> None:
    item.deleted_at = None
    touch(item)
    record_item_event("item.restored", actor, item)
    db.session.commit()


def purge_trash(deleted_before: datetime) -> int:
    """Remove for good the items trashed before the cutoff; returns how many."""
    items = list(
        db.session.scalars(
            select(Item).where(Item.deleted_at.is_not(None), Item.deleted_at < deleted_before)
        )
    )
    for item in items:
        purge = kinds.get(item.kind).purge
        if purge is not None:
            purge(item)
            continue
        record_item_event("item.purged", None, item, item_id=item.id)
        db.session.delete(item)
        db.session.commit()
    return len(items)


def share(actor: User, item: Item, target: Workspace, permission: SharePermission) -> Share:
    existing = db.session.get(Share, (item.id, target.id))
    if existing is not None and existing.permission is permission:
        return existing
    if existing is None:
        existing = Share(
            item_id=item.id,
            workspace_id=target.id,
            permission=permission,
            created_at=utcnow(),
            created_by_id=actor.id,
        )
        db.session.add(existing)
    else:
        existing.permission = permission
    event = record_item_event(
        "item.shared", actor, item, workspace_id=target.id, permission=str(permission)
    )
    members = db.session.scalars(
        select(Membership.user_id).where(Membership.workspace_id == target.id)
    )
    notify(event, members, actor=actor)
    db.session.commit()
    return existing


def unshare(actor: User, item: Item, share_row: Share) -> None:
    workspace_id = share_row.workspace_id
    db.session.delete(share_row)
    record_item_event("item.unshared", actor, item, workspace_id=workspace_id)
    db.session.commit()


def add_comment(actor: User, item: Item, body: str) -> Comment:
    comment = Comment(item_id=item.id, author_id=actor.id, body=body, created_at=utcnow())
    db.session.add(comment)
    db.session.flush()
    event = record_item_event("comment.created", actor, item, comment_id=comment.id)
    if item.created_by_id is not None:
        notify(event, [item.created_by_id], actor=actor)
    db.session.commit()
    return comment
