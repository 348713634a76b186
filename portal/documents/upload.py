"""Uploads from the request stream to a blob store, in bounded memory.

Two body forms (API.md): `multipart/form-data` with a `file` part and
optional metadata fields, parsed as a stream with werkzeug's sans-IO
`MultipartDecoder` (never spooled to memory or disk); or the raw body with
its file name in `X-Filename` and metadata in the query string.

While the bytes pass, the size limit is enforced (413 `too_large`, the store
keeps nothing), a raw body that ends before its Content-Length is refused (400
`invalid`: the client stopped sending, nothing is stored cut short), the first
bytes are sniffed for the real content type (executables and the deny list: 415
`unsupported_media`, before anything is stored), and the store hashes them.
`received()` deletes the blob again if anything after it fails before the row
that points at it is committed.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import unquote

import filetype
from flask import Request
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import (
    NEED_DATA,
    Data,
    Epilogue,
    Field,
    File,
    MultipartDecoder,
)

from ..api import ApiError, invalid, setting
from ..text import has_unsafe_characters
from .storage import CHUNK, BlobStore, Readable, StoredBlob

log = logging.getLogger(__name__)

MiB = 1024 * 1024
HEAD_SIZE = 8192
MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 32
# Room for the multipart envelope and metadata fields above the file size limit.
MULTIPART_OVERHEAD = 1 * MiB

# Types sniffed from the bytes that are programs, whatever their name says.
EXECUTABLE_TYPES = {
    "application/x-msdownload",
    "application/x-executable",
    "application/x-mach-binary",
    "application/x-elf",
    "application/x-sharedlib",
    "application/vnd.microsoft.portable-executable",
    "application/x-dosexec",
    "application/vnd.android.dex",
    "application/x-shockwave-flash",
    "text/x-shellscript",
}

TEXT_TYPES_BY_EXTENSION = {
    ".csv": "text/csv",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
    ".json": "application/json",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".ics": "text/calendar",
}


def too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "too_large",
        f"The file is larger than the limit of {limit // MiB} MB.",
    )


def unsupported(message: str) -> ApiError:
    return ApiError(415, "unsupported_media", message)


# --- names and types ------------------------------------------------------------

_RESERVED = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_WINDOWS_DEVICES = {"con", "prn", "aux", "nul"} | {
    f"{p}{n}" for p in ("com", "lpt") for n in range(1, 10)
}


def sanitize_filename(raw: str | None, fallback: str = "document") -> str:
    """A safe display and download name: no path, no control or reserved characters,
    NFC, at most 255 UTF-8 bytes keeping the extension. `Agenda_Reunión.pdf` stays."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co"})
    name = _RESERVED.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").strip()
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    if stem.lower() in _WINDOWS_DEVICES:
        stem = "_" + stem
    if len(ext.encode()) > 16:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    budget = 255 - len(suffix.encode())
    encoded = stem.encode()[:budget]
    stem = encoded.decode("utf-8", "ignore").rstrip()
    name = (stem + suffix) if stem else ""
    return name or fallback


def _deny_list() -> tuple[set[str], set[str]]:
    entries = {e.strip().lower() for e in str(setting("UPLOAD_DENY")).split(",") if e.strip()}
    return {e for e in entries if e.startswith(".")}, {e for e in entries if "/" in e}


def sniff(head: bytes, filename: str) -> str:
    """The content type the bytes show; the name only tells text formats apart."""
    extension = PurePosixPath(filename.lower()).suffix
    if not head:
        return "application/octet-stream"
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    if b"\x00" in head:
        return "application/octet-stream"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the head is still text.
        if error.start < len(head) - 3:
            return "application/octet-stream"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"#!"):
        return "text/x-shellscript"
    return TEXT_TYPES_BY_EXTENSION.get(extension, "text/plain")


def check_allowed(content_type: str, filename: str) -> None:
    extensions, types = _deny_list()
    extension = PurePosixPath(filename.lower()).suffix
    if content_type in EXECUTABLE_TYPES:
        raise unsupported("Programs and scripts cannot be uploaded.")
    if content_type in types or extension in extensions:
        raise unsupported(f"Files of this type ({extension or content_type}) cannot be uploaded.")


# --- readers --------------------------------------------------------------------


class LimitedReader:
    """Raises 413 as soon as more than `limit` bytes have been read, and 400 if the
    stream ends before the `length` it declared (a client that stopped sending)."""

    def __init__(self, source: Readable, limit: int, length: int | None = None) -> None:
        self.source = source
        self.limit = limit
        self.length = length
        self.count = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self.source.read(size if size and size > 0 else CHUNK)
        self.count += len(data)
        if self.count > self.limit:
            raise too_large(self.limit)
        if not data and self.length is not None and self.count < self.length:
            raise invalid({"body": "The body ended before its Content-Length."})
        return data


