"""The network's contacts page for its members: the technical secretariat, then member
states (by name in the page's language) with their communities, each with its focal
points then its staff, the groups the viewer shares with each person and the details
each chose to show. Visitors have the public directory instead."""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from .. import permissions
from ..accounts.models import User
from ..extensions import db
from ..pages import page, render
from ..public.views import country_name, lenient_query, strxfrm
from ..workspaces.contacts import ContactsQuery, contacts_statement, groups_by_person
from . import bp


def _by_name(contacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(contacts, key=lambda contact: strxfrm(contact["person"].name))


def network_contacts(query: ContactsQuery) -> dict[str, Any]:
    """The contacts matching the query, grouped for the page: three queries however many
    people there are."""
    people = contacts_statement(current_user, query)
    groups = groups_by_person(current_user, people.with_only_columns(User.id))
    secretariat: list[dict[str, Any]] = []
    communities: dict[int, dict[str, Any]] = {}
    for person in db.session.scalars(people):
        contact = {
            "person": person,
            "details": permissions.contact_details(person),
            "groups": groups.get(person.id, []),
        }
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
        entry["focal_points"] = _by_name(entry["focal_points"])
        entry["staff"] = _by_name(entry["staff"])
    for entries in states.values():
        entries.sort(key=lambda entry: strxfrm(entry["community"].name))
    listed = sum(len(e["focal_points"]) + len(e["staff"]) for e in communities.values())
    return {
        "secretariat": _by_name(secretariat),
        "by_state": sorted(states.items(), key=lambda item: strxfrm(item[0][0])),
        "count": len(secretariat) + listed,
    }


@bp.get("/contacts")
@page(access=permissions.signed_in)
def contacts() -> str:
    """The members' contacts page, searchable by name and community."""
    query = lenient_query(ContactsQuery, ("q", "community_id"))
    options = db.session.scalars(permissions.contact_communities(current_user)).all()
    return render(
        "work/contacts.html",
        query=query,
        community_options=[(c.id, c.name) for c in sorted(options, key=lambda c: strxfrm(c.name))],
        **network_contacts(query),
    )
