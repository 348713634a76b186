"""Documents, their versions, and the blobs that hold the bytes.

A `Document` is an `Item` (joined-table inheritance). Each upload is a
`DocumentVersion`; the bytes live in a blob store, and each `Blob` row says
which store and which key hold them, so the configured store can change
without moving old files. A restored version points at the blob of the
version it restores: blobs are shared, and purged only when no version uses
them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..events import UTCDateTime, utcnow
from ..extensions import db
from ..workspaces.models import Item

if TYPE_CHECKING:
    from ..accounts.models import User


class Blob(db.Model):  # type: ignore[name-defined]
    """Bytes in a blob store: which store, which key, how many, their checksum."""

    __tablename__ = "blobs"
    __table_args__ = (
        UniqueConstraint("store", "key", name="uq_blobs_store_key"),
        CheckConstraint("size >= 0", name="size_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The store holding it: `local` (instance/blobs) or `s3`.
    store: Mapped[str] = mapped_column(String(16), nullable=False)
    # The key inside that store; random, never derived from user input.
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    # Length in bytes and SHA-256 (hex) as measured while the bytes streamed in.
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    def __repr__(self) -> str:
        return f"<Blob {self.store}:{self.key}>"


class Document(Item):
    """A file shared in a workspace, with its versions."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    # BCP 47 language tag of the content (es, en, pt, fr, ...); empty if unknown.
    language: Mapped[str] = mapped_column(String(16), default="", nullable=False)
    # Free tags, a JSON list of strings.
    tags: Mapped[list[str]] = mapped_column(JSON, default=list, nullable=False)
    # The number of the version downloads serve by default; 0 before the first upload.
    current_version: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # Who checked the document out (a lock while editing offline), and until when.
    checked_out_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    checked_out_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    checked_out_by: Mapped[User | None] = relationship(
        lazy="raise", foreign_keys=[checked_out_by_id]
    )

    __mapper_args__ = {"polymorphic_identity": "document"}

    def lock_holder_id(self, now: datetime) -> int | None:
        """The id of the user holding an unexpired check-out, if any."""
        if self.checked_out_by_id is None or self.checked_out_until is None:
            return None
        return self.checked_out_by_id if self.checked_out_until > now else None


class DocumentVersion(db.Model):  # type: ignore[name-defined]
    """One upload of a document: numbered from 1, never changed afterwards."""

    __tablename__ = "document_versions"
    __table_args__ = (
        UniqueConstraint("document_id", "number", name="uq_document_versions_document_id_number"),
        CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), nullable=False
    )
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    # The bytes; RESTRICT: a blob row goes only once no version points at it.
    blob_id: Mapped[int] = mapped_column(
        ForeignKey("blobs.id", ondelete="RESTRICT"), index=True, nullable=False
    )
    # The sanitized file name offered on download.
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    # Sniffed from the bytes, never taken from the client.
    content_type: Mapped[str] = mapped_column(String(127), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # The number of the version this one restored, if it is a restore.
    restored_from: Mapped[int | None] = mapped_column(Integer)
    # Extracted plain text for the search index (bounded), empty if none.
    text: Mapped[str] = mapped_column(Text, default="", nullable=False)
    # Why no text could be extracted (malformed, encrypted, too large, timed out).
    extraction_error: Mapped[str | None] = mapped_column(String(300))

    blob: Mapped[Blob] = relationship(lazy="raise")
    uploaded_by: Mapped[User | None] = relationship(lazy="raise")

    @property
    def blob_key(self) -> str:
        return self.blob.key

    def __repr__(self) -> str:
        return f"<DocumentVersion {self.document_id}#{self.number}>"


def version_facts(version: DocumentVersion) -> dict[str, Any]:
    """The columns a restore copies into its new version."""
    return {
        "blob_id": version.blob_id,
        "filename": version.filename,
        "content_type": version.content_type,
        "size": version.size,
        "sha256": version.sha256,
        "text": version.text,
        "extraction_error": version.extraction_error,
    }
