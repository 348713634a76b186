"""What the index holds of an item: its text, its permission labels and its facets.

Each item kind contributes its own text through `text_of`; a kind that other
packages add (documents) registers its function with `@item_text("kind")`.
Items are loaded in batches with everything the documents need, in a fixed
number of queries per batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import cache
from typing import Any

from babel import Locale
from sqlalchemy import select
from sqlalchemy.orm import with_polymorphic

from ..accounts.models import User
from ..extensions import db
from ..meetings.models import AgendaItem, Meeting
from ..memos.models import Memo
from ..network.models import Community, MemberState
from ..tasks.models import Task
from ..text import markdown_text
from ..workspaces.models import Comment, Item, Share
from .schema import LANGUAGES, WORKSPACE_PREFIX, detect_language

TextOf = Callable[[Any, Any], str]
Preload = Callable[[list[int]], Any]
_sources: dict[str, tuple[TextOf, Preload | None]] = {}


def item_text(kind: str, preload: Preload | None = None) -> Callable[[TextOf], TextOf]:
    """Register the function giving the searchable text of an item kind.

    It is called as `fn(item, preloaded)`, where `preloaded` is what `preload`
    returned for the ids of the kind's items in the batch (one query per batch).
    """

    def register(fn: TextOf) -> TextOf:
        _sources[kind] = (fn, preload)
        return fn

    return register


@item_text("memo")
def _memo_text(memo: Memo, _: Any) -> str:
    return markdown_text(memo.body)


@item_text("task")
def _task_text(task: Task, _: Any) -> str:
    return markdown_text(task.description)


def _agenda_texts(meeting_ids: list[int]) -> dict[int, str]:
    texts: dict[int, list[str]] = defaultdict(list)
    for meeting_id, title, notes in db.session.execute(
        select(AgendaItem.meeting_id, AgendaItem.title, AgendaItem.notes)
        .where(AgendaItem.meeting_id.in_(meeting_ids))
        .order_by(AgendaItem.meeting_id, AgendaItem.position)
    ):
        texts[meeting_id].append(f"{title}\n{markdown_text(notes)}")
    return {meeting_id: "\n".join(parts) for meeting_id, parts in texts.items()}


@item_text("meeting", preload=_agenda_texts)
def _meeting_text(meeting: Meeting, agenda: dict[int, str]) -> str:
    parts = [
        meeting.location,
        markdown_text(meeting.guidelines),
        agenda.get(meeting.id, ""),
        markdown_text(meeting.minutes),
    ]
    return "\n".join(filter(None, parts))


@cache
def _country_names(code: str) -> tuple[str, ...]:
    return tuple(Locale.parse(language).territories.get(code, "") for language in LANGUAGES)


def place_names(community: str, port: str, state_code: str, state_name: str) -> str:
    """What an item's place is searched by: its community's name and port, and its member
    state as the network names it and as each of the four languages does (`Mexique`)."""
    names = [community, port, state_name, *(_country_names(state_code) if state_code else ())]
    return "\n".join(dict.fromkeys(name for name in names if name))


def labels_of(item: Item, shared_with: Iterable[int]) -> list[str]:
    return [f"ws:{item.workspace_id}", *(f"ws:{w}" for w in shared_with)]


def index_document(
    *,
    key: str,
    item_id: int,
    prefix: str,
    labels: list[str],
    kind: str,
    title: str,
    body: str,
    language: str,
    facets: dict[str, str],
    place: str,
    created_at: datetime,
    version: int,
) -> dict[str, Any]:
    """One index document, in either scope (`prefix`): its text goes to the fields of
    its language, `place` (see place_names) to the place field; `language` is one of
    LANGUAGES or detected from the text."""
    if language not in LANGUAGES:
        language = detect_language(f"{title}\n{body}")
    document: dict[str, Any] = {
        "id": key,
        "item_id": str(item_id),
        "kind": kind,
        "labels": ",".join(labels),
        "language": language,
        "created_at": created_at.replace(tzinfo=None),
        "version": version,
        "title_text": title,
        "body_text": body[:200_000],
        f"{prefix}title_{language}": title,
        f"{prefix}content_{language}": body,
        f"{prefix}place": place,
        **facets,
    }
    return document


# Items whose documents carry a community's names (see place_names), rewritten when the
# community is renamed: the items its members created (here) and the copies published
# under it (the `public` package adds theirs).
ItemsOfCommunity = Callable[[int], Iterable[int]]
_of_community: list[ItemsOfCommunity] = []


def community_items(fn: ItemsOfCommunity) -> ItemsOfCommunity:
    _of_community.append(fn)
    return fn


def items_of_community(community_id: int) -> set[int]:
    return {item_id for fn in _of_community for item_id in fn(community_id)}


def items_created_by(user_id: int) -> list[int]:
    return list(db.session.scalars(select(Item.id).where(Item.created_by_id == user_id)))


@community_items
def _members_items(community_id: int) -> Iterable[int]:
    return db.session.scalars(
        select(Item.id)
        .join(User, User.id == Item.created_by_id)
        .where(User.community_id == community_id)
    )


# The index's other scope: public copies, which the `public` package builds
# (`fn(item_ids)` gives the documents of those that have one) and counts for
# `portal reindex --check` (`versions()`: key -> version of every copy).
CopyDocuments = Callable[[list[int]], list[dict[str, Any]]]
CopyVersions = Callable[[], dict[str, int]]
_copies: list[tuple[CopyDocuments, CopyVersions]] = []


def public_copies(documents: CopyDocuments, versions: CopyVersions) -> None:
    _copies.append((documents, versions))


def copy_documents(item_ids: list[int]) -> list[dict[str, Any]]:
    return [document for fn, _ in _copies for document in fn(item_ids)]


def copy_versions() -> dict[str, int]:
    return {key: version for _, fn in _copies for key, version in fn().items()}


AnyItem = with_polymorphic(Item, "*")


def load_items(item_ids: Iterable[int]) -> dict[int, Item]:
    """The live items among these ids, with all their kinds' columns."""
    ids = list(item_ids)
    if not ids:
        return {}
    rows = db.session.scalars(
        select(AnyItem).where(AnyItem.id.in_(ids), AnyItem.deleted_at.is_(None))
    )
    return {item.id: item for item in rows}


