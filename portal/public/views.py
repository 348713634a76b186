"""Public pages. The home page doubles as the signed-in dashboard."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from .. import permissions
from ..events import Event
from ..extensions import db
from ..network.models import Community, MemberState
from ..workspaces.models import Membership, Workspace
from . import service

bp = Blueprint("public", __name__)


@bp.get("/")
def home() -> str:
    network = {
        "member_states": db.session.scalar(select(func.count()).select_from(MemberState)),
        "communities": db.session.scalar(
            select(func.count()).select_from(
                permissions.visible_communities(current_user).subquery()
            )
        ),
    }
    workspaces, recent = [], []
    if current_user.is_authenticated:
        roles = dict(
            db.session.execute(
                select(Membership.workspace_id, Membership.role).where(
                    Membership.user_id == current_user.id
                )
            ).all()
        )
        rows = db.session.scalars(
            permissions.visible_workspaces(current_user)
            .where(Workspace.archived_at.is_(None))
            .order_by(Workspace.name)
            .limit(50)
        )
        workspaces = [(w, roles.get(w.id)) for w in rows]
        if current_user.is_secretariat:
            recent = list(
                db.session.scalars(
                    select(Event)
                    .options(selectinload(Event.actor))
                    .order_by(Event.id.desc())
                    .limit(10)
                )
            )
    return render_template(
        "public/home.html",
        network=network,
        workspaces=workspaces,
        recent=recent,
    )


@bp.get("/directory")
def directory() -> str:
    communities = db.session.scalars(
        permissions.visible_communities(current_user).order_by(
            Community.member_state_code, Community.name
        )
    )
    by_state: dict[str, list[Community]] = {}
    for community in communities:
        by_state.setdefault(community.member_state.name, []).append(community)
    return render_template("public/directory.html", by_state=sorted(by_state.items()))


@bp.get("/publications/<int:item_id>")
@bp.get("/publications/<int:item_id>/<slug>")
def item_page(item_id: int, slug: str = "") -> str | Response:
    """A published item's page; any other slug redirects to the canonical URL."""
    copy = service.load_published(item_id)
    if slug != copy.slug:
        return redirect(url_for("public.item_page", item_id=item_id, slug=copy.slug), 301)
    return render_template("public/item.html", item=copy)
