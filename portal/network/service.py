"""Every change to the network directory: member states and communities."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from .. import events
from ..accounts.models import User
from ..api import conflict, invalid
from ..extensions import db
from ..text import free_slug
from .models import Community, MemberState


def _require_free_name(name: str) -> None:
    if db.session.scalar(select(MemberState.code).where(MemberState.name == name)):
        raise conflict(f"A member state is already called {name}.", fields={"name": "Taken."})


def create_member_state(
    actor: User | None, code: str, name: str, *, commit: bool = True
) -> MemberState:
    """Add a member state (`commit=False`: in the caller's transaction, as onboarding a
    community with its new member state does)."""
    if db.session.get(MemberState, code) is not None:
        raise conflict(f"Member state {code} already exists.", fields={"code": "Taken."})
    _require_free_name(name)
    state = MemberState(code=code, name=name)
    db.session.add(state)
    db.session.flush()
    events.record("member_state.created", actor=actor, data={"code": code, "name": name})
    if commit:
        db.session.commit()
    return state


def rename_member_state(actor: User, state: MemberState, name: str) -> MemberState:
    """Its code stays (it is the key clients use); only the name changes."""
    if name == state.name:
        return state
    _require_free_name(name)
    data = {"code": state.code, "name": name, "previous_name": state.name}
    state.name = name
    events.record("member_state.renamed", actor=actor, data=data)
    db.session.commit()
    return state


def _require_member_state(code: str) -> None:
    if db.session.get(MemberState, code) is None:
        raise invalid({"member_state": f"{code} is not a member state of the network."})


def create_community(
    actor: User | None,
    *,
    name: str,
    port: str,
    member_state: str,
    description: str = "",
    website: str = "",
    slug: str | None = None,
    contact_email: str = "",
    publish_focal_points: bool = False,
    is_demo: bool = False,
    commit: bool = True,
) -> Community:
    """Add a community (`commit=False`: in the caller's transaction)."""
    _require_member_state(member_state)
    if slug is not None and db.session.scalar(select(Community.id).where(Community.slug == slug)):
        raise conflict("A community already uses this slug.", fields={"slug": "Taken."})
    community = Community(
        slug=slug or free_slug(Community.slug, name),
        name=name,
        port=port,
        member_state_code=member_state,
        description=description,
        website=website,
        contact_email=contact_email,
        publish_focal_points=publish_focal_points,
        active=True,
        is_demo=is_demo,
    )
    db.session.add(community)
    db.session.flush()
    events.record(
        "community.created", actor=actor, data={"community_id": community.id, "name": name}
    )
    if commit:
        db.session.commit()
    return community


def update_community(actor: User, community: Community, changes: dict[str, Any]) -> Community:
    if "member_state" in changes:
        _require_member_state(changes["member_state"])
        changes["member_state_code"] = changes.pop("member_state")
    changed = [field for field, value in changes.items() if getattr(community, field) != value]
    for field in changed:
        setattr(community, field, changes[field])
    if changed:
        events.record(
            "community.updated",
            actor=actor,
            data={"community_id": community.id, "fields": sorted(changed)},
        )
        db.session.commit()
    return community
