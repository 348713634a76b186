"""The secretariat's review pages: the queue of publication requests, and one request
with a preview of exactly what approval would publish."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import TextAreaField
from wtforms.validators import Length

from .. import permissions
from ..documents.models import DocumentVersion
from ..extensions import db
from ..pages import page
from ..text import render_markdown
from . import service

bp = Blueprint("review", __name__, url_prefix="/review")


class DecisionForm(FlaskForm):
    reason = TextAreaField(lazy_gettext("Reason (required to reject)"), [Length(max=2000)])


@bp.get("")
@page(access=permissions.secretariat)
def queue() -> str:
    return render_template("public/review_queue.html", rows=service.review_queue())


def _render(item_id: int, form: DecisionForm, status: int = 200) -> tuple[str, int]:
    item = permissions.load_for_publication(item_id, "approve")
    pending = service.pending_request(item)
    preview = service.public_copy_of(item, pending.submitted_by_id if pending else None)
    version_id = preview["document_version_id"]
    page_html = render_template(
        "public/review_item.html",
        item=item,
        pending=pending,
        preview=preview,
        body_html=render_markdown(preview["body"]),
        version=db.session.get(DocumentVersion, version_id) if version_id else None,
        form=form,
    )
    return page_html, status


@bp.get("/<int:item_id>")
@page(access=permissions.secretariat)
def request_page(item_id: int) -> tuple[str, int]:
    return _render(item_id, DecisionForm())


@bp.post("/<int:item_id>")
@page(access=permissions.secretariat)
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
        service.approve(current_user, item)
        flash(gettext("Published: %(title)s", title=item.title))
    else:
        service.reject(current_user, item, reason)
        flash(gettext("Rejected: %(title)s", title=item.title))
    return redirect(url_for("review.queue"), 303)
