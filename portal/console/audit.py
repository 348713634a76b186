"""The audit log in the console: every event, newest first, as a sentence in the viewer's
language (`work.activity`'s own), filtered by who, what, which item, which group and
when (days in the viewer's timezone), and exported as CSV with the same filters.

The filters are read into the API's `AuditQuery` and the events come from
`network.audit.filtered_events`, the query `GET /api/v1/audit` runs."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from flask import Response, request, stream_with_context, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user
from pydantic import StringConstraints
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from .. import permissions
from ..accounts.models import User
from ..api import Id, PageQuery, paginate
from ..events import Event, utcnow
from ..extensions import db
from ..network.audit import filtered_events
from ..network.schemas import AuditQuery
from ..pages import page, parse_form, render, viewer_zone
from ..work.activity import Narrator, entries, plain_sentence
from ..workspaces.models import Workspace
from . import bp

PER_PAGE = 50
CSV_BATCH = 500

_ = lazy_gettext
# The verb filter's choices: one group per noun, its first choice every verb of the noun
# (the `noun.` prefix, as the API reads it), then each verb by what it means.
VERB_GROUPS: list[tuple[Any, str, list[tuple[str, Any]]]] = [
    (_("Items"), "item.", [
        ("item.created", _("Item created")),
        ("item.updated", _("Item edited")),
        ("item.deleted", _("Item moved to the trash")),
        ("item.restored", _("Item restored from the trash")),
        ("item.purged", _("Item removed for good")),
        ("item.shared", _("Item shared with a group")),
        ("item.unshared", _("Item no longer shared")),
    ]),
    (_("Comments"), "comment.", [("comment.created", _("Comment written"))]),
    (_("Tasks"), "task.", [("task.assigned", _("Task assigned"))]),
    (_("Documents"), "document.", [
        ("document.version_added", _("Version uploaded")),
        ("document.version_restored", _("Version restored")),
        ("document.checked_out", _("Document checked out")),
        ("document.released", _("Document checked in")),
        ("document.lock_broken", _("Check-out broken")),
    ]),
    (_("Meetings"), "meeting.", [
        ("meeting.attendance", _("Attendance answered")),
        ("meeting.outcome_recorded", _("Outcome recorded")),
        ("meeting.rescheduled", _("Meeting moved")),
        ("meeting.cancelled", _("Meeting cancelled")),
    ]),
    (_("Agendas"), "agenda.", [
        ("agenda.item_added", _("Point added")),
        ("agenda.item_changed", _("Point changed")),
        ("agenda.item_removed", _("Point removed")),
        ("agenda.reordered", _("Agenda reordered")),
    ]),
    (_("Publication"), "publication.", [
        ("publication.submitted", _("Submitted for publication")),
        ("publication.approved", _("Published")),
        ("publication.rejected", _("Publication declined")),
        ("publication.unpublished", _("Publication withdrawn")),
    ]),
    (_("Working groups"), "workspace.", [
        ("workspace.created", _("Group created")),
        ("workspace.updated", _("Group details changed")),
        ("workspace.archived", _("Group archived")),
        ("workspace.restored", _("Group reopened")),
    ]),
    (_("Members of groups"), "member.", [
        ("member.added", _("Member added")),
        ("member.role_changed", _("Role changed")),
        ("member.removed", _("Member removed")),
    ]),
    (_("Signing in"), "auth.", [
        ("auth.login", _("Signed in")),
        ("auth.logout", _("Signed out")),
        ("auth.login_failed", _("Failed sign-in")),
        ("auth.password_reset_requested", _("New password asked for")),
        ("auth.recovery_code_used", _("Recovery code used")),
    ]),
    (_("Accounts"), "user.", [
        ("user.created", _("Account created")),
        ("user.updated", _("Account changed")),
        ("user.deactivated", _("Account deactivated")),
        ("user.password_reset", _("Password reset")),
        ("user.two_factor_enabled", _("Two-factor sign-in turned on")),
        ("user.two_factor_disabled", _("Two-factor sign-in turned off")),
    ]),
    (_("Invitations"), "invitation.", [
        ("invitation.created", _("Invitation sent")),
        ("invitation.resent", _("Invitation sent again")),
        ("invitation.revoked", _("Invitation withdrawn")),
        ("invitation.accepted", _("Invitation accepted")),
    ]),
    (_("API tokens"), "token.", [
        ("token.created", _("API token created")),
        ("token.revoked", _("API token revoked")),
    ]),
    (_("Calendar links"), "calendar_token.", [
        ("calendar_token.created", _("Calendar link created")),
        ("calendar_token.revoked", _("Calendar links revoked")),
    ]),
    (_("The network"), "member_state.", [("member_state.created", _("Member state added"))]),
    (_("Port communities"), "community.", [
        ("community.created", _("Community added")),
        ("community.updated", _("Community changed")),
    ]),
]  # fmt: skip
ALL_OF = _("%(group)s: all")
VERB_CHOICES = {
    value for _label, prefix, verbs in VERB_GROUPS for value in (prefix, *(v for v, _l in verbs))
}


class AuditFilters(PageQuery):
    """The page's filter form (GET): the API's filters, with days for times."""

    actor: Id | None = None
    verb: Annotated[str, StringConstraints(max_length=64)] | None = None
    item: Annotated[str, StringConstraints(max_length=300)] | None = None
    workspace_id: Id | None = None
    from_date: date | None = None
    to_date: date | None = None


FILTER_NAMES = ("actor", "verb", "item", "workspace_id", "from_date", "to_date")


def _read_filters() -> tuple[AuditFilters, dict[str, str]]:
    """The filter form as given; a value that cannot be read is left out and named."""
    args = MultiDict(request.args)
    args["per_page"] = str(PER_PAGE)
    filters, errors = parse_form(AuditFilters, form=args)
    if filters is None:
        for name in errors:
            args.pop(name, None)
        filters = parse_form(AuditFilters, form=args)[0] or AuditFilters(per_page=PER_PAGE)
    errors.pop("page", None)
    if filters.verb and filters.verb not in VERB_CHOICES:
        errors["verb"] = gettext("Choose one of the options.")
        filters.verb = None
    if filters.from_date and filters.to_date and filters.to_date < filters.from_date:
        errors["to_date"] = gettext("Choose a day on or after the first day.")
        filters.to_date = None
    return filters, errors


def _start_of(day: date) -> datetime:
    """Midnight at the start of `day` in the viewer's timezone."""
    return datetime.combine(day, time.min, tzinfo=viewer_zone())


