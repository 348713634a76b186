"""The invitation page: who invited the person to what, and the form that creates
their account (name, password, language, timezone) and signs them in on My work."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from .. import permissions
from ..accounts.passwords import MIN_LENGTH
from ..accounts.schemas import timezone_choices
from ..api import ApiError
from ..i18n import LANGUAGE_NAMES, LANGUAGES
from ..pages import page, parse_form, render
from . import service
from .schemas import AcceptBody

bp = Blueprint("onboarding", __name__)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@page(access=permissions.anyone)
def invitation_page(token: str) -> str | tuple[str, int] | Response:
    try:
        invitation = service.by_token(token)
    except ApiError:
        return render("onboarding/invitation_gone.html"), 404
    errors: dict[str, str] = {}
    values = {"name": invitation.name, "locale": invitation.locale, "timezone": ""}
    if request.method == "POST":
        values.update({k: v for k, v in request.form.items() if k in values})
        body, errors = parse_form(AcceptBody)
        if body is not None and request.form.get("password_again") != body.password:
            errors["password_again"] = gettext("The two passwords differ.")
        if body is not None and not errors:
            service.accept(
                invitation,
                name=body.name,
                password=body.password,
                locale=body.locale,
                timezone=body.timezone,
            )
            flash(gettext("Welcome to the Port Network Portal."))
            return redirect(url_for("work.my_work"), 303)
    status = 400 if errors else 200
    return render(
        "onboarding/invitation.html",
        invitation=invitation,
        values=values,
        errors=errors,
        languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        timezones=[("", gettext("Choose your timezone")), *timezone_choices()],
        min_password_length=MIN_LENGTH,
    ), status
