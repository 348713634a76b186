"""The network: its member states and their port logistics communities."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class MemberState(db.Model):  # type: ignore[name-defined]
    __tablename__ = "member_states"
    __table_args__ = (CheckConstraint("length(code) = 2 AND code = upper(code)", name="code_iso"),)

    # ISO 3166-1 alpha-2, upper case: the primary key clients use.
    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)

    def __repr__(self) -> str:
        return f"<MemberState {self.code}>"


class Community(db.Model):  # type: ignore[name-defined]
    """A port logistics community: the organisations around one port."""

    __tablename__ = "communities"
    __table_args__ = (
        CheckConstraint("contact_email = '' OR contact_email LIKE '%_@_%'", name="contact_email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # URL name, unique across the network.
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    # The port it is built around.
    port: Mapped[str] = mapped_column(String(120))
    member_state_code: Mapped[str] = mapped_column(
        ForeignKey("member_states.code", ondelete="RESTRICT"), index=True
    )
    description: Mapped[str] = mapped_column(Text, default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    # Inactive communities leave the public directory but keep their history.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # What the community publishes in the public directory: an address for the public
    # ("" for none) and whether its focal points are named there.
    contact_email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    publish_focal_points: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # Loaded by `portal demo`, not real.
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    member_state: Mapped[MemberState] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<Community {self.slug}>"
