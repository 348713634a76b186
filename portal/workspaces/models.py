"""Working groups, their members, and the base of everything shared in them."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..events import UTCDateTime, utcnow
from ..extensions import db

if TYPE_CHECKING:
    from ..accounts.models import User


class Role(enum.StrEnum):
    """A member's role in a workspace, weakest first."""

    observer = "observer"
    member = "member"
    coordinator = "coordinator"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


class Publication(enum.StrEnum):
    private = "private"
    submitted = "submitted"
    published = "published"
    rejected = "rejected"


def text_enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as text with a CHECK constraint, so adding a value needs no ALTER TYPE.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda e: [m.value for m in e],
    )


class Workspace(db.Model):  # type: ignore[name-defined]
    """One working group."""

    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Archived groups stay readable by their members but take no changes.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    def __repr__(self) -> str:
        return f"<Workspace {self.slug}>"


class Membership(db.Model):  # type: ignore[name-defined]
    __tablename__ = "memberships"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[Role] = mapped_column(text_enum(Role, "membership_role"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")
    workspace: Mapped[Workspace] = relationship(lazy="joined")


class Item(db.Model):  # type: ignore[name-defined]
    """The base of documents, memos, tasks and meetings (joined-table inheritance).

    Ids are global across kinds, so shares, comments, publication, search hits
    and live events all point at an item the same way. `version` is bumped by
    every update (SQLAlchemy's version counter) and serves as the ETag.
    """

    __tablename__ = "items"
    __table_args__ = (
        Index("ix_items_workspace_id_created_at", "workspace_id", "created_at"),
        # A group's newest changed items of one kind (the group page) without a sort.
        Index("ix_items_workspace_id_kind_updated_at", "workspace_id", "kind", "updated_at", "id"),
        Index("ix_items_publication_published_at", "publication", "published_at"),
        CheckConstraint(
            "(publication = 'published') = (published_at IS NOT NULL)", name="published_at_set"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # document | memo | task | meeting: the subclass table holding the rest.
    kind: Mapped[str] = mapped_column(String(16), index=True)
    # The owner workspace.
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Set when moved to the trash; purged after the retention period.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    publication: Mapped[Publication] = mapped_column(
        text_enum(Publication, "item_publication"), default=Publication.private
    )
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    workspace: Mapped[Workspace] = relationship(lazy="raise")
    created_by: Mapped[User | None] = relationship(lazy="raise")

    __mapper_args__ = {"polymorphic_on": "kind", "version_id_col": version}


# --- sharing, comments, revisions ---------------------------------------------


class SharePermission(enum.StrEnum):
    view = "view"
    edit = "edit"


class Share(db.Model):  # type: ignore[name-defined]
    """An item shared with another working group, for view or for edit."""

    __tablename__ = "shares"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    # The group it is shared with (never the owner workspace).
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    permission: Mapped[SharePermission] = mapped_column(
        text_enum(SharePermission, "share_permission")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Comment(db.Model):  # type: ignore[name-defined]
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_item_id_id", "item_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Markdown; rendered through the sanitizer.
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship(lazy="joined")


class TextRevision(db.Model):  # type: ignore[name-defined]
    """One saved state of a long text (a memo's body, a meeting's minutes).

    A save that does not change the text makes no revision.
    """

    __tablename__ = "text_revisions"
    __table_args__ = (UniqueConstraint("item_id", "field", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    # `body` (memo) or `minutes` (meeting).
    field: Mapped[str] = mapped_column(String(16))
    # 1, 2, 3... per item and field.
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship(lazy="joined")
