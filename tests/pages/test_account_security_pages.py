"""The pages of a forgotten password and of two-factor sign-in, without JavaScript:
forms that post, errors beside their field, the same message for any address."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from portal import mail
from portal.accounts import two_factor
from portal.accounts.models import PasswordReset, TwoFactor
from portal.events import utcnow
from portal.extensions import db

from ..conftest import sign_in_session
from ..factories import make_user, user_ref

EN = {"Accept-Language": "en"}
PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"


def csrf_of(html: str) -> str:
    return re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def post_form(client, path: str, data: dict[str, str], page: str | None = None):
    """Post `data` with the CSRF token of the form on `page` (default: `path`)."""
    html = client.get(page or path, headers=EN).get_data(as_text=True)
    return client.post(path, data=data | {"csrf_token": csrf_of(html)}, headers=EN)


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ana(app):
    with app.app_context():
        return user_ref(make_user(password=PASSWORD, email="ana@ports.example", name="Ana"))


@pytest.fixture
def clock(monkeypatch):
    moment = utcnow().replace(microsecond=0)
    moment -= timedelta(seconds=moment.second % 30 - 15)
    monkeypatch.setattr(two_factor, "utcnow", lambda: moment)
    return moment


# --- a forgotten password -----------------------------------------------------------


def test_the_sign_in_page_links_to_the_forgotten_password(client):
    html = text(client.get("/login", headers=EN))
    assert 'href="/forgot-password"' in html and "Forgot your password?" in html


def test_forgot_password_answers_the_same_for_any_address(app, client, ana, smtp):
    answers = []
    for email in ("ana@ports.example", "nobody@ports.example"):
        response = post_form(client, "/forgot-password", {"email": email})
        assert response.status_code == 303
        assert response.headers["Location"] == "/forgot-password"
        page = text(client.get("/forgot-password", headers=EN))
        notice = re.search(r'<div class="notice" role="status">(.*?)</div>', page).group(1)
        answers.append(notice.replace(email, "ADDRESS"))
    assert answers[0] == answers[1]
    assert "a link to choose a new password is on its way" in answers[0]
    with app.app_context():
        assert mail.send_due() == 1
    assert smtp.wait_for(1)[0]["To"] == "Ana <ana@ports.example>"


def test_forgot_password_keeps_the_input_and_shows_the_error_beside_it(client):
    response = post_form(client, "/forgot-password", {"email": ""})

    assert response.status_code == 400
    html = text(response)
    assert 'id="email-error"' in html and 'aria-describedby="email-error"' in html


def test_forgot_password_refuses_a_form_without_its_csrf_token(client):
    response = client.post("/forgot-password", data={"email": "ana@ports.example"}, headers=EN)
    assert response.status_code == 400


def reset_link(app, client, email: str = "ana@ports.example") -> str:
    post_form(client, "/forgot-password", {"email": email})
    with app.app_context():
        message = db.session.scalars(select(mail.OutboxMessage)).one()
        return re.search(r"/reset-password/[\w-]+", message.text_body).group(0)


def test_the_reset_page_checks_both_fields_and_the_password_rules(app, client, ana):
    link = reset_link(app, client)

    short = post_form(client, link, {"password": "short", "password_again": "short"})
    assert short.status_code == 400
    assert "Use at least 10 characters." in text(short)
    assert 'aria-describedby="password-help password-error"' in text(short)

    different = post_form(
        client, link, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD + "!"}
    )
    assert different.status_code == 400
    assert 'id="password_again-error"' in text(different)


def test_the_reset_page_changes_the_password_once_and_sends_to_sign_in(app, client, ana):
    link = reset_link(app, client)

    done = post_form(client, link, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})

    assert done.status_code == 303 and done.headers["Location"] == "/login"
    assert "Your password is changed." in text(client.get("/login", headers=EN))
    gone = client.get(link, headers=EN)
    assert gone.status_code == 404
    assert "This link no longer works" in text(gone)
    assert 'href="/forgot-password"' in text(gone)


def test_an_expired_reset_link_shows_the_page_that_says_so(app, client, ana):
    link = reset_link(app, client)
    with app.app_context():
        db.session.scalars(select(PasswordReset)).one().expires_at = utcnow()
        db.session.commit()

    response = client.get(link, headers=EN)

    assert response.status_code == 404 and "This link no longer works" in text(response)


# --- two-factor sign-in ------------------------------------------------------------


def set_up(app, client, clock) -> tuple[str, str]:
    """Through the pages: the password, then the QR code page, then a first code."""
    started = post_form(
        client, "/account/two-factor/start", {"password": PASSWORD}, page="/account/two-factor"
    )
    assert started.status_code == 303
    page = text(client.get("/account/two-factor", headers=EN))
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    confirmed = post_form(
        client,
        "/account/two-factor/confirm",
        {"code": pyotp.TOTP(secret).at(clock)},
        page="/account/two-factor",
    )
    return secret, confirmed


def test_the_account_menu_links_to_two_factor_sign_in(client, ana):
    sign_in_session(client, ana)
    html = text(client.get("/work", headers=EN))
    assert 'href="/account/two-factor"' in html


def test_setting_it_up_shows_a_qr_code_the_key_and_then_the_recovery_codes(app, client, ana, clock):
    sign_in_session(client, ana)
    first = text(client.get("/account/two-factor", headers=EN))
    assert 'autocomplete="current-password"' in first and 'class="qr"' not in first

    wrong = post_form(
        client, "/account/two-factor/start", {"password": "nope"}, page="/account/two-factor"
    )
    assert wrong.status_code == 400
    assert "This is not your password." in text(wrong)

    started = post_form(
        client, "/account/two-factor/start", {"password": PASSWORD}, page="/account/two-factor"
    )
    page = text(client.get("/account/two-factor", headers=EN))
    assert started.status_code == 303
    assert re.search(r'<svg role="img" viewBox="[^"]+" class="qr"><title>QR code', page)
    assert "data:" not in page and "<script>" not in page

    bad = post_form(
        client, "/account/two-factor/confirm", {"code": "000000"}, page="/account/two-factor"
    )
    assert bad.status_code == 400 and 'id="code-error"' in text(bad)

    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    codes = post_form(
        client,
        "/account/two-factor/confirm",
        {"code": pyotp.TOTP(secret).at(clock)},
        page="/account/two-factor",
    )
    assert codes.status_code == 200
    assert codes.headers["Cache-Control"] == "no-store"
    shown = re.findall(r"<code>([a-z2-7]{4}(?:-[a-z2-7]{4}){3})</code>", text(codes))
    assert len(shown) == 10

    after = text(client.get("/account/two-factor", headers=EN))
    assert "Two-factor sign-in is on since" in after and "10 recovery codes left" in after
    assert not set(shown) & set(
        re.findall(r"[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}", after)
    )


def test_sign_in_asks_for_the_code_on_a_second_page(app, client, ana, clock):
    sign_in_session(client, ana)
    secret, _codes = set_up(app, client, clock)
    post_form(client, "/logout", {}, page="/work")

    step_one = post_form(
        client, "/login?next=/work", {"email": ana.email, "password": PASSWORD}, page="/login"
    )
    assert step_one.status_code == 303
    assert step_one.headers["Location"] == "/login/code?next=/work"
    assert client.get("/work").status_code == 302  # not signed in yet

    wrong = post_form(client, "/login/code?next=/work", {"code": "000000"}, page="/login/code")
    assert wrong.status_code == 401
    assert "That code is not right." in text(wrong) and 'id="code-error"' in text(wrong)

    later = clock + timedelta(seconds=30)
    right = post_form(
        client, "/login/code?next=/work", {"code": pyotp.TOTP(secret).at(later)}, page="/login/code"
    )
    assert right.status_code == 302 and right.headers["Location"] == "/work"
    assert client.get("/work").status_code == 200


def test_the_code_page_without_a_password_first_goes_back_to_sign_in(client):
    response = client.get("/login/code")
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")


def test_turning_it_off_from_the_page(app, client, ana, clock):
    sign_in_session(client, ana)
    _secret, confirmed = set_up(app, client, clock)
    recovery = re.findall(r"<code>([a-z2-7-]{19})</code>", text(confirmed))

    wrong = post_form(
        client,
        "/account/two-factor/off",
        {"password": PASSWORD, "code": "000000"},
        page="/account/two-factor",
    )
    assert wrong.status_code == 400 and 'id="code-error"' in text(wrong)

    off = post_form(
        client,
        "/account/two-factor/off",
        {"password": PASSWORD, "code": recovery[0]},
        page="/account/two-factor",
    )
    assert off.status_code == 303
    assert "Two-factor sign-in is off." in text(client.get("/account/two-factor", headers=EN))
    with app.app_context():
        assert db.session.get(TwoFactor, ana.id) is None