def audit_query(filters: AuditFilters) -> AuditQuery:
    """The API's query for the form: the days, from the first's midnight to the end of
    the last, in the viewer's timezone."""
    return AuditQuery(
        page=filters.page,
        per_page=PER_PAGE,
        actor=filters.actor,
        verb=filters.verb,
        item=filters.item,
        workspace_id=filters.workspace_id,
        since=_start_of(filters.from_date) if filters.from_date else None,
        until=_start_of(filters.to_date + timedelta(days=1)) if filters.to_date else None,
    )


def _given(filters: AuditFilters, errors: dict[str, str]) -> dict[str, str]:
    """The filters in force, as query-string values (for links to other pages and the CSV)."""
    return {
        name: request.args[name]
        for name in FILTER_NAMES
        if request.args.get(name, "").strip() and name not in errors
    }


@bp.get("/audit")
@page(access=permissions.console)
def audit_page() -> tuple[str, int]:
    filters, errors = _read_filters()
    query = audit_query(filters)
    result = paginate(filtered_events(query), query, lambda event: event)
    given = _given(filters, errors)
    people = db.session.execute(select(User.id, User.name, User.email).order_by(User.name))
    group_options = [
        (str(i), name)
        for i, name in db.session.execute(
            select(Workspace.id, Workspace.name).order_by(Workspace.name)
        )
    ]
    return render(
        "console/audit.html",
        rows=entries(result["items"]),
        total=result["total"],
        page_number=filters.page,
        per_page=PER_PAGE,
        # The form shows what was typed, the links carry the filters in force.
        values={name: request.args.get(name, "") for name in FILTER_NAMES},
        filtered=bool(given),
        errors=errors,
        verb_groups=[
            (group, prefix, ALL_OF % {"group": group}, verbs)
            for group, prefix, verbs in VERB_GROUPS
        ],
        people_options=[(str(i), f"{name} ({email})") for i, name, email in people],
        group_options=group_options,
        group_names=dict(group_options),
        zone=viewer_zone().key,
        csv_url=url_for(".audit_csv", **given),
        page_url=lambda number: url_for(".audit_page", page=number, **given),
    ), 400 if errors else 200


# --- CSV ---------------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading
    apostrophe (CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_line(cells: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([safe_cell(cell) for cell in cells])
    return buffer.getvalue()


def _csv_rows(statement: Any, viewer: Any) -> Iterator[str]:
    """The header, then each event, read CSV_BATCH at a time by id (newest first), so
    memory stays flat however long the log."""
    yield "\ufeff"  # so spreadsheets read the file as UTF-8
    yield _csv_line([
        gettext("Time (UTC)"), gettext("Actor"), gettext("E-mail"), gettext("Verb"),
        gettext("What happened"), gettext("Working group"), gettext("Item id"),
        gettext("Item title"),
    ])  # fmt: skip
    last: int | None = None
    while True:
        batch = statement if last is None else statement.where(Event.id < last)
        events = list(db.session.scalars(batch.limit(CSV_BATCH)))
        if not events:
            return
        narrator = Narrator(viewer).load(events)
        for event in events:
            item = narrator.item(event)
            yield _csv_line([
                event.at.isoformat(),
                event.actor.name if event.actor else "",
                event.actor.email if event.actor else "",
                event.verb,
                plain_sentence(event, narrator),
                narrator.groups.get(event.workspace_id or 0, ""),
                event.item_id or "",
                item.title if item is not None else "",
            ])  # fmt: skip
        last = events[-1].id


@bp.get("/audit.csv")
@page(access=permissions.console)
def audit_csv() -> Response:
    """The filtered log as a CSV file, streamed (invalid filters are left out, as the
    page shows them)."""
    filters, _errors = _read_filters()
    statement = filtered_events(audit_query(filters))
    name = f"audit-log-{utcnow():%Y-%m-%d-%H%M}.csv"
    viewer = current_user._get_current_object()  # type: ignore[attr-defined]
    return Response(
        stream_with_context(_csv_rows(statement, viewer)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
