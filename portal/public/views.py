"""Public pages: home (also the signed-in dashboard), publications search, the network
directory, robots.txt and sitemap.xml. Views read and render; they never write."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .. import permissions
from ..events import Event
from ..extensions import db
from ..network.models import Community, MemberState
from ..pages import page
from ..workspaces.models import Membership, Workspace
from . import service

bp = Blueprint("public", __name__)

# The pages every sitemap lists besides the publications.
STATIC_PAGES = ("public.home", "public.search", "public.directory")


def _network_at_a_glance() -> dict[str, object]:
    """Counts of the network and its member states with their active communities."""
    communities = permissions.visible_communities(permissions.Anonymous()).subquery()
    per_state = db.session.execute(
        select(MemberState.code, MemberState.name, func.count(communities.c.id))
        .join(communities, communities.c.member_state_code == MemberState.code)
        .group_by(MemberState.code, MemberState.name)
        .order_by(MemberState.name)
    ).all()
    return {
        "communities": sum(count for _code, _name, count in per_state),
        "member_states": len(per_state),
        "states": [{"code": code, "name": name, "communities": n} for code, name, n in per_state],
    }


@bp.get("/")
@page(access=permissions.anyone)
def home() -> str:
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
        network=_network_at_a_glance(),
        workspaces=workspaces,
        recent=recent,
    )


@bp.get("/search")
@page(access=permissions.anyone)
def search() -> str:
    return render_template("public/search.html", q=request.args.get("q", "")[:500])


@bp.get("/directory")
@page(access=permissions.anyone)
def directory() -> str:
    communities = db.session.scalars(
        permissions.visible_communities(current_user).order_by(
            Community.member_state_code, Community.name
        )
    )
    by_state: dict[tuple[str, str], list[Community]] = {}
    for community in communities:
        state = community.member_state
        by_state.setdefault((state.name, state.code), []).append(community)
    return render_template("public/directory.html", by_state=sorted(by_state.items()))


@bp.get("/publications/<int:item_id>")
@bp.get("/publications/<int:item_id>/<slug>")
@page(access=permissions.anyone)
def item_page(item_id: int, slug: str = "") -> str | Response:
    """A published item's page; any other slug redirects to the canonical URL."""
    copy = service.load_published(item_id)
    if slug != copy.slug:
        return redirect(url_for("public.item_page", item_id=item_id, slug=copy.slug), 301)
    return render_template("public/item.html", item=copy)


@bp.get("/robots.txt")
@page(access=permissions.anyone)
def robots() -> Response:
    lines = [
        "User-agent: *",
        "Allow: /",
        "Allow: /api/v1/public/",
        "Disallow: /api/",
        "Disallow: /login",
        # Faceted result pages are endless variations of the same hits.
        "Disallow: /search?",
        f"Sitemap: {url_for('public.sitemap', _external=True)}",
    ]
    return Response("\n".join(lines) + "\n", mimetype="text/plain")


@bp.get("/sitemap.xml")
@page(access=permissions.anyone)
def sitemap() -> Response:
    urls = [{"loc": url_for(name, _external=True), "lastmod": None} for name in STATIC_PAGES]
    body = render_template("public/sitemap.xml", urls=urls)
    return Response(body, mimetype="application/xml")
