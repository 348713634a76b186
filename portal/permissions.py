"""The authorization policy: every access decision of the portal is made here.

Two kinds of checks, both answered from the database on every request:

- *gates* (`anyone`, `signed_in`, `secretariat`) that every API view declares
  with `api.endpoint(access=...)`; a test refuses a view without one;
- *object checks* (`load_workspace`, `load_community`, ...) that load what a
  URL names and decide on it. What the caller may not read answers 404, never
  403, so its existence does not leak; 403 is for what the caller can see but
  not change. List filters (`visible_workspaces`, ...) apply the same rules.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request
from flask_login import AnonymousUserMixin, current_user
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    exists,
    false,
    or_,
    select,
)
from sqlalchemy.orm import joinedload, lazyload

from .accounts.models import ApiToken, CalendarToken, Notification, User
from .api import ApiError, not_found
from .events import Event
from .extensions import db
from .network.models import Community
from .onboarding.models import Invitation
from .workspaces import kinds
from .workspaces.models import (
    Item,
    Membership,
    Publication,
    Role,
    Share,
    SharePermission,
    Workspace,
)

ItemT = TypeVar("ItemT", bound=Item)


class Anonymous(AnonymousUserMixin):
    """The visitor who has not signed in."""

    id = None
    is_secretariat = False


def _user() -> Any:
    return current_user


# --- statements built once -------------------------------------------------------
#
# The statements of the most asked pages and live refreshes (the header's unread
# count, a group's latest items and activity, My work's lists) are built for a
# `BoundViewer`: the filters below name the viewer by the bind parameter VIEWER
# instead of an id (and the group by GROUP), so such a statement is made, and its
# SQLAlchemy cache key worked out, once per process and shape, then run with
# `viewer_params(user)` (`built_once_per_viewer` does both). Building and keying a
# permission filter costs about as much processor time as PostgreSQL takes to run it.

VIEWER = "viewer_id"
GROUP = "group_id"

# An id in a filter: a value, or the bind parameter of a statement built once.
AnyId = int | BindParameter[int]


def bound_id(name: str) -> BindParameter[int]:
    """An id that a statement built once takes as a parameter."""
    return bindparam(name, type_=Integer)


class BoundViewer:
    """A signed-in user as a statement built once sees them: the id a bind parameter."""

    is_authenticated = True

    def __init__(self, *, is_secretariat: bool) -> None:
        self.is_secretariat = is_secretariat
        self.id = bound_id(VIEWER)


def viewer_params(user: Any) -> dict[str, Any]:
    """The parameters of a statement built for a `BoundViewer`, for `user`."""
    return {VIEWER: user.id}


StatementT = TypeVar("StatementT")


def built_once_per_viewer(
    build: Callable[..., StatementT],
) -> Callable[..., tuple[StatementT, dict[str, Any]]]:
    """`build(viewer, *shape)` made once per process for each shape (secretariat or not,
    and `shape`, which must be hashable), then given for `user` with its parameters:
    `statement, params = decorated(user, *shape)`."""
    made = functools.cache(
        lambda secretariat, *shape: build(BoundViewer(is_secretariat=secretariat), *shape)
    )

    @functools.wraps(build)
    def for_user(user: Any, *shape: Any) -> tuple[StatementT, dict[str, Any]]:
        return made(bool(user.is_secretariat), *shape), viewer_params(user)

    return for_user


def forbidden(message: str = "You may not do this.") -> ApiError:
    return ApiError(403, "forbidden", message)


def unauthenticated() -> ApiError:
    return ApiError(401, "unauthenticated", "Sign in first.")


# --- gates --------------------------------------------------------------------


def anyone() -> None:
    """Open to everyone, signed in or not."""


def signed_in() -> None:
    if not _user().is_authenticated:
        raise unauthenticated()


def secretariat() -> None:
    """The technical secretariat only."""
    signed_in()
    if not _user().is_secretariat:
        raise forbidden("Only the technical secretariat may do this.")


def console() -> None:
    """The secretariat's console pages: to anyone else signed in they do not exist (404),
    so the console's map is not shown to members."""
    signed_in()
    if not _user().is_secretariat:
        raise not_found("page")


# --- workspaces ---------------------------------------------------------------


