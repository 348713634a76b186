"""The registry of item kinds: what `workspaces` and `permissions` know of each kind.

The kinds (documents, memos, tasks, meetings) build on `workspaces`, so nothing
here and nothing in `permissions` may import them (DESIGN.md). Each kind's `api`
module registers the kind when it is imported, which `create_app` does before
anything is served.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import with_polymorphic

from .models import Item

# `fields(item, preloaded)`: the kind's own fields in the API, beside those every item has.
Fields = Callable[[Any, Any], dict[str, Any]]
# `preload(items)`: what `fields` needs for a page of the kind's items, loaded once per page.
Preload = Callable[[list[Any]], Any]
# `on_trash(item)`: what the kind undoes when one of its items goes to the trash (in the
# same transaction), such as a document's check-out.
OnTrash = Callable[[Any], None]
# `purge(item)`: remove a trashed item for good with what only the kind knows of (a
# document's versions and blobs); records `item.purged` and commits.
Purge = Callable[[Any], None]


@dataclass(frozen=True)
class Kind:
    name: str  # `Item.kind` of its rows
    model: type[Item]
    fields: Fields
    preload: Preload | None = None
    # Rows of the kind's items that routes name by their own id (a meeting's agenda
    # points), for `permissions` to decide on as the item they belong to.
    parts: Mapping[str, type] = field(default_factory=dict)
    on_trash: OnTrash | None = None
    purge: Purge | None = None


_kinds: dict[str, Kind] = {}


def register(
    name: str,
    model: type[Item],
    fields: Fields,
    *,
    preload: Preload | None = None,
    parts: Mapping[str, type] | None = None,
    on_trash: OnTrash | None = None,
    purge: Purge | None = None,
) -> Kind:
    """Make a kind known; registering a name again replaces it."""
    kind = Kind(name, model, fields, preload, dict(parts or {}), on_trash, purge)
    _kinds[name] = kind
    return kind


@dataclass(frozen=True)
class Pages:
    """The endpoints of a kind's pages; a kind's `views` module names them when imported."""

    item: str  # one item's page, takes `item_id`
    listing: str  # the kind's list in a group, takes `workspace_id`
    new: str  # the form for a new item in a group, takes `workspace_id`


_pages: dict[str, Pages] = {}


def register_pages(name: str, *, item: str, listing: str, new: str) -> None:
    _pages[name] = Pages(item, listing, new)


def pages_of(name: str) -> Pages | None:
    return _pages.get(name)


def with_pages() -> list[Kind]:
    """The registered kinds that have pages, in the order they registered."""
    return [kind for kind in _kinds.values() if kind.name in _pages]


def page_url(item: Any) -> str:
    """The address of an item's page, for links in lists, activity and notifications;
    `item` is an `Item` or anything with its `kind` and `id`."""
    from flask import url_for

    return url_for(_pages[item.kind].item, item_id=item.id)


def get(name: str) -> Kind:
    """A registered kind (KeyError: its package was not imported at start-up)."""
    return _kinds[name]


def registered() -> list[Kind]:
    return list(_kinds.values())


def any_item() -> Any:
    """`Item` with the columns of every registered kind: a page of mixed kinds loads
    in one query (a plain `Item` query would load each row's own columns one by one)."""
    return _polymorphic(tuple(kind.model for kind in _kinds.values()))


@functools.cache
def _polymorphic(models: tuple[type[Item], ...]) -> Any:
    return with_polymorphic(Item, list(models))
