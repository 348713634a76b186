"""JSON route of staff search over what the caller may read in the workspaces. Public
search (portal/public/api.py) goes through the same `query.run`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import Blueprint, current_app
from flask_login import current_user
from pydantic import Field, StringConstraints

from .. import permissions
from ..api import API_PREFIX, Id, Query, endpoint
from .indexer import search_index
from .query import SearchRequest, recheck, run

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
    workspace_id: Id | None = None


def staff_request(query: StaffSearchQuery, **filters: str) -> SearchRequest:
    """The signed-in search over what the caller may read: the labels of their groups
    (none for the secretariat: everything), or of the one group asked for (404 if they
    may not read it). The page adds its filters (`language`, `year`)."""
    labels = permissions.search_labels(current_user)
    if query.workspace_id is not None:
        permissions.load_workspace(query.workspace_id)
        labels = [f"ws:{query.workspace_id}"]
    return SearchRequest(
        text=query.q,
        page=query.page,
        per_page=query.per_page,
        newest_first=query.sort == "newest",
        filters={"kind": query.kind or "", **filters},
        labels=labels,
    )


def staff_search(request: SearchRequest) -> dict[str, Any]:
    """Run it; the hits of the page are checked against the database once more."""
    found = run(search_index(current_app), request)
    return {
        "items": recheck(found["hits"], permissions.readable_item_ids(current_user)),
        "page": request.page,
        "per_page": request.per_page,
        "total": found["total"],
        "facets": found["facets"],
        "partial": found["partial"],
    }


@bp.get("/search")
@endpoint(access=permissions.signed_in, query=StaffSearchQuery)
def search(query: StaffSearchQuery) -> dict[str, Any]:
    """Full-text search over everything the caller may read; hits carry `highlights`."""
    return staff_search(staff_request(query))
