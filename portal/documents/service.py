"""Every change to documents: uploads, versions, metadata, trash, check-out.

Blob first, row second: an upload reaches the store before its rows are
written, and `upload.received` removes the blob if the transaction does not
commit (the service calls `Received.keep()` only after the commit). Its text
is extracted before the first query, so an upload waiting for an extraction
slot holds no database connection.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm.exc import StaleDataError

from .. import events
from ..accounts.models import User
from ..api import conflict, invalid, iso
from ..events import utcnow
from ..extensions import db
from ..workspaces import items_service
from ..workspaces.models import Workspace
from . import extract
from .models import Blob, Document, DocumentVersion, version_facts
from .storage import store_named
from .upload import Received

log = logging.getLogger(__name__)

MAX_CHECKOUT = timedelta(days=7)


def check_open(workspace_id: int) -> None:
    """409 for a change in an archived workspace (checked before reading an upload)."""
    _require_open(workspace_id)


def _require_open(workspace_id: int) -> None:
    archived = db.session.scalar(select(Workspace.archived_at).where(Workspace.id == workspace_id))
    if archived is not None:
        raise conflict("The workspace is archived; restore it first.")


def listed(workspace_id: int) -> Select[tuple[Document]]:
    """The workspace's documents out of the trash, newest first (the API's list and the
    page's)."""
    return (
        select(Document)
        .where(Document.workspace_id == workspace_id, Document.deleted_at.is_(None))
        .order_by(Document.created_at.desc(), Document.id.desc())
    )


def end_read_transaction() -> None:
    """Close the transaction of the access checks before a long upload streams in,
    so the database is not held idle in a transaction; the objects reload after."""
    db.session.commit()


def lock_json(document: Document, now: datetime | None = None) -> dict[str, Any] | None:
    holder_id = document.lock_holder_id(now or utcnow())
    if holder_id is None:
        return None
    holder = db.session.get(User, holder_id)
    return {
        "user": {"id": holder_id, "name": holder.name if holder else None},
        "until": iso(document.checked_out_until),
    }


def check_not_locked(actor: User, document: Document) -> None:
    """409 naming the holder when another member has the document checked out."""
    _refuse_if_locked(actor, document)


def _refuse_if_locked(actor: User, document: Document) -> None:
    lock = lock_json(document)
    if lock is not None and lock["user"]["id"] != actor.id:
        raise conflict(
            f"The document is checked out by {lock['user']['name']} until {lock['until']}.",
            checked_out=lock,
        )


def _new_version(
    actor: User, document: Document, upload: Received, extracted: extract.Extracted
) -> DocumentVersion:
    blob = Blob(
        store=upload.store.name,
        key=upload.blob.key,
        size=upload.blob.size,
        sha256=upload.blob.sha256,
        created_at=utcnow(),
    )
    db.session.add(blob)
    db.session.flush()
    number = _next_number(document)
    version = DocumentVersion(
        document_id=document.id,
        number=number,
        blob_id=blob.id,
        filename=upload.filename,
        content_type=upload.content_type,
        size=upload.blob.size,
        sha256=upload.blob.sha256,
        uploaded_by_id=actor.id,
        uploaded_at=utcnow(),
        text=extracted.text,
        extraction_error=extracted.error,
    )
    db.session.add(version)
    document.current_version = number
    return version


def _next_number(document: Document) -> int:
    if document.id is None:
        return 1
    highest = db.session.scalar(
        select(func.max(DocumentVersion.number)).where(DocumentVersion.document_id == document.id)
    )
    return (highest or 0) + 1


def _extract(upload: Received) -> extract.Extracted:
    return extract.extract(upload.store, upload.blob.key, upload.content_type, upload.blob.size)


def _commit(upload: Received | None = None) -> None:
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise conflict("The document was changed meanwhile; reload it and try again.") from None
    except Exception:
        db.session.rollback()
        raise
    if upload is not None:
        upload.keep()


def create_document(
    actor: User,
    workspace: Workspace,
    upload: Received,
    *,
    title: str | None = None,
    description: str = "",
    language: str = "",
    tags: list[str] | None = None,
) -> Document:
    """A new document with the upload as its version 1."""
    extracted = _extract(upload)
    _require_open(workspace.id)
    now = utcnow()
    document = Document(
        workspace_id=workspace.id,
        title=title or upload.filename,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
        description=description,
        language=language,
        tags=tags or [],
        current_version=0,
    )
    db.session.add(document)
    db.session.flush()
    version = _new_version(actor, document, upload, extracted)
    events.record(
        "item.created",
        actor=actor,
        item=document,
        workspace=workspace,
        data={
            "kind": "document",
            "title": document.title,
            "version": version.number,
            "filename": version.filename,
            "size": version.size,
        },
    )
    _commit(upload)
    return document


