"""The sign-in and sign-out pages, the forgotten password and two-factor sign-in."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import segno
from flask import (
    Blueprint,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext, lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from werkzeug.wrappers import Response
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, Length

from .. import permissions
from ..api import ApiError, changes_of
from ..extensions import db
from ..i18n import current_language
from ..pages import page, parse_form, render
from . import password_reset, service, two_factor
from .api import login_limits, reset_limits, two_factor_off_limits
from .models import User
from .passwords import MIN_LENGTH, HashingBusy
from .schemas import (
    CONTACT_BLANKS,
    ContactBody,
    PreferencesBody,
    ResetBody,
    ResetRequestBody,
    TwoFactorConfirmBody,
    TwoFactorOffBody,
    TwoFactorStartBody,
    is_timezone,
)

bp = Blueprint("accounts", __name__)

_WRONG_PASSWORD = lazy_gettext("This is not your password.")
_WRONG_CODE = lazy_gettext("That code is not right. Enter the code your app shows now.")


class LoginForm(FlaskForm):
    email = EmailField(lazy_gettext("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(lazy_gettext("Password"), validators=[DataRequired(), Length(max=256)])
    # The browser's IANA timezone, put there by static/js/timezone.js; anything else is ignored.
    timezone = HiddenField()


def _safe_next(target: str | None) -> str:
    """Only same-site paths: `next=https://evil.example` becomes My work."""
    if not target:
        return url_for("work.my_work")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("work.my_work")
    return target


@bp.route("/login", methods=["GET", "POST"])
@login_limits
@page(access=permissions.anyone)
def login_page() -> str | tuple[str, int] | tuple[str, int, dict[str, str]] | Response:
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = service.authenticate(form.email.data or "", form.password.data or "")
        except HashingBusy as busy:
            error = gettext(
                "Many people are signing in right now. Please try again in a few seconds."
            )
            page = render_template("accounts/login.html", form=form, error=error)
            return page, busy.status, busy.headers
        zone = form.timezone.data or ""
        if user is not None and two_factor.is_enabled(user):
            # The password was right; the code is asked for on a page of its own.
            session[two_factor.PENDING_KEY] = {
                "user_id": user.id,
                "epoch": user.session_epoch,
                "email": user.email,
                "at": int(time.time()),
                "timezone": zone,
            }
            return redirect(url_for(".login_code_page", next=request.args.get("next")), 303)
        if user is not None:
            service.sign_in(user, form.password.data or "")
            return _signed_in(user, zone)
        g.login_failed = True
        error = gettext("Wrong email or password.")
    status = 401 if error else (400 if request.method == "POST" else 200)
    return render_template("accounts/login.html", form=form, error=error), status


def _signed_in(user: User, zone: str) -> Response:
    service.adopt_browser_preferences(
        user, locale=current_language(), timezone=zone if is_timezone(zone) else None
    )
    return redirect(_safe_next(request.args.get("next")))


def _pending_sign_in() -> tuple[User, dict[str, Any]] | None:
    """The user whose password was right a moment ago in this browser, awaiting the code."""
    pending = session.get(two_factor.PENDING_KEY)
    if not isinstance(pending, dict) or not isinstance(pending.get("user_id"), int):
        return None
    if time.time() - float(pending.get("at", 0)) > two_factor.PENDING_SECONDS:
        return None
    user = db.session.get(User, pending["user_id"])
    if user is None or not user.active or user.session_epoch != pending.get("epoch"):
        return None
    return user, pending


@bp.route("/login/code", methods=["GET", "POST"])
@login_limits
@page(access=permissions.anyone)
def login_code_page() -> str | Response | tuple[str, int]:
    """The second step of signing in with two-factor sign-in on: the app's code."""
    found = _pending_sign_in()
    if found is None:
        session.pop(two_factor.PENDING_KEY, None)
        if request.method == "POST":
            flash(gettext("That took too long. Sign in again."))
        return redirect(url_for(".login_page", next=request.args.get("next")), 303)
    user, pending = found
    errors: dict[str, str] = {}
    if request.method == "POST":
        body, errors = parse_form(TwoFactorConfirmBody)
        if body is not None:
            if two_factor.verify(user, body.code):
                service.sign_in(user, None)
                return _signed_in(user, str(pending.get("timezone") or ""))
            g.login_failed = True
            errors = {"code": str(_WRONG_CODE)}
    status = (401 if g.get("login_failed") else 400) if errors else 200
    return render_template("accounts/login_code.html", errors=errors), status


