"""Calendar tokens: the per-user secret in calendar feed URLs, stored as its SHA-256."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from .. import events
from ..accounts.models import ApiToken, CalendarToken, User
from ..events import utcnow
from ..extensions import db

CALENDAR_TOKEN_PREFIX = "pcal_"  # noqa: S105 - a public prefix, not a secret


def _revoke_all(user: User) -> int:
    revoked = 0
    for token in db.session.scalars(
        select(CalendarToken).where(
            CalendarToken.user_id == user.id, CalendarToken.revoked_at.is_(None)
        )
    ):
        token.revoked_at = utcnow()
        revoked += 1
    return revoked


def current_token(user: User) -> CalendarToken | None:
    """The user's calendar token in use, if any (when it was made; its value is not kept)."""
    return db.session.scalar(
        select(CalendarToken)
        .where(CalendarToken.user_id == user.id, CalendarToken.revoked_at.is_(None))
        .order_by(CalendarToken.id.desc())
        .limit(1)
    )


def rotate_token(user: User) -> str:
    """A new calendar token for the user, revoking the previous one; shown once."""
    _revoke_all(user)
    plain = CALENDAR_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = CalendarToken(user_id=user.id, token_hash=ApiToken.hash(plain), created_at=utcnow())
    db.session.add(token)
    db.session.flush()
    events.record("calendar_token.created", actor=user, data={"token_id": token.id})
    db.session.commit()
    return plain


def revoke_tokens(user: User) -> int:
    """Revoke the user's calendar token: subscribed calendars stop updating at once."""
    revoked = _revoke_all(user)
    if revoked:
        events.record("calendar_token.revoked", actor=user, data={"count": revoked})
        db.session.commit()
    return revoked
