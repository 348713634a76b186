"""Who is asking: the session cookie or a bearer token, checked on every request.

A bearer token wins over a cookie and never creates a session; cookie-
authenticated unsafe requests to the API must carry the CSRF token. The
cookie's session row and its user are read from the database on every request,
so a sign-out (which deletes that row), a deactivation or a password change
(both bump `session_epoch`) and a revoked token take effect at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload
from wtforms import ValidationError

from ..api import ApiError, is_api_request
from ..events import utcnow
from ..extensions import db, login_manager
from ..permissions import Anonymous
from .models import ApiToken, User, UserSession, without_community

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
# How often a session's row is marked seen and its cookie signed anew (not at every
# request: each touch is a write, each signature a Set-Cookie). A cookie so lives
# PERMANENT_SESSION_LIFETIME after its last request, at most this much less.
SESSION_TOUCH_INTERVAL = timedelta(minutes=10)
# The key of the session cookie that names its `UserSession` row.
SESSION_KEY = "_session_id"


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def current_session_id() -> int | None:
    """The `UserSession` row named by this request's cookie (None for a token)."""
    session_id = session.get(SESSION_KEY)
    return session_id if isinstance(session_id, int) else None


def previous_sign_in() -> datetime | None:
    """When the user of this request's cookie signed in before this session began: None
    the first time, and for a token, which has no sign-in. Read from the session row the
    user loader holds: no query, but on the request whose touch committed (and so
    expired) it, which reads it again."""
    session_id = current_session_id()
    if session_id is None or authenticated_by_token():
        return None
    record = db.session.get(UserSession, session_id)
    return record.previous_sign_in_at if record is not None else None


# The session row with its user: every request reads these, few pages the user's
# community, whose two joined tables tripled the columns to read.
SESSION_USER = (without_community(joinedload(UserSession.user)),)


def live_session(
    db_session: Session, session_id: int | None, user_id: int, epoch: int
) -> UserSession | None:
    """The session row of a cookie if it still lets its user in: not signed out,
    the user active, and no password change or deactivation since (`session_epoch`)."""
    if session_id is None:
        return None
    record = db_session.get(UserSession, session_id, options=SESSION_USER)
    if record is None or record.user_id != user_id:
        return None
    if not record.user.active or record.user.session_epoch != epoch:
        return None
    return record


@login_manager.user_loader
def _load_from_session(user_key: str) -> User | None:
    if request.headers.get("Authorization"):
        return None  # a request with credentials of its own ignores the cookie
    user_id, _, epoch = user_key.partition(":")
    if not user_id.isdigit() or not epoch.isdigit():
        return None
    record = live_session(db.session, current_session_id(), int(user_id), int(epoch))
    if record is None:
        return None
    # Held for the request: the identity map references weakly, and `previous_sign_in`
    # reads the row again (a page would otherwise query it once more).
    g.session_held = record
    user = record.user
    now = utcnow()
    if now - record.last_seen_at > SESSION_TOUCH_INTERVAL and not _in_live_handler():
        from .service import touch_session  # the service layer owns writes

        touch_session(record.id, now)
        session.modified = True  # a new cookie, and a new signature time, for this one
    return user


def _in_live_handler() -> bool:
    """Whether this is a Socket.IO handler (Flask-SocketIO names its connection on the
    request). Its session is a copy never written back to the cookie, so touching the
    row there would let the cookie fall behind the row by one more interval."""
    return getattr(request, "sid", None) is not None


def usable_token(plain: str) -> ApiToken | None:
    """The unrevoked, unexpired token with this value of an active user, or None."""
    record = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == ApiToken.hash(plain)))
    if record is None or not record.usable(utcnow()) or not record.user.active:
        return None
    return record


@login_manager.request_loader
def _load_from_token(req: Any) -> User | None:
    token = bearer_token()
    if token is None:
        return None
    record = usable_token(token)
    if record is None:
        return None
    now = utcnow()
    if record.last_used_at is None or now - record.last_used_at > TOKEN_TOUCH_INTERVAL:
        from .service import touch_token  # the service layer owns writes

        touch_token(record, now)
    g.auth_token_id = record.id
    return record.user


def authenticated_by_token() -> bool:
    return g.get("auth_token_id") is not None


def _check_credentials() -> None:
    """Refuse bad bearer tokens outright; demand CSRF on cookie-authenticated writes."""
    from flask_login import current_user

    if not is_api_request():
        return
    if request.headers.get("Authorization"):
        if not current_user.is_authenticated:
            raise ApiError(
                401,
                "unauthenticated",
                "The API token is invalid, expired or revoked.",
                headers={"WWW-Authenticate": 'Bearer realm="portal"'},
            )
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if (
        request.method in UNSAFE_METHODS
        and current_user.is_authenticated
        and not getattr(view, "csrf_exempt", False)
    ):
        # The header only: Flask-WTF's protect() would read the form, and so spool a
        # whole multipart upload before the view could stream it.
        try:
            validate_csrf(request.headers.get("X-CSRF-Token") or request.headers.get("X-CSRFToken"))
        except ValidationError as error:
            raise CSRFError(str(error)) from None  # answered 403 `csrf` by portal.api


class NoTokenSessionInterface(SecureCookieSessionInterface):
    """Token-authenticated requests never receive a session cookie."""

    def should_set_cookie(self, app: Flask, session: Any) -> bool:
        if authenticated_by_token() or request.headers.get("Authorization"):
            return False
        return super().should_set_cookie(app, session)

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        if request.headers.get("Authorization"):
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.anonymous_user = Anonymous
    login_manager.login_view = "accounts.login_page"
    login_manager.session_protection = "basic"
    app.session_interface = NoTokenSessionInterface()
    app.before_request(_check_credentials)
    from . import two_factor  # after the credentials: it reads who is asking

    two_factor.init_app(app)
