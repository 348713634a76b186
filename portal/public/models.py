"""What the network publishes: the approved public copy of an item and the requests
that lead to it.

The public never reads an item itself, only its `PublishedItem`: a copy made
when the secretariat approves, so later edits in the workspace reach the
public only when approved again.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..documents.models import DocumentVersion
from ..events import UTCDateTime, utcnow
from ..extensions import db
from ..text import render_markdown
from ..workspaces.models import text_enum

if TYPE_CHECKING:
    from ..accounts.models import User
    from ..network.models import Community, MemberState


class PublishedItem(db.Model):  # type: ignore[name-defined]
    """The public copy of an item, as the secretariat last approved it."""

    __tablename__ = "published_items"
    __table_args__ = (Index("ix_published_items_published_at", "published_at"),)

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    slug: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(300))
    # A plain-text line for lists, feeds and the page description.
    summary: Mapped[str] = mapped_column(Text, default="")
    # Markdown, rendered through the workspace's sanitizer.
    body: Mapped[str] = mapped_column(Text, default="")
    # One of es, en, pt, fr (declared, or detected from the text).
    language: Mapped[str] = mapped_column(String(8))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The community and country of the group's coordinator who submitted it.
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("communities.id", ondelete="SET NULL")
    )
    member_state_code: Mapped[str | None] = mapped_column(
        ForeignKey("member_states.code", ondelete="SET NULL")
    )
    # A published document exposes this version only.
    document_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("document_versions.id", ondelete="CASCADE")
    )
    # Kind-specific public facts (a meeting's dates and place, a task's status).
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The item's version the copy was made from.
    item_version: Mapped[int] = mapped_column(Integer)
    # First publication; kept when a later approval refreshes the copy.
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    community: Mapped[Community | None] = relationship(lazy="raise")
    member_state: Mapped[MemberState | None] = relationship(lazy="raise")
    document_version: Mapped[DocumentVersion | None] = relationship(lazy="raise")

    @property
    def body_html(self) -> str:
        return render_markdown(self.body)

    def __repr__(self) -> str:
        return f"<PublishedItem {self.item_id} {self.slug}>"


class RequestStatus(enum.StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    # Closed without a decision: the item was unpublished or purged meanwhile, or it
    # changed and was submitted again.
    withdrawn = "withdrawn"


class PublicationRequest(db.Model):  # type: ignore[name-defined]
    """A coordinator's request to publish an item (or its latest changes), and the
    secretariat's decision. At most one is pending per item."""

    __tablename__ = "publication_requests"
    __table_args__ = (
        Index(
            "uq_publication_requests_pending_item",
            "item_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_publication_requests_status_submitted_at", "status", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    # The item's version (its ETag) as submitted: what names the submission a reviewer saw.
    item_version: Mapped[int] = mapped_column(Integer)
    # The public copy as submitted (`service.public_copy_of`), exactly what approval
    # publishes; None for requests made before it was recorded (they must be resubmitted).
    public_copy: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[RequestStatus] = mapped_column(
        text_enum(RequestStatus, "publication_request_status"), default=RequestStatus.pending
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why it was rejected (shown to the submitter).
    reason: Mapped[str] = mapped_column(Text, default="")

    submitted_by: Mapped[User | None] = relationship(lazy="raise", foreign_keys=[submitted_by_id])
    decided_by: Mapped[User | None] = relationship(lazy="raise", foreign_keys=[decided_by_id])

    @property
    def document_version(self) -> int | None:
        """For a document, the number of the file version submitted."""
        if not self.public_copy or self.public_copy["document_version_id"] is None:
            return None
        return int(self.public_copy["details"]["version"])


class PublicCount(db.Model):  # type: ignore[name-defined]
    """How many public downloads or searches a day saw, for the secretariat's statistics:
    a counter, not a log (no visitor, address or query text is kept), bumped by one upsert
    (`statistics.count_public`)."""

    __tablename__ = "public_counts"
    __table_args__ = (CheckConstraint("metric IN ('download', 'search')", name="metric"),)

    # The day (UTC) counted.
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    # `download` of a published file, or `search` of the publications (its first page).
    metric: Mapped[str] = mapped_column(String(16), primary_key=True)
    # The community concerned (the file's, or the search's community filter); 0 for none:
    # NULL cannot be part of the key the upsert conflicts on (NULLs never collide). No
    # foreign key, so the sentinel fits and the figures outlive a deleted community.
    community_id: Mapped[int] = mapped_column(Integer, primary_key=True, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
