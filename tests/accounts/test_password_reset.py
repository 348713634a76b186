"""A forgotten password: the same answer for any address, a one-hour single-use link
mailed in the person's language (read from a real SMTP server), and every session and
live connection of the user ended when it is used."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from portal import mail
from portal.accounts.models import PasswordReset, User
from portal.events import Event, utcnow
from portal.extensions import db, socketio
from portal.mail import OutboxMessage

from ..conftest import sign_in_session
from ..factories import make_user, user_ref

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"
BASE_URL = "https://portal.example"


@pytest.fixture(autouse=True)
def base_url(app):
    saved = app.config["PORTAL"]["BASE_URL"]
    app.config["PORTAL"]["BASE_URL"] = BASE_URL + "/"
    yield
    app.config["PORTAL"]["BASE_URL"] = saved


def person(app, **fields):
    with app.app_context():
        fields.setdefault("email", "ana@ports.example")
        return user_ref(make_user(password=PASSWORD, name="Ana Pérez", **fields))


def mailed(app, smtp, count: int = 1):
    with app.app_context():
        mail.send_due()
    return smtp.wait_for(count)


def token_of(message) -> str:
    text = message.get_body(("plain",)).get_content()
    return re.search(re.escape(BASE_URL) + r"/reset-password/([\w-]+)", text).group(1)


def outbox_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def test_known_and_unknown_addresses_get_the_same_answer_and_only_one_gets_mail(app, api, smtp):
    person(app)

    known = api.post("/auth/password-reset", {"email": "ANA@ports.example "})
    unknown = api.post("/auth/password-reset", {"email": "nobody@ports.example"})

    assert known.status_code == unknown.status_code == 202
    assert known.get_json() == unknown.get_json() == {"accepted": True}
    headers = lambda r: sorted(k for k, _ in r.headers if not k.startswith("X-RateLimit"))
    assert headers(known) == headers(unknown)
    assert outbox_count(app) == 1
    (message,) = mailed(app, smtp)
    assert message["To"] == "Ana Pérez <ana@ports.example>"
    with app.app_context():  # both requests leave the same trace for the audit log
        verbs = db.session.scalars(select(Event.verb).order_by(Event.id)).all()
        assert verbs[-2:] == ["auth.password_reset_requested"] * 2


def test_a_deactivated_account_gets_no_mail(app, api):
    ana = person(app)
    with app.app_context():
        db.session.get(User, ana.id).active = False
        db.session.commit()

    assert api.post("/auth/password-reset", {"email": ana.email}).status_code == 202
    assert outbox_count(app) == 0


@pytest.mark.parametrize(
    ("locale", "greeting"),
    [("en", "Hello Ana Pérez,"), ("es", None), (None, None)],
)
def test_the_mail_is_written_in_the_persons_language_and_zone(app, api, smtp, locale, greeting):
    """Spanish for `es` and for an account without a language; the expiry in their zone."""
    person(app, locale=locale, timezone="America/Bogota")
    before = utcnow()

    api.post("/auth/password-reset", {"email": "ana@ports.example"})

    (message,) = mailed(app, smtp)
    language = locale or "es"
    with app.test_request_context(), force_locale(language):
        assert message["Subject"] == gettext("Reset your password")
        expected_greeting = greeting or gettext("Hello %(name)s,", name="Ana Pérez")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = f"{BASE_URL}/reset-password/{token_of(message)}"
    bogota = (before + timedelta(hours=1)).astimezone(ZoneInfo("America/Bogota"))
    day = format_date(bogota, "long", locale=language)  # "2 de diciembre de 2026"
    assert expected_greeting in text and expected_greeting in html
    assert link in text and f'href="{link}"' in html
    assert f"{day}, " in text and "(America/Bogota)" in text
    assert f'<html lang="{language}">' in html
    assert f'href="{BASE_URL}/"' in html  # the portal's own address, absolute
    if language == "en":
        assert "Someone asked to reset the password of your account." in text
        assert "The link works once, until" in text


def test_the_link_sets_the_password_once(app, api, smtp):
    ana = person(app)
    api.post("/auth/password-reset", {"email": ana.email})
    token = token_of(mailed(app, smtp)[0])

    first = api.post(f"/auth/password-reset/{token}", {"password": NEW_PASSWORD})
    again = api.post(f"/auth/password-reset/{token}", {"password": "yet another passphrase"})

    assert first.status_code == 204 and first.get_data() == b""
    assert again.status_code == 404
    assert again.get_json()["error"]["code"] == "not_found"
    login = lambda password: api.post("/auth/login", {"email": ana.email, "password": password})
    assert login(PASSWORD).status_code == 401
    assert login(NEW_PASSWORD).status_code == 200


def test_an_expired_link_is_refused(app, api, smtp):
    ana = person(app)
    api.post("/auth/password-reset", {"email": ana.email})
    token = token_of(mailed(app, smtp)[0])
    with app.app_context():
        record = db.session.scalars(select(PasswordReset)).one()
        assert record.expires_at - record.created_at == timedelta(hours=1)
        record.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()

    response = api.post(f"/auth/password-reset/{token}", {"password": NEW_PASSWORD})

    assert response.status_code == 404
    assert api.post("/auth/login", {"email": ana.email, "password": PASSWORD}).status_code == 200


@pytest.mark.parametrize("token", ["unknown-token", "x" * 300])
def test_an_unknown_link_is_refused(api, token):
    response = api.post(f"/auth/password-reset/{token}", {"password": NEW_PASSWORD})
    assert response.status_code == 404


def test_using_one_link_ends_the_others(app, api, smtp):
    ana = person(app)
    api.post("/auth/password-reset", {"email": ana.email})
    api.post("/auth/password-reset", {"email": ana.email})
    older, newer = (token_of(m) for m in mailed(app, smtp, 2))

    assert api.post(f"/auth/password-reset/{newer}", {"password": NEW_PASSWORD}).status_code == 204
    assert api.post(f"/auth/password-reset/{older}", {"password": PASSWORD}).status_code == 404


def test_only_the_hash_of_the_token_is_stored(app, api, smtp):
    person(app)
    api.post("/auth/password-reset", {"email": "ana@ports.example"})
    token = token_of(mailed(app, smtp)[0])

    with app.app_context():
        stored = db.session.scalars(select(PasswordReset.token_hash)).one()
    assert token not in stored and len(stored) == 64


def test_the_new_password_follows_the_password_rules(app, api, smtp):
    person(app)
    api.post("/auth/password-reset", {"email": "ana@ports.example"})
    token = token_of(mailed(app, smtp)[0])

    response = api.post(f"/auth/password-reset/{token}", {"password": "short"})

    assert response.status_code == 400
    assert "password" in response.get_json()["error"]["fields"]
    assert api.post(f"/auth/password-reset/{token}", {"password": NEW_PASSWORD}).status_code == 204


def test_a_reset_ends_every_session_and_live_connection(app, api, as_user, smtp):
    ana = person(app)
    browser = as_user(ana)
    assert browser.get("/me").status_code == 200
    socket_client = app.test_client()
    sign_in_session(socket_client, ana)
    socket = socketio.test_client(app, flask_test_client=socket_client)
    assert socket.is_connected()

    api.post("/auth/password-reset", {"email": ana.email})
    token = token_of(mailed(app, smtp)[0])
    assert api.post(f"/auth/password-reset/{token}", {"password": NEW_PASSWORD}).status_code == 204

    assert browser.get("/me").status_code == 401
    assert not socket.is_connected()
    with app.app_context():
        verbs = db.session.scalars(select(Event.verb).where(Event.actor_id == ana.id)).all()
        assert "user.password_reset" in verbs


def test_requests_are_rate_limited_per_address_alike(app, api):
    person(app)
    limit = int(app.config["PORTAL"]["RESET_RATE_LIMIT"].split("/")[0])
    for email in ("ana@ports.example", "nobody@ports.example"):
        answers = [
            api.post(
                "/auth/password-reset",
                {"email": email},
                environ_base={"REMOTE_ADDR": f"10.0.0.{n}"},
            ).status_code
            for n in range(limit + 1)
        ]
        assert answers == [202] * limit + [429], email


def test_requests_are_rate_limited_per_client(app, api):
    limit = int(app.config["PORTAL"]["RESET_RATE_LIMIT"].split("/")[0])
    answers = [
        api.post("/auth/password-reset", {"email": f"someone{n}@ports.example"}).status_code
        for n in range(limit + 1)
    ]
    assert answers == [202] * limit + [429]