class WorkspaceAction(enum.StrEnum):
    read = "read"
    contribute = "contribute"  # create items in it
    manage_members = "manage_members"
    administer = "administer"


def role_in(user: Any, workspace_id: int) -> Role | None:
    """The user's role in a workspace."""
    membership = _membership(user, workspace_id)
    return membership.role if membership is not None else None


# A membership is read with its workspace (joined: `load_workspace` needs no query of its
# own for a member's group), not with its user, who is the one asking.
_MEMBERSHIP_READ = (lazyload(Membership.user),)


def _membership(user: Any, workspace_id: int) -> Membership | None:
    """The user's membership of a workspace. A page asks several times: it is read once
    and held for the app context, so the session's identity map (weakly referencing)
    answers again, and is still what the session says after a change in the same
    request (a deleted one is gone, a committed one is read again)."""
    if not user.is_authenticated:
        return None
    membership = db.session.get(Membership, (workspace_id, user.id), options=_MEMBERSHIP_READ)
    if membership is None:
        return None
    g.setdefault("memberships_held", {})[workspace_id, user.id] = membership
    return membership


def can_read_workspace(user: Any, workspace: Workspace) -> bool:
    return user.is_authenticated and (
        user.is_secretariat or role_in(user, workspace.id) is not None
    )


def may_on_workspace(user: Any, workspace: Workspace, action: WorkspaceAction) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_secretariat:
        return True
    role = role_in(user, workspace.id)
    if role is None:
        return False
    if action is WorkspaceAction.read:
        return True
    if action is WorkspaceAction.contribute:
        return role.at_least(Role.member)
    if action is WorkspaceAction.manage_members:
        return role is Role.coordinator
    return False


def load_workspace(workspace_id: int, action: WorkspaceAction = WorkspaceAction.read) -> Workspace:
    """The workspace if the caller may read it (else 404) and act on it (else 403)."""
    user = _user()
    membership = None if user.is_secretariat else _membership(user, workspace_id)
    if membership is not None:
        workspace: Workspace | None = membership.workspace
    else:
        workspace = db.session.get(Workspace, workspace_id)
    if workspace is None or not can_read_workspace(user, workspace):
        raise not_found("workspace")
    if not may_on_workspace(user, workspace, action):
        raise forbidden()
    if action is WorkspaceAction.contribute:
        _require_open_workspace(workspace.id)
    return workspace


def visible_workspaces(user: Any) -> Select[tuple[Workspace]]:
    """The workspaces the user may read: all for the secretariat, else their own."""
    statement = select(Workspace)
    if user.is_secretariat:
        return statement
    return statement.join(Membership, Membership.workspace_id == Workspace.id).where(
        Membership.user_id == user.id
    )


def check_membership_change(workspace: Workspace, user_id: int, new_role: Role | None) -> None:
    """A coordinator may not leave their workspace without a coordinator (409).

    The secretariat may, since it can always appoint one again.
    """
    if _user().is_secretariat or new_role is Role.coordinator:
        return
    coordinators = set(
        db.session.scalars(
            select(Membership.user_id).where(
                Membership.workspace_id == workspace.id, Membership.role == Role.coordinator
            )
        )
    )
    if coordinators == {user_id}:
        raise ApiError(
            409,
            "conflict",
            "The workspace would be left without a coordinator; appoint another first.",
        )


# --- items ------------------------------------------------------------------


class ItemAccess(enum.IntEnum):
    """What a user may do with an item; each level includes the ones below."""

    none = 0
    view = 1  # read it (observers of the owner group and of groups it is shared with)
    comment = 2  # members of a group it is shared with for view
    edit = 3  # members of the owner group, members of a group it is shared with for edit
    manage = 4  # coordinators of the owner group, the secretariat: delete, share, restore


_ROLE_ACCESS = {Role.observer: ItemAccess.view, Role.member: ItemAccess.edit,
                Role.coordinator: ItemAccess.manage}  # fmt: skip
# A share lets a group edit at most: the owner group's members need not look at shares.
MOST_A_SHARE_GRANTS = ItemAccess.edit


