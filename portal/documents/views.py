"""The pages of documents: a group's list, the upload of one or several files, and a
document's page (its facts, versions, check-out, metadata and the extracted text).

Views load through `permissions`, call the functions the JSON API calls (`service`,
and `upload` to stream files into the store with the API's refusals) and render.
Without JavaScript the forms post here; static/js/upload.js sends each file to the
JSON API instead, to show its progress.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, flash, redirect, request, url_for
from flask_babel import gettext, lazy_gettext, ngettext
from flask_login import current_user
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import defer
from werkzeug.datastructures import MultiDict

from .. import permissions
from ..accounts.models import User
from ..api import ApiError, invalid, setting
from ..extensions import db
from ..i18n import LANGUAGES
from ..pages import check_csrf, form_errors, local_time, page, parse_form, render, renders
from ..permissions import ItemAccess, WorkspaceAction
from ..public.views import language_name
from ..workspaces import kinds
from ..workspaces.models import Workspace
from ..workspaces.views import item_context
from . import service
from .models import Document, DocumentVersion
from .schemas import CheckoutBody, DocumentUpdateBody, UploadMeta, split_tags
from .storage import current_store
from .upload import Refused, received_files

bp = Blueprint("documents", __name__)

PER_PAGE = 25
# Characters of the extracted text the document page shows.
PREVIEW_CHARS = 4000
METADATA = ("title", "description", "language", "tags")
CHECKOUT_HOURS = (
    (4, lazy_gettext("4 hours")),
    (24, lazy_gettext("1 day")),
    (72, lazy_gettext("3 days")),
    (168, lazy_gettext("1 week")),
)

# Sniffed content types as people name them; others by their file's extension.
TYPE_NAMES = {
    "application/pdf": lazy_gettext("PDF"),
    "application/msword": lazy_gettext("Word document"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": lazy_gettext(
        "Word document"
    ),
    "application/vnd.oasis.opendocument.text": lazy_gettext("OpenDocument text"),
    "application/vnd.ms-excel": lazy_gettext("Excel spreadsheet"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": lazy_gettext(
        "Excel spreadsheet"
    ),
    "application/vnd.oasis.opendocument.spreadsheet": lazy_gettext("OpenDocument spreadsheet"),
    "application/vnd.ms-powerpoint": lazy_gettext("PowerPoint presentation"),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": lazy_gettext(
        "PowerPoint presentation"
    ),
    "application/vnd.oasis.opendocument.presentation": lazy_gettext("OpenDocument presentation"),
    "text/plain": lazy_gettext("Text"),
    "text/csv": lazy_gettext("CSV table"),
    "text/markdown": lazy_gettext("Markdown text"),
    "text/html": lazy_gettext("Web page"),
    "application/zip": lazy_gettext("ZIP archive"),
}

kinds.register_pages(
    "document",
    item="documents.document_page",
    listing="documents.list_page",
    new="documents.new_page",
)


@bp.app_template_filter()
def document_type(version: DocumentVersion | None) -> str:
    """The kind of file a version holds, in words ("PDF", "Word document", "PNG image")."""
    if version is None:
        return ""
    content_type = version.content_type
    if content_type in TYPE_NAMES:
        return str(TYPE_NAMES[content_type])
    if content_type.startswith("image/"):
        return gettext("%(format)s image", format=content_type[6:].split("+")[0].upper())
    extension = version.filename.rpartition(".")[2] if "." in version.filename else ""
    return extension.upper() or content_type


@bp.app_template_global()
def language_options(current: str | None = None) -> list[tuple[str, str]]:
    """The languages a document's content is said to be in: the interface's four, and
    the one it has if another."""
    codes = list(LANGUAGES)
    if current and current not in codes:
        codes.append(current)
    return [("", gettext("Not said"))] + [(code, language_name(code)) for code in codes]


# Why no text was extracted (`DocumentVersion.extraction_error`, written for the log) by
# the words it holds, as people read it; anything else reads as a damaged file.
EXTRACTION_PROBLEMS = (
    ("encrypted", lazy_gettext("It is protected by a password.")),
    ("too large", lazy_gettext("It is too large to read its text.")),
    ("too much data", lazy_gettext("It is too large to read its text.")),
    ("zip bomb", lazy_gettext("It is too large to read its text.")),
    ("too many members", lazy_gettext("It is too large to read its text.")),
    ("took longer", lazy_gettext("Reading its text took too long.")),
    ("memory", lazy_gettext("Reading its text took too long.")),
)


def extraction_problem(error: str) -> str:
    for words, meaning in EXTRACTION_PROBLEMS:
        if words in error:
            return str(meaning)
    return gettext("It may be damaged.")


def refusal_reasons() -> dict[str, str]:
    """Why the API refused a file, by its error code, in the page's language: the flash
    of a form posted without JavaScript and upload.js's result lines say the same."""
    return {
        "too_large": gettext(
            "It is larger than the limit of %(limit)d MB.", limit=int(setting("MAX_UPLOAD_MB"))
        ),
        "unsupported_media": gettext("Files of this type are not accepted."),
        "conflict": gettext("Someone else has checked the document out."),
    }


