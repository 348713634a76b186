"""My account: name, language and timezone, the password, API tokens and the calendar
link, with the state of the e-mail settings and of two-factor sign-in (their own pages).

Each section is a form of its own posting to its own route; an error shows the whole
page again with that form's errors. A new API token or calendar link is answered on
the page itself (no-store) instead of a redirect: it is shown this once and kept
nowhere, not even in the session cookie.
"""

from __future__ import annotations

from typing import Any

from flask import flash, make_response, redirect, request, url_for
from flask_babel import force_locale, gettext
from flask_login import current_user
from werkzeug.wrappers import Response

from .. import permissions
from ..api import ApiError, changes_of, setting
from ..events import utcnow
from ..extensions import db
from ..i18n import LANGUAGE_NAMES, LANGUAGES, current_language, remember_language
from ..meetings import calendar_service
from ..meetings.calendar_api import feed_urls
from ..pages import page, parse_form, render
from . import service, two_factor
from .models import ApiToken
from .passwords import MIN_LENGTH
from .schemas import PasswordBody, ProfileBody, TokenBody, timezone_choices
from .views import EMAIL_CHOICES, bp, new_password_errors

# The lifetimes offered for a new API token, in days (those above the longest allowed
# are left out).
TOKEN_LIFETIMES = (7, 30, 90, 180, 365)


def _token_lifetimes() -> list[tuple[int, str]]:
    longest = setting("TOKEN_MAX_DAYS")
    days = sorted({*(d for d in TOKEN_LIFETIMES if d <= longest), setting("TOKEN_DEFAULT_DAYS")})
    return [(d, gettext("%(num)d days", num=d)) for d in days]


def _account_page(
    *,
    status: int = 200,
    profile: dict[str, str] | None = None,
    profile_errors: dict[str, str] | None = None,
    password_errors: dict[str, str] | None = None,
    token_errors: dict[str, str] | None = None,
    new_token: tuple[ApiToken, str] | None = None,
    feeds: list[dict[str, Any]] | None = None,
) -> Response:
    """The page, with what one form posted (`profile`...) and its errors, or a secret
    just made (`new_token`, `feeds`), which the browser must not keep."""
    user = current_user._get_current_object()
    shown = {
        "name": user.name,
        "locale": user.locale or current_language(),
        "timezone": user.timezone or "",
    } | (profile or {})
    tokens = db.session.scalars(
        permissions.own_tokens(user).where(ApiToken.revoked_at.is_(None))
    ).all()
    response = make_response(
        render(
            "accounts/account.html",
            profile=shown,
            profile_errors=profile_errors or {},
            password_errors=password_errors or {},
            token_errors=token_errors or {},
            languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
            timezones=[("", gettext("Choose your timezone")), *timezone_choices()],
            email_choice=dict(EMAIL_CHOICES).get(user.email_notifications),
            two_factor_on=two_factor.is_enabled(user),
            two_factor_since=two_factor.enabled_since(user),
            tokens=tokens,
            now=utcnow(),
            token_values=request.form if token_errors else {},
            lifetimes=_token_lifetimes(),
            default_lifetime=setting("TOKEN_DEFAULT_DAYS"),
            new_token=new_token,
            calendar_token=calendar_service.current_token(user),
            feeds=feeds,
            min_password_length=MIN_LENGTH,
        ),
        status,
    )
    if new_token or feeds is not None:
        response.headers["Cache-Control"] = "private, no-store"
    return response


def _back_to_the_page() -> Response:
    """After a form's success, to the page's top where the flashed message is: the
    anchor of the form's action (its section) would carry over the redirect otherwise."""
    return redirect(url_for("accounts.account_page", _anchor="main"), 303)


@bp.route("/account", methods=["GET", "POST"])
@page(access=permissions.signed_in)
def account_page() -> Response:
    """The page; a POST saves the name, language and timezone."""
    if request.method == "GET":
        return _account_page()
    body, errors = parse_form(ProfileBody)
    if not request.form.get("name", "").strip():
        errors["name"] = gettext("Fill in this field.")
    if "timezone" in errors:
        errors["timezone"] = gettext("Choose a timezone from the list.")
    if body is None or errors:
        typed = {k: v for k, v in request.form.items() if k in {"name", "locale", "timezone"}}
        return _account_page(status=400, profile=typed, profile_errors=errors)
    service.update_user(current_user, current_user, changes_of(body))
    response = _back_to_the_page()
    if body.locale:
        # The page follows the language chosen here, even where the switcher chose another.
        remember_language(response, body.locale)
    with force_locale(body.locale or current_language()):
        flash(gettext("Your name, language and timezone are saved."))
    return response


@bp.post("/account/password")
@page(access=permissions.signed_in)
def change_password() -> Response:
    body, errors = parse_form(PasswordBody)
    errors |= new_password_errors("new_password", "new_password_again")
    if body is not None and not errors:
        try:
            service.change_own_password(current_user, body.current_password, body.new_password)
        except ApiError:
            errors = {"current_password": gettext("This is not your current password.")}
        else:
            flash(
                gettext(
                    "Your password is changed. You stay signed in here; everywhere else "
                    "(other browsers, phones) you must sign in again with the new one."
                )
            )
            return _back_to_the_page()
    return _account_page(status=400, password_errors=errors)


@bp.post("/account/tokens")
@page(access=permissions.signed_in)
def create_token() -> Response:
    """Answered with the page that shows the new token's value, this once."""
    body, errors = parse_form(TokenBody)
    if body is not None:
        try:
            return _account_page(
                new_token=service.create_token(current_user, body.name, body.expires_in_days)
            )
        except ApiError as error:
            errors = dict(error.fields or {})
    if "expires_in_days" in errors:
        errors["expires_in_days"] = gettext("Choose one of the lifetimes in the list.")
    return _account_page(status=400, token_errors=errors)


@bp.post("/account/tokens/<int:token_id>/revoke")
@page(access=permissions.signed_in)
def revoke_token(token_id: int) -> Response | str:
    """Asked first (a page of its own, so it works without JavaScript), then done."""
    token = permissions.load_own_token(token_id)
    if request.form.get("confirm") != "yes":
        return render("accounts/token_revoke.html", token=token)
    service.revoke_token(current_user, token)
    flash(
        gettext(
            "The token “%(name)s” is revoked: programs that use it are refused from now on.",
            name=token.name,
        )
    )
    return _back_to_the_page()


@bp.post("/account/calendar")
@page(access=permissions.signed_in)
def calendar_link() -> Response:
    """A new personal calendar link (the old one stops working), shown this once; or
    none any more."""
    if request.form.get("action") == "revoke":
        calendar_service.revoke_tokens(current_user)
        flash(gettext("Your calendar link no longer works."))
        return _back_to_the_page()
    return _account_page(feeds=feed_urls(calendar_service.rotate_token(current_user)))