@bp.post("/logout")
@page(access=permissions.anyone)
def logout_page() -> Response:
    form = FlaskForm()
    if current_user.is_authenticated and form.validate_on_submit():
        service.sign_out(current_user)
    return redirect(url_for("public.home"))


EMAIL_CHOICES = (
    ("immediate", lazy_gettext("At once: one e-mail for each notification")),
    ("daily", lazy_gettext("Once a day: a summary at 07:00 in my timezone")),
    ("off", lazy_gettext("Never: I read my notifications in the portal")),
)


@bp.route("/account/notifications", methods=["GET", "POST"])
@page(access=permissions.signed_in)
def notification_preference() -> str | tuple[str, int] | Response:
    """How the portal writes to the user (the link of every notification e-mail and of
    its List-Unsubscribe header)."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        body, errors = parse_form(PreferencesBody)
        if body is not None and body.email_notifications is None:
            errors["email_notifications"] = gettext("Choose one of the options.")
        if body is not None and not errors:
            service.update_user(current_user, current_user, changes_of(body))
            flash(gettext("Your e-mail settings are saved."))
            return redirect(url_for("accounts.notification_preference"), 303)
    chosen = request.form.get("email_notifications", current_user.email_notifications)
    return render(
        "accounts/notifications.html", choices=EMAIL_CHOICES, chosen=chosen, errors=errors
    ), (400 if errors else 200)


@bp.route("/account/contact", methods=["GET", "POST"])
@page(access=permissions.signed_in)
def contact_details_page() -> str | tuple[str, int] | Response:
    """One's position and phone, and which of them (and the e-mail) the other members
    see on the contacts page. The whole form is sent: an emptied field or an unticked
    box clears what it stood for."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        body, errors = parse_form(ContactBody)
        if body is not None:
            changes = {
                name: blank if (value := getattr(body, name)) is None else value
                for name, blank in CONTACT_BLANKS.items()
            }
            service.update_user(current_user, current_user, changes)
            flash(gettext("Your contact details are saved."))
            return redirect(url_for("accounts.contact_details_page"), 303)
        values = {
            name: request.form.get(name, "") if isinstance(blank, str) else name in request.form
            for name, blank in CONTACT_BLANKS.items()
        }
    else:
        values = {name: getattr(current_user, name) for name in CONTACT_BLANKS}
    return render("accounts/contact.html", values=values, errors=errors), (400 if errors else 200)


# --- a forgotten password -----------------------------------------------------------


