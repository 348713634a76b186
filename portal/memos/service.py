"""Memos: Markdown notes of a working group, with every saved body kept as a revision."""

from __future__ import annotations

from typing import Any

from ..accounts.models import User
from ..extensions import db
from ..workspaces import items_service
from ..workspaces.models import TextRevision, Workspace
from .models import Memo


def create_memo(actor: User, workspace: Workspace, *, title: str, body: str) -> Memo:
    memo = items_service.add_item(actor, workspace, Memo(title=title, body=body))
    items_service.save_revision(memo, "body", body, actor)
    db.session.commit()
    return memo


def update_memo(actor: User, memo: Memo, changes: dict[str, Any]) -> Memo:
    changed = sorted(field for field, value in changes.items() if getattr(memo, field) != value)
    if not changed:
        return memo
    for field in changed:
        setattr(memo, field, changes[field])
    if "body" in changed:
        items_service.save_revision(memo, "body", memo.body, actor)
    items_service.touch(memo)
    items_service.record_item_event("item.updated", actor, memo, fields=changed)
    db.session.commit()
    return memo


def restore_revision(actor: User, memo: Memo, revision: TextRevision) -> Memo:
    """Make an old body current again, as a new revision (history only grows)."""
    return update_memo(actor, memo, {"body": revision.text})
