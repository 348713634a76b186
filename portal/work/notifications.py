"""Notifications: the unread count in the header of every signed-in page, the list, and
marking them read (the API's `mark_notifications_read`)."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext, ngettext
from flask_login import current_user
from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from .. import permissions
from ..accounts import service
from ..accounts.models import Notification, without_community
from ..accounts.schemas import ReadBody
from ..events import Event
from ..extensions import db
from ..pages import page, parse_form, render
from . import activity, bp

PER_PAGE = 25


def unread(user: Any) -> Any:
    """The user's unread notifications about what they may still read."""
    return permissions.visible_notifications(user).where(Notification.read_at.is_(None))


# The header counts up to this many ("99+"): the count stops there, however many there are.
HEADER_COUNT_LIMIT = 100


@permissions.built_once_per_viewer
def header_statement(viewer: permissions.BoundViewer) -> Select[tuple[int, int | None]]:
    """The header's count and the newest event id (the page's live cursor, see live.py):
    every signed-in page shows both, so they are read in one round trip."""
    count = select(func.count()).select_from(unread(viewer).limit(HEADER_COUNT_LIMIT).subquery())
    return select(count.scalar_subquery(), select(func.max(Event.id)).scalar_subquery())


def header() -> tuple[int, int]:
    """(the header's count up to HEADER_COUNT_LIMIT, the newest event id, 0 before the
    first), read once per request: whichever the page asks for first reads both."""
    if "page_header" not in g:
        count, newest = db.session.execute(*header_statement(current_user)).one()
        g.page_header = (int(count or 0), int(newest or 0))
    return g.page_header  # type: ignore[no-any-return]


@bp.app_template_global()
def unread_notifications() -> int:
    """The header's count, up to HEADER_COUNT_LIMIT."""
    return header()[0]


def newest_unread(count: int) -> list[tuple[Notification, activity.Entry]]:
    """The viewer's newest `count` unread notifications (My work's), with sentences."""
    return notification_entries(*newest_unread_statement(current_user, count))


@permissions.built_once_per_viewer
def newest_unread_statement(
    viewer: permissions.BoundViewer, count: int
) -> Select[tuple[Notification]]:
    """`newest_unread`'s query."""
    return with_events(unread(viewer).order_by(Notification.id.desc()).limit(count))


def with_events(statement: Select[tuple[Notification]]) -> Select[tuple[Notification]]:
    """Notifications with what `notification_entries` reads of them, in the same query."""
    return statement.options(
        without_community(joinedload(Notification.event).joinedload(Event.actor))
    )


def notification_entries(
    statement: Select[tuple[Notification]], params: dict[str, Any] | None = None
) -> list[tuple[Notification, activity.Entry]]:
    """The notifications of a `with_events` statement with their events' sentences, in
    a fixed number of queries."""
    rows = list(db.session.scalars(statement, params))
    sentences = activity.entries([n.event for n in rows])
    return list(zip(rows, sentences, strict=True))


def _page_number() -> int:
    number = request.args.get("page", "1")
    return max(1, min(int(number), 100_000)) if number.isdigit() else 1


@bp.get("/notifications")
@page(access=permissions.signed_in)
def notifications_page() -> str:
    only_unread = request.args.get("unread") == "1"
    statement = (
        unread(current_user) if only_unread else permissions.visible_notifications(current_user)
    )
    total = db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    number = _page_number()
    rows = notification_entries(
        with_events(statement.order_by(Notification.id.desc()))
        .limit(PER_PAGE)
        .offset((number - 1) * PER_PAGE)
    )
    return render(
        "work/notifications.html",
        notifications=rows,
        total=total,
        page=number,
        per_page=PER_PAGE,
        only_unread=only_unread,
        page_url=lambda n: url_for(
            "work.notifications_page",
            page=n if n > 1 else None,
            unread="1" if only_unread else None,
        ),
    )


@bp.get("/notifications/badge")
@page(access=permissions.signed_in)
def notifications_badge() -> str:
    """The header's link alone, for its live refresh on `live:notifications`."""
    return render("work/_notifications_link.html")


def _back() -> Response:
    """To the list the form was on (its page and filter ride on the form's action)."""
    args = {"page": _page_number()} if _page_number() > 1 else {}
    if request.args.get("unread") == "1":
        args["unread"] = "1"
    return redirect(url_for("work.notifications_page", **args), 303)


@bp.post("/notifications/read")
@page(access=permissions.signed_in)
def read_notifications() -> Response:
    body, _errors = parse_form(ReadBody, lists=("ids",))
    if body is None or not body.ids:
        raise BadRequest()
    marked = service.mark_notifications_read(current_user, body.ids)
    if marked:
        flash(ngettext("Marked as read.", "%(num)d notifications marked as read.", marked))
    return _back()


@bp.post("/notifications/read-all")
@page(access=permissions.signed_in)
def read_all_notifications() -> Response:
    ids = list(db.session.scalars(unread(current_user).with_only_columns(Notification.id)))
    marked = service.mark_notifications_read(current_user, ids) if ids else 0
    flash(
        ngettext("Marked as read.", "%(num)d notifications marked as read.", marked)
        if marked
        else gettext("Nothing was unread.")
    )
    return _back()
