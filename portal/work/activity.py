"""Activity as people read it: each recorded event as a sentence in the viewer's language,
the item linked ("Ana Coordinadora uploaded version 3 of “Plan”"), never a raw verb; and
the feeds that show them (a group's, what changed in my groups), limited to what the
viewer may read (`permissions.readable_events`).

`sentence()` knows every verb the portal records (tests hold the list); a verb it does not
know reads as a generic change, so a new verb never shows as code."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from babel.lists import format_list
from flask import request
from flask_babel import lazy_gettext
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import BindParameter, Select, bindparam, inspect, or_, select, union_all
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.util import identity_key

from .. import permissions
from ..accounts.models import User, without_community
from ..events import Event
from ..extensions import db
from ..i18n import current_language
from ..pages import local_time, page, render
from ..workspaces import kinds
from ..workspaces.items_api import workspace_feed
from ..workspaces.models import Item, Workspace
from . import bp

ModelT = TypeVar("ModelT")

# One sentence per verb; %(actor)s is who did it, %(item)s the item (linked).
SENTENCES: dict[str, Any] = {
    "item.updated": lazy_gettext("%(actor)s edited %(item)s"),
    "item.deleted": lazy_gettext("%(actor)s moved %(item)s to the trash"),
    "item.restored": lazy_gettext("%(actor)s restored %(item)s from the trash"),
    "item.purged": lazy_gettext("%(actor)s removed an item from the trash for good"),
    "item.unshared": lazy_gettext("%(actor)s stopped sharing %(item)s with %(group)s"),
    "comment.created": lazy_gettext("%(actor)s commented on %(item)s"),
    "task.assigned": lazy_gettext("%(actor)s assigned %(item)s to %(people)s"),
    "publication.submitted": lazy_gettext("%(actor)s submitted %(item)s for publication"),
    "publication.approved": lazy_gettext("%(actor)s published %(item)s"),
    "publication.rejected": lazy_gettext("%(actor)s declined to publish %(item)s"),
    "publication.unpublished": lazy_gettext("%(actor)s withdrew %(item)s from the publications"),
    "meeting.cancelled": lazy_gettext("%(actor)s cancelled the meeting %(item)s"),
    "meeting.rescheduled": lazy_gettext("%(actor)s moved the meeting %(item)s to %(when)s"),
    "agenda.item_changed": lazy_gettext("%(actor)s changed a point of the agenda of %(item)s"),
    "agenda.item_removed": lazy_gettext("%(actor)s removed a point from the agenda of %(item)s"),
    "agenda.reordered": lazy_gettext("%(actor)s reordered the agenda of %(item)s"),
    "document.version_added": lazy_gettext("%(actor)s uploaded version %(version)s of %(item)s"),
    "document.version_restored": lazy_gettext(
        "%(actor)s restored version %(restored_from)s of %(item)s as version %(version)s"
    ),
    "document.checked_out": lazy_gettext("%(actor)s checked out %(item)s to edit it"),
    "document.released": lazy_gettext("%(actor)s checked in %(item)s"),
    "document.lock_broken": lazy_gettext(
        "%(actor)s released the check-out %(person)s held on %(item)s"
    ),
    "workspace.created": lazy_gettext("%(actor)s created the working group %(group)s"),
    "workspace.updated": lazy_gettext(
        "%(actor)s changed the details of the working group %(group)s"
    ),
    "workspace.archived": lazy_gettext("%(actor)s archived the working group %(group)s"),
    "workspace.restored": lazy_gettext("%(actor)s reopened the working group %(group)s"),
    "member.added": lazy_gettext("%(actor)s added %(person)s to %(group)s as %(role)s"),
    "member.role_changed": lazy_gettext("%(actor)s made %(person)s %(role)s of %(group)s"),
    "member.removed": lazy_gettext("%(actor)s removed %(person)s from %(group)s"),
    "auth.login": lazy_gettext("%(actor)s signed in"),
    "auth.logout": lazy_gettext("%(actor)s signed out"),
    "auth.login_failed": lazy_gettext("Someone failed to sign in as %(email)s"),
    "user.created": lazy_gettext("%(actor)s created the account of %(person)s"),
    "user.updated": lazy_gettext("%(actor)s changed the account of %(person)s"),
    "user.deactivated": lazy_gettext("%(actor)s deactivated the account of %(person)s"),
    "token.created": lazy_gettext("%(actor)s created an API token"),
    "token.revoked": lazy_gettext("%(actor)s revoked an API token"),
    "calendar_token.created": lazy_gettext("%(actor)s created a calendar link"),
    "calendar_token.revoked": lazy_gettext("%(actor)s revoked their calendar links"),
    "auth.password_reset_requested": lazy_gettext("A new password was asked for %(email)s"),
    "user.password_reset": lazy_gettext("%(actor)s chose a new password through a reset link"),
    "user.two_factor_enabled": lazy_gettext("%(actor)s turned on two-factor sign-in"),
    "user.two_factor_disabled": lazy_gettext("%(actor)s turned off two-factor sign-in"),
    "auth.recovery_code_used": lazy_gettext("%(actor)s signed in with a recovery code"),
    "invitation.created": lazy_gettext("%(actor)s invited %(email)s"),
    "invitation.resent": lazy_gettext("%(actor)s sent the invitation to %(email)s again"),
    "invitation.revoked": lazy_gettext("%(actor)s withdrew the invitation to %(email)s"),
    "invitation.accepted": lazy_gettext("%(actor)s accepted the invitation and joined the network"),
    "member_state.created": lazy_gettext("%(actor)s added the member state %(name)s"),
    "member_state.renamed": lazy_gettext("%(actor)s renamed a member state to %(name)s"),
    "community.created": lazy_gettext("%(actor)s added the port community %(name)s"),
    "community.updated": lazy_gettext("%(actor)s changed the details of a port community"),
}
CREATED = {
    "document": lazy_gettext("%(actor)s uploaded the document %(item)s"),
    "memo": lazy_gettext("%(actor)s wrote the memo %(item)s"),
    "task": lazy_gettext("%(actor)s created the task %(item)s"),
    "meeting": lazy_gettext("%(actor)s scheduled the meeting %(item)s"),
}
SHARED = {
    "view": lazy_gettext("%(actor)s shared %(item)s with %(group)s to read"),
    "edit": lazy_gettext("%(actor)s shared %(item)s with %(group)s to edit"),
}
ATTENDANCE = {
    "yes": lazy_gettext("%(actor)s will attend %(item)s"),
    "no": lazy_gettext("%(actor)s will not attend %(item)s"),
    "maybe": lazy_gettext("%(actor)s might attend %(item)s"),
}
OUTCOMES = {
    "decision": lazy_gettext("%(actor)s recorded a decision in %(item)s"),
    "task": lazy_gettext("%(actor)s recorded a task in %(item)s"),
}
TASK_STATUSES = {
    "todo": lazy_gettext("To do"),
    "doing": lazy_gettext("Doing"),
    "done": lazy_gettext("Done"),
}
ROLES = {
    "coordinator": lazy_gettext("coordinator"),
    "member": lazy_gettext("member"),
    "observer": lazy_gettext("observer"),
}
MOVED = lazy_gettext("%(actor)s moved %(item)s to %(status)s")
MINUTES = lazy_gettext("%(actor)s updated the minutes of %(item)s")
AGENDA_ADDED = lazy_gettext("%(actor)s added a point to the agenda of %(item)s")
BACKLOG_ADDED = lazy_gettext("%(actor)s added a point to the backlog of %(item)s")
CREATED_ANY = lazy_gettext("%(actor)s created %(item)s")
CHANGED_ITEM = lazy_gettext("%(actor)s changed %(item)s")
CHANGED = lazy_gettext("%(actor)s made a change")
NOBODY = lazy_gettext("The portal")
SOMEONE = lazy_gettext("someone")
AN_ITEM = lazy_gettext("an item")
ANOTHER_GROUP = lazy_gettext("another working group")


@dataclass
class Narrator:
    """What the sentences of a list of events name, loaded in a fixed number of queries
    (items, the people and groups their details name) for one viewer."""

    viewer: Any
    items: dict[int, Item] = field(default_factory=dict)
    people: dict[int, str] = field(default_factory=dict)
    group_ids: set[int] = field(default_factory=set)
    # Asked for only when a sentence names a group (few do: shares, memberships).
    _groups: dict[int, str] | None = None
    _my_groups: set[int] | None = None

    def load(self, events: Iterable[Event]) -> Narrator:
        events = list(events)
        item_ids = {e.item_id for e in events if e.item_id}
        user_ids: set[int] = set()
        self.group_ids = {e.workspace_id for e in events if e.workspace_id}
        for event in events:
            data = event.data or {}
            for key in ("user_id", "holder_id"):
                if isinstance(data.get(key), int):
                    user_ids.add(data[key])
            user_ids.update(i for i in data.get("user_ids") or [] if isinstance(i, int))
            if isinstance(data.get("workspace_id"), int):
                self.group_ids.add(data["workspace_id"])
        self.items = _loaded(Item, item_ids, ("kind", "title", "workspace_id"))
        missing = item_ids - self.items.keys()
        if missing:
            rows = db.session.scalars(select(Item).where(Item.id.in_(missing)))
            self.items.update((item.id, item) for item in rows)
        self.people = {i: user.name for i, user in _loaded(User, user_ids, ("name",)).items()}
        missing = user_ids - self.people.keys()
        if missing:
            rows = db.session.execute(select(User.id, User.name).where(User.id.in_(missing)))
            self.people.update(rows.all())
        return self

    @property
    def groups(self) -> dict[int, str]:
        """The names of the groups the events name, by id."""
        if self._groups is None:
            rows = db.session.execute(
                select(Workspace.id, Workspace.name).where(Workspace.id.in_(self.group_ids))
            )
            self._groups = dict(rows.all()) if self.group_ids else {}
        return self._groups

    @groups.setter
    def groups(self, names: dict[int, str]) -> None:
        self._groups = names

    @property
    def my_groups(self) -> set[int]:
        """The groups the viewer reads (none asked for the secretariat, who reads all)."""
        if self._my_groups is None:
            self._my_groups = (
                set()
                if self.viewer.is_secretariat
                else set(db.session.scalars(permissions.readable_workspace_ids(self.viewer)))
            )
        return self._my_groups

    def item(self, event: Event) -> Item | None:
        return self.items.get(event.item_id or 0)

    def group_name(self, event: Event, workspace_id: int | None) -> str:
        """A group the viewer may know of by name: one of theirs, or any for the
        secretariat and for the readers of the item's owner group (as the item's
        sharing panel shows them)."""
        item = self.item(event)
        known = (
            self.viewer.is_secretariat
            or workspace_id in self.my_groups
            or (item is not None and item.workspace_id in self.my_groups)
        )
        name = self.groups.get(workspace_id or 0)
        return name if known and name else str(ANOTHER_GROUP)


def _loaded(model: type[ModelT], ids: set[int], reads: tuple[str, ...]) -> dict[int, ModelT]:
    """Of these rows, those this request has loaded already with the attributes a
    sentence `reads` (the group page's lists and members hold most of what its latest
    activity names): no query for them."""
    found = {}
    for row_id in ids:
        row = db.session.identity_map.get(identity_key(model, row_id))
        if row is not None and not inspect(row).unloaded.intersection(reads):
            found[row_id] = row
    return found


def item_link(item: Item | None, quoted: bool = True) -> Markup:
    """An item's title, linked to its page when its kind has pages (plain text until
    then); `quoted` in a sentence (the browser quotes <q> as the page's language does)."""
    if item is None:
        return Markup("%s") % AN_ITEM
    title = (
        Markup('<a href="%s">%s</a>') % (kinds.page_url(item), item.title)
        if kinds.pages_of(item.kind) is not None
        else escape(item.title)
    )
    return Markup("<q>%s</q>") % title if quoted else title


def _item_updated(event: Event, item: Item | None) -> Any:
    data = event.data or {}
    fields = data.get("fields") or []
    if fields == ["status"] and data.get("status") in TASK_STATUSES:
        return MOVED
    if fields == ["minutes"]:
        return MINUTES
    return SENTENCES["item.updated"]


def _template(event: Event, item: Item | None) -> Any:
    """The sentence's template for the event: by verb, and for some by a detail."""
    data = event.data or {}
    verb = event.verb
    pick: dict[str, Callable[[], Any]] = {
        "item.created": lambda: CREATED.get(data.get("kind", ""), CREATED_ANY),
        "item.updated": lambda: _item_updated(event, item),
        "item.shared": lambda: SHARED.get(data.get("permission", ""), SHARED["view"]),
        "meeting.attendance": lambda: ATTENDANCE.get(data.get("response", ""), CHANGED_ITEM),
        "meeting.outcome_recorded": lambda: OUTCOMES.get(
            data.get("outcome_kind", ""), CHANGED_ITEM
        ),
        "agenda.item_added": lambda: AGENDA_ADDED if data.get("scheduled", True) else BACKLOG_ADDED,
    }
    if verb in pick:
        return pick[verb]()
    if verb in SENTENCES:
        return SENTENCES[verb]
    return CHANGED_ITEM if event.item_id else CHANGED


def _person(event: Event, data: dict[str, Any], narrator: Narrator) -> str:
    person_id = data.get("user_id") if "user_id" in data else data.get("holder_id")
    return narrator.people.get(person_id, str(SOMEONE))


def _people(event: Event, data: dict[str, Any], narrator: Narrator) -> str:
    people = [narrator.people.get(i, str(SOMEONE)) for i in data.get("user_ids") or []]
    return format_list(people or [str(SOMEONE)], locale=current_language())


def _when(event: Event, data: dict[str, Any], narrator: Narrator) -> str:
    when = data.get("starts_at")
    return local_time(datetime.fromisoformat(when), "medium") if when else ""


# What a sentence may name, but its item: (event, event.data, narrator) -> the text.
VALUES: dict[str, Callable[[Event, dict[str, Any], Narrator], Any]] = {
    "actor": lambda event, data, narrator: (
        event.actor.name if event.actor is not None else str(NOBODY)
    ),
    "group": lambda event, data, narrator: narrator.group_name(
        event, data.get("workspace_id", event.workspace_id)
    ),
    "person": _person,
    "people": _people,
    "role": lambda event, data, narrator: str(ROLES.get(data.get("role", ""), "")),
    "status": lambda event, data, narrator: str(TASK_STATUSES.get(data.get("status", ""), "")),
    "when": _when,
    **{
        key: lambda event, data, narrator, key=key: data.get(key, "")
        for key in ("version", "restored_from", "email", "name")
    },
}


class _Values(Mapping[str, Any]):
    """What one sentence names, each worked out only when its template names it (most
    name an actor and an item: no query for group names, no Babel for lists)."""

    def __init__(self, event: Event, narrator: Narrator, item: Any) -> None:
        self.event = event
        self.data = event.data or {}
        self.narrator = narrator
        self.item = item

    def __getitem__(self, key: str) -> Any:
        if key == "item":
            return self.item
        return VALUES[key](self.event, self.data, self.narrator)

    def __iter__(self) -> Iterator[str]:
        return iter(("item", *VALUES))

    def __len__(self) -> int:
        return len(VALUES) + 1


def sentence(event: Event, narrator: Narrator) -> Markup:
    """The event as a sentence in the page's language, its item linked. `event.actor`
    must be loaded (`joinedload(Event.actor)`), the rest by `narrator.load`."""
    item = narrator.item(event)
    return escape(str(_template(event, item))) % _Values(event, narrator, item_link(item))


def plain_sentence(event: Event, narrator: Narrator) -> str:
    """The same sentence as text, the item's title in quotation marks (a CSV cell)."""
    item = narrator.item(event)
    title = f"“{item.title}”" if item is not None else str(AN_ITEM)
    return str(_template(event, item)) % _Values(event, narrator, title)


@dataclass(frozen=True)
class Entry:
    """An event as a list shows it."""

    event: Event
    sentence: Markup


def entries(events: Iterable[Event], viewer: Any = None) -> list[Entry]:
    events = list(events)
    narrator = Narrator(viewer if viewer is not None else current_user).load(events)
    return [Entry(event, sentence(event, narrator)) for event in events]


# --- the feeds ------------------------------------------------------------------------


# Each event with its actor in the same query (a round trip less than a second SELECT
# of the actors).
WITH_ACTOR = without_community(joinedload(Event.actor))


def _readable(statement: Select[Any], viewer: Any) -> Select[Any]:
    """The events of `statement` the viewer may read, each with its actor."""
    return statement.where(permissions.readable_events(viewer)).options(WITH_ACTOR)


def group_feed(workspace_id: permissions.AnyId, viewer: Any) -> Select[tuple[Event]]:
    """A group's activity (the API's feed) as the viewer may read it, newest first."""
    return _readable(workspace_feed(workspace_id), viewer).order_by(Event.id.desc())


def my_groups_feed(
    viewer: Any, since: datetime | BindParameter[datetime] | None
) -> Select[tuple[Event]]:
    """What others did in the viewer's groups (every group for the secretariat) and to
    the items shared with them since `since`, newest first."""
    if viewer.is_secretariat:
        statement = select(Event).where(Event.workspace_id.is_not(None))
    else:
        mine = permissions.readable_workspace_ids(viewer)
        statement = select(Event).where(
            or_(
                Event.workspace_id.in_(mine),
                Event.item_id.in_(permissions.shared_item_ids(mine)),
            )
        )
    statement = statement.where(or_(Event.actor_id.is_(None), Event.actor_id != viewer.id))
    if since is not None:
        statement = statement.where(Event.at > since)
    return _readable(statement, viewer).order_by(Event.id.desc())


# --- the pages ---------------------------------------------------------------------------

LATEST_ON_GROUP_PAGE = 10
PER_PAGE = 30


def latest(workspace_id: int, count: int = LATEST_ON_GROUP_PAGE) -> list[Entry]:
    """The group page's aside: its latest readable activity."""
    statement, params = latest_statement(current_user, count)
    return entries(db.session.scalars(statement, params | {permissions.GROUP: workspace_id}))


@permissions.built_once_per_viewer
def latest_statement(viewer: permissions.BoundViewer, count: int) -> Select[tuple[Event]]:
    """`latest`'s query, for any group (permissions.GROUP): the newest `count` of the
    group's own events and the newest `count` of its shared items', each read newest
    first along its own index, then the newest `count` of both. `group_feed`'s one
    condition (own OR shared) reads the whole event log backwards for a quiet group
    (21 ms at 100,000 events, growing with the log; 0.2 ms so)."""
    group = permissions.bound_id(permissions.GROUP)
    own = select(Event.id).where(Event.workspace_id == group)
    shared = select(Event.id).where(
        Event.item_id.in_(permissions.shared_item_ids([group])),
        Event.workspace_id.is_distinct_from(group),
    )
    newest = [
        part.where(permissions.readable_events(viewer))
        .order_by(Event.id.desc())
        .limit(count)
        .subquery()
        for part in (own, shared)
    ]
    ids = union_all(*(select(part.c.id) for part in newest))
    return (
        select(Event)
        .where(Event.id.in_(ids))
        .options(WITH_ACTOR)
        .order_by(Event.id.desc())
        .limit(count)
    )


SINCE = "since"


def newest_in_my_groups(since: datetime | None, count: int) -> list[Entry]:
    """My work's changes: the newest `count` of `my_groups_feed`."""
    statement, params = my_groups_statement(current_user, since is not None, count)
    return entries(db.session.scalars(statement, params | {SINCE: since}))


@permissions.built_once_per_viewer
def my_groups_statement(
    viewer: permissions.BoundViewer, with_since: bool, count: int
) -> Select[tuple[Event]]:
    """`newest_in_my_groups`' query, since the bind parameter SINCE if `with_since`."""
    since = bindparam(SINCE, type_=Event.at.type) if with_since else None
    return my_groups_feed(viewer, since).limit(count)


@bp.get("/groups/<int:workspace_id>/activity")
@page(access=permissions.signed_in)
def activity_page(workspace_id: int) -> str:
    """The group's activity, newest first, PER_PAGE at a time: `before` (an event id) is
    the cursor of older pages, which new events do not shift."""
    workspace = permissions.load_workspace(workspace_id)
    statement = group_feed(workspace.id, current_user)
    before = request.args.get("before", "")
    if before.isdigit():
        statement = statement.where(Event.id < int(before))
    rows = list(db.session.scalars(statement.limit(PER_PAGE + 1)))
    shown = rows[:PER_PAGE]
    return render(
        "work/activity.html",
        workspace=workspace,
        activity=entries(shown),
        older=shown[-1].id if len(rows) > PER_PAGE else None,
        paged=before.isdigit(),
    )
