"""The secretariat's review pages: the queue of publication requests, and one request
with a preview of exactly what approval would publish (the copy submitted, its file
included), and what changed in the item since it was submitted."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import IntegerField, TextAreaField
from wtforms.validators import Length, Optional
from wtforms.widgets import HiddenInput

from .. import permissions
from ..api import ApiError, not_found
from ..documents.api import send_version
from ..documents.models import DocumentVersion
from ..extensions import db
from ..network.models import Community, MemberState
from ..pages import page
from ..text import line_diff, render_markdown
from . import service
from .views import country_name, language_name, meeting_time

bp = Blueprint("review", __name__, url_prefix="/review")

# The fields of a public copy, as the diff names them, in the order it lists them.
FIELD_NAMES = {
    "title": lazy_gettext("Title"),
    "body": lazy_gettext("Text"),
    "file": lazy_gettext("File"),
    "starts_at": lazy_gettext("Starts"),
    "ends_at": lazy_gettext("Ends"),
    "location": lazy_gettext("Place"),
    "status": lazy_gettext("Status"),
    "due_date": lazy_gettext("Due date"),
    "agenda": lazy_gettext("Agenda"),
    "tags": lazy_gettext("Keywords"),
    "language": lazy_gettext("Language of the text"),
    "community": lazy_gettext("Community"),
    "member_state": lazy_gettext("Member state"),
}


class DecisionForm(FlaskForm):
    reason = TextAreaField(lazy_gettext("Reason (required to reject)"), [Length(max=2000)])
    # The submission the page showed: approval refuses another one (a stale page).
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])


def _get(model: Any, key: Any) -> Any:
    return db.session.get(model, key) if key is not None else None


def _shown(copy: dict[str, Any]) -> dict[str, Any]:
    """A public copy with the rows it names: its file, community and member state."""
    return {
        "preview": copy,
        "version": _get(DocumentVersion, copy["document_version_id"]),
        "community": _get(Community, copy["community_id"]),
        "member_state": _get(MemberState, copy["member_state_code"]),
    }


def _lines(shown: dict[str, Any]) -> dict[str, list[str]]:
    """A public copy as lines of text by field, as a reader compares them."""
    copy, version, state = shown["preview"], shown["version"], shown["member_state"]
    details = copy["details"]
    lines = {
        "title": [copy["title"]],
        "body": copy["body"].splitlines(),
        "file": [f"{version.filename} · {gettext('version %(number)d', number=version.number)}"]
        if version is not None
        else [],
        "tags": [", ".join(copy["tags"])] if copy["tags"] else [],
        "language": [language_name(copy["language"])],
        "community": [shown["community"].name] if shown["community"] is not None else [],
        "member_state": [country_name(state.code, state.name)] if state is not None else [],
    }
    for name in ("starts_at", "ends_at"):
        if details.get(name):
            lines[name] = [meeting_time(details[name], details.get("timezone"))]
    for name in ("location", "status", "due_date"):
        if details.get(name):
            lines[name] = [str(details[name])]
    lines["agenda"] = list(details.get("agenda", []))
    return lines


def _changes(submitted: dict[str, Any], now: dict[str, Any]) -> list[tuple[str, Any]]:
    """(field name, diff rows) of each field that differs between two shown copies."""
    before, after = _lines(submitted), _lines(now)
    return [
        (str(label), line_diff(before.get(field, []), after.get(field, [])))
        for field, label in FIELD_NAMES.items()
        if before.get(field, []) != after.get(field, [])
    ]


@bp.get("")
@page(access=permissions.console)
def queue() -> str:
    return render_template("public/review_queue.html", rows=service.review_queue())


def _render(item_id: int, form: DecisionForm, status: int = 200) -> tuple[str, int]:
    item = permissions.load_for_publication(item_id, "approve")
    pending = service.submission(item)
    context: dict[str, Any] = {"item": item, "pending": pending, "form": form}
    if pending is not None:
        form.version.data = pending.request.item_version
        shown = _shown(pending.copy)
        context |= shown | {
            "body_html": render_markdown(pending.copy["body"]),
            "changes": _changes(shown, _shown(pending.current)) if pending.changed else [],
        }
    return render_template("public/review_item.html", **context), status


@bp.get("/<int:item_id>")
@page(access=permissions.console)
def request_page(item_id: int) -> tuple[str, int]:
    return _render(item_id, DecisionForm())


@bp.get("/<int:item_id>/file")
@page(access=permissions.console)
def submitted_file(item_id: int) -> Response:
    """The file of the pending submission: the very version approval would publish."""
    pending = service.submission(permissions.load_for_publication(item_id, "approve"))
    version = _get(DocumentVersion, pending.copy["document_version_id"]) if pending else None
    if version is None:
        raise not_found("file")
    return send_version(version)


@bp.post("/<int:item_id>")
@page(access=permissions.console)
def decide(item_id: int) -> tuple[str, int] | Response:
    form = DecisionForm()
    action = request.form.get("action")
    if action not in ("approve", "reject") or not form.validate_on_submit():
        return _render(item_id, form, 400)
    reason = (form.reason.data or "").strip()
    if action == "reject" and not reason:
        form.reason.errors = [gettext("Say why the item is rejected.")]
        return _render(item_id, form, 400)
    item = permissions.load_for_publication(item_id, action)
    if action == "approve":
        try:
            service.approve(current_user, item, version=form.version.data)
        except ApiError as refusal:
            if refusal.status != 409:
                raise
            # Post/Redirect/Get: the page, shown again, says what changed.
            flash(gettext("Not published: the request changed since you opened it. See it again."))
            return redirect(url_for("review.request_page", item_id=item_id), 303)
        flash(gettext("Published: %(title)s", title=item.title))
    else:
        service.reject(current_user, item, reason)
        flash(gettext("Rejected: %(title)s", title=item.title))
    return redirect(url_for("review.queue"), 303)