def build_documents(items: list[Item]) -> list[dict[str, Any]]:
    """The index documents of a batch of items (shares, comments, creators in bulk)."""
    ids = [item.id for item in items]
    shares: dict[int, list[int]] = defaultdict(list)
    comments: dict[int, list[str]] = defaultdict(list)
    if ids:
        for item_id, workspace_id in db.session.execute(
            select(Share.item_id, Share.workspace_id).where(Share.item_id.in_(ids))
        ):
            shares[item_id].append(workspace_id)
        for item_id, body in db.session.execute(
            select(Comment.item_id, Comment.body).where(Comment.item_id.in_(ids))
        ):
            comments[item_id].append(markdown_text(body))
    # The community of the item's creator: its facets, and its names for the place field.
    creator_ids = {item.created_by_id for item in items if item.created_by_id}
    origin: dict[int, tuple[str, str, str]] = {}
    if creator_ids:
        for user_id, slug, name, port, country, country_name in db.session.execute(
            select(
                User.id,
                Community.slug,
                Community.name,
                Community.port,
                Community.member_state_code,
                MemberState.name,
            )
            .join(Community, Community.id == User.community_id)
            .join(MemberState, MemberState.code == Community.member_state_code)
            .where(User.id.in_(creator_ids))
        ):
            origin[user_id] = (slug, country, place_names(name, port, country, country_name))
    preloaded: dict[str, Any] = {}
    for kind, (_fn, preload) in _sources.items():
        kind_ids = [item.id for item in items if item.kind == kind]
        if preload is not None and kind_ids:
            preloaded[kind] = preload(kind_ids)
    documents = []
    for item in items:
        source = _sources.get(item.kind)
        body = source[0](item, preloaded.get(item.kind)) if source else ""
        community, country, place = origin.get(item.created_by_id or 0, ("", "", ""))
        documents.append(
            index_document(
                key=str(item.id),
                item_id=item.id,
                prefix=WORKSPACE_PREFIX,
                labels=labels_of(item, shares[item.id]),
                kind=item.kind,
                title=item.title,
                body="\n".join([body, *comments[item.id]]).strip(),
                language=(getattr(item, "language", None) or "")[:2].lower(),
                facets={
                    "workspace_id": str(item.workspace_id),
                    "community": community,
                    "country": country,
                    "year": str(item.created_at.year),
                    "tags": ",".join(getattr(item, "tags", None) or []),
                },
                place=place,
                created_at=item.created_at,
                version=item.version,
            )
        )
    return documents


def _document_texts(document_ids: list[int]) -> dict[int, str]:
    """The extracted text of each document's current version."""
    from ..documents.models import Document, DocumentVersion

    rows = db.session.execute(
        select(DocumentVersion.document_id, DocumentVersion.text)
        .join(Document, Document.id == DocumentVersion.document_id)
        .where(
            Document.id.in_(document_ids),
            DocumentVersion.number == Document.current_version,
        )
    )
    return {document_id: text or "" for document_id, text in rows}


@item_text("document", preload=_document_texts)
def _document_text(document: Any, texts: dict[int, str]) -> str:
    return "\n".join(filter(None, [document.description, texts.get(document.id, "")]))
