"""Notifications by e-mail, as each person chose (`User.email_notifications`):
`immediate` — one message per notification, written in the transaction of the change
(`accounts.service.notify` calls `notification_mails`); `daily` — a digest at 07:00 in
the person's timezone of what is still unread and still readable (`daily_digests`, run by
the sender every minute); `off` — nothing.

Each message is in the recipient's language, its sentence the one the pages show
(`activity.sentence`), its links absolute (PORTAL_BASE_URL), with a List-Unsubscribe
header that leads to the preference page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, url_for
from flask_babel import force_locale, gettext, ngettext
from markupsafe import Markup
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from .. import mail, permissions
from ..accounts import service as accounts
from ..accounts.models import Notification, User
from ..events import Event
from ..extensions import db
from ..i18n import DEFAULT_LOCALE, current_language
from ..workspaces import kinds
from . import activity

DIGEST_HOUR = 7
# The most sentences a digest lists; the rest are counted and linked.
DIGEST_LIMIT = 50


def base_url() -> str:
    return current_app.config["PORTAL"]["BASE_URL"].rstrip("/")


@contextmanager
def _addressed(locale: str) -> Iterator[None]:
    """Render as for a request to PORTAL_BASE_URL in `locale`: `url_for` works (also from
    the command line or the sender thread) and links come out under the portal's address."""
    with current_app.test_request_context("/", base_url=base_url()), force_locale(locale):
        yield


def _absolute(html: str) -> Markup:
    """The sentence's site-relative links made absolute, for a mail program."""
    return Markup(re.sub(r'href="/', f'href="{base_url()}/', str(html)))  # noqa: S704 - our own markup


# The quotation marks of each language, for the titles of the text part (CLDR's
# delimiters, which Babel does not expose).
QUOTES = {"es": ("«", "»"), "pt": ("“", "”"), "fr": ("«\u00a0", "\u00a0»"), "en": ("“", "”")}


def _plain(html: str) -> str:
    """A sentence as text: its quoted titles in the language's quotation marks."""
    start, end = QUOTES.get(current_language(), QUOTES["en"])
    quoted = re.sub(r"<q>(.*?)</q>", lambda m: f"{start}{m.group(1)}{end}", str(html))
    return Markup(quoted).striptags()  # noqa: S704 - only stripped of its tags


def _headers() -> dict[str, str]:
    preference = url_for("accounts.notification_preference", _external=True)
    return {"List-Unsubscribe": f"<{preference}>"}


def _language(user: User) -> str:
    return user.locale or DEFAULT_LOCALE


def _readable(user: User, event_ids: list[int]) -> list[Event]:
    """The events among these that the user may still read, oldest first."""
    return list(
        db.session.scalars(
            select(Event)
            .where(Event.id.in_(event_ids), permissions.readable_events(user))
            .options(selectinload(Event.actor))
            .order_by(Event.id)
        )
    )


def notification_mails(event: Event, user_ids: set[int]) -> None:
    """At once, in the change's transaction: a message to each recipient who wants them."""
    recipients = db.session.scalars(
        select(User).where(
            User.id.in_(user_ids), User.active.is_(True), User.email_notifications == "immediate"
        )
    ).all()
    for user in recipients:
        readable = _readable(user, [event.id])
        if not readable:
            continue
        with _addressed(_language(user)):
            entry = activity.entries(readable, viewer=user)[0]
            item = activity.Narrator(user).load(readable).item(readable[0])
            link = (
                url_for(kinds.pages_of(item.kind).item, item_id=item.id, _external=True)
                if item is not None and kinds.pages_of(item.kind) is not None
                else url_for("work.notifications_page", _external=True)
            )
            sentence = _absolute(entry.sentence)
            text, html = mail.render(
                "notification", _language(user), user=user, sentence=sentence,
                plain=_plain(sentence), link=link,
            )  # fmt: skip
            mail.queue(
                mail.address(user.name, user.email), _plain(sentence), text, html,
                headers=_headers(),
            )  # fmt: skip


def _zone(user: User) -> ZoneInfo:
    try:
        return ZoneInfo(user.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def digest_due_at(user: User, now: datetime) -> datetime:
    """The latest 07:00 in the user's timezone at or before `now`."""
    local = now.astimezone(_zone(user))
    seven = local.replace(hour=DIGEST_HOUR, minute=0, second=0, microsecond=0)
    return seven if local >= seven else seven - timedelta(days=1)


@mail.every_minute
def daily_digests(now: datetime) -> int:
    """Queue the digest of each `daily` user whose 07:00 has come since the last one:
    their unread notifications since then that they may still read. Each user in a
    transaction of their own; the number of digests queued."""
    queued = 0
    users = db.session.scalars(
        select(User).where(User.email_notifications == "daily", User.active.is_(True))
    ).all()
    for user in users:
        due_at = digest_due_at(user, now)
        if user.digest_sent_at is not None and user.digest_sent_at >= due_at:
            continue
        since = user.digest_sent_at or due_at - timedelta(days=1)
        queued += _digest(user, since, now)
        user.digest_sent_at = now
        db.session.commit()
    return queued


def _digest(user: User, since: datetime, now: datetime) -> int:
    event_ids = db.session.scalars(
        select(Notification.event_id)
        .join(Event, Event.id == Notification.event_id)
        .where(
            Notification.user_id == user.id,
            Notification.read_at.is_(None),
            Event.at > since,
            Event.at <= now,
            or_(Event.actor_id.is_(None), Event.actor_id != user.id),
        )
        .order_by(Event.id)
    ).all()
    events = _readable(user, list(event_ids))
    if not events:
        return 0
    shown = events[-DIGEST_LIMIT:]
    with _addressed(_language(user)):
        sentences = [_absolute(entry.sentence) for entry in activity.entries(shown, viewer=user)]
        subject = ngettext(
            "%(num)d new notification on the Port Network Portal",
            "%(num)d new notifications on the Port Network Portal",
            len(events),
        )
        text, html = mail.render(
            "digest", _language(user), user=user, sentences=sentences,
            plain=[_plain(s) for s in sentences], more=len(events) - len(shown),
            link=url_for("work.notifications_page", _external=True),
            intro=gettext("What happened in your working groups since the last summary:"),
        )  # fmt: skip
        mail.queue(mail.address(user.name, user.email), subject, text, html, headers=_headers())
    return 1


accounts.on_notify(notification_mails)
