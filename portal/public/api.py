"""JSON routes of the publishing workflow (staff) and of the public environment
(anyone: search, items, downloads, the Atom feed)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from xml.etree import ElementTree

from flask import Blueprint, Response, url_for
from flask_login import current_user
from pydantic import Field, StringConstraints
from sqlalchemy import select

from .. import permissions
from ..accounts.models import User
from ..api import API_PREFIX, Body, PageQuery, endpoint, iso, not_found, paginate, setting
from ..documents.api import DOWNLOAD_HEADERS, DOWNLOAD_RESPONSES, send_version
from ..extensions import db, limiter
from ..search.api import SearchQuery
from ..text import xml_safe
from ..workspaces.models import Item
from . import service, statistics
from .models import PublicationRequest, PublishedItem, RequestStatus

bp = Blueprint("public_api", __name__, url_prefix=API_PREFIX)

Note = Annotated[str, StringConstraints(max_length=2000)]


# --- the publishing workflow ------------------------------------------------------------


class PublicationBody(Body):
    action: Literal["submit", "approve", "reject", "unpublish"]
    # Why, for `reject` (required there); a remark for the others.
    note: Note = ""
    version: int | None = Field(
        None,
        ge=1,
        le=2**31 - 1,
        description="For `approve`: the `item_version` of the submission reviewed; 409 "
        "`conflict` when the pending submission is another one. Whether or not it is "
        "given, approval is refused with 409 when the item changed after it was submitted.",
    )


def request_json(request: PublicationRequest, users: dict[int, User]) -> dict[str, Any]:
    def person(user_id: int | None) -> dict[str, Any] | None:
        user = users.get(user_id) if user_id else None
        return {"id": user.id, "name": user.name} if user is not None else None

    return {
        "id": request.id,
        "item_id": request.item_id,
        "item_version": request.item_version,
        "document_version": request.document_version,
        "status": str(request.status),
        "note": request.note,
        "submitted_by": person(request.submitted_by_id),
        "submitted_at": iso(request.submitted_at),
        "decided_by": person(request.decided_by_id),
        "decided_at": iso(request.decided_at),
        "reason": request.reason,
    }


def _people(requests: list[PublicationRequest]) -> dict[int, User]:
    """The submitters and deciders of these requests, in one query."""
    ids = {i for r in requests for i in (r.submitted_by_id, r.decided_by_id) if i}
    if not ids:
        return {}
    return {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))}


def publication_json(item: Item) -> dict[str, Any]:
    """An item's publication state and the history of its requests, newest first."""
    requests = list(
        db.session.scalars(
            select(PublicationRequest)
            .where(PublicationRequest.item_id == item.id)
            .order_by(PublicationRequest.id.desc())
            .limit(50)
        )
    )
    copy = db.session.get(PublishedItem, item.id)
    users = _people(requests)
    return {
        "item_id": item.id,
        "publication": str(item.publication),
        "published_at": iso(item.published_at),
        "approved_at": iso(copy.approved_at) if copy is not None else None,
        "public_url": public_page_url(copy) if copy is not None else None,
        "requests": [request_json(r, users) for r in requests],
    }


@bp.get("/items/<int:item_id>/publication")
@endpoint(access=permissions.signed_in)
def get_publication(item_id: int) -> dict[str, Any]:
    """Where the item stands in the publishing workflow, for those who may read it."""
    return publication_json(permissions.load_item(item_id))


@bp.post("/items/<int:item_id>/publication")
@endpoint(access=permissions.signed_in, body=PublicationBody)
def change_publication(item_id: int, body: PublicationBody) -> dict[str, Any]:
    """submit (the owner group's coordinators), approve, reject (with a reason) and
    unpublish (the secretariat). Approval publishes the copy submitted, or answers 409
    when the item changed after it was submitted or `version` is not the one pending."""
    item = permissions.load_for_publication(item_id, body.action)
    if body.action == "submit":
        service.submit(current_user, item, body.note)
    elif body.action == "approve":
        service.approve(current_user, item, body.note, body.version)
    elif body.action == "reject":
        service.reject(current_user, item, body.note)
    else:
        service.unpublish(current_user, item, body.note)
    return publication_json(item)


class RequestListQuery(PageQuery):
    status: Literal["pending", "approved", "rejected", "withdrawn"] = "pending"


@bp.get("/publication-requests")
@endpoint(access=permissions.secretariat, query=RequestListQuery)
def list_requests(query: RequestListQuery) -> dict[str, Any]:
    """The secretariat's queue: requests in one status; pending ones oldest first (the
    order to review them in), decided ones newest first."""
    order = (
        (PublicationRequest.submitted_at, PublicationRequest.id)
        if query.status == "pending"
        else (PublicationRequest.id.desc(),)
    )
    statement = (
        select(PublicationRequest)
        .join(Item, Item.id == PublicationRequest.item_id)
        .where(PublicationRequest.status == RequestStatus(query.status), Item.deleted_at.is_(None))
        .order_by(*order)
    )
    items: dict[int, Item] = {}
    users: dict[int, User] = {}

    def prepare(requests: list[PublicationRequest]) -> None:
        ids = [r.item_id for r in requests]
        items.update(
            (item.id, item) for item in db.session.scalars(select(Item).where(Item.id.in_(ids)))
        )
        users.update(_people(requests))

    def serialize(request: PublicationRequest) -> dict[str, Any]:
        item = items[request.item_id]
        return request_json(request, users) | {
            "item": {
                "id": item.id,
                "kind": item.kind,
                "title": item.title,
                "workspace_id": item.workspace_id,
                "publication": str(item.publication),
            }
        }

    return paginate(statement, query, serialize, prepare=prepare)