def item_access(user: Any, item: Item) -> ItemAccess:
    """The user's access to an item, from the owner group and the shares.

    Publication grants nothing here: the public reads the approved copy
    (`public_item`), never the item and its drafts.
    """
    if user.is_authenticated and user.is_secretariat:
        return ItemAccess.manage
    access = ItemAccess.none
    if user.is_authenticated:
        owner_role = role_in(user, item.workspace_id)
        if owner_role is not None:
            access = _ROLE_ACCESS[owner_role]
        if access < MOST_A_SHARE_GRANTS:
            access = max(access, _access_by_shares(user, item))
    if item.deleted_at is not None:
        # The trash is for those who may restore.
        return access if access is ItemAccess.manage else ItemAccess.none
    return access


def _access_by_shares(user: Any, item: Item) -> ItemAccess:
    """The most that the shares of the item with the user's groups grant."""
    access = ItemAccess.none
    shared = db.session.execute(
        select(Share.permission, Membership.role)
        .join(Membership, Membership.workspace_id == Share.workspace_id)
        .where(Share.item_id == item.id, Membership.user_id == user.id)
    )
    for permission, role in shared:
        if role is Role.observer:
            granted = ItemAccess.view
        elif permission is SharePermission.edit:
            granted = ItemAccess.edit
        else:
            granted = ItemAccess.comment
        access = max(access, granted)
    return access


def load_item(
    item_id: int,
    need: ItemAccess = ItemAccess.view,
    kind: type[ItemT] = Item,  # type: ignore[assignment]
    *,
    from_trash: bool = False,
) -> ItemT:
    """The item if the caller may read it (else 404) and has `need` (else 403).

    Changes need the item out of the trash (409) unless `from_trash`, and its
    workspace not archived (409).
    """
    return load_item_access(item_id, need, kind, from_trash=from_trash)[0]


def load_item_access(
    item_id: int,
    need: ItemAccess = ItemAccess.view,
    kind: type[ItemT] = Item,  # type: ignore[assignment]
    *,
    from_trash: bool = False,
) -> tuple[ItemT, ItemAccess]:
    """`load_item` with the caller's access it decided, for an item's page to show the
    controls of that access without deciding it again (two queries a request). The
    owner group comes in the item's query: every page of an item shows it."""
    item = db.session.get(kind, item_id, options=[joinedload(kind.workspace)])
    access = item_access(_user(), item) if item is not None else ItemAccess.none
    if item is None or access is ItemAccess.none:
        raise not_found(kind.__name__.lower())
    if access < need:
        raise forbidden()
    if need > ItemAccess.view:
        if item.deleted_at is not None and not from_trash:
            raise ApiError(409, "conflict", "The item is in the trash; restore it first.")
        _require_open_workspace(item.workspace_id)
    return item, access


def load_for_publication(item_id: int, action: str) -> Item:
    """The item for a step of the publishing workflow: `submit` is for whoever manages
    it (the owner group's coordinators, the secretariat); `approve`, `reject` and
    `unpublish` are the secretariat's alone."""
    item = load_item(item_id, ItemAccess.manage)
    if action != "submit" and not _user().is_secretariat:
        raise forbidden("Only the technical secretariat approves, rejects or unpublishes.")
    return item


def _require_open_workspace(workspace_id: int) -> None:
    if db.session.scalar(select(Workspace.archived_at).where(Workspace.id == workspace_id)):
        raise ApiError(409, "conflict", "The workspace is archived; restore it first.")


def readable_workspace_ids(user: Any) -> Select[tuple[int]]:
    """Ids of the workspaces whose items the user reads as a member."""
    return select(Membership.workspace_id).where(Membership.user_id == user.id)


def shared_item_ids(workspace_ids: Any) -> Select[tuple[int]]:
    return select(Share.item_id).where(Share.workspace_id.in_(workspace_ids))


def readable_item_ids(user: Any) -> Select[tuple[int]]:
    """Ids of the live items the user may read in the workspaces: their groups', shared."""
    statement = select(Item.id).where(Item.deleted_at.is_(None))
    if user.is_authenticated and user.is_secretariat:
        return statement
    if not user.is_authenticated:
        return statement.where(false())
    mine = readable_workspace_ids(user)
    return statement.where(or_(Item.workspace_id.in_(mine), Item.id.in_(shared_item_ids(mine))))


def published_item_ids() -> Select[tuple[int]]:
    """Ids of the items whose approved copy the public may read: published, not in the trash."""
    return select(Item.id).where(
        Item.deleted_at.is_(None), Item.publication == Publication.published
    )