def _file_field() -> dict[str, Any]:
    """What templates/documents/_upload.html shows and gives upload.js."""
    return {
        "reasons": refusal_reasons(),
        "max_bytes": int(setting("MAX_UPLOAD_MB")) * 1024 * 1024,
    }


def _refusal_text(refused: Refused) -> str:
    reason = refusal_reasons().get(refused.error.code, refused.error.message)
    return gettext("Not uploaded: %(name)s. %(reason)s", name=refused.filename, reason=reason)


def _check_csrf_field(fields: dict[str, list[str]]) -> None:
    """A streamed form's token, read before any of its files is stored."""
    check_csrf((fields.get("csrf_token") or [""])[0])


def _page_number() -> int:
    number = request.args.get("page", 1, type=int) or 1
    return min(max(number, 1), 100_000)


# --- the list ---------------------------------------------------------------------


@bp.get("/groups/<int:workspace_id>/documents")
@page(access=permissions.signed_in)
def list_page(workspace_id: int) -> str:
    """The group's documents, newest first, a page at a time: four queries at any size."""
    workspace = permissions.load_workspace(workspace_id)
    statement = service.listed(workspace.id)
    counted = statement.order_by(None).subquery()
    total = db.session.scalar(select(func.count()).select_from(counted)) or 0
    number = _page_number()
    documents = list(db.session.scalars(statement.limit(PER_PAGE).offset((number - 1) * PER_PAGE)))
    facts = kinds.get("document").preload(documents) if documents else None  # type: ignore[misc]
    now = service.utcnow()
    rows = []
    for document in documents:
        holder = document.lock_holder_id(now)
        rows.append(
            {
                "document": document,
                "version": facts.versions.get(document.id),
                "holder": facts.users.get(holder) if holder else None,
            }
        )
    return render(
        "documents/list.html",
        workspace=workspace,
        rows=rows,
        total=total,
        page_number=number,
        per_page=PER_PAGE,
        page_url=lambda n: url_for(".list_page", workspace_id=workspace.id, page=n),
        may_upload=_may_upload(workspace),
    )


def _may_upload(workspace: Workspace) -> bool:
    return (
        permissions.may_on_workspace(current_user, workspace, WorkspaceAction.contribute)
        and workspace.archived_at is None
    )


# --- uploading new documents ------------------------------------------------------


def _upload_form(
    workspace: Workspace,
    values: MultiDict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    refused: list[Refused] | None = None,
) -> dict[str, Any]:
    return {
        "workspace": workspace,
        "values": values or MultiDict(),
        "errors": errors or {},
        "refused": [_refusal_text(r) for r in refused or []],
    } | _file_field()


@bp.get("/groups/<int:workspace_id>/documents/new")
@page(access=permissions.signed_in)
def new_page(workspace_id: int) -> str:
    workspace = permissions.load_workspace(workspace_id, WorkspaceAction.contribute)
    return render("documents/new.html", **_upload_form(workspace))


def _metadata_form(fields: dict[str, list[str]]) -> MultiDict[str, str]:
    """The posted metadata fields, tags split as people type them."""
    values = MultiDict([(name, value) for name in METADATA for value in fields.get(name, [])])
    values.setlist("tags", split_tags(values.getlist("tags")))
    return values


