"""The audit log's one query: the events that match the secretariat's filters, newest
first. The JSON API (`GET /api/v1/audit`) and the console's page and CSV export all read
the log through `filtered_events`, so a filter means the same everywhere."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from ..events import Event
from ..workspaces.models import Item
from .schemas import AuditQuery


def item_condition(item: str) -> Any:
    """An item named by its id (digits) or by a part of its title (any case)."""
    text = item.strip()
    if text.isdigit():
        return Event.item_id == int(text)
    titled = select(Item.id).where(func.lower(Item.title).contains(text.lower(), autoescape=True))
    return Event.item_id.in_(titled)


def filtered_events(query: AuditQuery) -> Select[tuple[Event]]:
    """The events matching `query`'s filters (paging aside), newest first, actors loaded."""
    statement = select(Event).options(selectinload(Event.actor)).order_by(Event.id.desc())
    if query.actor is not None:
        statement = statement.where(Event.actor_id == query.actor)
    if query.verb:
        # `item.` matches every item verb; a full verb matches itself. (Escaped: the
        # `_` of `calendar_token.` is a LIKE wildcard.)
        statement = statement.where(
            Event.verb.startswith(query.verb, autoescape=True)
            if query.verb.endswith(".")
            else Event.verb == query.verb
        )
    if query.item and query.item.strip():
        statement = statement.where(item_condition(query.item))
    if query.since is not None:
        statement = statement.where(Event.at >= query.since)
    if query.until is not None:
        statement = statement.where(Event.at < query.until)
    if query.workspace_id is not None:
        statement = statement.where(Event.workspace_id == query.workspace_id)
    return statement