def add_version(actor: User, document: Document, upload: Received) -> DocumentVersion:
    """A new current version; refused while another member holds the check-out.
    The holder's upload is the check-in: it releases the lock."""
    extracted = _extract(upload)
    _require_open(document.workspace_id)
    _refuse_if_locked(actor, document)
    checked_in = document.lock_holder_id(utcnow()) == actor.id
    version = _new_version(actor, document, upload, extracted)
    if checked_in or document.checked_out_by_id is not None:
        document.checked_out_by_id = None
        document.checked_out_until = None
    document.updated_at = utcnow()
    events.record(
        "document.version_added",
        actor=actor,
        item=document,
        data={
            "version": version.number,
            "filename": version.filename,
            "size": version.size,
            "checked_in": checked_in,
        },
    )
    _commit(upload)
    return version


def restore_version(actor: User, document: Document, number: int) -> DocumentVersion:
    """Make an old version current again, as a new version pointing at the same blob."""
    _require_open(document.workspace_id)
    _refuse_if_locked(actor, document)
    old = db.session.scalar(
        select(DocumentVersion).where(
            DocumentVersion.document_id == document.id, DocumentVersion.number == number
        )
    )
    if old is None:
        from ..api import not_found

        raise not_found("version")
    new_number = _next_number(document)
    version = DocumentVersion(
        document_id=document.id,
        number=new_number,
        uploaded_by_id=actor.id,
        uploaded_at=utcnow(),
        restored_from=old.number,
        **version_facts(old),
    )
    db.session.add(version)
    document.current_version = new_number
    document.updated_at = utcnow()
    events.record(
        "document.version_restored",
        actor=actor,
        item=document,
        data={"version": new_number, "restored_from": old.number},
    )
    _commit()
    return version


def update_document(actor: User, document: Document, changes: dict[str, Any]) -> Document:
    _require_open(document.workspace_id)
    changed = sorted(name for name, value in changes.items() if getattr(document, name) != value)
    if not changed:
        return document
    for name in changed:
        setattr(document, name, changes[name])
    document.updated_at = utcnow()
    events.record(
        "item.updated",
        actor=actor,
        item=document,
        data={"kind": "document", "fields": changed},
    )
    _commit()
    return document


def delete_document(actor: User, document: Document) -> Document:
    """Move the document to the trash (restorable); its blobs stay until it is purged."""
    _require_open(document.workspace_id)
    items_service.move_to_trash(actor, document)
    return document


def release_on_trash(document: Document) -> None:
    """A document in the trash is nobody's to edit: its check-out ends (any way it is
    trashed: the API, the item page)."""
    document.checked_out_by_id = None
    document.checked_out_until = None


def restore_document(actor: User, document: Document) -> Document:
    """Take the document out of the trash."""
    _require_open(document.workspace_id)
    if document.deleted_at is not None:
        items_service.restore(actor, document)
    return document


def purge_document(actor: User | None, document: Document) -> int:
    """Delete the document's rows for good, then the blobs no other version uses.

    Returns how many blobs were removed from their stores. A blob the store
    cannot remove now stays as an orphan for `storage-check --repair`.
    """
    blob_ids = set(
        db.session.scalars(
            select(DocumentVersion.blob_id).where(DocumentVersion.document_id == document.id)
        )
    )
    events.record(
        "item.purged",
        actor=actor,
        data={"kind": "document", "id": document.id, "title": document.title},
    )
    db.session.execute(delete(DocumentVersion).where(DocumentVersion.document_id == document.id))
    db.session.delete(document)
    db.session.flush()
    still_used = set(
        db.session.scalars(
            select(DocumentVersion.blob_id).where(DocumentVersion.blob_id.in_(blob_ids))
        )
    )
    doomed = list(db.session.scalars(select(Blob).where(Blob.id.in_(blob_ids - still_used))))
    locations = [(blob.store, blob.key) for blob in doomed]
    for blob in doomed:
        db.session.delete(blob)
    _commit()
    removed = 0
    for store_name, key in locations:
        try:
            store_named(store_name).delete(key)
            removed += 1
        except Exception:
            log.exception("purged blob %s:%s stays in its store as an orphan", store_name, key)
    return removed


def check_out(actor: User, document: Document, hours: int) -> Document:
    """Lock the document for the actor's offline editing; 409 if another holds it."""
    _require_open(document.workspace_id)
    _refuse_if_locked(actor, document)
    if hours < 1 or timedelta(hours=hours) > MAX_CHECKOUT:
        raise invalid({"hours": f"Between 1 and {int(MAX_CHECKOUT.total_seconds() // 3600)}."})
    document.checked_out_by_id = actor.id
    document.checked_out_until = utcnow() + timedelta(hours=hours)
    events.record(
        "document.checked_out",
        actor=actor,
        item=document,
        data={"until": iso(document.checked_out_until)},
    )
    _commit()
    return document


def release(actor: User, document: Document) -> Document:
    """End the check-out: the holder releases it, a coordinator breaks it."""
    holder_id = document.lock_holder_id(utcnow())
    if document.checked_out_by_id is None:
        return document
    document.checked_out_by_id = None
    document.checked_out_until = None
    if holder_id is not None:
        verb = "document.released" if holder_id == actor.id else "document.lock_broken"
        events.record(
            verb,
            actor=actor,
            item=document,
            data={"holder_id": holder_id},
        )
    _commit()
    return document
