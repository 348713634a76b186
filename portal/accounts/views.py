"""The sign-in and sign-out pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, Length

from .. import permissions
from ..api import changes_of
from ..i18n import current_language
from ..pages import page, parse_form, render
from . import service
from .api import login_limits
from .schemas import PreferencesBody, is_timezone

bp = Blueprint("accounts", __name__)


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
def login_page() -> str | Response:
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = service.authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            service.sign_in(user, form.password.data or "")
            zone = form.timezone.data or ""
            service.adopt_browser_preferences(
                user, locale=current_language(), timezone=zone if is_timezone(zone) else None
            )
            return redirect(_safe_next(request.args.get("next")))
        g.login_failed = True
        error = gettext("Wrong email or password.")
    status = 401 if error else (400 if request.method == "POST" else 200)
    return render_template("accounts/login.html", form=form, error=error), status


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