@bp.post("/groups/<int:workspace_id>/documents/new")
@page(access=permissions.signed_in, streams_upload=True)
def upload(workspace_id: int) -> Response | tuple[str, int]:
    """One or several files from the form, each stored or refused on its own."""
    workspace = permissions.load_workspace(workspace_id, WorkspaceAction.contribute)
    service.end_read_transaction()
    with received_files(request, current_store(), _check_csrf_field) as uploads:
        values = _metadata_form(uploads.fields)
        meta, errors = parse_form(UploadMeta, lists=("tags",), form=values)
        files = len(uploads.stored) + len(uploads.refused)
        if files == 0:
            errors["file"] = gettext("Choose one or more files.")
        elif not uploads.stored:
            errors["file"] = ngettext(
                "The file was not uploaded.", "None of the files was uploaded.", files
            )
        if errors or meta is None:
            values.setlist("tags", [", ".join(values.getlist("tags"))])
            context = _upload_form(workspace, values, errors, uploads.refused)
            return render("documents/new.html", **context), 400
        # The title names a single file; with several, each takes its file's name.
        fields = meta.model_dump(exclude={"title"} if files > 1 else set())
        created = [
            service.create_document(current_user, workspace, one, **fields)
            for one in uploads.stored
        ]
    names = ", ".join(d.title for d in created)
    flash(
        ngettext(
            "Uploaded: %(names)s", "Uploaded %(num)d files: %(names)s", len(created), names=names
        )
    )
    for refused in uploads.refused:
        flash(_refusal_text(refused))
    if len(created) == 1 and not uploads.refused:
        return redirect(url_for(".document_page", item_id=created[0].id), 303)
    return redirect(url_for(".list_page", workspace_id=workspace.id), 303)


# --- a document's page ------------------------------------------------------------


def _versions(document: Document) -> list[dict[str, Any]]:
    """Every version, newest first, with who uploaded it: two queries, without the
    texts (the preview reads the current one alone)."""
    versions = list(
        db.session.scalars(
            select(DocumentVersion)
            .options(defer(DocumentVersion.text))
            .where(DocumentVersion.document_id == document.id)
            .order_by(DocumentVersion.number.desc())
        )
    )
    ids = {v.uploaded_by_id for v in versions} - {None}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
    return [{"version": v, "by": users.get(v.uploaded_by_id or 0)} for v in versions]


def _current_text(document: Document) -> tuple[str, bool, str | None]:
    """(the start of the current version's text, whether there is more, its extraction
    error): only the characters shown leave the database."""
    row = db.session.execute(
        select(
            func.substr(DocumentVersion.text, 1, PREVIEW_CHARS),
            func.length(DocumentVersion.text),
            DocumentVersion.extraction_error,
        ).where(
            DocumentVersion.document_id == document.id,
            DocumentVersion.number == document.current_version,
        )
    ).first()
    if row is None:
        return "", False, None
    text, length, error = row
    return text or "", (length or 0) > PREVIEW_CHARS, error


def _document_context(document: Document, access: ItemAccess, **extra: Any) -> dict[str, Any]:
    """The page's context; a live refresh reads only what its block shows."""
    context = item_context(document, access)
    workspace = context["workspace"]
    holder_id = document.lock_holder_id(service.utcnow())
    may_edit = (
        access >= ItemAccess.edit and document.deleted_at is None and workspace.archived_at is None
    )
    context |= {
        "document": document,
        "may_edit": may_edit,
        "may_change_file": may_edit and (holder_id is None or holder_id == current_user.id),
        "checkout_hours": CHECKOUT_HOURS,
    }
    if renders():  # the upload and edit forms show with the whole page only
        context |= {
            **_file_field(),
            "values": _values_of(document),
            "errors": {},
            "version_errors": {},
        }
    if renders("item_header", "document_file", "document_versions"):
        versions = _versions(document)
        current = next(
            (row for row in versions if row["version"].number == document.current_version),
            {"version": None, "by": None},
        )
        context |= {"versions": versions, "current": current["version"], "uploader": current["by"]}
    if renders("document_file"):
        context |= {
            "holder": db.session.get(User, holder_id) if holder_id else None,
            "held_by_me": holder_id is not None and holder_id == current_user.id,
            "may_release": may_edit
            and holder_id is not None
            and permissions.may_release_lock(current_user, document, holder_id),
        }
    if renders("document_preview"):
        text, more, extraction_error = _current_text(document)
        context |= {
            "preview": text,
            "preview_cut": more,
            "extraction_problem": extraction_problem(extraction_error)
            if extraction_error
            else None,
        }
    return context | extra


def _values_of(document: Document) -> MultiDict[str, str]:
    return MultiDict(
        {
            "title": document.title,
            "description": document.description,
            "language": document.language,
            "tags": ", ".join(document.tags or []),
            "version": str(document.version),
        }
    )


@bp.get("/documents/<int:item_id>")
@page(access=permissions.signed_in)
def document_page(item_id: int) -> str:
    document, access = permissions.load_item_access(item_id, kind=Document)
    return render("documents/document.html", **_document_context(document, access))


def _back(document: Document) -> Response:
    return redirect(url_for(".document_page", item_id=document.id), 303)


