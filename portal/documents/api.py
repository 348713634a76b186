"""JSON routes of documents: uploads, versions, downloads, check-out.

Routes parse, authorize through `portal.permissions`, call `service`, and
serialize. Uploads stream from the request to the blob store (`upload.py`);
downloads stream from the store, or redirect to a short-lived presigned URL
when `PORTAL_S3_PRESIGNED_DOWNLOADS` is on — always after the access check.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, redirect, request
from flask_login import current_user
from sqlalchemy import and_, func, select

from .. import permissions
from ..accounts.models import User
from ..api import (
    API_PREFIX,
    ApiError,
    PageQuery,
    changes_of,
    endpoint,
    iso,
    not_found,
    paginate,
    parse_body,
    parse_query,
    setting,
)
from ..extensions import db
from ..permissions import ItemAccess, WorkspaceAction
from ..workspaces import kinds
from ..workspaces.items_api import check_if_match, item_list
from ..workspaces.serialize import item_json, item_response
from . import service
from .models import Blob, Document, DocumentVersion
from .schemas import (
    CheckoutBody,
    DocumentListQuery,
    DocumentUpdateBody,
    DownloadQuery,
    upload_meta,
)
from .storage import BlobMissing, current_store, store_named
from .upload import received

bp = Blueprint("documents_api", __name__, url_prefix=API_PREFIX)

PRESIGNED_LIFETIME = timedelta(minutes=5)


# --- serialization ----------------------------------------------------------------


def _user_json(users: dict[int, User], user_id: int | None) -> dict[str, Any] | None:
    user = users.get(user_id) if user_id is not None else None
    return {"id": user.id, "name": user.name} if user is not None else None


def version_json(version: DocumentVersion, users: dict[int, User], current: int) -> dict[str, Any]:
    return {
        "number": version.number,
        "filename": version.filename,
        "content_type": version.content_type,
        "size": version.size,
        "sha256": version.sha256,
        "uploaded_by": _user_json(users, version.uploaded_by_id),
        "uploaded_at": iso(version.uploaded_at),
        "restored_from": version.restored_from,
        "current": version.number == current,
        "has_text": bool(version.text),
        "extraction_error": version.extraction_error,
    }


class _DocumentFacts:
    """Current versions and the people named by a page of documents, in two queries."""

    def __init__(self, documents: list[Document]) -> None:
        ids = [d.id for d in documents]
        self.versions: dict[int, DocumentVersion] = {
            v.document_id: v
            for v in db.session.scalars(
                select(DocumentVersion)
                .join(
                    Document,
                    and_(
                        Document.id == DocumentVersion.document_id,
                        Document.current_version == DocumentVersion.number,
                    ),
                )
                .where(Document.id.in_(ids))
            )
        }
        user_ids = {d.checked_out_by_id for d in documents}
        user_ids |= {v.uploaded_by_id for v in self.versions.values()}
        user_ids.discard(None)
        self.users: dict[int, User] = {
            u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))
        }


def document_fields(document: Document, facts: _DocumentFacts) -> dict[str, Any]:
    """A document's own fields, beside the item fields every kind has."""
    holder = document.lock_holder_id(service.utcnow())
    version = facts.versions.get(document.id)
    return {
        "description": document.description,
        "language": document.language,
        "tags": list(document.tags or []),
        "current_version": document.current_version,
        "file": version_json(version, facts.users, document.current_version)
        if version is not None
        else None,
        "checked_out": {
            "user": _user_json(facts.users, holder),
            "until": iso(document.checked_out_until),
        }
        if holder is not None
        else None,
    }


kinds.register(
    "document",
    Document,
    document_fields,
    preload=_DocumentFacts,
    on_trash=service.release_on_trash,
    purge=functools.partial(service.purge_document, None),
)


def document_json(document: Document) -> dict[str, Any]:
    return item_json(current_user, document)


def _document_response(document: Document, status: int = 200) -> Response:
    response = item_response(current_user, document, status)
    if status == 201:
        response.headers["Location"] = f"{API_PREFIX}/documents/{document.id}"
    return response


def _load(document_id: int, need: ItemAccess = ItemAccess.view) -> Document:
    return permissions.load_item(document_id, need, kind=Document)


# --- documents ------------------------------------------------------------------


@bp.get("/workspaces/<int:workspace_id>/documents")
@endpoint(access=permissions.signed_in, query=DocumentListQuery)
def list_documents(workspace_id: int, query: DocumentListQuery) -> dict[str, Any]:
    """The workspace's documents, newest first."""
    workspace = permissions.load_workspace(workspace_id)
    statement = service.listed(workspace.id)
    if query.q:
        statement = statement.where(func.lower(Document.title).like(f"%{query.q.lower()}%"))
    return item_list(statement, query)


