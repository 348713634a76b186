"""Blob stores: where the bytes of document versions live.

One small interface (`BlobStore`) and two implementations:

- `LocalStore`, a folder in the instance path (the embedded default);
- `S3Store`, any S3 service (MinIO in production, SeaweedFS in the tests)
  through the `minio` SDK, with its own connection pool, short timeouts and
  few retries, so a store that is down answers 503 in seconds, not minutes.

`put` reads a stream of unknown length in bounded memory and returns the key,
size and SHA-256 it measured. Keys are random; each `Blob` row records which
store and key hold its bytes, so the configured store (`PORTAL_STORAGE`) can
change without moving old files.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from flask import Flask, current_app

from ..api import ApiError

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
# Downloads move larger pieces: fewer Python round trips per megabyte. An S3
# download holds about two (`read_ahead`).
DOWNLOAD_CHUNK = 1024 * 1024
MiB = 1024 * 1024


class StoreUnavailable(ApiError):
    """The blob store does not answer (or refuses us): 503 `unavailable`."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            503,
            "unavailable",
            "The document store is unavailable; try again in a moment.",
            headers={"Retry-After": "30"},
        )
        self.detail = detail


class BlobMissing(Exception):
    """The store answers but has no blob under this key."""


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class StoredBlob:
    key: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Partial:
    """An upload that never finished: a `.part` file of the local store (`started` is
    its last write), or an incomplete S3 multipart upload (`started` is its start)."""

    name: str
    started: datetime | None
    upload_id: str = ""

    def __str__(self) -> str:
        return f"{self.name} (upload {self.upload_id})" if self.upload_id else self.name


class HashingReader:
    """Passes a stream through, counting and hashing the bytes as they are read."""

    def __init__(self, source: Readable) -> None:
        self.source = source
        self.size = 0
        self.digest = hashlib.sha256()

    def read(self, size: int = -1, /) -> bytes:
        data = self.source.read(size if size and size > 0 else CHUNK)
        if data:
            self.size += len(data)
            self.digest.update(data)
        return data

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()


def new_key() -> str:
    """A random key, fanned out over 256 prefixes: `ab/ab3f...`."""
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token}"


class BlobStore(ABC):
    """Put, open (optionally a byte range), stat, delete and list blobs."""

    #: The name stored in `Blob.store`.
    name: str

    @abstractmethod
    def put(
        self,
        stream: Readable,
        content_type: str = "application/octet-stream",
        length: int | None = None,
        key: str | None = None,
    ) -> StoredBlob:
        """Store a stream; `length` is its exact size when known (a raw body's
        Content-Length), else None. An exception from the stream leaves nothing.
        `key` is new and random unless given (a restore puts blobs back under
        the keys their rows name)."""

    @abstractmethod
    def open(self, key: str, start: int = 0, length: int | None = None) -> BlobReader:
        """A reader of the blob (or of `length` bytes from `start`); BlobMissing if absent."""

    @abstractmethod
    def stat(self, key: str) -> int | None:
        """The size of the blob, or None if it is missing."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the blob; removing a missing blob is not an error."""

    @abstractmethod
    def list_blobs(self) -> Iterator[tuple[str, int, datetime | None]]:
        """Every (key, size, last modified) in the store."""

    @abstractmethod
    def list_partials(self) -> Iterator[Partial]:
        """Uploads that were cut off (the process or the store died) and left pieces."""

    @abstractmethod
    def remove_partial(self, partial: Partial) -> None:
        """Remove what an unfinished upload left; a partial already gone is not an error."""

    def presigned_url(
        self, key: str, *, filename_header: str, content_type: str, expires: timedelta
    ) -> str | None:
        """A short-lived URL that downloads the blob, where the store can make one."""
        return None

    def sha256_of(self, key: str) -> str:
        digest = hashlib.sha256()
        with self.open(key) as reader:
            for chunk in reader:
                digest.update(chunk)
        return digest.hexdigest()


