"""The portal's e-mails as a mail program shows them: each kind, in Spanish and English,
sent through a real SMTP server (aiosmtpd), its HTML part rendered in Chromium at
desktop and phone width (screenshots under tests/artifacts/mail/, for review) and never
wider than a phone's screen."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal import mail
from portal.accounts import service as accounts
from portal.accounts.models import User
from portal.extensions import db
from portal.tasks import service as tasks
from portal.work.mails import daily_digests
from portal.workspaces.models import Workspace

from ..work.test_notification_mails import next_seven
from .conftest import shoot

PASSWORD = "una-clave-larga-2026"


def _prefer(app, user_id: int, locale: str, choice: str) -> None:
    with app.app_context():
        user = db.session.get(User, user_id)
        accounts.update_user(user, user, {"locale": locale, "email_notifications": choice})


def _sent(app, smtp, count: int) -> list:
    with app.app_context():
        mail.send_due()
    return smtp.wait_for(count)


@pytest.mark.parametrize("locale", ["es", "en"])
def test_every_kind_of_mail_reads_well_on_a_desktop_and_a_phone(
    app, as_user, api, world, smtp, browser, locale
):
    _prefer(app, world.secretariat.id, locale, "immediate")
    _prefer(app, world.member.id, locale, "daily")
    mails: dict[str, object] = {}

    assert api.post("/auth/password-reset", {"email": world.member.email}).status_code == 202
    (mails["password-reset"],) = _sent(app, smtp, 1)
    invited = as_user(world.secretariat).post(
        "/invitations",
        {"email": "nueva@ports.example", "name": "Nueva Persona", "locale": locale,
         "workspace_id": world.ws_id, "role": "member"},
    )  # fmt: skip
    assert invited.status_code == 201, invited.get_json()
    mails["invitation"] = _sent(app, smtp, 2)[1]
    text = mails["invitation"].get_body(("plain",)).get_content()
    token = re.search(r"/invitation/(\S+)", text).group(1)
    accepted = api.post(
        f"/auth/invitations/{token}/accept", {"name": "Nueva Persona", "password": PASSWORD}
    )
    assert accepted.status_code == 201, accepted.get_json()
    mails["acceptance"] = _sent(app, smtp, 3)[2]  # to the inviter
    with app.app_context():
        coordinator = db.session.get(User, world.coordinator.id)
        group = db.session.get(Workspace, world.ws_id)
        member = db.session.get(User, world.member.id)
        for title in ("Revisar el reglamento de tarifas", "Preparar la reunión de enero"):
            tasks.create_task(coordinator, group, title=title, assignees=[member])
        zone = member.timezone or "UTC"
        assert daily_digests(next_seven(zone) + timedelta(minutes=1)) == 1
    mails["digest"] = _sent(app, smtp, 4)[3]

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        for kind, message in mails.items():
            html = message.get_body(("html",)).get_content()
            assert f'<html lang="{locale}">' in html, kind
            page.set_content(html)
            assert page.locator("a[href^='https://portal.example/']").count() >= 1, kind
            shoot(page, f"{kind}-{locale}", "mail")
    finally:
        page.close()