def _refused_change(document: Document, refusal: ApiError) -> Response:
    """A 409 of the service (another member holds the check-out ...) said in words on
    the document's page, which shows the current state."""
    if refusal.status != 409:
        raise refusal
    db.session.rollback()
    holder = refusal.extra.get("checked_out")
    if holder:
        until = datetime.fromisoformat(holder["until"])
        flash(
            gettext(
                "Not done: %(name)s has checked this document out until %(until)s.",
                name=holder["user"]["name"],
                until=local_time(until, "short"),
            )
        )
    else:
        flash(gettext("Not done: the document changed meanwhile. Here it is as it is now."))
    return _back(document)


@bp.post("/documents/<int:item_id>")
@page(access=permissions.signed_in)
def update(item_id: int) -> Response | tuple[str, int]:
    """Title, description, language and tags; a form older than the document is shown
    again with the current values (the ETag check of the API)."""
    document, access = permissions.load_item_access(item_id, ItemAccess.edit, kind=Document)
    values = _metadata_form({name: request.form.getlist(name) for name in METADATA})
    if request.form.get("version") != str(document.version):
        notice = gettext(
            "Someone changed this document while you were editing it. The form now shows "
            "the current details: make your change again."
        )
        context = _document_context(
            document, access, edit_notice=notice, mine=values, edit_open=True
        )
        return render("documents/document.html", **context), 409
    data: dict[str, Any] = {name: values.get(name, "") for name in METADATA}
    data["tags"] = values.getlist("tags")
    try:
        body = DocumentUpdateBody.model_validate(data, strict=False)
    except ValidationError as error:
        values.setlist("tags", [", ".join(values.getlist("tags"))])
        values["version"] = str(document.version)
        context = _document_context(
            document, access, values=values, errors=form_errors(error), edit_open=True
        )
        return render("documents/document.html", **context), 400
    try:
        service.update_document(current_user, document, body.model_dump())
    except ApiError as refusal:
        return _refused_change(document, refusal)
    flash(gettext("Details saved."))
    return _back(document)


@bp.post("/documents/<int:item_id>/versions")
@page(access=permissions.signed_in, streams_upload=True)
def upload_version(item_id: int) -> Response | tuple[str, int]:
    """A new version from the form: the check-in of the member holding the check-out."""
    document, access = permissions.load_item_access(item_id, ItemAccess.edit, kind=Document)
    try:
        service.check_not_locked(current_user, document)
    except ApiError as refusal:
        return _refused_change(document, refusal)
    service.end_read_transaction()
    with received_files(request, current_store(), _check_csrf_field) as uploads:
        if not uploads.stored:
            problem = (
                _refusal_text(uploads.refused[0])
                if uploads.refused
                else gettext("Choose the file of the new version.")
            )
            context = _document_context(document, access, version_errors={"file": problem})
            return render("documents/document.html", **context), 400
        try:
            version = service.add_version(current_user, document, uploads.stored[0])
        except ApiError as refusal:
            return _refused_change(document, refusal)
    flash(gettext("Version %(number)d uploaded.", number=version.number))
    return _back(document)


@bp.post("/documents/<int:item_id>/versions/<int:number>/restore")
@page(access=permissions.signed_in)
def restore_version(item_id: int, number: int) -> Response:
    document = permissions.load_item(item_id, ItemAccess.edit, kind=Document)
    try:
        version = service.restore_version(current_user, document, number)
    except ApiError as refusal:
        return _refused_change(document, refusal)
    flash(
        gettext(
            "Version %(old)d is current again, as version %(number)d.",
            old=number,
            number=version.number,
        )
    )
    return _back(document)


@bp.post("/documents/<int:item_id>/checkout")
@page(access=permissions.signed_in)
def check_out(item_id: int) -> Response:
    document = permissions.load_item(item_id, ItemAccess.edit, kind=Document)
    body, errors = parse_form(CheckoutBody)
    if body is None:
        raise invalid(errors)  # the form offers only valid choices
    try:
        service.check_out(current_user, document, body.hours)
    except ApiError as refusal:
        return _refused_change(document, refusal)
    flash(
        gettext(
            "Checked out to you until %(until)s. Upload the new version to check it in.",
            until=local_time(document.checked_out_until, "short"),
        )
    )
    return _back(document)


@bp.post("/documents/<int:item_id>/release")
@page(access=permissions.signed_in)
def release(item_id: int) -> Response:
    """The holder releases the check-out; a coordinator breaks another member's."""
    document = permissions.load_item(item_id, ItemAccess.edit, kind=Document)
    holder = document.lock_holder_id(service.utcnow())
    if not permissions.may_release_lock(current_user, document, holder):
        raise permissions.forbidden()
    service.release(current_user, document)
    flash(gettext("The check-out is released: anyone may change the document."))
    return _back(document)