def public_item(item_id: int) -> Item:
    """The item if its public copy may be read by anyone, else 404."""
    item = db.session.scalar(
        select(Item).where(Item.id == item_id, Item.id.in_(published_item_ids()))
    )
    if item is None:
        raise not_found("item")
    return item


def search_labels(user: Any) -> list[str] | None:
    """The index labels of the workspace documents the user may read; None: all (the
    secretariat). Public copies are another scope of the index (public search)."""
    if user.is_secretariat:
        return None
    return [f"ws:{w}" for w in db.session.scalars(readable_workspace_ids(user))]


def in_workspace(workspace_id: AnyId) -> ColumnElement[bool]:
    """Whether an item (the `items` row of the query) is one a workspace's members find
    in it: live, its own or shared with it. Everything here is readable by whoever may
    read the workspace.

    A condition on the row itself rather than `id IN (...)`: a page of a kind's items
    then reads the kind's rows by the workspace's index instead of matching every id of
    the workspace (the task board at 10,000 items: twice as fast)."""
    own, shared = _workspace_sources(workspace_id)
    return and_(Item.deleted_at.is_(None), or_(own, shared))


def _workspace_sources(workspace_id: int) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return Item.workspace_id == workspace_id, Item.id.in_(shared_item_ids([workspace_id]))


def in_workspace_apart(workspace_id: AnyId) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """`in_workspace` as its two disjoint halves, the group's own items and those shared
    with it: a query for the newest few of each reads one index apiece, where their
    union must sort every match first (the group page at 10,000 items)."""
    live = Item.deleted_at.is_(None)
    own, shared = _workspace_sources(workspace_id)
    return and_(live, own), and_(live, shared)


def workspace_item_ids(workspace_id: int) -> Select[tuple[int]]:
    """The ids of `in_workspace`'s items."""
    return select(Item.id).where(in_workspace(workspace_id))


def trash_workspace_ids(user: Any) -> Select[tuple[int]]:
    """The workspaces whose trash the user manages: coordinators' own, all for the secretariat."""
    if user.is_secretariat:
        return select(Workspace.id)
    return select(Membership.workspace_id).where(
        Membership.user_id == user.id, Membership.role == Role.coordinator
    )


def check_share_target(item: Item, workspace_id: int) -> Workspace:
    """Items are shared with another existing group, never with their owner."""
    target = db.session.get(Workspace, workspace_id)
    if target is None or target.id == item.workspace_id:
        raise ApiError(
            400,
            "invalid",
            "Share with another working group.",
            fields={"workspace_id": "No such other working group."},
        )
    return target


def can_assign(user_id: int, item: Item) -> bool:
    """Tasks go to people who can read them: members of the owner group or a sharing one,
    or the secretariat."""
    if db.session.scalar(select(User.is_secretariat).where(User.id == user_id, User.active)):
        return True
    return (
        db.session.scalar(
            select(Membership.user_id).where(
                Membership.user_id == user_id,
                or_(
                    Membership.workspace_id == item.workspace_id,
                    Membership.workspace_id.in_(
                        select(Share.workspace_id).where(Share.item_id == item.id)
                    ),
                ),
            )
        )
        is not None
    )


def readable_events(user: Any) -> ColumnElement[bool]:
    """Whether an event is about something the user may still read: its item when there
    is one (live, or in a trash they manage, as `item_access` has it), else its workspace
    (none: the network's own events).

    The item is looked up by its key for each event (a correlated EXISTS) rather than
    by building the set of every readable item: a page of a feed or the unread count
    then costs the same in a group of 10,000 items as in one of ten."""
    live = readable_item_ids(user).where(Item.id == Event.item_id)
    trashed = select(Item.id).where(
        Item.id == Event.item_id,
        Item.deleted_at.is_not(None),
        Item.workspace_id.in_(trash_workspace_ids(user)),
    )
    about_item = and_(Event.item_id.is_not(None), or_(exists(live), exists(trashed)))
    about_workspace = Event.item_id.is_(None)
    if not user.is_secretariat:
        about_workspace = and_(
            about_workspace,
            or_(
                Event.workspace_id.is_(None),
                Event.workspace_id.in_(readable_workspace_ids(user)),
            ),
        )
    return or_(about_item, about_workspace)


