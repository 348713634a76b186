"""How items look in the API: the common fields of API.md plus each kind's own.

`ItemPage` serializes a list of items in a fixed number of queries whatever
its length and mix of kinds: creators and shares are loaded for the whole page
at once, and each kind's extra rows by the loader it registers in `kinds`.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from flask import Response, jsonify
from sqlalchemy import select

from .. import permissions
from ..accounts.models import User
from ..api import iso
from ..extensions import db
from ..text import render_markdown
from . import kinds
from .models import Item, Share


def etag_of(item: Item) -> str:
    return f'"{item.id}.{item.version}"'


class ItemPage:
    """The context to serialize a page of items for the current user."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self.creators: dict[int, User] = {}
        self.shares: dict[int, list[Share]] = defaultdict(list)
        self.my_workspaces: set[int] = set()
        self.preloaded: dict[str, Any] = {}

    def load(self, items: Iterable[Item]) -> ItemPage:
        items = list(items)
        for kind in kinds.registered():
            of_kind = [item for item in items if item.kind == kind.name]
            if kind.preload is not None and of_kind:
                self.preloaded[kind.name] = kind.preload(of_kind)
        creator_ids = {item.created_by_id for item in items if item.created_by_id}
        if creator_ids:
            self.creators = {
                u.id: u for u in db.session.scalars(select(User).where(User.id.in_(creator_ids)))
            }
        return self.load_shares(items)

    def load_shares(self, items: Iterable[Item]) -> ItemPage:
        """What `visible_shares` decides on, alone: an item's page shows the shares
        without the rest of the item's JSON."""
        ids = [item.id for item in items]
        if ids:
            for share in db.session.scalars(
                select(Share).where(Share.item_id.in_(ids)).order_by(Share.workspace_id)
            ):
                self.shares[share.item_id].append(share)
        # Which groups are the caller's decides which shares they see: none, no question.
        if self.shares and self.user.is_authenticated and not self.user.is_secretariat:
            self.my_workspaces = set(
                db.session.scalars(permissions.readable_workspace_ids(self.user))
            )
        return self

    def visible_shares(self, item: Item) -> list[dict[str, Any]]:
        """All shares for readers of the owner group; otherwise only the caller's own groups'."""
        shares = self.shares.get(item.id, [])
        sees_all = self.user.is_authenticated and (
            self.user.is_secretariat or item.workspace_id in self.my_workspaces
        )
        return [
            {"workspace_id": s.workspace_id, "permission": str(s.permission)}
            for s in shares
            if sees_all or s.workspace_id in self.my_workspaces
        ]

    def json(self, item: Item) -> dict[str, Any]:
        creator = self.creators.get(item.created_by_id or 0)
        data = {
            "id": item.id,
            "kind": item.kind,
            "workspace_id": item.workspace_id,
            "title": item.title,
            "created_by": {"id": creator.id, "name": creator.name} if creator else None,
            "created_at": iso(item.created_at),
            "updated_at": iso(item.updated_at),
            "publication": str(item.publication),
            "published_at": iso(item.published_at),
            "shared_with": self.visible_shares(item),
            "version": item.version,
            "etag": etag_of(item),
        }
        if item.deleted_at is not None:
            data["deleted_at"] = iso(item.deleted_at)
        data.update(kinds.get(item.kind).fields(item, self.preloaded.get(item.kind)))
        return data


def item_json(user: Any, item: Item) -> dict[str, Any]:
    return ItemPage(user).load([item]).json(item)


def item_response(user: Any, item: Item, status: int = 200, **extra: Any) -> Response:
    """One item as JSON with its ETag."""
    response = jsonify(item_json(user, item) | extra)
    response.status_code = status
    response.headers["ETag"] = etag_of(item)
    return response


# Rendering Markdown costs milliseconds per text and lists show the same texts again
# and again: short texts keep their HTML (a pure function of the text) in a bounded cache.
_CACHED_TEXT_CHARS = 8_000


@functools.lru_cache(maxsize=1024)
def _cached_html(source: str) -> str:
    return render_markdown(source)


def html_of(source: str) -> str:
    if not source:
        return ""
    return _cached_html(source) if len(source) <= _CACHED_TEXT_CHARS else render_markdown(source)
