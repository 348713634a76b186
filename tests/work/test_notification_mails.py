"""Notifications by e-mail, read from a real SMTP server (aiosmtpd): at once or as a daily
digest at 07:00 in the person's timezone, in their language, with absolute links and a
List-Unsubscribe header; nothing for a change that rolled back, nothing about what the
person may no longer read."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal import events, mail
from portal.accounts import service as accounts
from portal.accounts.models import User
from portal.events import utcnow
from portal.extensions import db
from portal.mail import OutboxMessage
from portal.memos import service as memos
from portal.tasks import service as tasks
from portal.work.mails import daily_digests
from portal.workspaces import items_service
from portal.workspaces.models import Workspace


def people(world, **preferences):
    """The world's people, with each named one's (locale, email preference)."""
    for who, (locale, choice) in preferences.items():
        user = db.session.get(User, getattr(world, who).id)
        accounts.update_user(user, user, {"locale": locale, "email_notifications": choice})


def assign(world, *who, title="Revisar el reglamento"):
    coordinator = db.session.get(User, world.coordinator.id)
    return tasks.create_task(
        coordinator,
        db.session.get(Workspace, world.ws_id),
        title=title,
        assignees=[db.session.get(User, getattr(world, w).id) for w in who],
    )


def sent(smtp, count):
    mail.send_due()
    return {m["To"]: m for m in smtp.wait_for(count)}


def test_a_notification_is_mailed_at_once_in_each_recipients_language(ctx, world, smtp):
    people(world, member=("es", "immediate"), observer=("en", "immediate"))
    task = assign(world, "member", "observer")

    received = sent(smtp, 2)

    spanish = next(m for to, m in received.items() if "Member Person" in to)
    english = next(m for to, m in received.items() if "Observer Person" in to)
    for message, lang, hello in ((spanish, "es", "Hola"), (english, "en", "Hello")):
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert f'<html lang="{lang}">' in html
        assert text.startswith(hello)
        assert "Coordinator Person" in message["Subject"] and "Revisar el reglamento" in text
        assert f'href="https://portal.example/tasks/{task.id}"' in html
        assert message["List-Unsubscribe"] == "<https://portal.example/account/notifications>"


def test_nothing_is_mailed_to_those_who_chose_a_digest_or_nothing(ctx, world, smtp):
    people(world, member=("es", "daily"), observer=("en", "off"))
    assign(world, "member", "observer")

    assert mail.send_due() == 0
    assert db.session.scalar(select(db.func.count()).select_from(OutboxMessage)) == 0


def test_nothing_is_mailed_for_a_change_that_rolled_back(ctx, world, smtp):
    people(world, member=("es", "immediate"))
    coordinator = db.session.get(User, world.coordinator.id)
    event = events.record("task.assigned", actor=coordinator, workspace=db.session.get(
        Workspace, world.ws_id))  # fmt: skip
    accounts.notify(event, [world.member.id], actor=coordinator)
    assert db.session.new  # the message waits in the transaction

    db.session.rollback()

    assert mail.send_due() == 0
    assert smtp.messages == []


def next_seven(zone: str) -> datetime:
    """The next 07:00 in `zone`, in UTC."""
    local = utcnow().astimezone(ZoneInfo(zone))
    seven = local.replace(hour=7, minute=0, second=0, microsecond=0)
    if seven <= local:
        seven += timedelta(days=1)
    return seven.astimezone(ZoneInfo("UTC"))


@pytest.mark.parametrize(("locale", "words"), [("es", "Hola"), ("en", "Hello")])
def test_the_daily_digest_comes_at_seven_in_the_users_timezone(ctx, world, smtp, locale, words):
    people(world, member=(locale, "daily"))
    member = db.session.get(User, world.member.id)
    accounts.update_user(member, member, {"timezone": "America/Bogota"})
    first = assign(world, "member", title="Primera tarea")
    second = assign(world, "member", title="Segunda tarea")
    seven = next_seven("America/Bogota")

    assert daily_digests(seven - timedelta(minutes=1)) == 0  # 06:59 in Bogotá
    assert daily_digests(seven + timedelta(minutes=1)) == 1
    assert daily_digests(seven + timedelta(hours=3)) == 0  # one a day

    (digest,) = sent(smtp, 1).values()
    text = digest.get_body(("plain",)).get_content()
    html = digest.get_body(("html",)).get_content()
    assert text.startswith(words) and f'<html lang="{locale}">' in html
    assert "Primera tarea" in text and "Segunda tarea" in text
    assert re.search(r"\b2\b", digest["Subject"])
    for task in (first, second):
        assert f'href="https://portal.example/tasks/{task.id}"' in html
    assert digest["List-Unsubscribe"] == "<https://portal.example/account/notifications>"


def test_the_digest_leaves_out_what_was_read_or_can_no_longer_be_read(ctx, world, smtp):
    people(world, member=("en", "daily"))
    kept = assign(world, "member", title="Sigue pendiente")
    read = assign(world, "member", title="Ya leída")
    gone = assign(world, "member", title="En la papelera")
    member = db.session.get(User, world.member.id)
    from portal.accounts.models import Notification

    read_id = db.session.scalar(
        select(Notification.id)
        .join(events.Event)
        .where(Notification.user_id == member.id, events.Event.item_id == read.id)
    )
    accounts.mark_notifications_read(member, [read_id])
    items_service.move_to_trash(db.session.get(User, world.coordinator.id), gone)

    assert daily_digests(next_seven("UTC") + timedelta(minutes=1)) == 1
    (digest,) = sent(smtp, 1).values()
    text = digest.get_body(("plain",)).get_content()
    assert "Sigue pendiente" in text
    assert "Ya leída" not in text and "En la papelera" not in text
    assert kept.id


def test_no_digest_when_nothing_new_happened(ctx, world, smtp):
    people(world, member=("en", "daily"))

    assert daily_digests(next_seven("UTC") + timedelta(minutes=1)) == 0
    assert mail.send_due() == 0


def test_the_preference_page_changes_how_the_portal_writes(app, world):
    from ..conftest import sign_in_session

    client = app.test_client()
    sign_in_session(client, world.member)
    page = client.get("/account/notifications").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    saved = client.post(
        "/account/notifications", data={"csrf_token": token, "email_notifications": "off"}
    )
    refused = client.post(
        "/account/notifications", data={"csrf_token": token, "email_notifications": "weekly"}
    )

    assert saved.status_code == 303
    assert refused.status_code == 400
    with app.app_context():
        assert db.session.get(User, world.member.id).email_notifications == "off"


def test_a_memo_comment_mail_links_the_memo(ctx, world, smtp):
    people(world, member=("en", "immediate"))
    member = db.session.get(User, world.member.id)
    memo = memos.create_memo(member, db.session.get(Workspace, world.ws_id), title="Acta", body="x")
    items_service.add_comment(db.session.get(User, world.coordinator.id), memo, "Revisado")

    (message,) = sent(smtp, 1).values()
    assert "commented on" in message["Subject"]
    assert f"https://portal.example/memos/{memo.id}" in message.get_body(("plain",)).get_content()
