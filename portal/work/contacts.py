"""The network's contacts for its members: each community's focal points and staff,
by member state, with the groups the viewer shares with them and the details each
person chose to show (`permissions.contact_details`). Visitors have the public
directory instead."""

from __future__ import annotations

from typing import Annotated, Any

from flask_login import current_user
from pydantic import StringConstraints
from sqlalchemy import func, or_

from .. import permissions
from ..accounts.models import User
from ..api import Id, Query
from ..extensions import db
from ..network.models import Community
from ..pages import page, render
from ..public.views import country_name, lenient_query, strxfrm
from ..workspaces.models import Membership, Workspace
from . import bp


class ContactsQuery(Query):
    # A person's name, or a community's name or port.
    q: Annotated[str, StringConstraints(max_length=100)] = ""
    community: Id | None = None


def _groups_by_person(people: Any) -> dict[int, list[tuple[int, str, str]]]:
    """User id -> [(group id, name, role)] of the open groups the viewer sees them in,
    for every person of `people` (a statement) in one query."""
    rows = db.session.execute(
        permissions.visible_memberships(current_user)
        .with_only_columns(Membership.user_id, Workspace.id, Workspace.name, Membership.role)
        .join(Workspace, Workspace.id == Membership.workspace_id)
        .where(
            Workspace.archived_at.is_(None),
            Membership.user_id.in_(people.with_only_columns(User.id)),
        )
        .order_by(Workspace.name)
    )
    groups: dict[int, list[tuple[int, str, str]]] = {}
    for user_id, workspace_id, name, role in rows:
        groups.setdefault(user_id, []).append((workspace_id, name, str(role)))
    return groups


def _contact(person: User, groups: dict[int, list[tuple[int, str, str]]]) -> dict[str, Any]:
    return {
        "person": person,
        "details": permissions.contact_details(person),
        "groups": groups.get(person.id, []),
    }


def network_contacts(query: ContactsQuery) -> dict[str, Any]:
    """The contacts matching the query: the secretariat's, and member states (by name in
    the page's language) with their communities, each with its focal points then its
    staff. Three queries however many people there are."""
    people = permissions.contact_people(current_user)
    if query.q:
        pattern = f"%{query.q.lower()}%"
        people = people.where(
            or_(
                func.lower(User.name).like(pattern),
                func.lower(Community.name).like(pattern),
                func.lower(Community.port).like(pattern),
            )
        )
    if query.community is not None:
        people = people.where(User.community_id == query.community, User.is_secretariat.is_(False))
    groups = _groups_by_person(people)
    secretariat: list[dict[str, Any]] = []
    communities: dict[int, dict[str, Any]] = {}
    for person in db.session.scalars(people):
        contact = _contact(person, groups)
        if person.is_secretariat:
            secretariat.append(contact)
            continue
        entry = communities.setdefault(
            person.community_id, {"community": person.community, "focal_points": [], "staff": []}
        )
        entry["focal_points" if person.is_focal_point else "staff"].append(contact)
    states: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for entry in communities.values():
        state = entry["community"].member_state
        states.setdefault((country_name(state.code, state.name), state.code), []).append(entry)
        for part in ("focal_points", "staff"):
            entry[part].sort(key=lambda c: strxfrm(c["person"].name))
    for entries in states.values():
        entries.sort(key=lambda e: strxfrm(e["community"].name))
    return {
        "secretariat": sorted(secretariat, key=lambda c: strxfrm(c["person"].name)),
        "by_state": sorted(states.items(), key=lambda item: strxfrm(item[0][0])),
        "count": len(secretariat)
        + sum(len(e["focal_points"]) + len(e["staff"]) for e in communities.values()),
    }


@bp.get("/contacts")
@page(access=permissions.signed_in)
def contacts() -> str:
    """The members' contacts page, searchable by name and community."""
    query = lenient_query(ContactsQuery, ("q", "community"))
    options = db.session.scalars(permissions.contact_communities(current_user)).all()
    return render(
        "work/contacts.html",
        query=query,
        community_options=[(c.id, c.name) for c in sorted(options, key=lambda c: strxfrm(c.name))],
        **network_contacts(query),
    )
