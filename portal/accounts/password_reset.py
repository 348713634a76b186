"""A forgotten password: a one-hour, single-use link sent by e-mail.

Asking gives nothing away: the answer is the same whether or not the address has an
account, and so is the work done (a token made and hashed, the mail written, an event
and a commit), so the time does not tell either. Using the link sets the password and
ends every session and live connection of the user; the other links sent to them
stop working with it.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_datetime_format
from flask_babel import force_locale, gettext
from sqlalchemy import delete, select, update

from .. import events, mail
from ..api import not_found, setting
from ..events import utcnow
from ..extensions import db
from ..i18n import DEFAULT_LOCALE, LANGUAGES
from .models import ApiToken, PasswordReset, User, UserSession
from .passwords import hash_password
from .service import normalize_email

LIFETIME = timedelta(hours=1)


def reset_link(token: str) -> str:
    return f"{str(setting('BASE_URL')).rstrip('/')}/reset-password/{token}"


def _until(moment: datetime, locale: str, zone_name: str) -> str:
    """ "2 de diciembre de 2026, 13:05 (America/Bogota)": in the reader's language and zone."""
    zone = ZoneInfo(zone_name)
    local = moment.astimezone(zone)
    pattern = str(get_datetime_format("long", locale=locale)).replace("'", "")
    when = pattern.format(
        format_time(local, "short", locale=locale), format_date(local, "long", locale=locale)
    )
    return f"{when} ({zone_name})"


def _message(name: str, locale: str, zone: str, token: str, expires_at: datetime) -> tuple:
    """(subject, text, html) of the reset mail."""
    with force_locale(locale):
        subject = gettext("Reset your password")
    text, html = mail.render(
        "password_reset",
        locale,
        subject=subject,
        name=name,
        link=reset_link(token),
        until=_until(expires_at, locale, zone),
    )
    return subject, text, html


def request_reset(email: str) -> None:
    """Send a reset link if an active account has this address; otherwise do the same
    work and send nothing."""
    email = normalize_email(email)
    user = db.session.scalar(select(User).where(User.email == email))
    known = user is not None and user.active
    token = secrets.token_urlsafe(32)
    now = utcnow()
    locale = user.locale if user is not None and user.locale in LANGUAGES else DEFAULT_LOCALE
    zone = (user.timezone if user is not None else None) or "UTC"
    subject, text, html = _message(
        user.name if user is not None else email, locale, zone, token, now + LIFETIME
    )
    data: dict[str, object] = {"email": email[:254]}
    if known:
        assert user is not None
        db.session.add(
            PasswordReset(
                user_id=user.id,
                token_hash=ApiToken.hash(token),
                created_at=now,
                expires_at=now + LIFETIME,
            )
        )
        mail.queue(mail.address(user.name, user.email), subject, text, html)
        data["user_id"] = user.id
    events.record("auth.password_reset_requested", actor=None, data=data)
    db.session.commit()


def usable_reset(token: str) -> PasswordReset | None:
    """The link's record if it may still be used: unused, unexpired, its user active."""
    if not token or len(token) > 100:
        return None
    record = db.session.scalar(
        select(PasswordReset).where(PasswordReset.token_hash == ApiToken.hash(token))
    )
    if record is None or record.used_at is not None or record.expires_at <= utcnow():
        return None
    return record if record.user.active else None


def reset_password(token: str, password: str) -> User:
    """Set the password through a link; 404 when the link is unknown, used or expired."""
    record = usable_reset(token)
    if record is None:
        raise not_found("link")
    now = utcnow()
    # One winner if the link is used twice at once; the user's other links end with it.
    claimed = db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == record.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise not_found("link")
    user = record.user
    db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    user.password_hash = hash_password(password)
    # A new epoch ends every session cookie; the rows go too. The event makes the
    # live connections be checked again, and so closed (see permissions).
    user.session_epoch += 1
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    events.record("user.password_reset", actor=user, data={"user_id": user.id})
    db.session.commit()
    return user
