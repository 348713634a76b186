"""The signed-in environment's pages that span the item kinds: a working group's page,
My work, notifications, activity and the search of restricted content.

It sits above the kinds (like `public`): it reads every kind, each kind's own pages
live in its package (`memos/views.py` ...) and register themselves in
`workspaces.kinds`, so a new kind appears here without a change.
"""

from flask import Blueprint
from flask_babel import lazy_gettext

bp = Blueprint("work", __name__)

KIND_PLURALS = {
    "document": lazy_gettext("Documents"),
    "memo": lazy_gettext("Memos"),
    "task": lazy_gettext("Tasks"),
    "meeting": lazy_gettext("Meetings"),
}
NEW_KIND_LABELS = {
    "document": lazy_gettext("Upload documents"),
    "memo": lazy_gettext("New memo"),
    "task": lazy_gettext("New task"),
    "meeting": lazy_gettext("New meeting"),
}


@bp.app_template_global()
def kind_plural(kind: str) -> str:
    return str(KIND_PLURALS.get(kind, kind))


@bp.app_template_global()
def new_kind_label(kind: str) -> str:
    return str(NEW_KIND_LABELS.get(kind, kind))


from ..workspaces import kinds  # noqa: E402
from . import activity, contacts, group, home, live, mails, notifications, search  # noqa: E402,F401

bp.add_app_template_global(kinds.page_url, "item_url")
bp.add_app_template_global(kinds.pages_of, "kind_pages")
bp.add_app_template_global(activity.item_link, "item_title_link")
