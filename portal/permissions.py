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
from typing import Any

from flask_login import AnonymousUserMixin, current_user
from sqlalchemy import Select, or_, select

from .accounts.models import Notification, User
from .api import ApiError, not_found
from .events import Event
from .extensions import db
from .network.models import Community
from .workspaces.models import Item, Membership, Publication, Role, Workspace


class Anonymous(AnonymousUserMixin):
    """The visitor who has not signed in."""

    id = None
    is_secretariat = False


def _user() -> Any:
    return current_user


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


# --- workspaces ---------------------------------------------------------------


class WorkspaceAction(enum.StrEnum):
    read = "read"
    manage_members = "manage_members"
    administer = "administer"


def role_in(user: Any, workspace_id: int) -> Role | None:
    """The user's role in a workspace, read from the database."""
    if not user.is_authenticated:
        return None
    return db.session.scalar(
        select(Membership.role).where(
            Membership.workspace_id == workspace_id, Membership.user_id == user.id
        )
    )


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
    if action is WorkspaceAction.manage_members:
        return role is Role.coordinator
    return False


def load_workspace(workspace_id: int, action: WorkspaceAction = WorkspaceAction.read) -> Workspace:
    """The workspace if the caller may read it (else 404) and act on it (else 403)."""
    user = _user()
    workspace = db.session.get(Workspace, workspace_id)
    if workspace is None or not can_read_workspace(user, workspace):
        raise not_found("workspace")
    if not may_on_workspace(user, workspace, action):
        raise forbidden()
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


def readable_workspace_ids(user: Any) -> Select[tuple[int]]:
    """Ids of the workspaces whose items the user reads as a member."""
    return select(Membership.workspace_id).where(Membership.user_id == user.id)


def readable_item_ids(user: Any) -> Select[tuple[int]]:
    """Ids of the live items the user may read: their groups' and the published ones."""
    statement = select(Item.id).where(Item.deleted_at.is_(None))
    if user.is_secretariat:
        return statement
    published = Item.publication == Publication.published
    if not user.is_authenticated:
        return statement.where(published)
    return statement.where(or_(Item.workspace_id.in_(readable_workspace_ids(user)), published))


def visible_notifications(user: Any) -> Select[tuple[Notification]]:
    """The user's notifications whose item and workspace they may still read."""
    statement = (
        select(Notification)
        .join(Event, Event.id == Notification.event_id)
        .where(Notification.user_id == user.id)
        .where(or_(Event.item_id.is_(None), Event.item_id.in_(readable_item_ids(user))))
    )
    if not user.is_secretariat:
        statement = statement.where(
            or_(Event.workspace_id.is_(None), Event.workspace_id.in_(readable_workspace_ids(user)))
        )
    return statement


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


# --- workspace items (documents, memos, tasks, meetings) -------------------------


class ItemAction(enum.StrEnum):
    read = "read"
    # Change the item: metadata, new document versions, check-out.
    edit = "edit"
    # Move it to the trash, break another member's check-out.
    delete = "delete"


def may_on_item(user: Any, item: Item, action: ItemAction) -> bool:
    """Observers read, members edit, coordinators delete; the secretariat does all."""
    if not user.is_authenticated:
        return action is ItemAction.read and item.publication == Publication.published
    if user.is_secretariat:
        return True
    role = role_in(user, item.workspace_id)
    if role is None:
        return action is ItemAction.read and item.publication == Publication.published
    if action is ItemAction.read:
        return True
    if action is ItemAction.edit:
        return role.at_least(Role.member)
    return role is Role.coordinator


def load_item(item_id: int, action: ItemAction = ItemAction.read, kind: type[Item] = Item) -> Any:
    """A live item of `kind` if the caller may read it (else 404) and act on it (else 403)."""
    user = _user()
    item = db.session.get(kind, item_id)
    if item is None or item.deleted_at is not None or not may_on_item(user, item, ItemAction.read):
        raise not_found(kind.__name__.lower() if kind is not Item else "item")
    if not may_on_item(user, item, action):
        raise forbidden()
    return item


def load_workspace_for_new_item(workspace_id: int) -> Workspace:
    """A workspace the caller may add items to: members and up (observers 403)."""
    workspace = load_workspace(workspace_id)
    user = _user()
    if not user.is_secretariat:
        role = role_in(user, workspace.id)
        if role is None or not role.at_least(Role.member):
            raise forbidden("Observers cannot add items to this working group.")
    return workspace


def may_release_lock(user: Any, item: Item, holder_id: int | None) -> bool:
    """The holder releases their own check-out; coordinators break anyone's."""
    return holder_id is None or holder_id == user.id or may_on_item(user, item, ItemAction.delete)
