"""Memos: Markdown notes of a working group (their revisions are `TextRevision` rows)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..workspaces.models import Item


class Memo(Item):
    __tablename__ = "memos"

    id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    # Markdown.
    body: Mapped[str] = mapped_column(Text, default="")

    __mapper_args__ = {"polymorphic_identity": "memo"}
