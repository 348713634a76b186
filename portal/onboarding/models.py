"""Invitations: a one-time link that lets a person create their account."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..events import UTCDateTime, utcnow
from ..extensions import db
from ..network.models import Community
from ..workspaces.models import Role, Workspace, text_enum


class InvitationStatus(enum.StrEnum):
    pending = "pending"
    accepted = "accepted"
    revoked = "revoked"
    expired = "expired"


class Invitation(db.Model):  # type: ignore[name-defined]
    """An invitation to one address, optionally to a community and a working group."""

    __tablename__ = "invitations"
    __table_args__ = (
        Index("ix_invitations_email", "email"),
        CheckConstraint("(workspace_id IS NULL) = (role IS NULL)", name="role_with_workspace"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Lower-cased, as accounts store it.
    email: Mapped[str] = mapped_column(String(254))
    # The name the inviter knows them by; the invitee may change it when accepting.
    name: Mapped[str] = mapped_column(String(160), default="")
    # The language of the invitation e-mail and the account's first language.
    locale: Mapped[str] = mapped_column(String(8))
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("communities.id", ondelete="SET NULL")
    )
    workspace_id: Mapped[int | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role | None] = mapped_column(text_enum(Role, "invitation_role"))
    is_secretariat: Mapped[bool] = mapped_column(Boolean, default=False)
    # The community's focal point (onboarding a community invites one): they become it.
    is_focal_point: Mapped[bool] = mapped_column(Boolean, default=False)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # SHA-256 of the link's token: the token itself is only in the e-mail.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the current link was sent (a resend makes a new link).
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The account made by accepting it.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    community: Mapped[Community | None] = relationship(lazy="joined")
    workspace: Mapped[Workspace | None] = relationship(lazy="joined")
    invited_by: Mapped[User | None] = relationship(lazy="joined", foreign_keys=[invited_by_id])
    # More working groups to join, with the same role (onboarding names several).
    more_groups: Mapped[list[Workspace]] = relationship(
        secondary="invitation_groups", lazy="selectin", order_by="Workspace.name"
    )

    @property
    def groups(self) -> list[Workspace]:
        """Every working group the invitation takes the person into, the first one first."""
        return [self.workspace, *self.more_groups] if self.workspace is not None else []

    def status_at(self, now: datetime) -> InvitationStatus:
        if self.accepted_at is not None:
            return InvitationStatus.accepted
        if self.revoked_at is not None:
            return InvitationStatus.revoked
        if self.expires_at <= now:
            return InvitationStatus.expired
        return InvitationStatus.pending

    @property
    def status(self) -> InvitationStatus:
        return self.status_at(utcnow())


class InvitationGroup(db.Model):  # type: ignore[name-defined]
    """A further working group of an invitation (the first is `Invitation.workspace`)."""

    __tablename__ = "invitation_groups"

    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("invitations.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True, index=True
    )
