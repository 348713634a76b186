"""The signed-in search: what the viewer may read in the working groups (the API's
`staff_request`: their groups' labels) and the publications (the public search), with
highlights and facets (group, kind, language, year). The public search page stays the
visitors' own."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from flask_babel import lazy_gettext
from flask_login import current_user
from pydantic import StringConstraints
from sqlalchemy import select

from .. import permissions
from ..extensions import db
from ..pages import page, render
from ..public.api import PublicSearchQuery, run_public_search
from ..public.views import (
    kind_name,
    language_name,
    lenient_query,
    published_copies,
    search_links,
)
from ..search.api import StaffSearchQuery, staff_request, staff_search
from ..workspaces.models import Item, Workspace
from . import bp

PER_PAGE = 10
FIELDS = ("q", "scope", "workspace_id", "kind", "language", "year", "sort", "page")
FACET_TITLES = {
    "workspace_id": lazy_gettext("Working group"),
    "kind": lazy_gettext("Type"),
    "language": lazy_gettext("Language of the text"),
    "year": lazy_gettext("Year"),
}
GROUP = "ws:"


class WorkSearchQuery(StaffSearchQuery):
    scope: Literal["groups", "publications"] = "groups"
    language: Literal["es", "en", "pt", "fr"] | None = None
    year: Annotated[str, StringConstraints(pattern=r"^\d{4}$")] | None = None


def _group_labels() -> tuple[str, ...]:
    """The labels whose hits the group facet counts: the viewer's groups (all for the
    secretariat)."""
    ids = db.session.scalars(
        permissions.visible_workspaces(current_user).with_only_columns(Workspace.id)
    )
    return tuple(f"{GROUP}{i}" for i in ids)


def in_groups(query: WorkSearchQuery, *, per_page: int) -> dict[str, Any]:
    request = staff_request(query, language=query.language or "", year=query.year or "")
    request.per_page = per_page
    request.count_labels = _group_labels()
    found = staff_search(request)
    found["facets"]["workspace_id"] = [
        {"value": entry["value"].removeprefix(GROUP), "count": entry["count"]}
        for entry in found["facets"].pop("label")
    ]
    return found


def in_publications(query: WorkSearchQuery, *, per_page: int) -> dict[str, Any]:
    public = PublicSearchQuery(
        q=query.q,
        kind=query.kind,
        language=query.language,
        year=query.year,
        sort=query.sort,
        page=query.page,
        per_page=per_page,
    )
    return run_public_search(public)


def _hit_items(hits: list[dict[str, Any]]) -> tuple[dict[int, Item], dict[int, str]]:
    """The items of a page of hits and their groups' names, in two queries."""
    ids = [hit["id"] for hit in hits]
    if not ids:
        return {}, {}
    items = {item.id: item for item in db.session.scalars(select(Item).where(Item.id.in_(ids)))}
    groups = {item.workspace_id for item in items.values()}
    names = dict(
        db.session.execute(
            select(Workspace.id, Workspace.name).where(Workspace.id.in_(groups))
        ).all()
    )
    return items, names


@bp.get("/work/search")
@page(access=permissions.signed_in)
def search() -> str:
    query = lenient_query(WorkSearchQuery, FIELDS, per_page=PER_PAGE)
    publications = query.scope == "publications"
    if publications:
        query = query.model_copy(update={"workspace_id": None})
    names = ("workspace_id", "kind", "language", "year")
    current = {
        name: str(getattr(query, name))
        for name in ("q", *names)
        if getattr(query, name) is not None and getattr(query, name) != ""
    }
    if query.sort != "relevance":
        current["sort"] = query.sort
    if publications:
        current["scope"] = "publications"
    search_url = search_links("work.search", current)
    # Both scopes answer, for the count each shows; the other one only its count.
    groups = in_groups(query, per_page=PER_PAGE if not publications else 1)
    published = in_publications(query, per_page=PER_PAGE if publications else 1)
    results = published if publications else groups
    items, group_names = ({}, {}) if publications else _hit_items(results["items"])
    known_groups = dict(
        db.session.execute(
            permissions.visible_workspaces(current_user).with_only_columns(
                Workspace.id, Workspace.name
            )
        ).all()
    )
    labels = {
        "workspace_id": lambda value: known_groups.get(int(value), value),
        "kind": kind_name,
        "language": language_name,
        "year": lambda value: value,
    }
    return render(
        "work/search.html",
        query=query,
        q=query.q,
        publications=publications,
        current=current,
        search_url=search_url,
        results=results,
        totals={"groups": groups["total"], "publications": published["total"]},
        items=items,
        group_names=group_names,
        copies=published_copies([hit["id"] for hit in results["items"]]) if publications else {},
        facet_names=names[1:] if publications else names,
        facet_titles=FACET_TITLES,
        labels=labels,
        active=[name for name in names if name in current],
        keep=[(name, value) for name, value in current.items() if name != "q"],
        pages=min(math.ceil(results["total"] / PER_PAGE), 50),
        first_number=(query.page - 1) * PER_PAGE + 1,
    )