def read_ahead(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The chunks, each next one read by a thread while the caller handles this one.

    A proxied download otherwise takes turns: while a chunk goes to the client
    nothing is read from the store, and while the next is read the client waits.
    Closing the generator waits for the read in progress, so the source can be
    closed after it."""
    with ThreadPoolExecutor(1, thread_name_prefix="read-ahead") as reader:
        pending = reader.submit(next, chunks, None)
        while (chunk := pending.result()) is not None:
            pending = reader.submit(next, chunks, None)
            yield chunk


class BlobReader:
    """An iterator over a blob's chunks that must be closed (a context manager)."""

    def __init__(self, chunks: Iterator[bytes], close: Any, length: int) -> None:
        self._chunks = chunks
        self._close = close
        self.length = length

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        if self._close is not None:
            close, self._close = self._close, None
            close()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# --- the local folder -----------------------------------------------------------


class LocalStore(BlobStore):
    """Blobs as files under a folder (instance/blobs), written under a temporary
    name and renamed into place once complete."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.incoming = self.root / ".incoming"

    def _path(self, key: str) -> Path:
        if not key or ".." in key or key.startswith("/") or "\\" in key:
            raise BlobMissing(key)
        return self.root / key

    def put(
        self,
        stream: Readable,
        content_type: str = "application/octet-stream",
        length: int | None = None,
        key: str | None = None,
    ) -> StoredBlob:
        self.incoming.mkdir(parents=True, exist_ok=True)
        key = key or new_key()
        partial = self.incoming / (key.replace("/", "_") + ".part")
        reader = HashingReader(stream)
        try:
            with open(partial, "wb") as out:
                while chunk := reader.read(CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            final = self._path(key)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(partial, final)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return StoredBlob(key=key, size=reader.size, sha256=reader.sha256)

    def open(self, key: str, start: int = 0, length: int | None = None) -> BlobReader:
        path = self._path(key)
        try:
            handle: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by the reader
        except FileNotFoundError:
            raise BlobMissing(key) from None
        size = os.fstat(handle.fileno()).st_size
        handle.seek(start)
        remaining = max(0, size - start) if length is None else length

        def chunks() -> Iterator[bytes]:
            left = remaining
            while left > 0:
                data = handle.read(min(DOWNLOAD_CHUNK, left))
                if not data:
                    break
                left -= len(data)
                yield data

        return BlobReader(chunks(), handle.close, remaining)

    def path_of(self, key: str) -> Path | None:
        """The file holding the blob, if it exists."""
        try:
            path = self._path(key)
        except BlobMissing:
            return None
        return path if path.is_file() else None

    def stat(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except (FileNotFoundError, BlobMissing):
            return None

    def delete(self, key: str) -> None:
        with contextlib.suppress(BlobMissing):
            self._path(key).unlink(missing_ok=True)

    def list_blobs(self) -> Iterator[tuple[str, int, datetime | None]]:
        if not self.root.exists():
            return
        for path in sorted(self.root.glob("*/*")):
            if path.is_file() and path.parent.name != self.incoming.name:
                info = path.stat()
                modified = datetime.fromtimestamp(info.st_mtime, UTC)
                yield f"{path.parent.name}/{path.name}", info.st_size, modified

    def list_partials(self) -> Iterator[Partial]:
        if not self.incoming.exists():
            return
        for path in sorted(self.incoming.iterdir()):
            try:
                modified = path.stat().st_mtime
            except FileNotFoundError:
                continue  # its upload just finished or failed
            yield Partial(
                f"{self.incoming.name}/{path.name}", datetime.fromtimestamp(modified, UTC)
            )

    def remove_partial(self, partial: Partial) -> None:
        (self.incoming / Path(partial.name).name).unlink(missing_ok=True)


# --- S3 through the minio SDK ---------------------------------------------------


class S3Store(BlobStore):
    """Blobs as objects of one bucket (created if missing) of an S3 service."""

    name = "s3"
    PART_SIZE = 5 * MiB
    # As the SDK does by default; memory is about (parallel parts + 1) x part size.
    PARALLEL_PARTS = 3

    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = True,
        region: str = "us-east-1",
        connect_timeout: float = 3.0,
        read_timeout: float = 20.0,
    ) -> None:
        import certifi
        import urllib3
        from minio import Minio

        self.bucket = bucket
        self.endpoint = endpoint
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            retries=urllib3.Retry(
                total=2,
                connect=1,
                read=1,
                backoff_factor=0.2,
                status_forcelist=(500, 502, 503, 504),
                allowed_methods=None,
                raise_on_status=False,
            ),
            maxsize=16,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
        )
        self.client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http,
        )
        self._bucket_ready = False

    def _call(self, what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Run an SDK call; a store that is down or refuses us becomes StoreUnavailable."""
        import urllib3
        from minio.error import InvalidResponseError, S3Error, ServerError

        try:
            return function(*args, **kwargs)
        except S3Error as error:
            if error.code in {"NoSuchKey", "NoSuchObject", "NoSuchUpload"}:
                raise BlobMissing(error.object_name or "") from None
            log.warning("S3 %s refused: %s", what, error)
            raise StoreUnavailable(f"{what}: {error.code}") from error
        except (urllib3.exceptions.HTTPError, ServerError, InvalidResponseError, OSError) as error:
            log.warning("S3 %s failed: %s", what, error)
            raise StoreUnavailable(f"{what}: {type(error).__name__}") from error

    def ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        if not self._call("bucket_exists", self.client.bucket_exists, self.bucket):
            try:
                self._call("make_bucket", self.client.make_bucket, self.bucket)
            except StoreUnavailable:
                # Made meanwhile by another process?
                if not self._call("bucket_exists", self.client.bucket_exists, self.bucket):
                    raise
        self._bucket_ready = True

    def put(
        self,
        stream: Readable,
        content_type: str = "application/octet-stream",
        length: int | None = None,
        key: str | None = None,
    ) -> StoredBlob:
        self.ensure_bucket()
        key = key or new_key()
        reader = HashingReader(stream)
        # With the length known the SDK reads each part in one piece; without it, it
        # reads a byte more than a part to find the end and copies each part twice.
        self._call(
            "put_object",
            self.client.put_object,
            self.bucket,
            key,
            reader,
            length=-1 if length is None else length,
            part_size=self.PART_SIZE,
            num_parallel_uploads=self.PARALLEL_PARTS,
            content_type=content_type,
        )
        return StoredBlob(key=key, size=reader.size, sha256=reader.sha256)

    def open(self, key: str, start: int = 0, length: int | None = None) -> BlobReader:
        self.ensure_bucket()
        if length == 0:
            return BlobReader(iter(()), None, 0)
        response = self._call(
            "get_object",
            self.client.get_object,
            self.bucket,
            key,
            offset=start,
            length=length or 0,
        )
        size = int(response.headers.get("Content-Length") or 0)

        def chunks() -> Iterator[bytes]:
            import urllib3

            try:
                yield from response.stream(DOWNLOAD_CHUNK, decode_content=False)
            except (urllib3.exceptions.HTTPError, OSError) as error:
                # Headers are gone already: the client sees a cut transfer.
                log.warning("S3 download of %s broke off: %s", key, error)
                raise StoreUnavailable("get_object stream") from error

        ahead = read_ahead(chunks())

        def close() -> None:
            ahead.close()  # no read in progress after this
            response.close()
            response.release_conn()

        return BlobReader(ahead, close, size)

    def stat(self, key: str) -> int | None:
        self.ensure_bucket()
        try:
            return int(self._call("stat_object", self.client.stat_object, self.bucket, key).size)
        except BlobMissing:
            return None

    def delete(self, key: str) -> None:
        self.ensure_bucket()
        self._call("remove_object", self.client.remove_object, self.bucket, key)

    def list_blobs(self) -> Iterator[tuple[str, int, datetime | None]]:
        self.ensure_bucket()
        objects = self._call("list_objects", self.client.list_objects, self.bucket, recursive=True)
        iterator = iter(objects)
        while True:
            try:
                item = self._call("list_objects", next, iterator)
            except StopIteration:
                return
            yield item.object_name, int(item.size or 0), item.last_modified

    # The SDK (7.x) has no public call for incomplete uploads: these two are its own
    # ListMultipartUploads and AbortMultipartUpload requests.
    def list_partials(self) -> Iterator[Partial]:
        """One page (up to 1,000): paging differs between S3 services (SeaweedFS sorts
        by upload id and ignores key markers), and removing these reveals the rest."""
        self.ensure_bucket()
        listing = self._call(
            "list_multipart_uploads", self.client._list_multipart_uploads, self.bucket
        )
        if listing.is_truncated:
            log.warning("more incomplete uploads than listed; the rest follow their removal")
        for upload in listing.uploads:
            yield Partial(upload.object_name, upload.initiated_time, upload.upload_id or "")

    def remove_partial(self, partial: Partial) -> None:
        with contextlib.suppress(BlobMissing):
            self._call(
                "abort_multipart_upload",
                self.client._abort_multipart_upload,
                self.bucket,
                partial.name,
                partial.upload_id,
            )

    def presigned_url(
        self, key: str, *, filename_header: str, content_type: str, expires: timedelta
    ) -> str | None:
        return str(
            self._call(
                "presigned_get_object",
                self.client.presigned_get_object,
                self.bucket,
                key,
                expires=expires,
                response_headers={
                    "response-content-disposition": filename_header,
                    "response-content-type": content_type,
                },
            )
        )


# --- which store ----------------------------------------------------------------


def _settings(app: Flask) -> dict[str, Any]:
    return app.config["PORTAL"]


def _s3_signature(settings: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        settings[name]
        for name in ("S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_BUCKET", "S3_SECURE")
    )


def store_named(name: str, app: Flask | None = None) -> BlobStore:
    """The store called `name` (`local` or `s3`) as this app is configured."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    settings = _settings(app)
    cache: dict[Any, BlobStore] = app.extensions.setdefault("portal_blob_stores", {})
    if name == "local":
        root = Path(app.instance_path) / "blobs"
        signature: tuple[Any, ...] = ("local", str(root))
        if signature not in cache:
            cache[signature] = LocalStore(root)
        return cache[signature]
    if name == "s3":
        signature = ("s3", *_s3_signature(settings))
        if signature not in cache:
            if not settings["S3_ENDPOINT"]:
                raise StoreUnavailable("PORTAL_S3_ENDPOINT is not set")
            cache[signature] = S3Store(
                endpoint=settings["S3_ENDPOINT"],
                access_key=settings["S3_ACCESS_KEY"],
                secret_key=settings["S3_SECRET_KEY"],
                bucket=settings["S3_BUCKET"],
                secure=settings["S3_SECURE"],
            )
        return cache[signature]
    raise StoreUnavailable(f"unknown store {name!r}")


def current_store(app: Flask | None = None) -> BlobStore:
    """The store new blobs go to: `PORTAL_STORAGE`."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return store_named(_settings(app)["STORAGE"], app)
