"""How items look in the API: the common fields of API.md plus each kind's own.

`ItemPage` serializes a list of items in a fixed number of queries whatever
its length and mix of kinds: creators and shares are loaded for the whole page
at once, and each kind's extra rows by the loader it registers.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, jsonify
from sqlalchemy import select

from .. import permissions
from ..accounts.models import User
from ..api import iso
from ..extensions import db
from ..text import render_markdown
from .models import Item, Meeting, Memo, Share, Task

KindFields = Callable[[Any, Any], dict[str, Any]]
Preload = Callable[[list[Any]], Any]
_kind_fields: dict[str, tuple[KindFields, Preload | None]] = {}


def kind_fields(kind: str, preload: Preload | None = None) -> Callable[[KindFields], KindFields]:
    """Register the function giving an item kind's own fields.

    It is called as `fn(item, preloaded)`, where `preloaded` is what `preload`
    returned for the page's items of that kind (loaded once per page).
    """

    def register(fn: KindFields) -> KindFields:
        _kind_fields[kind] = (fn, preload)
        return fn

    return register


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
        for kind, (_fields, preload) in _kind_fields.items():
            of_kind = [item for item in items if item.kind == kind]
            if preload is not None and of_kind:
                self.preloaded[kind] = preload(of_kind)
        ids = [item.id for item in items]
        creator_ids = {item.created_by_id for item in items if item.created_by_id}
        if creator_ids:
            self.creators = {
                u.id: u for u in db.session.scalars(select(User).where(User.id.in_(creator_ids)))
            }
        if ids:
            for share in db.session.scalars(
                select(Share).where(Share.item_id.in_(ids)).order_by(Share.workspace_id)
            ):
                self.shares[share.item_id].append(share)
        if self.user.is_authenticated and not self.user.is_secretariat:
            self.my_workspaces = set(
                db.session.scalars(permissions.readable_workspace_ids(self.user))
            )
        return self

    def _visible_shares(self, item: Item) -> list[dict[str, Any]]:
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
            "shared_with": self._visible_shares(item),
            "version": item.version,
            "etag": etag_of(item),
        }
        if item.deleted_at is not None:
            data["deleted_at"] = iso(item.deleted_at)
        registered = _kind_fields.get(item.kind)
        if registered is not None:
            data.update(registered[0](item, self.preloaded.get(item.kind)))
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


def local_time(moment: Any, timezone: str) -> str | None:
    return moment.astimezone(ZoneInfo(timezone)).isoformat(timespec="seconds") if moment else None


@kind_fields("memo")
def _memo_fields(memo: Memo, _: Any) -> dict[str, Any]:
    return {"body": memo.body, "body_html": html_of(memo.body)}


@kind_fields("task")
def _task_fields(task: Task, _: Any) -> dict[str, Any]:
    return {
        "description": task.description,
        "description_html": html_of(task.description),
        "status": str(task.status),
        "priority": str(task.priority),
        "due_date": task.due_date.isoformat() if task.due_date else None,
        "completed_at": iso(task.completed_at),
        "assignees": [{"id": u.id, "name": u.name} for u in task.assignees],
        "meeting_id": task.meeting_id,
    }


@kind_fields("meeting")
def _meeting_fields(meeting: Meeting, _: Any) -> dict[str, Any]:
    return {
        "starts_at": iso(meeting.starts_at),
        "ends_at": iso(meeting.ends_at),
        "timezone": meeting.timezone,
        "local_starts_at": local_time(meeting.starts_at, meeting.timezone),
        "local_ends_at": local_time(meeting.ends_at, meeting.timezone),
        "location": meeting.location,
        "online_url": meeting.online_url,
        "guidelines": meeting.guidelines,
        "guidelines_html": html_of(meeting.guidelines),
        "minutes": meeting.minutes,
        "minutes_html": html_of(meeting.minutes),
        "status": str(meeting.status),
    }
