"""JSON routes of accounts: sign-in, the caller's own account, user administration."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import Select, func, or_, select

from .. import permissions
from ..api import (
    API_PREFIX,
    ApiError,
    PageQuery,
    changes_of,
    endpoint,
    iso,
    paginate,
    setting,
)
from ..extensions import db, limiter
from ..network.models import Community
from ..workspaces.models import Membership, Workspace
from . import password_reset, service, two_factor
from .models import ApiToken, Notification, User
from .schemas import (
    LoginBody,
    NotificationQuery,
    PasswordBody,
    PreferencesBody,
    ProfileBody,
    ReadBody,
    ResetBody,
    ResetRequestBody,
    TokenBody,
    TwoFactorConfirmBody,
    TwoFactorOffBody,
    TwoFactorStartBody,
    UserCreateBody,
    UserQuery,
    UserUpdateBody,
)

bp = Blueprint("accounts_api", __name__, url_prefix=API_PREFIX)


# --- serializers --------------------------------------------------------------


def user_summary(user: User) -> dict[str, Any]:
    """How a user appears next to something they did or belong to."""
    return {"id": user.id, "name": user.name}


def user_json(user: User) -> dict[str, Any]:
    """The whole account, for the person themselves and the secretariat: others read
    people through the contacts (`permissions.contact_details`)."""
    community = user.community
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "community": (
            {"id": community.id, "slug": community.slug, "name": community.name}
            if community
            else None
        ),
        "is_secretariat": user.is_secretariat,
        "active": user.active,
        "locale": user.locale,
        "timezone": user.timezone,
        "email_notifications": user.email_notifications,
        "is_focal_point": user.is_focal_point,
        "position": user.position,
        "phone": user.phone,
        "show_email": user.show_email,
        "show_phone": user.show_phone,
        "show_position": user.show_position,
        "created_at": iso(user.created_at),
        "last_login_at": iso(user.last_login_at),
    }


def me_json(user: User) -> dict[str, Any]:
    rows = db.session.execute(
        select(Workspace.id, Workspace.name, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user.id)
        .order_by(Workspace.name)
    )
    return user_json(user) | {
        "workspaces": [{"id": id_, "name": name, "role": str(role)} for id_, name, role in rows]
    }


def token_json(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "created_at": iso(token.created_at),
        "expires_at": iso(token.expires_at),
        "last_used_at": iso(token.last_used_at),
        "revoked_at": iso(token.revoked_at),
    }


def notification_json(notification: Notification, event: Any = None) -> dict[str, Any]:
    """A notification as listed and as sent live; `event` is the row or its committed
    snapshot (the live path has no session to load it)."""
    event = event if event is not None else notification.event
    return {
        "id": notification.id,
        "read_at": iso(notification.read_at),
        "event": {
            "id": event.id,
            "verb": event.verb,
            "at": iso(event.at),
            "workspace_id": event.workspace_id,
            "item_id": event.item_id,
        },
    }


# --- sign-in ------------------------------------------------------------------


def _login_failed(_response: Any) -> bool:
    return bool(g.get("login_failed"))


def _account_key() -> str:
    """The account a sign-in or reset is about: the posted email, else (the sign-in
    page's second step, which asks only for the code) the one awaiting its code."""
    from flask import request

    data = request.get_json(silent=True) if request.is_json else request.form
    email = data.get("email") if isinstance(data, dict) else None
    if not isinstance(email, str):
        pending = session.get(two_factor.PENDING_KEY)
        email = pending.get("email") if isinstance(pending, dict) else None
    return "account:" + (email.strip().lower() if isinstance(email, str) else "")


def login_limits(view: Any) -> Any:
    """Failed sign-ins (a wrong code included) are limited per client address and per account."""
    limit = lambda: setting("LOGIN_RATE_LIMIT")
    view = limiter.shared_limit(limit, scope="login-address", deduct_when=_login_failed)(view)
    return limiter.shared_limit(
        limit, scope="login-account", key_func=_account_key, deduct_when=_login_failed
    )(view)


def reset_limits(view: Any) -> Any:
    """Every password-reset request counts (each may send a mail), per client address
    and per e-mail address."""
    limit = lambda: setting("RESET_RATE_LIMIT")
    view = limiter.shared_limit(limit, scope="reset-address", methods=["POST"])(view)
    return limiter.shared_limit(
        limit, scope="reset-account", key_func=_account_key, methods=["POST"]
    )(view)


def two_factor_off_limits(view: Any) -> Any:
    """Wrong passwords or codes when turning two-factor sign-in off count against the
    account as failed sign-ins do: a stolen session cannot try every code."""
    return limiter.shared_limit(
        lambda: setting("LOGIN_RATE_LIMIT"),
        scope="two-factor-off",
        key_func=lambda: f"user:{current_user.id}",
        deduct_when=lambda response: response.status_code == 400,
    )(view)


@bp.post("/auth/login")
@login_limits
@endpoint(access=permissions.anyone, body=LoginBody)
def login(body: LoginBody) -> dict[str, Any]:
    """Sign in with email and password (and `otp` when two-factor sign-in is on)."""
    user = service.authenticate(body.email, body.password)
    if user is None:
        g.login_failed = True
        raise ApiError(401, "unauthenticated", "Wrong email or password.")
    if two_factor.is_enabled(user):
        if body.otp is None:
            raise ApiError(401, "otp_required", "Send the code of your authenticator app as `otp`.")
        if not two_factor.verify(user, body.otp):
            g.login_failed = True
            raise ApiError(401, "unauthenticated", "Wrong code.")
    service.sign_in(user, body.password)
    return me_json(user) | {"csrf_token": generate_csrf()}


login.csrf_exempt = True  # type: ignore[attr-defined]  # JSON-only, see auth.py


@bp.post("/auth/logout")
@endpoint(access=permissions.signed_in)
def logout() -> dict[str, Any]:
    """End the session."""
    service.sign_out(current_user)
    return {"signed_out": True}


@bp.post("/auth/password-reset")
@reset_limits
@endpoint(access=permissions.anyone, body=ResetRequestBody, status=202)
def request_password_reset(body: ResetRequestBody) -> dict[str, Any]:
    """E-mail a one-hour reset link if an active account has this address; the same
    answer either way."""
    password_reset.request_reset(body.email)
    return {"accepted": True}


@bp.post("/auth/password-reset/<token>")
@endpoint(access=permissions.anyone, body=ResetBody, status=204)
def reset_password(token: str, body: ResetBody) -> tuple[str, int]:
    """Set a new password with the link's token; every session of the user ends."""
    password_reset.reset_password(token, body.password)
    return "", 204


@bp.get("/auth/csrf")
@endpoint(access=permissions.anyone)
def csrf_token() -> dict[str, Any]:
    """The CSRF token for cookie-authenticated unsafe requests."""
    return {"csrf_token": generate_csrf()}


# --- the caller ---------------------------------------------------------------


@bp.get("/me")
@endpoint(access=permissions.signed_in)
def me() -> dict[str, Any]:
    """The signed-in user and their workspaces."""
    return me_json(current_user)


@bp.patch("/me")
@endpoint(access=permissions.signed_in, body=ProfileBody)
def update_me(body: ProfileBody) -> dict[str, Any]:
    """Change one's own name, language, timezone or contact details (position, phone,
    and which of e-mail, phone and position the other members see)."""
    service.update_user(current_user, current_user, changes_of(body))
    return me_json(current_user)


def preferences_json(user: User) -> dict[str, Any]:
    return {
        "locale": user.locale,
        "timezone": user.timezone,
        "email_notifications": user.email_notifications,
    }


@bp.get("/me/preferences")
@endpoint(access=permissions.signed_in)
def get_preferences() -> dict[str, Any]:
    """How and in which language the user hears from the portal."""
    return preferences_json(current_user)


@bp.patch("/me/preferences")
@endpoint(access=permissions.signed_in, body=PreferencesBody)
def update_preferences(body: PreferencesBody) -> dict[str, Any]:
    """Change the language, timezone or e-mail notifications (immediate, daily, off)."""
    service.update_user(current_user, current_user, changes_of(body))
    return preferences_json(current_user)


@bp.post("/me/password")
@endpoint(access=permissions.signed_in, body=PasswordBody)
def change_password(body: PasswordBody) -> dict[str, Any]:
    """Change one's own password; other sessions and their cookies end."""
    service.change_own_password(current_user, body.current_password, body.new_password)
    return {"changed": True, "csrf_token": generate_csrf()}


@bp.post("/me/2fa")
@endpoint(access=permissions.signed_in, body=TwoFactorStartBody)
def start_two_factor(body: TwoFactorStartBody) -> dict[str, Any]:
    """Begin two-factor sign-in: a new secret for the authenticator app."""
    secret, uri = two_factor.begin_setup(current_user, body.password)
    return {"secret": secret, "otpauth_uri": uri}


@bp.post("/me/2fa/confirm")
@endpoint(access=permissions.signed_in, body=TwoFactorConfirmBody)
def confirm_two_factor(body: TwoFactorConfirmBody) -> dict[str, Any]:
    """Turn two-factor sign-in on with a code of the app; the recovery codes, shown once."""
    return {"recovery_codes": two_factor.confirm(current_user, body.code)}


@bp.delete("/me/2fa")
@two_factor_off_limits
@endpoint(access=permissions.signed_in, body=TwoFactorOffBody)
def stop_two_factor(body: TwoFactorOffBody) -> tuple[str, int]:
    """Turn two-factor sign-in off (password and a code again)."""
    two_factor.disable(current_user, body.password, body.code)
    return "", 204


@bp.get("/me/tokens")
@endpoint(access=permissions.signed_in, query=PageQuery)
def list_tokens(query: PageQuery) -> dict[str, Any]:
    """The caller's API tokens (never their values)."""
    return paginate(permissions.own_tokens(current_user), query, token_json)


@bp.post("/me/tokens")
@endpoint(access=permissions.signed_in, body=TokenBody, status=201)
def create_token(body: TokenBody) -> dict[str, Any]:
    """Create an API token; its value is shown in this response only."""
    token, plain = service.create_token(current_user, body.name, body.expires_in_days)
    return token_json(token) | {"token": plain}


@bp.delete("/me/tokens/<int:token_id>")
@endpoint(access=permissions.signed_in)
def revoke_token(token_id: int) -> dict[str, Any]:
    """Revoke one of the caller's tokens at once."""
    token = permissions.load_own_token(token_id)
    service.revoke_token(current_user, token)
    return token_json(token)


@bp.get("/me/notifications")
@endpoint(access=permissions.signed_in, query=NotificationQuery)
def list_notifications(query: NotificationQuery) -> dict[str, Any]:
    """The caller's notifications about what they may still read, newest first."""
    statement = permissions.visible_notifications(current_user).order_by(Notification.id.desc())
    if query.unread:
        statement = statement.where(Notification.read_at.is_(None))
    return paginate(statement, query, notification_json)


@bp.post("/me/notifications/read")
@endpoint(access=permissions.signed_in, body=ReadBody)
def read_notifications(body: ReadBody) -> dict[str, Any]:
    """Mark notifications read."""
    return {"marked": service.mark_notifications_read(current_user, body.ids)}


# --- user administration (secretariat) ----------------------------------------


def person_filters(query: UserQuery, person: Any) -> list[Any]:
    """The conditions of `query`'s text, community, member state and secretariat filters
    on `person`, a model with `name`, `email`, `community_id` and `is_secretariat` (a
    user, or an invitation the console lists beside them)."""
    conditions: list[Any] = []
    if query.q:
        text = query.q.lower()
        conditions.append(
            or_(
                func.lower(person.name).contains(text, autoescape=True),
                person.email.contains(text, autoescape=True),
            )
        )
    if query.community_id is not None:
        conditions.append(person.community_id == query.community_id)
    if query.member_state is not None:
        code = query.member_state.upper()
        state = select(Community.id).where(Community.member_state_code == code)
        conditions.append(person.community_id.in_(state))
    if query.is_secretariat is not None:
        conditions.append(person.is_secretariat.is_(query.is_secretariat))
    return conditions


def filtered_users(query: UserQuery) -> Select[tuple[User]]:
    """The users matching the filters (name or e-mail, community, member state,
    secretariat, active), by name; the API's list and the console's."""
    statement = select(User).where(*person_filters(query, User))
    if query.active is not None:
        statement = statement.where(User.active.is_(query.active))
    return statement.order_by(func.lower(User.name), User.id)


@bp.get("/users")
@endpoint(access=permissions.secretariat, query=UserQuery)
def list_users(query: UserQuery) -> dict[str, Any]:
    """All users, filtered by text, community, member state, secretariat or active state."""
    return paginate(filtered_users(query), query, user_json)


@bp.post("/users")
@endpoint(access=permissions.secretariat, body=UserCreateBody, status=201)
def create_user(body: UserCreateBody) -> dict[str, Any]:
    """Add a user (without a password they cannot sign in yet)."""
    user = service.create_user(current_user, **body.model_dump())
    return user_json(user)


@bp.get("/users/<int:user_id>")
@endpoint(access=permissions.secretariat)
def get_user(user_id: int) -> dict[str, Any]:
    """One user."""
    return user_json(permissions.load_user(user_id))


@bp.patch("/users/<int:user_id>")
@endpoint(access=permissions.secretariat, body=UserUpdateBody)
def update_user(user_id: int, body: UserUpdateBody) -> dict[str, Any]:
    """Change a user; `active: false` signs them out everywhere and revokes their tokens."""
    user = permissions.load_user(user_id)
    changes = changes_of(body, nullable={"community_id"})
    permissions.check_user_change(user, changes)
    return user_json(service.update_user(current_user, user, changes))
