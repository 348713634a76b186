"""The secretariat's console: the pages that administer the network (member states,
communities, users, working groups, invitations, the audit log, the components' health).

It sits above every domain package (like `work` and `public`): it reads them all and
changes state only through their services.

Every console page is declared with `page(access=permissions.console)`: to anyone but
the secretariat it does not exist. Each section is a module of this package that adds
its pages to `bp` and names its entry page in `SECTIONS` (the console's menu).
"""

from __future__ import annotations

from flask import Blueprint
from flask_babel import lazy_gettext

bp = Blueprint("console", __name__, url_prefix="/console")

# (endpoint, label) of each section's entry page, in the menu's order.
SECTIONS: list[tuple[str, object]] = [
    ("console.overview", lazy_gettext("Overview")),
    ("console.member_states", lazy_gettext("Member states")),
    ("console.communities", lazy_gettext("Communities")),
    ("console.users", lazy_gettext("Users")),
    ("console.groups", lazy_gettext("Working groups")),
    ("console.invitations", lazy_gettext("Invitations")),
    ("review.queue", lazy_gettext("Publication requests")),
    ("console.statistics_page", lazy_gettext("Statistics")),
    ("console.audit_page", lazy_gettext("Audit log")),
    ("console.health_page", lazy_gettext("Health")),
]


@bp.app_template_global()
def console_sections() -> list[tuple[str, object]]:
    return SECTIONS


# The sections add their pages to `bp` when imported.
from . import (  # noqa: E402,F401
    audit,
    groups,
    health,
    invitations,
    network,
    overview,
    statistics,
    users,
)
