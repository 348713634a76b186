"""The console's first page: what the network holds and what waits for the secretariat."""

from __future__ import annotations

from sqlalchemy import func, select

from .. import permissions
from ..accounts.models import User
from ..extensions import db
from ..network.models import Community, MemberState
from ..pages import page, render
from ..public import service as publication
from ..workspaces.models import Workspace
from . import bp


def _count(query) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(query) or 0


@bp.get("")
@page(access=permissions.console)
def overview() -> str:
    figures = {
        "member_states": _count(select(func.count()).select_from(MemberState)),
        "communities": _count(select(func.count(Community.id)).where(Community.active)),
        "users": _count(select(func.count(User.id)).where(User.active)),
        "groups": _count(
            select(func.count(Workspace.id)).where(Workspace.archived_at.is_(None))
        ),
        "requests": len(publication.review_queue()),
    }
    return render("console/overview.html", figures=figures)