@bp.post("/workspaces/<int:workspace_id>/documents")
@endpoint(access=permissions.signed_in, status=201)
def upload_document(workspace_id: int) -> Response:
    """Upload a new document: multipart `file` (+ title, description, language, tags)
    or the raw body with `X-Filename` (metadata in the query string)."""
    workspace = permissions.load_workspace(workspace_id, WorkspaceAction.contribute)
    service.check_open(workspace.id)
    service.end_read_transaction()
    with received(request, current_store()) as upload:
        meta = upload_meta(upload.fields)
        document = service.create_document(current_user, workspace, upload, **meta.model_dump())
    return _document_response(document, 201)


UPLOAD_BODY = {
    "required": True,
    "description": "The file, streamed: multipart/form-data with a `file` part and optional "
    "`title`, `description`, `language`, `tags` (comma-separated or repeated); or the raw "
    "bytes with the name in `X-Filename` (percent-encoded UTF-8) and metadata in the query "
    "string. The content type is sniffed from the bytes. Limit: PORTAL_MAX_UPLOAD_MB.",
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "title": {"type": "string", "maxLength": 300},
                    "description": {"type": "string", "maxLength": 5000},
                    "language": {"type": "string", "maxLength": 16},
                    "tags": {"type": "string"},
                },
            }
        },
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    },
}

upload_document.openapi_request_body = UPLOAD_BODY  # type: ignore[attr-defined]


@bp.get("/documents/<int:document_id>")
@endpoint(access=permissions.signed_in)
def get_document(document_id: int) -> Response:
    """A document's metadata, its current file and its check-out."""
    return _document_response(_load(document_id))


@bp.patch("/documents/<int:document_id>")
@endpoint(access=permissions.signed_in, body=DocumentUpdateBody)
def update_document(document_id: int, body: DocumentUpdateBody) -> Response:
    """Change title, description, language or tags (If-Match: 409 when stale)."""
    document = _load(document_id, ItemAccess.edit)
    check_if_match(document)
    service.update_document(current_user, document, changes_of(body))
    return _document_response(document)


@bp.delete("/documents/<int:document_id>")
@endpoint(access=permissions.signed_in)
def delete_document(document_id: int) -> dict[str, Any]:
    """Move the document to the trash (coordinators)."""
    document = _load(document_id, ItemAccess.manage)
    check_if_match(document)
    service.delete_document(current_user, document)
    return {"deleted": True, "id": document.id, "deleted_at": iso(document.deleted_at)}


# --- versions -------------------------------------------------------------------


@bp.get("/documents/<int:document_id>/versions")
@endpoint(access=permissions.signed_in, query=PageQuery)
def list_versions(document_id: int, query: PageQuery) -> dict[str, Any]:
    """Every version of the document, newest first."""
    document = _load(document_id)
    statement = (
        select(DocumentVersion)
        .where(DocumentVersion.document_id == document.id)
        .order_by(DocumentVersion.number.desc())
    )
    users: dict[int, User] = {}

    def prepare(versions: list[DocumentVersion]) -> None:
        ids = {v.uploaded_by_id for v in versions} - {None}
        users.update({u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))})

    return paginate(
        statement,
        query,
        lambda v: version_json(v, users, document.current_version),
        prepare=prepare,
    )


@bp.post("/documents/<int:document_id>/versions")
@endpoint(access=permissions.signed_in, status=201)
def upload_version(document_id: int) -> Response:
    """Upload a new version (same body forms as a new document); the check-in of
    the member holding the check-out; 409 while another member holds it."""
    document = _load(document_id, ItemAccess.edit)
    check_if_match(document)
    # Refuse before reading the body when another member holds the check-out.
    service.check_open(document.workspace_id)
    service.check_not_locked(current_user, document)
    service.end_read_transaction()
    with received(request, current_store()) as upload:
        service.add_version(current_user, document, upload)
    return _document_response(document, 201)


upload_version.openapi_request_body = UPLOAD_BODY  # type: ignore[attr-defined]


@bp.post("/documents/<int:document_id>/versions/<int:number>/restore")
@endpoint(access=permissions.signed_in, status=201)
def restore_version(document_id: int, number: int) -> Response:
    """Make version `number` current again, as a new version."""
    document = _load(document_id, ItemAccess.edit)
    check_if_match(document)
    service.restore_version(current_user, document, number)
    return _document_response(document, 201)


