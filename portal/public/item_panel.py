"""The publication panel of every item's page: its state, the reason of a rejection and
the form to submit it for publication with a note.

`workspaces` sits below `public` (DESIGN.md), so this module adds the panel's context
and its route (`items.publication`) to the items pages when `create_app` imports it,
before the items blueprint is registered."""

from __future__ import annotations

from typing import Any

from flask import flash, request
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from .. import permissions
from ..extensions import db
from ..pages import page, parse_form
from ..permissions import ItemAccess
from ..workspaces import views as items
from ..workspaces.models import Item
from . import service
from .api import PublicationBody
from .models import PublicationRequest


def publication_panel(item: Item, access: ItemAccess) -> dict[str, Any]:
    """The item's latest publication request (its note, or a rejection's reason), and
    whether the viewer may submit (those who manage it, as `load_for_publication`)."""
    latest = db.session.scalar(
        select(PublicationRequest)
        .where(PublicationRequest.item_id == item.id)
        .order_by(PublicationRequest.id.desc())
        .limit(1)
    )
    return {"publication": {"latest": latest, "may_submit": access >= ItemAccess.manage}}


items.panel_contexts.append(publication_panel)


@items.bp.post("/items/<int:item_id>/publication")
@page(access=permissions.signed_in)
def publication(item_id: int) -> Response:
    """Submit the item for publication with a note (the secretariat decides on its
    review pages)."""
    item = permissions.load_for_publication(item_id, "submit")
    form = MultiDict({"action": "submit", "note": request.form.get("note", "")})
    body, errors = parse_form(PublicationBody, form=form)
    if body is None:
        return items.item_page_again(item, "publication", errors)
    service.submit(current_user, item, body.note)
    flash(gettext("Submitted to the technical secretariat for publication."))
    return items.back_to(item, "item_publication")