def visible_notifications(user: Any) -> Select[tuple[Notification]]:
    """The user's notifications about what they may still read."""
    return (
        select(Notification)
        .join(Event, Event.id == Notification.event_id)
        .where(Notification.user_id == user.id, readable_events(user))
    )


# --- network directory --------------------------------------------------------


def can_read_community(user: Any, community: Community) -> bool:
    return community.active or user.is_secretariat


def load_community(community_id: int) -> Community:
    community = db.session.get(Community, community_id)
    if community is None or not can_read_community(_user(), community):
        raise not_found("community")
    return community


def visible_communities(user: Any) -> Select[tuple[Community]]:
    statement = select(Community)
    if not user.is_secretariat:
        statement = statement.where(Community.active.is_(True))
    return statement


# --- the network's contacts -----------------------------------------------------
#
# Signed-in members read one another's contacts; visitors read only what a community
# publishes in the public directory.


def contact_communities(viewer: Any) -> Select[tuple[Community]]:
    """The communities on the members' contacts page: the active ones. None for a visitor."""
    statement = select(Community).where(Community.active.is_(True))
    return statement if viewer.is_authenticated else statement.where(false())


def contact_people(viewer: Any) -> Select[tuple[User]]:
    """The people on the members' contacts page: active, of a community there or of the
    technical secretariat (`Community` is joined for filters on it). Nobody for a visitor."""
    statement = select(User).outerjoin(Community, Community.id == User.community_id)
    if not viewer.is_authenticated:
        return statement.where(false())
    listed = contact_communities(viewer).with_only_columns(Community.id)
    return statement.where(
        User.active.is_(True),
        or_(User.is_secretariat.is_(True), User.community_id.in_(listed)),
    )


def contact_details(person: User) -> dict[str, str]:
    """The details of `person` the other members see: those they chose to show (and
    gave). The same for every viewer, the secretariat and the person included, so the
    page shows each person what the others see of them."""
    shown = {
        "email": person.email if person.show_email else "",
        "phone": person.phone if person.show_phone else "",
        "position": person.position if person.show_position else "",
    }
    return {name: value for name, value in shown.items() if value}


def visible_memberships(viewer: Any) -> Select[tuple[Membership]]:
    """The memberships a viewer sees on the contacts page: in the groups they read
    (every group for the secretariat, else their own), so a contact never reveals a
    group the viewer does not know of."""
    statement = select(Membership)
    if not viewer.is_authenticated:
        return statement.where(false())
    if viewer.is_secretariat:
        return statement
    return statement.where(Membership.workspace_id.in_(readable_workspace_ids(viewer)))


def published_focal_points() -> Select[tuple[User]]:
    """The focal points the public directory names: active people of active communities
    that chose to publish them (their names only)."""
    return (
        select(User)
        .join(Community, Community.id == User.community_id)
        .where(
            User.is_focal_point.is_(True),
            User.active.is_(True),
            Community.active.is_(True),
            Community.publish_focal_points.is_(True),
        )
    )


# --- users --------------------------------------------------------------------


def load_user(user_id: int) -> User:
    """A user record; reached only through secretariat-gated routes."""
    user = db.session.get(User, user_id)
    if user is None:
        raise not_found("user")
    return user


def check_user_change(target: User, changes: dict[str, Any]) -> None:
    """No one deactivates or demotes their own account: the network keeps an administrator."""
    if _user().id == target.id and (
        changes.get("active") is False or changes.get("is_secretariat") is False
    ):
        raise forbidden("You cannot deactivate or demote your own account.")


# --- API tokens -----------------------------------------------------------------


def own_tokens(user: Any) -> Select[tuple[ApiToken]]:
    """A user's API tokens, newest first: no one lists another's."""
    return select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())