# --- downloads ------------------------------------------------------------------


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the RFC 6266 / 5987 `filename*`."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z0-9._ ()-]", "_", ascii_name).strip() or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) of a single satisfiable range; None to send everything.
    Several ranges are answered with the whole file; an unsatisfiable one with 416."""
    if not header:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise _unsatisfiable(size)
        return max(0, size - suffix), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise _unsatisfiable(size)
    return start, min(end, size - 1)


def _unsatisfiable(size: int) -> ApiError:
    return ApiError(
        416,
        "range_not_satisfiable",
        "The requested range is outside the file.",
        headers={"Content-Range": f"bytes */{size}"},
    )


def _strong_etag(version: DocumentVersion) -> str:
    return f'"{version.sha256}"'


def _matches(header: str | None, tag: str) -> bool:
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or tag in tags


@bp.get("/documents/<int:document_id>/download")
@endpoint(access=permissions.signed_in, query=DownloadQuery)
def download(document_id: int, query: DownloadQuery) -> Response:
    """The file of the current version (or `?version=N`): an attachment with ETag and
    single-range support, or a 302 to a presigned URL when so configured."""
    document = _load(document_id)
    number = query.version or document.current_version
    version = db.session.scalar(
        select(DocumentVersion).where(
            DocumentVersion.document_id == document.id, DocumentVersion.number == number
        )
    )
    if version is None:
        raise not_found("version")
    return send_version(version)


def send_version(version: DocumentVersion) -> Response:
    """Stream a version's blob to the client (callers have checked access)."""
    blob = db.session.get(Blob, version.blob_id)
    etag = _strong_etag(version)
    disposition = content_disposition(version.filename)
    common = {
        "ETag": etag,
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
        "Accept-Ranges": "bytes",
    }
    if _matches(request.headers.get("If-None-Match"), etag):
        response = Response(status=304)
        response.headers.update(common)
        return response
    store = store_named(blob.store)
    if setting("S3_PRESIGNED_DOWNLOADS") and blob.store == "s3":
        url = store.presigned_url(
            blob.key,
            filename_header=disposition,
            content_type=version.content_type,
            expires=PRESIGNED_LIFETIME,
        )
        if url:
            response = redirect(url, code=302)
            response.headers["Cache-Control"] = "no-store"
            return response
    size = version.size
    byte_range = _parse_range(request.headers.get("Range"), size)
    if_range = request.headers.get("If-Range")
    if byte_range is not None and if_range is not None and if_range.strip() != etag:
        byte_range = None
    try:
        if byte_range is None:
            reader = store.open(blob.key)
            status, length = 200, size
        else:
            start, end = byte_range
            length = end - start + 1
            reader = store.open(blob.key, start, length)
            status = 206
    except BlobMissing:
        raise ApiError(
            503, "unavailable", "The file of this version is missing from the store."
        ) from None

    def body() -> Any:
        try:
            yield from reader
        finally:
            reader.close()

    response = Response(body(), status=status, mimetype=None, direct_passthrough=True)
    response.headers["Content-Type"] = version.content_type
    response.headers["Content-Length"] = str(length)
    response.headers["Content-Disposition"] = disposition
    response.headers.update(common)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    if status == 206:
        start, end = byte_range  # type: ignore[misc]
        response.headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    response.call_on_close(reader.close)
    return response


_FILE = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
# How `send_version` answers and the request headers it reads, for the OpenAPI description.
DOWNLOAD_RESPONSES = {
    "200": {"description": "The file, in its own content type", "content": _FILE},
    "206": {"description": "The requested range of the file", "content": _FILE},
    "302": {"description": "To a short-lived presigned URL (PORTAL_S3_PRESIGNED_DOWNLOADS)"},
    "304": {"description": "Not modified: If-None-Match names the current ETag"},
}
DOWNLOAD_HEADERS = [
    {"name": name, "in": "header", "required": False, "schema": {"type": "string"}}
    for name in ("Range", "If-Range", "If-None-Match")
]
download.openapi_responses = DOWNLOAD_RESPONSES  # type: ignore[attr-defined]
download.openapi_parameters = DOWNLOAD_HEADERS  # type: ignore[attr-defined]


# --- check-out ------------------------------------------------------------------


@bp.post("/documents/<int:document_id>/checkout")
@endpoint(access=permissions.signed_in)
def check_out(document_id: int) -> Response:
    """Check the document out (a lock with an expiry, `{hours}` default 24); 409 if
    another member holds it."""
    document = _load(document_id, ItemAccess.edit)
    hours = parse_body(CheckoutBody).hours if request.content_length else 24
    if request.args.get("hours"):
        hours = parse_query(CheckoutBody).hours
    service.check_out(current_user, document, hours)
    return _document_response(document)


@bp.delete("/documents/<int:document_id>/checkout")
@endpoint(access=permissions.signed_in)
def release(document_id: int) -> Response:
    """Release the check-out (its holder) or break it (coordinators)."""
    document = _load(document_id, ItemAccess.edit)
    holder = document.lock_holder_id(service.utcnow())
    if not permissions.may_release_lock(current_user, document, holder):
        raise permissions.forbidden("Only a coordinator may break another member's check-out.")
    service.release(current_user, document)
    return _document_response(document)
