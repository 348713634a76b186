"""The publishing workflow and what the public reads.

A coordinator submits an item of their group: the request records the item's
public copy as submitted. The secretariat approves it (that recorded copy becomes
the `PublishedItem`) or rejects it with a reason; the secretariat may unpublish it.
Approval publishes exactly what was submitted and reviewed: when the item would
publish something else by then (an edit, a new file version), or the reviewer saw
an earlier submission, it is refused (409) until the coordinator submits the item
again. A published item can be submitted again to publish its later changes; the
public keeps the approved copy until then. Every step records an event and
notifies who is concerned.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .. import permissions
from ..accounts.models import User
from ..accounts.service import notify
from ..api import ApiError, invalid
from ..documents.models import Document, DocumentVersion
from ..events import utcnow
from ..extensions import db
from ..meetings.models import AgendaItem, Meeting
from ..memos.models import Memo
from ..search import content
from ..search.indexer import search_index
from ..search.query import SearchRequest, recheck, run_cached
from ..search.schema import LANGUAGES, PUBLIC_PREFIX, detect_language
from ..tasks.models import Task
from ..text import markdown_text, slugify
from ..workspaces.items_service import record_item_event
from ..workspaces.models import Item, Publication, Workspace
from .models import PublicationRequest, PublishedItem, RequestStatus

SUMMARY_CHARS = 300
NOTHING_PENDING = "Nothing about this item is awaiting review."


def conflict(message: str) -> ApiError:
    return ApiError(409, "conflict", message)


def pending_request(item: Item) -> PublicationRequest | None:
    return db.session.scalar(
        select(PublicationRequest).where(
            PublicationRequest.item_id == item.id,
            PublicationRequest.status == RequestStatus.pending,
        )
    )


@dataclass(frozen=True)
class Submission:
    """A pending request with the copy approval publishes (the one submitted) and the
    copy the item would give now: they differ when the item changed since."""

    request: PublicationRequest
    current: dict[str, Any]

    @property
    def copy(self) -> dict[str, Any]:
        return self.request.public_copy or self.current

    @property
    def changed(self) -> bool:
        return self.request.public_copy != self.current


def submission(item: Item) -> Submission | None:
    request = pending_request(item)
    if request is None:
        return None
    return Submission(request, public_copy_of(item, request.submitted_by_id))


def _secretariat_ids() -> list[int]:
    return list(
        db.session.scalars(select(User.id).where(User.is_secretariat, User.active.is_(True)))
    )


def submit(actor: User, item: Item, note: str) -> PublicationRequest:
    """Ask the secretariat to publish the item (or, once published, its latest changes),
    as it is now. A pending request for an item that changed since is replaced."""
    earlier = submission(item)
    if earlier is not None and not earlier.changed:
        raise conflict("The item is already awaiting the secretariat's review.")
    if isinstance(item, Document) and item.current_version < 1:
        raise conflict("Upload the document's file before submitting it.")
    if earlier is not None:
        _close(earlier.request, actor, RequestStatus.withdrawn, "")
    if item.publication is not Publication.published:
        item.publication = Publication.submitted
    db.session.flush()  # closes the earlier request; gives the item's version as submitted
    request = PublicationRequest(
        item_id=item.id,
        item_version=item.version,
        public_copy=public_copy_of(item, actor.id),
        submitted_by_id=actor.id,
        submitted_at=utcnow(),
        note=note,
    )
    db.session.add(request)
    db.session.flush()
    event = record_item_event(
        "publication.submitted",
        actor,
        item,
        request_id=request.id,
        note=note,
        replaces=earlier.request.id if earlier is not None else None,
    )
    notify(event, _secretariat_ids(), actor=actor)
    db.session.commit()
    return request


def _close(request: PublicationRequest, actor: User, status: RequestStatus, reason: str) -> None:
    request.status = status
    request.decided_by_id = actor.id
    request.decided_at = utcnow()
    request.reason = reason


def _decide(actor: User, item: Item, status: RequestStatus, reason: str = "") -> PublicationRequest:
    request = pending_request(item)
    if request is None:
        raise conflict(NOTHING_PENDING)
    _close(request, actor, status, reason)
    return request


def _people(*user_ids: int | None) -> set[int]:
    """The users to notify, leaving out those whose account is gone (SET NULL)."""
    return {user_id for user_id in user_ids if user_id is not None}


def approve(actor: User, item: Item, note: str = "", version: int | None = None) -> PublishedItem:
    """Publish the copy submitted: make (or refresh) the item's public copy. Refused
    when the item would publish something else now, or when `version` (the submission
    the reviewer saw) is not the pending one."""
    pending = submission(item)
    if pending is None:
        raise conflict(NOTHING_PENDING)
    request = pending.request
    if version is not None and version != request.item_version:
        raise conflict(
            "The item was submitted again since the version you reviewed; review it again."
        )
    if pending.changed:
        raise conflict(
            "The item changed after it was submitted; its coordinator must submit it again."
        )
    _close(request, actor, RequestStatus.approved, "")
    facts = pending.copy | {
        "item_version": item.version,
        "approved_at": utcnow(),
        "approved_by_id": actor.id,
    }
    copy = db.session.get(PublishedItem, item.id)
    if copy is None:
        copy = PublishedItem(item_id=item.id, published_at=facts["approved_at"])
        db.session.add(copy)
    for name, value in facts.items():
        setattr(copy, name, value)
    item.publication = Publication.published
    item.published_at = copy.published_at
    event = record_item_event("publication.approved", actor, item, request_id=request.id, note=note)
    notify(event, _people(request.submitted_by_id), actor=actor)
    db.session.commit()
    return copy


def reject(actor: User, item: Item, reason: str) -> PublicationRequest:
    """Refuse the request; a published item keeps its approved copy."""
    if not reason.strip():
        raise invalid({"note": "Say why the item is rejected."})
    request = _decide(actor, item, RequestStatus.rejected, reason)
    if item.publication is Publication.submitted:
        item.publication = Publication.rejected
    event = record_item_event(
        "publication.rejected", actor, item, request_id=request.id, reason=reason
    )
    notify(event, _people(request.submitted_by_id), actor=actor)
    db.session.commit()
    return request


def unpublish(actor: User, item: Item, note: str) -> None:
    """Withdraw the public copy at once; the item stays in its workspace."""
    if item.publication is not Publication.published:
        raise conflict("The item is not published.")
    pending = pending_request(item)
    if pending is not None:
        _close(pending, actor, RequestStatus.withdrawn, note)
    submitters = db.session.scalars(
        select(PublicationRequest.submitted_by_id).where(
            PublicationRequest.item_id == item.id,
            PublicationRequest.status == RequestStatus.approved,
        )
    )
    copy = db.session.get(PublishedItem, item.id)
    if copy is not None:
        db.session.delete(copy)
    item.publication = Publication.private
    item.published_at = None
    event = record_item_event("publication.unpublished", actor, item, note=note)
    notify(event, _people(*submitters, item.created_by_id), actor=actor)
    db.session.commit()


# --- the public copy ------------------------------------------------------------------


_HEADING = re.compile(r"^ {0,3}#{1,6}\s.*$", re.MULTILINE)


def _summary(markdown: str) -> str:
    """The first words of the text, for lists, feeds and the page description (headings
    left out: "## Acta" would run into the sentence after it)."""
    text = " ".join(markdown_text(_HEADING.sub("", markdown)).split())
    if len(text) <= SUMMARY_CHARS:
        return text
    return text[: SUMMARY_CHARS - 1].rsplit(" ", 1)[0] + "…"


def _memo_copy(memo: Memo) -> dict[str, Any]:
    return {"body": memo.body}


def _task_copy(task: Task) -> dict[str, Any]:
    return {
        "body": task.description,
        "details": {
            "status": str(task.status),
            "due_date": task.due_date.isoformat() if task.due_date else None,
        },
    }


def _meeting_copy(meeting: Meeting) -> dict[str, Any]:
    agenda = db.session.scalars(
        select(AgendaItem.title)
        .where(AgendaItem.meeting_id == meeting.id, AgendaItem.scheduled.is_(True))
        .order_by(AgendaItem.position)
    )
    return {
        # The minutes once held; the guidelines before.
        "body": meeting.minutes or meeting.guidelines,
        "details": {
            "starts_at": meeting.starts_at.isoformat(),
            "ends_at": meeting.ends_at.isoformat(),
            "timezone": meeting.timezone,
            "location": meeting.location,
            "status": str(meeting.status),
            "agenda": list(agenda),
        },
    }


def _document_copy(document: Document) -> dict[str, Any]:
    version = db.session.scalar(
        select(DocumentVersion).where(
            DocumentVersion.document_id == document.id,
            DocumentVersion.number == document.current_version,
        )
    )
    return {
        "body": document.description,
        # Without a description, the file's own first words describe it.
        "summary_source": document.description or (version.text if version else ""),
        "tags": list(document.tags or []),
        "document_version_id": version.id if version is not None else None,
        "details": {"version": document.current_version},
    }


_COPIERS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "memo": _memo_copy,
    "task": _task_copy,
    "meeting": _meeting_copy,
    "document": _document_copy,
}


def public_copy_of(item: Item, submitter_id: int | None) -> dict[str, Any]:
    """The columns of an item's public copy, from the item as it is now (recorded by a
    submission; approval publishes it while the item still gives the same), JSON-ready."""
    facts: dict[str, Any] = {"tags": [], "details": {}, "document_version_id": None}
    facts |= _COPIERS[item.kind](item)
    about = (facts.pop("summary_source", None) or facts["body"])[:5000]
    author_id = item.created_by_id or submitter_id
    author = db.session.get(User, author_id) if author_id else None
    community = author.community if author is not None else None
    declared = (getattr(item, "language", "") or "")[:2].lower()
    language = declared if declared in LANGUAGES else detect_language(f"{item.title}\n{about}")
    return facts | {
        "kind": item.kind,
        "slug": slugify(item.title, max_length=100),
        "title": item.title,
        "summary": _summary(about),
        "language": language,
        "community_id": community.id if community is not None else None,
        "member_state_code": community.member_state_code if community is not None else None,
    }


# --- reading ---------------------------------------------------------------------------


def review_queue(limit: int = 200) -> list[Any]:
    """The pending requests, oldest first, with their item, group and submitter, in one
    query (rows of PublicationRequest, Item, workspace name, submitter name)."""
    return list(
        db.session.execute(
            select(PublicationRequest, Item, Workspace.name, User.name)
            .join(Item, Item.id == PublicationRequest.item_id)
            .join(Workspace, Workspace.id == Item.workspace_id)
            .outerjoin(User, User.id == PublicationRequest.submitted_by_id)
            .where(PublicationRequest.status == RequestStatus.pending, Item.deleted_at.is_(None))
            .order_by(PublicationRequest.submitted_at, PublicationRequest.id)
            .limit(limit)
        )
    )


def _with_relations() -> Any:
    return select(PublishedItem).options(
        selectinload(PublishedItem.community),
        selectinload(PublishedItem.member_state),
        selectinload(PublishedItem.document_version),
    )


def _visible() -> Any:
    return _with_relations().where(PublishedItem.item_id.in_(permissions.published_item_ids()))


def load_published(item_id: int) -> PublishedItem:
    """The public copy of a published item; 404 for anything else."""
    permissions.public_item(item_id)
    copy = db.session.scalar(_with_relations().where(PublishedItem.item_id == item_id))
    if copy is None:
        raise ApiError(404, "not_found", "No such item.")
    return copy


def newest(limit: int = 20) -> list[PublishedItem]:
    """The latest publications, newest first (first publication, then last approval)."""
    return list(
        db.session.scalars(
            _visible()
            .order_by(PublishedItem.published_at.desc(), PublishedItem.item_id.desc())
            .limit(limit)
        )
    )


def count_published() -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(permissions.published_item_ids().subquery())
        )
        or 0
    )


def search(
    text: str,
    *,
    filters: dict[str, str],
    newest_first: bool,
    page: int,
    per_page: int,
) -> dict[str, Any]:
    """Public search: the public copies, their facets and highlights, re-checked against
    the database (an unpublished item never shows, even if the index lags). No words:
    every publication the filters let through, newest first."""
    request = SearchRequest(
        text=text,
        page=page,
        per_page=per_page,
        newest_first=newest_first,
        filters=filters,
        labels=["public"],
        public=True,
        browse=True,
    )
    found = run_cached(search_index(current_app), request)
    return {
        "items": recheck(found["hits"], permissions.published_item_ids()),
        "page": page,
        "per_page": per_page,
        "total": found["total"],
        "facets": found["facets"],
        "partial": found["partial"],
    }


# --- the index's public scope ------------------------------------------------------------


def _copy_documents(item_ids: list[int]) -> list[dict[str, Any]]:
    copies = db.session.scalars(_visible().where(PublishedItem.item_id.in_(item_ids)))
    documents = []
    for copy in copies:
        text = copy.document_version.text if copy.document_version is not None else ""
        documents.append(
            content.index_document(
                key=f"public:{copy.item_id}",
                item_id=copy.item_id,
                prefix=PUBLIC_PREFIX,
                labels=["public"],
                kind=copy.kind,
                title=copy.title,
                body="\n".join(filter(None, [markdown_text(copy.body), text])),
                language=copy.language,
                facets={
                    "community": copy.community.slug if copy.community else "",
                    "country": copy.member_state_code or "",
                    "year": str(copy.published_at.year),
                    "tags": ",".join(copy.tags or []),
                },
                place=content.place_names(
                    copy.community.name if copy.community else "",
                    copy.community.port if copy.community else "",
                    copy.member_state_code or "",
                    copy.member_state.name if copy.member_state else "",
                ),
                created_at=copy.published_at,  # the public's "newest" is the newest published
                version=copy.item_version,
            )
        )
    return documents


def _copy_versions() -> dict[str, int]:
    return {
        f"public:{item_id}": version
        for item_id, version in db.session.execute(
            select(PublishedItem.item_id, PublishedItem.item_version).where(
                PublishedItem.item_id.in_(permissions.published_item_ids())
            )
        )
    }


content.public_copies(_copy_documents, _copy_versions)


@content.community_items
def _copies_of_community(community_id: int) -> Any:
    return db.session.scalars(
        select(PublishedItem.item_id).where(PublishedItem.community_id == community_id)
    )
