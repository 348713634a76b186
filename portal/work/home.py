"""My work: where a signed-in member lands."""

from __future__ import annotations

from flask_login import current_user
from sqlalchemy import select

from .. import permissions
from ..extensions import db
from ..pages import page, render
from ..workspaces.models import Membership, Workspace
from . import bp


@bp.get("/work")
@page(access=permissions.signed_in)
def my_work() -> str:
    roles = dict(
        db.session.execute(
            select(Membership.workspace_id, Membership.role).where(
                Membership.user_id == current_user.id
            )
        ).all()
    )
    groups = db.session.scalars(
        permissions.visible_workspaces(current_user)
        .where(Workspace.archived_at.is_(None))
        .order_by(Workspace.name)
    ).all()
    return render("work/my_work.html", groups=[(g, roles.get(g.id)) for g in groups])