class PrependReader:
    """The sniffed head again, then the rest of the stream."""

    def __init__(self, head: bytes, rest: Readable) -> None:
        self.head = head
        self.rest = rest

    def read(self, size: int = -1, /) -> bytes:
        if self.head:
            if size is None or size < 0 or size >= len(self.head):
                data, self.head = self.head, b""
            else:
                data, self.head = self.head[:size], self.head[size:]
            return data
        return self.rest.read(size)


def _read_head(source: Readable) -> bytes:
    parts: list[bytes] = []
    count = 0
    while count < HEAD_SIZE:
        data = source.read(HEAD_SIZE - count)
        if not data:
            break
        parts.append(data)
        count += len(data)
    return b"".join(parts)


class _MultipartEvents:
    """A pull parser over the request stream."""

    def __init__(self, stream: Readable, boundary: bytes) -> None:
        self.stream = stream
        self.decoder = MultipartDecoder(boundary, max_form_memory_size=None, max_parts=MAX_PARTS)
        self.done = False

    def next(self) -> object:
        while True:
            try:
                event = self.decoder.next_event()
            except ValueError:
                raise invalid({"body": "The multipart body is malformed."}) from None
            if event is NEED_DATA:
                data = self.stream.read(CHUNK)
                self.decoder.receive_data(data or None)
                continue
            if isinstance(event, Epilogue):
                self.done = True
            return event


class _FilePartReader:
    """Reads the data of the current multipart file part, and nothing after it."""

    def __init__(self, events: _MultipartEvents) -> None:
        self.events = events
        self.pending = b""
        self.finished = False

    def read(self, size: int = -1, /) -> bytes:
        while not self.pending and not self.finished:
            event = self.events.next()
            if not isinstance(event, Data):
                raise invalid({"file": "The file part is malformed."})
            self.pending = event.data
            self.finished = not event.more_data
        if size is None or size < 0 or size >= len(self.pending):
            data, self.pending = self.pending, b""
        else:
            data, self.pending = self.pending[:size], self.pending[size:]
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


# --- receiving ------------------------------------------------------------------


