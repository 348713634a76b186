"""Every change to accounts: sign-in, users, API tokens, notifications."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, session
from flask_login import login_user, logout_user
from sqlalchemy import delete, select, update

from .. import events
from ..api import ApiError, conflict, invalid, setting
from ..events import utcnow
from ..extensions import WRITES_ALONE, db
from ..network.models import Community
from .auth import SESSION_KEY, SESSION_TOUCH_INTERVAL, current_session_id
from .models import ApiToken, Notification, User, UserSession
from .passwords import SIGN_IN_WAIT_SECONDS, hash_password, needs_rehash, verify_password

TOKEN_PREFIX = "pnp_"  # noqa: S105 - a public prefix, not a secret


def normalize_email(email: str) -> str:
    return email.strip().lower()


# --- sign-in ------------------------------------------------------------------


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (the same time either way).
    Raises passwords.HashingBusy, having changed nothing, when too many sign in at once."""
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    stored_hash = user.password_hash if user else None
    # Hashing takes tens of milliseconds of CPU, far more when many sign in at once:
    # the pooled connection goes back first, or a crowd of sign-ins exhausts the pool.
    db.session.rollback()
    ok = verify_password(stored_hash, password, patience=SIGN_IN_WAIT_SECONDS)
    if not ok or user is None or not user.active:
        events.record("auth.login_failed", actor=None, data={"email": normalize_email(email)[:254]})
        db.session.commit()
        return None
    return user


def sign_in(user: User, password: str | None) -> None:
    """Start a fresh session (a new cookie, against session fixation) and its row.
    `password` (None after a second step that asked only for a code) is rehashed
    when the hashing parameters changed."""
    now = utcnow()
    # A cookie lives PERMANENT_SESSION_LIFETIME after its row was last seen (it is
    # signed anew at each touch), and a request touches a row at most
    # SESSION_TOUCH_INTERVAL after it was last seen: older rows are dead.
    idle = current_app.permanent_session_lifetime + SESSION_TOUCH_INTERVAL
    replaced = current_session_id()  # signing in again in this browser ends its old session
    db.session.execute(
        delete(UserSession).where(
            (UserSession.last_seen_at < now - idle) | (UserSession.id == replaced)
        )
    )
    record = UserSession(
        user_id=user.id, created_at=now, last_seen_at=now, previous_sign_in_at=user.last_login_at
    )
    db.session.add(record)
    db.session.flush()
    session.clear()
    login_user(user)
    session[SESSION_KEY] = record.id
    session.permanent = True
    if password and user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    events.record("auth.login", actor=user)
    db.session.commit()


def adopt_browser_preferences(user: User, *, locale: str, timezone: str | None) -> None:
    """Fill in the language and timezone the account was created without, from the browser
    it signs in with (the page's language, the zone its script reports); never overwrite."""
    changes = {"locale": locale, "timezone": timezone}
    changed = [field for field, value in changes.items() if value and getattr(user, field) is None]
    if not changed:
        return
    for field in changed:
        setattr(user, field, changes[field])
    events.record("user.updated", actor=user, data={"user_id": user.id, "fields": changed})
    db.session.commit()


def sign_out(user: User) -> None:
    """End this session on the server: a copy of its cookie stops working, and its
    live connections close (the event makes them be checked again)."""
    session_id = current_session_id()
    db.session.execute(delete(UserSession).where(UserSession.id == session_id))
    events.record("auth.logout", actor=user)
    db.session.commit()
    logout_user()
    session.clear()


def touch_session(session_id: int, now: datetime) -> None:
    """A statement, not the loaded row: a sign-out elsewhere may have deleted it. It
    commits alone, so any request may make it (WRITES_ALONE)."""
    db.session.execute(
        update(UserSession)
        .where(UserSession.id == session_id)
        .values(last_seen_at=now)
        .execution_options(**WRITES_ALONE)
    )
    db.session.commit()


# --- users --------------------------------------------------------------------


def _check_community(community_id: int | None) -> None:
    if community_id is not None and db.session.get(Community, community_id) is None:
        raise invalid({"community_id": "No such community."})


def create_user(
    actor: User | None,
    *,
    email: str,
    name: str,
    community_id: int | None = None,
    password: str | None = None,
    is_secretariat: bool = False,
    locale: str | None = None,
    timezone: str | None = None,
    is_demo: bool = False,
    commit: bool = True,
) -> User:
    """Add an account; `commit=False` leaves it in the caller's transaction (an invitation
    accepted creates the account, its membership and the session at once)."""
    email = normalize_email(email)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise conflict("A user with this email already exists.", fields={"email": "Taken."})
    _check_community(community_id)
    user = User(
        email=email,
        name=name,
        community_id=community_id,
        is_secretariat=is_secretariat,
        password_hash=hash_password(password) if password else None,
        locale=locale,
        timezone=timezone,
        is_demo=is_demo,
        active=True,
        session_epoch=0,
    )
    db.session.add(user)
    db.session.flush()
    events.record(
        "user.created",
        actor=actor,
        data={"user_id": user.id, "email": email, "is_secretariat": is_secretariat},
    )
    if commit:
        db.session.commit()
    return user