# --- the public environment -------------------------------------------------------------


def public_page_url(copy: PublishedItem, external: bool = False) -> str:
    return url_for("public.item_page", item_id=copy.item_id, slug=copy.slug, _external=external)


def public_item_json(copy: PublishedItem) -> dict[str, Any]:
    version = copy.document_version
    document = None
    if version is not None:
        document = {
            "filename": version.filename,
            "size": version.size,
            "content_type": version.content_type,
            "download_url": url_for("public_api.public_download", document_id=copy.item_id),
        }
    return {
        "id": copy.item_id,
        "kind": copy.kind,
        "title": copy.title,
        "slug": copy.slug,
        "summary": copy.summary,
        "body_html": copy.body_html,
        "language": copy.language,
        "tags": copy.tags,
        "community": {"slug": copy.community.slug, "name": copy.community.name}
        if copy.community is not None
        else None,
        "country": {"code": copy.member_state.code, "name": copy.member_state.name}
        if copy.member_state is not None
        else None,
        "published_at": iso(copy.published_at),
        "updated_at": iso(copy.approved_at),
        "url": public_page_url(copy),
        "document": document,
        "details": copy.details,
    }


class PublicSearchQuery(SearchQuery):
    community: Annotated[str, StringConstraints(max_length=80)] | None = None
    country: Annotated[str, StringConstraints(max_length=2, to_upper=True)] | None = None
    language: Literal["es", "en", "pt", "fr"] | None = None
    year: Annotated[str, StringConstraints(pattern=r"^\d{4}$")] | None = None

    @property
    def filters(self) -> dict[str, str]:
        names = ("kind", "community", "country", "language", "year")
        return {name: getattr(self, name) or "" for name in names}


def count_public_search(query: PublicSearchQuery) -> None:
    """A visitor's search (on the page or through the API) counts once: its first page
    (the next pages of the same search do not)."""
    if query.page == 1:
        statistics.count_public("search", community_slug=query.community)


def run_public_search(query: PublicSearchQuery) -> dict[str, Any]:
    return service.search(
        query.q,
        filters=query.filters,
        newest_first=query.sort == "newest",
        page=query.page,
        per_page=query.per_page,
    )


@bp.get("/public/search")
@limiter.limit(lambda: setting("PUBLIC_RATE_LIMIT"))
@endpoint(access=permissions.anyone, query=PublicSearchQuery)
def public_search(query: PublicSearchQuery) -> dict[str, Any]:
    """Search what the network has published, with facet counts and highlights."""
    count_public_search(query)
    return run_public_search(query)


@bp.get("/public/items/<int:item_id>")
@endpoint(access=permissions.anyone)
def public_item(item_id: int) -> dict[str, Any]:
    """A published item as approved: its public copy, never the workspace's drafts."""
    return public_item_json(service.load_published(item_id))


@bp.get("/public/documents/<int:document_id>/download")
@endpoint(access=permissions.anyone)
def public_download(document_id: int) -> Response:
    """The approved version's file, with the workspace download's headers and ranges."""
    copy = service.load_published(document_id)
    if copy.document_version is None:
        raise not_found("document")
    statistics.count_public("download", community_id=copy.community_id)
    return send_version(copy.document_version)


public_download.openapi_responses = DOWNLOAD_RESPONSES  # type: ignore[attr-defined]
public_download.openapi_parameters = DOWNLOAD_HEADERS  # type: ignore[attr-defined]


ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50


@bp.get("/public/feed.atom")
@endpoint(access=permissions.anyone)
def public_feed() -> Response:
    """The newest publications as an Atom 1.0 feed (RFC 4287)."""
    ElementTree.register_namespace("", ATOM)

    def add(parent: ElementTree.Element, tag: str, text: str | None = None, **attrs: str) -> Any:
        """An element; its text and attributes without what XML cannot hold."""
        safe = {name: xml_safe(value) for name, value in attrs.items()}
        element = ElementTree.SubElement(parent, f"{{{ATOM}}}{tag}", safe)
        element.text = xml_safe(text) if text is not None else None
        return element

    copies = service.newest(FEED_SIZE)
    feed_url = url_for("public_api.public_feed", _external=True)
    feed = ElementTree.Element(f"{{{ATOM}}}feed")
    add(feed, "id", feed_url)
    add(feed, "title", "Port Network Portal: publications")
    add(feed, "subtitle", "The newest publications of the network of port logistics communities.")
    updated = max((c.approved_at for c in copies), default=None)
    add(feed, "updated", iso(updated) or "1970-01-01T00:00:00+00:00")
    add(feed, "link", rel="self", href=feed_url, type="application/atom+xml")
    add(feed, "link", rel="alternate", href=url_for("public.home", _external=True))
    author = add(feed, "author")
    add(author, "name", "Port Network Portal")
    for copy in copies:
        page = public_page_url(copy, external=True)
        entry = add(feed, "entry")
        add(entry, "id", page)
        add(entry, "title", copy.title)
        add(entry, "updated", iso(copy.approved_at))
        add(entry, "published", iso(copy.published_at))
        add(entry, "link", rel="alternate", href=page, type="text/html")
        add(entry, "category", term=copy.kind)
        if copy.community is not None:
            add(add(entry, "author"), "name", copy.community.name)
        add(entry, "summary", copy.summary or copy.title)
    body = ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)
    response = Response(body, mimetype="application/atom+xml")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


public_feed.openapi_responses = {  # type: ignore[attr-defined]
    "200": {
        "description": "An Atom 1.0 feed",
        "content": {"application/atom+xml": {"schema": {"type": "string"}}},
    }
}
