"""What the pages' live module (static/js/live.js) needs from the server: where its
catch-up starts, and who is online now for a page's first render.

The page says the newest event id when it was rendered (`live_cursor`): live.js asks
the activity feed `after` it when its socket connects, so a change committed between
the render and the connection, or during a lost connection, is not missed (event ids
follow commit order, see events.py)."""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app
from flask_login import current_user

from ..realtime import live
from . import bp, notifications


@bp.app_template_global()
def live_cursor() -> int:
    """The newest event id now (0 before the first), read with the header's count."""
    return notifications.header()[1]


def online_user_ids(user_ids: Iterable[int]) -> set[int]:
    """Of these users, those with a live connection now, and the viewer (who is on this
    page, though their socket for it is not open yet)."""
    state = current_app.extensions.get(live.EXTENSION)
    online = state.presence.online(list(user_ids)) if state is not None else set()
    return online | {current_user.id}
