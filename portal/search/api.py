"""JSON routes of search: staff search over what they may read, public search over
what the network published. Both go through `query.run`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import Blueprint, current_app
from flask_login import current_user
from pydantic import Field, StringConstraints

from .. import permissions
from ..api import API_PREFIX, Query, endpoint, setting
from ..extensions import limiter
from .indexer import search_index
from .query import SearchRequest, recheck, run, run_cached

bp = Blueprint("search_api", __name__, url_prefix=API_PREFIX)

Text = Annotated[str, StringConstraints(max_length=500)]
Kind = Literal["document", "memo", "task", "meeting"]


class SearchQuery(Query):
    q: Text = ""
    kind: Kind | None = None
    sort: Literal["relevance", "newest"] = "relevance"
    page: int = Field(1, ge=1, le=50)
    per_page: int = Field(20, ge=1, le=50)


class StaffSearchQuery(SearchQuery):
    workspace_id: int | None = None


class PublicSearchQuery(SearchQuery):
    community: Annotated[str, StringConstraints(max_length=80)] | None = None
    country: Annotated[str, StringConstraints(max_length=2, to_upper=True)] | None = None
    language: Literal["es", "en", "pt", "fr"] | None = None
    year: Annotated[str, StringConstraints(pattern=r"^\d{4}$")] | None = None


def _answer(
    request: SearchRequest, readable_ids: Any, query: SearchQuery, cached: bool = False
) -> dict[str, Any]:
    index = search_index(current_app)
    found = run_cached(index, request) if cached else run(index, request)
    return {
        "items": recheck(found["hits"], readable_ids),
        "page": query.page,
        "per_page": query.per_page,
        "total": found["total"],
        "facets": found["facets"],
        "partial": found["partial"],
    }


@bp.get("/search")
@endpoint(access=permissions.signed_in, query=StaffSearchQuery)
def search(query: StaffSearchQuery) -> dict[str, Any]:
    """Full-text search over everything the caller may read; hits carry `highlights`."""
    filters = {"kind": query.kind or ""}
    labels = permissions.search_labels(current_user)
    if query.workspace_id is not None:
        permissions.load_workspace(query.workspace_id)
        labels = [f"ws:{query.workspace_id}"]
    request = SearchRequest(
        text=query.q,
        page=query.page,
        per_page=query.per_page,
        newest_first=query.sort == "newest",
        filters=filters,
        labels=labels,
    )
    return _answer(request, permissions.readable_item_ids(current_user), query)


@bp.get("/public/search")
@limiter.limit(lambda: setting("PUBLIC_RATE_LIMIT"))
@endpoint(access=permissions.anyone, query=PublicSearchQuery)
def public_search(query: PublicSearchQuery) -> dict[str, Any]:
    """Search what the network has published, with facet counts."""
    request = SearchRequest(
        text=query.q,
        page=query.page,
        per_page=query.per_page,
        newest_first=query.sort == "newest",
        filters={
            "kind": query.kind or "",
            "community": query.community or "",
            "country": query.country or "",
            "language": query.language or "",
            "year": query.year or "",
        },
        labels=["public"],
    )
    return _answer(request, permissions.published_item_ids(), query, cached=True)