def load_own_token(token_id: int) -> ApiToken:
    """One of the caller's API tokens; another's is not found."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != _user().id:
        raise not_found("token")
    return token


# --- live updates -------------------------------------------------------------
#
# The realtime package names Socket.IO rooms after what these functions return.
# They take an explicit `session`: they also run after a commit, when the
# request's own session may not emit SQL.


def live_workspace_ids(session: Any, user: User) -> set[int]:
    """The workspaces whose live events a connection of `user` receives.

    The same rule as reading: the secretariat every workspace, others their own.
    """
    if not user.active:
        return set()
    if user.is_secretariat:
        return set(session.scalars(select(Workspace.id)))
    return set(
        session.scalars(select(Membership.workspace_id).where(Membership.user_id == user.id))
    )


def event_audience(session: Any, event: Any) -> set[int]:
    """The workspaces whose members may see a committed event (`CommittedEvent`).

    The event's workspace and, for an item, its owner workspace and the
    workspaces it is shared with now (a revoked share is no longer among them),
    as the activity feed has it. An event with neither (sign-ins, user
    administration) goes to nobody live.
    """
    audience: set[int] = set()
    if event.workspace_id is not None:
        audience.add(event.workspace_id)
    if event.item_id is not None:
        owner = session.scalar(select(Item.workspace_id).where(Item.id == event.item_id))
        if owner is not None:
            audience.add(owner)
        audience.update(
            session.scalars(select(Share.workspace_id).where(Share.item_id == event.item_id))
        )
    return audience


def users_whose_access_changed(session: Any, event: Any) -> set[int]:
    """Users whose live connections must be checked again after `event`.

    Memberships change the workspaces a user reads; deactivation, a password
    change, a sign-out and a revoked token end connections; a new workspace is
    read by the whole secretariat.
    """
    verb = event.verb
    data = event.data or {}
    users: set[int] = set()
    if verb.startswith(("member.", "user.")) and isinstance(data.get("user_id"), int):
        users.add(data["user_id"])
    if verb == "auth.logout" and event.actor_id is not None:
        users.add(event.actor_id)
    if verb == "token.revoked" and isinstance(data.get("token_id"), int):
        owner = session.scalar(select(ApiToken.user_id).where(ApiToken.id == data["token_id"]))
        if owner is not None:
            users.add(owner)
    if verb == "workspace.created":
        users.update(
            session.scalars(
                select(User.id).where(User.is_secretariat.is_(True), User.active.is_(True))
            )
        )
    return users


def presence_user_ids(session: Any, workspace_id: int) -> set[int]:
    """Whose presence a workspace shows: its members (the secretariat reads every
    workspace but is present only where it is a member)."""
    return set(
        session.scalars(select(Membership.user_id).where(Membership.workspace_id == workspace_id))
    )


def presence_workspace_ids(session: Any, user_id: int) -> set[int]:
    """The workspaces that show this user's presence (the converse of the above)."""
    return set(
        session.scalars(select(Membership.workspace_id).where(Membership.user_id == user_id))
    )


def may_release_lock(user: Any, item: Item, holder_id: int | None) -> bool:
    """The holder releases their own check-out; those who manage the item break anyone's."""
    return holder_id is None or holder_id == user.id or item_access(user, item) >= ItemAccess.manage


# --- planning: tasks, meetings, agendas, calendar feeds ------------------------
#
# Meetings and their agenda points are reached through `workspaces.kinds`: this module
# imports no item kind (DESIGN.md).


def check_readers(user_ids: list[int], item: Item, field: str = "assignee_ids") -> list[User]:
    """The active users named, each able to read `item` (else 400 naming `field`).

    Task assignees and agenda presenters are people who can read what they are given;
    an unknown id and one who may not read the item get the same answer.
    """
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return []
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids), User.active))}
    refused = [uid for uid in ids if uid not in users or not can_assign(uid, item)]
    if refused:
        raise ApiError(
            400,
            "invalid",
            "Everyone named must be able to read the item.",
            fields={field: "Cannot read this item: " + ", ".join(map(str, refused)) + "."},
        )
    return [users[uid] for uid in ids]


def check_agenda_document(document_id: int, meeting: Item) -> int:
    """An agenda point presents a live document found in the meeting's workspace (else 400)."""
    found = db.session.scalar(
        select(Item.id).where(
            Item.id == document_id,
            Item.kind == "document",
            Item.id.in_(workspace_item_ids(meeting.workspace_id)),
        )
    )
    if found is None:
        raise ApiError(
            400,
            "invalid",
            "Present a document of the meeting's working group.",
            fields={"document_id": "No such document in this working group."},
        )
    return found


def load_agenda_item(agenda_item_id: int, need: ItemAccess = ItemAccess.view) -> Any:
    """An agenda point, decided on as its meeting (404 if the meeting is unreadable)."""
    return load_agenda_item_access(agenda_item_id, need)[0]