@dataclass
class Received:
    """A file that arrived and is held by a store, with the form's other fields."""

    store: BlobStore
    blob: StoredBlob
    filename: str
    content_type: str
    fields: dict[str, list[str]] = field(default_factory=dict)
    kept: bool = False

    def first(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None

    def keep(self) -> None:
        """The row pointing at the blob is committed: it stays."""
        self.kept = True


def _store_file(
    store: BlobStore, source: Readable, filename: str, limit: int, length: int | None = None
) -> tuple[StoredBlob, str]:
    limited = LimitedReader(source, limit, length)
    head = _read_head(limited)
    content_type = sniff(head, filename)
    check_allowed(content_type, filename)
    blob = store.put(PrependReader(head, limited), content_type, length)
    return blob, content_type


def _upload_limit() -> int:
    return int(setting("MAX_UPLOAD_MB")) * MiB


def _header_filename(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if value.lower().startswith("utf-8''"):
        value = value[7:]
    return unquote(value, errors="strict") if "%" in value else _fix_latin1(value)


def _fix_latin1(value: str) -> str:
    """Header values arrive as latin-1; most clients meant UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def receive(request: Request, store: BlobStore) -> Received:
    """Stream the uploaded file of `request` into `store`."""
    limit = _upload_limit()
    mimetype, options = parse_options_header(request.headers.get("Content-Type", ""))
    declared = request.content_length
    if mimetype == "multipart/form-data":
        if declared is not None and declared > limit + MULTIPART_OVERHEAD:
            raise too_large(limit)
        boundary = options.get("boundary")
        if not boundary:
            raise invalid({"body": "The multipart body has no boundary."})
        return _receive_multipart(request, store, boundary.encode("latin-1"), limit)
    if declared is not None and declared > limit:
        raise too_large(limit)
    try:
        raw_name = _header_filename(request.headers.get("X-Filename"))
    except UnicodeDecodeError:
        raise invalid({"X-Filename": "Percent-encode the file name as UTF-8."}) from None
    if not raw_name:
        raise invalid(
            {"X-Filename": "Send the file name in X-Filename, or upload as multipart/form-data."}
        )
    if has_unsafe_characters(raw_name):
        raise invalid({"X-Filename": "Remove the control characters (such as NUL) from the name."})
    filename = sanitize_filename(raw_name)
    blob, content_type = _store_file(store, request.stream, filename, limit, declared)
    fields = {key: request.args.getlist(key) for key in request.args}
    return Received(store, blob, filename, content_type, fields)


def _file_parts(
    events: _MultipartEvents, fields: dict[str, list[str]]
) -> Iterator[tuple[str, _FilePartReader]]:
    """The `file` parts of a multipart body as they arrive, each as (its name as sent,
    a reader of its data); the fields met on the way are gathered into `fields`. What
    the consumer leaves of a part, and any other file part, is read and dropped."""
    while not events.done:
        event = events.next()
        if isinstance(event, Field):
            fields.setdefault(event.name, []).append(_read_field(events, event.name))
        elif isinstance(event, File):
            reader = _FilePartReader(events)
            if event.name == "file":
                yield _fix_latin1(event.filename), reader
            reader.drain()


def _receive_multipart(request: Request, store: BlobStore, boundary: bytes, limit: int) -> Received:
    events = _MultipartEvents(request.stream, boundary)
    fields: dict[str, list[str]] = {}
    stored: tuple[StoredBlob, str, str] | None = None
    try:
        for raw_name, reader in _file_parts(events, fields):
            if stored is None:  # a second file part is ignored
                filename = sanitize_filename(raw_name)
                blob, content_type = _store_file(store, reader, filename, limit)
                stored = (blob, filename, content_type)
        if stored is None:
            raise invalid({"file": "Attach the file in the `file` part."})
    except BaseException:
        if stored is not None:
            _discard(store, stored[0])
        raise
    blob, filename, content_type = stored
    return Received(store, blob, filename, content_type, fields)


def _read_field(events: _MultipartEvents, name: str) -> str:
    parts: list[bytes] = []
    count = 0
    while True:
        event = events.next()
        if not isinstance(event, Data):
            raise invalid({name: "The field is malformed."})
        count += len(event.data)
        if count > MAX_FIELD_BYTES:
            raise invalid({name: "The field is too long."})
        parts.append(event.data)
        if not event.more_data:
            break
    try:
        return b"".join(parts).decode("utf-8")
    except UnicodeDecodeError:
        raise invalid({name: "The field is not UTF-8 text."}) from None


def _discard(store: BlobStore, blob: StoredBlob) -> None:
    try:
        store.delete(blob.key)
    except Exception:
        # `storage-check --repair` finds and removes the orphan later.
        log.exception("could not remove the blob %s of a failed upload", blob.key)


@contextmanager
def received(request: Request, store: BlobStore) -> Iterator[Received]:
    """Receive the upload; remove its blob unless `keep()` was called when the block ends."""
    upload = receive(request, store)
    try:
        yield upload
    finally:
        if not upload.kept:
            _discard(store, upload.blob)


# --- several files at once (the upload page without JavaScript) -----------------


@dataclass
class Refused:
    """A file of a form that was not stored, and the refusal the API would have given."""

    filename: str
    error: ApiError


@dataclass
class Uploads:
    """The files of one form: stored, refused, and the form's other fields."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    stored: list[Received] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)


# The refusals of one file that leave the others of the form to go on.
FILE_REFUSALS = {413, 415}


@contextmanager
def received_files(
    request: Request, store: BlobStore, check_fields: Callable[[dict[str, list[str]]], None]
) -> Iterator[Uploads]:
    """Every `file` part of a multipart form, each streamed into `store` or refused on
    its own as the API refuses an upload (too large, type not accepted).

    `check_fields` sees the fields sent before the first file part (or all of them when
    there is none) before anything is stored: a page checks its CSRF token there, so the
    form puts that field first. Blobs not kept are removed when the block ends."""
    mimetype, options = parse_options_header(request.headers.get("Content-Type", ""))
    boundary = options.get("boundary")
    if mimetype != "multipart/form-data" or not boundary:
        raise invalid({"body": "Send the files as multipart/form-data."})
    limit = _upload_limit()
    declared = request.content_length
    if declared is not None and declared > MAX_PARTS * limit + MULTIPART_OVERHEAD:
        raise too_large(limit)  # more than a form's files could hold, each within the limit
    events = _MultipartEvents(request.stream, boundary.encode("latin-1"))
    uploads = Uploads()
    checked = False
    try:
        for raw_name, reader in _file_parts(events, uploads.fields):
            if not checked:
                check_fields(uploads.fields)
                checked = True
            if not raw_name:
                continue  # a file input left empty
            filename = sanitize_filename(raw_name)
            try:
                blob, content_type = _store_file(store, reader, filename, limit)
            except ApiError as refusal:
                if refusal.status not in FILE_REFUSALS:
                    raise
                uploads.refused.append(Refused(filename, refusal))
                continue
            uploads.stored.append(Received(store, blob, filename, content_type, uploads.fields))
        if not checked:
            check_fields(uploads.fields)
        yield uploads
    finally:
        for upload in uploads.stored:
            if not upload.kept:
                _discard(store, upload.blob)


def received_bytes(store: BlobStore, data: bytes, filename: str) -> Received:
    """Bytes the portal made itself (the demonstration's files), checked and stored as
    an upload is; the service keeps the blob when its document is committed."""
    filename = sanitize_filename(filename)
    blob, content_type = _store_file(store, io.BytesIO(data), filename, _upload_limit(), len(data))
    return Received(store, blob, filename, content_type)
