"""What every item's page shares, whatever its kind: the frame (`item_context` and
templates/workspaces/item.html) and the pages of the parts every item has (comments,
sharing, publication, the trash)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_login import current_user

from .. import permissions
from ..extensions import db
from .models import Item, Workspace

bp = Blueprint("items", __name__)


def item_context(item: Item) -> dict[str, Any]:
    """What templates/workspaces/item.html needs besides the kind's own: the item, its
    owner group and what the viewer may do with it (`permissions.ItemAccess`)."""
    return {
        "item": item,
        "workspace": db.session.get(Workspace, item.workspace_id),
        "access": permissions.item_access(current_user, item),
        "ItemAccess": permissions.ItemAccess,
    }