def load_agenda_item_access(
    agenda_item_id: int, need: ItemAccess = ItemAccess.view
) -> tuple[Any, ItemAccess]:
    """`load_agenda_item` with the caller's access to its meeting (`load_item_access`)."""
    meetings = kinds.get("meeting")
    point = db.session.get(meetings.parts["agenda_item"], agenda_item_id)
    if point is None:
        raise not_found("agenda item")
    try:
        _meeting, access = load_item_access(point.meeting_id, need, kind=meetings.model)
    except ApiError as error:
        if error.status == 404:
            raise not_found("agenda item") from None
        raise
    return point, access


def load_meeting_to_attend(meeting_id: int) -> Any:
    """Whoever reads a meeting answers whether they attend; not in the trash or an
    archived workspace (409)."""
    meeting = load_item(meeting_id, kind=kinds.get("meeting").model)
    if meeting.deleted_at is not None:
        raise ApiError(409, "conflict", "The item is in the trash; restore it first.")
    _require_open_workspace(meeting.workspace_id)
    return meeting


def calendar_reader() -> None:
    """Gate of the iCalendar routes: a valid `?token=` calendar token, or signed in.

    A calendar token reads calendars and nothing else; when the URL carries one,
    it decides (a revoked or unknown token is refused even with a session).
    """
    token = request.args.get("token")
    if token is None:
        signed_in()
        g.calendar_reader = _user()
        return
    record = db.session.scalar(
        select(CalendarToken).where(CalendarToken.token_hash == ApiToken.hash(token))
    )
    if record is None or record.revoked_at is not None or not record.user.active:
        raise ApiError(401, "unauthenticated", "The calendar link is invalid or revoked.")
    g.calendar_reader = record.user


def reader() -> Any:
    """Who reads a calendar route: the token's user or the signed-in one."""
    return g.get("calendar_reader") or _user()


def load_calendar_workspace(workspace_id: int) -> Workspace:
    workspace = db.session.get(Workspace, workspace_id)
    if workspace is None or not can_read_workspace(reader(), workspace):
        raise not_found("workspace")
    return workspace


def load_calendar_meeting(meeting_id: int) -> Any:
    meeting = db.session.get(kinds.get("meeting").model, meeting_id)
    if meeting is None or item_access(reader(), meeting) is ItemAccess.none:
        raise not_found("meeting")
    if meeting.deleted_at is not None:
        raise not_found("meeting")
    return meeting


# --- invitations ----------------------------------------------------------------


def check_invitation(workspace_id: int | None, role: Role | None, community_id: int | None,
                     is_secretariat: bool) -> Workspace | None:  # fmt: skip
    """Who may invite whom: the secretariat anyone, anywhere; a coordinator people of
    their own group as members or observers (of no community or their own). Returns the
    group invited to (404 if the caller may not read it, 403 if not theirs to invite to)."""
    user = _user()
    signed_in()
    workspace = load_workspace(workspace_id) if workspace_id is not None else None
    if user.is_secretariat:
        return workspace
    if workspace is None:
        raise forbidden("Coordinators invite people to their own working group.")
    if role_in(user, workspace.id) is not Role.coordinator:
        raise forbidden("Only the group's coordinators invite people to it.")
    if role not in (Role.member, Role.observer):
        raise forbidden("Coordinators invite members and observers.")
    if is_secretariat:
        raise forbidden("Only the technical secretariat grants secretariat rights.")
    if community_id is not None and community_id != user.community_id:
        raise forbidden("Coordinators invite people of their own community.")
    return workspace


def visible_invitations(user: Any) -> Select[Any]:
    """The invitations the user manages: all for the secretariat, else those to the
    groups they coordinate."""
    statement = select(Invitation)
    if user.is_secretariat:
        return statement
    coordinated = select(Membership.workspace_id).where(
        Membership.user_id == user.id, Membership.role == Role.coordinator
    )
    return statement.where(Invitation.workspace_id.in_(coordinated))


def load_invitation(invitation_id: int) -> Any:
    """An invitation the caller manages (resend, revoke), else 404."""
    signed_in()
    invitation = db.session.scalar(
        visible_invitations(_user()).where(Invitation.id == invitation_id)
    )
    if invitation is None:
        raise not_found("invitation")
    return invitation
