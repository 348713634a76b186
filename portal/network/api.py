"""JSON routes of the network directory and the audit log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_login import current_user
from sqlalchemy import func, or_, select

from .. import permissions
from ..api import API_PREFIX, PageQuery, changes_of, endpoint, iso, not_found, paginate
from ..events import Event
from ..extensions import db
from . import service
from .audit import filtered_events
from .models import Community, MemberState
from .schemas import (
    AuditQuery,
    CommunityCreateBody,
    CommunityQuery,
    CommunityUpdateBody,
    MemberStateBody,
)

bp = Blueprint("network_api", __name__, url_prefix=API_PREFIX)


def member_state_json(state: MemberState) -> dict[str, Any]:
    return {"code": state.code, "name": state.name}


def community_json(community: Community) -> dict[str, Any]:
    return {
        "id": community.id,
        "slug": community.slug,
        "name": community.name,
        "port": community.port,
        "member_state": member_state_json(community.member_state),
        "description": community.description,
        "website": community.website,
        "active": community.active,
        "contact_email": community.contact_email,
        "publish_focal_points": community.publish_focal_points,
    }


def event_json(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": iso(event.at),
        "verb": event.verb,
        "actor": {"id": event.actor.id, "name": event.actor.name} if event.actor else None,
        "workspace_id": event.workspace_id,
        "item_id": event.item_id,
        "data": event.data,
    }


@bp.get("/member-states")
@endpoint(access=permissions.anyone, query=PageQuery)
def list_member_states(query: PageQuery) -> dict[str, Any]:
    """The member states of the network, by name."""
    return paginate(select(MemberState).order_by(MemberState.name), query, member_state_json)


@bp.post("/member-states")
@endpoint(access=permissions.secretariat, body=MemberStateBody, status=201)
def create_member_state(body: MemberStateBody) -> dict[str, Any]:
    """Add a member state (ISO 3166 alpha-2 code)."""
    return member_state_json(service.create_member_state(current_user, body.code, body.name))


@bp.get("/member-states/<code>")
@endpoint(access=permissions.anyone)
def get_member_state(code: str) -> dict[str, Any]:
    """One member state."""
    state = db.session.get(MemberState, code.upper()) if len(code) == 2 else None
    if state is None:
        raise not_found("member state")
    return member_state_json(state)


@bp.get("/communities")
@endpoint(access=permissions.anyone, query=CommunityQuery)
def list_communities(query: CommunityQuery) -> dict[str, Any]:
    """The port logistics communities, by member state and name."""
    statement = permissions.visible_communities(current_user).order_by(
        Community.member_state_code, Community.name
    )
    if query.member_state:
        statement = statement.where(Community.member_state_code == query.member_state)
    if query.q:
        pattern = f"%{query.q.lower()}%"
        statement = statement.where(
            or_(func.lower(Community.name).like(pattern), func.lower(Community.port).like(pattern))
        )
    return paginate(statement, query, community_json)


@bp.post("/communities")
@endpoint(access=permissions.secretariat, body=CommunityCreateBody, status=201)
def create_community(body: CommunityCreateBody) -> dict[str, Any]:
    """Add a community to the network."""
    return community_json(service.create_community(current_user, **body.model_dump()))


@bp.get("/communities/<int:community_id>")
@endpoint(access=permissions.anyone)
def get_community(community_id: int) -> dict[str, Any]:
    """One community (inactive ones only for the secretariat)."""
    return community_json(permissions.load_community(community_id))


@bp.patch("/communities/<int:community_id>")
@endpoint(access=permissions.secretariat, body=CommunityUpdateBody)
def update_community(community_id: int, body: CommunityUpdateBody) -> dict[str, Any]:
    """Change a community; `active: false` takes it out of the directory; `contact_email`
    and `publish_focal_points` are what the public directory shows of it."""
    community = permissions.load_community(community_id)
    return community_json(service.update_community(current_user, community, changes_of(body)))


@bp.get("/audit")
@endpoint(access=permissions.secretariat, query=AuditQuery)
def audit(query: AuditQuery) -> dict[str, Any]:
    """The event log, newest first, filtered by actor, verb, item (id or part of its
    title), time and workspace."""
    return paginate(filtered_events(query), query, event_json)