def update_user(actor: User, user: User, changes: dict[str, Any]) -> User:
    """Apply the given fields; a password change or deactivation ends the user's sessions.
    A focal point who moves to another community (or none) stops being one."""
    if "community_id" in changes:
        _check_community(changes["community_id"])
        if changes["community_id"] != user.community_id:
            changes.setdefault("is_focal_point", False)
    if changes.get("is_focal_point") and changes.get("community_id", user.community_id) is None:
        raise invalid({"is_focal_point": "Only a person of a community can be its focal point."})
    if "email" in changes:
        changes["email"] = normalize_email(changes["email"])
        taken = db.session.scalar(
            select(User.id).where(User.email == changes["email"], User.id != user.id)
        )
        if taken is not None:
            raise conflict("A user with this email already exists.", fields={"email": "Taken."})
    changed = []
    for field, value in changes.items():
        if field == "password":
            user.password_hash = hash_password(value)
            user.session_epoch += 1
            changed.append("password")
            continue
        if getattr(user, field) != value:
            setattr(user, field, value)
            changed.append(field)
    if changes.get("email_notifications") == "daily" and "email_notifications" in changed:
        user.digest_sent_at = utcnow()  # the first summary covers from now
    if changes.get("active") is False and "active" in changed:
        user.session_epoch += 1
        revoke_all_tokens(user)
    if changed:
        verb = "user.deactivated" if "active" in changed and not user.active else "user.updated"
        events.record(verb, actor=actor, data={"user_id": user.id, "fields": sorted(changed)})
        db.session.commit()
    return user


def change_own_password(user: User, current: str, new: str) -> None:
    if not verify_password(user.password_hash, current):
        raise invalid({"current_password": "This is not your current password."})
    update_user(user, user, {"password": new})
    login_user(user)  # keep this session, now under the new epoch


# --- API tokens ---------------------------------------------------------------


def create_token(user: User, name: str, days: int | None = None) -> tuple[ApiToken, str]:
    """A new token living `days` (the default lifetime when None, never more than the
    longest); the plain value is returned here once and never stored."""
    days = days or setting("TOKEN_DEFAULT_DAYS")
    longest = setting("TOKEN_MAX_DAYS")
    if days > longest:
        raise ApiError(
            400,
            "invalid",
            "The token would live too long.",
            fields={"expires_in_days": f"At most {longest} days."},
        )
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=ApiToken.hash(plain),
        created_at=utcnow(),
        expires_at=utcnow() + timedelta(days=days),
    )
    db.session.add(token)
    db.session.flush()
    events.record("token.created", actor=user, data={"token_id": token.id, "name": name})
    db.session.commit()
    return token, plain


def revoke_token(actor: User, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        events.record("token.revoked", actor=actor, data={"token_id": token.id})
        db.session.commit()


def revoke_all_tokens(user: User) -> None:
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def touch_token(token: ApiToken, now: datetime) -> None:
    """One statement that commits alone, so any request may make it (WRITES_ALONE)."""
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.id == token.id)
        .values(last_used_at=now)
        .execution_options(**WRITES_ALONE)
    )
    db.session.commit()


# --- notifications ------------------------------------------------------------


def mark_notifications_read(user: User, ids: list[int]) -> int:
    result = db.session.execute(
        update(Notification)
        .where(
            Notification.user_id == user.id,
            Notification.id.in_(ids),
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
    )
    db.session.commit()
    return result.rowcount or 0


# Called with (event, recipient ids) inside the change's transaction by `notify`: the
# e-mail of notifications (portal.work.mails) registers itself here at start-up.
NotifyListener = Callable[[Any, set[int]], None]
_notify_listeners: list[NotifyListener] = []


def on_notify(listener: NotifyListener) -> NotifyListener:
    if listener not in _notify_listeners:
        _notify_listeners.append(listener)
    return listener


def notify(event: Any, user_ids: Iterable[int], *, actor: User | None) -> None:
    """Bring an event to these users' attention (never to the actor who caused it).

    Called inside the change's transaction; the list endpoint re-checks that each
    user may still read what it is about.
    """
    recipients = set(user_ids) - ({actor.id} if actor is not None else set())
    if not recipients:
        return
    db.session.flush()  # the event needs its id
    db.session.add_all(Notification(user_id=uid, event_id=event.id) for uid in sorted(recipients))
    for listener in _notify_listeners:
        listener(event, recipients)