@bp.route("/forgot-password", methods=["GET", "POST"])
@reset_limits
@page(access=permissions.anyone)
def forgot_password_page() -> str | Response | tuple[str, int]:
    """Ask for a reset link; the answer never tells whether the address has an account."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        body, errors = parse_form(ResetRequestBody)
        if body is not None:
            password_reset.request_reset(body.email)
            flash(
                gettext(
                    "If an account has the address %(email)s, a link to choose a new "
                    "password is on its way to it. The link works for one hour.",
                    email=body.email,
                )
            )
            return redirect(url_for(".forgot_password_page"), 303)
    return render_template("accounts/forgot_password.html", errors=errors, values=request.form), (
        400 if errors else 200
    )


def new_password_errors(field: str, again_field: str) -> dict[str, str]:
    """A new password's rules, as people read them, for the form's two fields: long
    enough (the model says only "fill in" for a short one), and typed the same twice."""
    typed = request.form.get(field, "")
    if 0 < len(typed) < MIN_LENGTH:
        return {field: gettext("Use at least %(num)d characters.", num=MIN_LENGTH)}
    if typed and request.form.get(again_field) != typed:
        return {again_field: gettext("Type the same password twice.")}
    return {}


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@page(access=permissions.anyone)
def reset_password_page(token: str) -> str | Response | tuple[str, int]:
    """Choose a new password through the mailed link."""
    if password_reset.usable_reset(token) is None:
        return render_template("accounts/reset_link_gone.html"), 404
    errors: dict[str, str] = {}
    if request.method == "POST":
        body, errors = parse_form(ResetBody)
        errors |= new_password_errors("password", "password_again")
        if body is not None and not errors:
            try:
                password_reset.reset_password(token, body.password)
            except ApiError:  # used a moment ago in another tab
                return render_template("accounts/reset_link_gone.html"), 404
            flash(gettext("Your password is changed. Sign in with it."))
            return redirect(url_for(".login_page"), 303)
    return render_template("accounts/reset_password.html", errors=errors, min_length=MIN_LENGTH), (
        400 if errors else 200
    )


# --- two-factor sign-in -------------------------------------------------------------


def _qr_code(uri: str) -> Markup:
    """The otpauth URI as inline SVG markup (no script, no data: URL)."""
    svg = segno.make(uri, error="m").svg_inline(
        omitsize=True,  # a viewBox instead: the stylesheet sizes it
        dark="#000",
        light="#fff",
        svgclass="qr",
        title=gettext("QR code for your authenticator app"),
    )
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S704 - segno's own markup


def _two_factor_page(errors: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    user = current_user._get_current_object()
    setup = two_factor.pending_setup(user)
    return render_template(
        "accounts/two_factor.html",
        enabled=two_factor.is_enabled(user),
        since=two_factor.enabled_since(user),
        codes_left=two_factor.recovery_codes_left(user),
        setup=setup,
        qr=_qr_code(setup[1]) if setup else None,
        required=two_factor.must_set_up(user),
        errors=errors or {},
    ), status


def _field_errors(error: ApiError) -> dict[str, str]:
    """A service's refusal of a field, in the page's language."""
    fields = error.fields or {}
    return {name: str(_WRONG_PASSWORD if name == "password" else _WRONG_CODE) for name in fields}


@bp.get("/account/two-factor")
@page(access=permissions.signed_in)
def two_factor_page() -> tuple[str, int]:
    return _two_factor_page()


@bp.post("/account/two-factor/start")
@page(access=permissions.signed_in)
def two_factor_start() -> Response | tuple[str, int]:
    body, errors = parse_form(TwoFactorStartBody)
    if body is None:
        return _two_factor_page(errors, 400)
    try:
        two_factor.begin_setup(current_user, body.password)
    except ApiError as error:
        if error.status != 400:
            return redirect(url_for(".two_factor_page"), 303)  # already on
        return _two_factor_page(_field_errors(error), 400)
    return redirect(url_for(".two_factor_page") + "#setup", 303)


@bp.post("/account/two-factor/confirm")
@page(access=permissions.signed_in)
def two_factor_confirm() -> Response | tuple[str, int]:
    """Answered with the recovery codes themselves, not a redirect: they are shown
    this once and kept nowhere."""
    body, errors = parse_form(TwoFactorConfirmBody)
    if body is None:
        return _two_factor_page(errors, 400)
    try:
        codes = two_factor.confirm(current_user, body.code)
    except ApiError as error:
        if error.status != 400:
            return redirect(url_for(".two_factor_page"), 303)
        return _two_factor_page(_field_errors(error), 400)
    response = make_response(render_template("accounts/recovery_codes.html", codes=codes))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/account/two-factor/off")
@two_factor_off_limits
@page(access=permissions.signed_in)
def two_factor_off() -> Response | tuple[str, int]:
    body, errors = parse_form(TwoFactorOffBody)
    if body is None:
        return _two_factor_page(errors, 400)
    try:
        two_factor.disable(current_user, body.password, body.code)
    except ApiError as error:
        if error.status != 400:
            return redirect(url_for(".two_factor_page"), 303)
        return _two_factor_page(_field_errors(error), 400)
    flash(gettext("Two-factor sign-in is off."))
    return redirect(url_for(".two_factor_page"), 303)
