"""People and their credentials: users, API tokens, notifications."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..events import UTCDateTime, utcnow
from ..extensions import db

if TYPE_CHECKING:
    from ..events import Event
    from ..network.models import Community


class User(UserMixin, db.Model):  # type: ignore[name-defined]
    # Not `user`: a reserved word on PostgreSQL.
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "email_notifications IN ('immediate', 'daily', 'off')", name="email_notifications"
        ),
        # A focal point speaks for a community: one without a community is none.
        CheckConstraint("NOT is_focal_point OR community_id IS NOT NULL", name="focal_point"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased; the sign-in name.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    # The community the person works for; null for the secretariat's own staff.
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("communities.id", ondelete="SET NULL"), index=True
    )
    # Staff of the technical secretariat: administers the whole network.
    is_secretariat: Mapped[bool] = mapped_column(Boolean, default=False)
    # A deactivated user is refused on the next request, sockets included.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Interface language (es, en, pt, fr) and IANA timezone; null until the person or
    # an invitation says, or the first sign-in through the pages brings the browser's.
    locale: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # How notifications reach them by e-mail: `immediate`, a `daily` digest at 07:00 in
    # their timezone, or `off`; and when the last digest covered up to.
    email_notifications: Mapped[str] = mapped_column(
        String(16), default="immediate", server_default="immediate"
    )
    digest_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Argon2 hash; null until a password is set (the user cannot sign in).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Bumped to end every open session (password change, deactivation).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    # A focal point of their community: the person the network turns to first (set by
    # the secretariat; a community may have several).
    is_focal_point: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Contact details the person keeps up to date themselves ("" when not given), and
    # which of them (with the e-mail) the other members see on the contacts page;
    # nothing is shown until the person says so.
    position: Mapped[str] = mapped_column(String(160), default="", server_default="")
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    show_email: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    show_phone: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    show_position: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    community: Mapped[Community | None] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login's name for it
        return self.active

    def get_id(self) -> str:
        """The session id: changing the epoch invalidates every session cookie."""
        return f"{self.id}:{self.session_epoch}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


def without_community(load: Any) -> Any:
    """`load`, an option that loads users, without their community (and its member
    state): two joined tables that a person named next to something, or the one signed
    in, does not need. Read when asked for."""
    return load.lazyload(User.community)


class UserSession(db.Model):  # type: ignore[name-defined]
    """One signed-in browser. Its cookie names this row and signing out deletes it,
    so a copy of that cookie stops working while the user's other sessions go on
    (`User.session_epoch` ends them all at once)."""

    __tablename__ = "user_sessions"
    # A deleted session's id is never handed out again (SQLite reuses the largest
    # rowid without AUTOINCREMENT), so a signed-out cookie cannot come back to life.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Updated at most every SESSION_TOUCH_INTERVAL; rows idle longer than a cookie lives
    # are pruned.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # When the user signed in before this session began (None the first time): My work
    # lists what others changed since then, and every refresh of it asks.
    previous_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(db.Model):  # type: ignore[name-defined]
    """A bearer token for scripts and clients; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # What the owner calls it ("calendar sync").
    name: Mapped[str] = mapped_column(String(100))
    # SHA-256 hex of the token: the token has 256 bits of entropy, so a fast
    # hash is enough and keeps the per-request lookup an index hit.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Updated at most once a minute to spare the database a write per request.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


class Notification(db.Model):  # type: ignore[name-defined]
    """An event brought to one user's attention."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_id_read_at", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship(lazy="joined")


class CalendarToken(db.Model):  # type: ignore[name-defined]
    """The secret in a user's calendar feed URLs: reads their calendars, nothing else."""

    __tablename__ = "calendar_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class PasswordReset(db.Model):  # type: ignore[name-defined]
    """A link sent to reset a forgotten password: works once, for an hour. Only the
    SHA-256 of its token is stored (256 random bits: a fast hash is enough)."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when the link is used, and on the user's other links at that moment.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class TwoFactor(db.Model):  # type: ignore[name-defined]
    """A user's TOTP (RFC 6238) secret: on once confirmed with a code from the app."""

    __tablename__ = "two_factor"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # The base32 secret sealed with a key derived from SECRET_KEY (see two_factor.py):
    # a copy of the database alone does not give the codes away.
    sealed_secret: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Null while being set up: sign-in does not ask for a code yet.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last time step whose code was accepted: a code works once (RFC 6238, 5.2).
    last_step: Mapped[int | None] = mapped_column(Integer)


class RecoveryCode(db.Model):  # type: ignore[name-defined]
    """A one-time code that replaces the app's code, for a lost phone. Only its
    SHA-256 is stored (80 random bits: a fast hash is enough)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
