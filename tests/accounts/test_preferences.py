"""A new account's language and timezone: given when it is created, else taken from the
browser at the first sign-in through the page; never a fixed default."""

from __future__ import annotations

import pytest

from portal.accounts.models import User
from portal.extensions import db

from ..factories import make_user, user_ref

PASSWORD = "correct horse battery"


@pytest.fixture
def newcomer(app):
    """An account created without a language or timezone."""
    with app.app_context():
        return user_ref(make_user(password=PASSWORD, email="nueva@ports.example"))


def _preferences(app, user_id):
    with app.app_context():
        user = db.session.get(User, user_id)
        return user.locale, user.timezone


def _sign_in_page(app, email, *, language="fr", timezone=None):
    """Sign in through the page as a browser whose language is `language`; `timezone` is
    what the page's script put in the hidden field (None: no script ran)."""
    client = app.test_client()
    headers = {"Accept-Language": language}
    html = client.get("/login", headers=headers).get_data(as_text=True)
    csrf = html.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    form = {"email": email, "password": PASSWORD, "csrf_token": csrf}
    if timezone is not None:
        form["timezone"] = timezone
    response = client.post("/login", data=form, headers=headers)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def test_the_api_creates_a_user_with_the_given_language_and_timezone(as_user, world):
    secretariat = as_user(world.secretariat)

    response = secretariat.post(
        "/users",
        json={"email": "a@ports.example", "name": "A", "locale": "pt", "timezone": "America/Lima"},
    )

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["locale"] == "pt"
    assert response.get_json()["timezone"] == "America/Lima"


def test_the_api_leaves_an_unsaid_language_and_timezone_unset(as_user, world):
    secretariat = as_user(world.secretariat)

    response = secretariat.post("/users", json={"email": "b@ports.example", "name": "B"})

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["locale"] is None
    assert response.get_json()["timezone"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("locale", "de"), ("timezone", "Mars/Olympus_Mons"), ("timezone", "x" * 65)],
)
def test_the_api_refuses_an_unknown_language_or_timezone(as_user, world, field, value):
    secretariat = as_user(world.secretariat)

    response = secretariat.post(
        "/users", json={"email": "c@ports.example", "name": "C", field: value}
    )

    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]
    assert secretariat.get("/users?q=c@ports.example").get_json()["items"] == []


def test_the_first_page_sign_in_takes_the_pages_language_and_the_browsers_timezone(app, newcomer):
    client = _sign_in_page(app, newcomer.email, language="fr", timezone="America/Bogota")

    assert _preferences(app, newcomer.id) == ("fr", "America/Bogota")
    assert '<html lang="fr">' in client.get("/").get_data(as_text=True)


def test_a_later_sign_in_keeps_what_is_set(app, newcomer):
    _sign_in_page(app, newcomer.email, language="fr", timezone="America/Bogota")

    _sign_in_page(app, newcomer.email, language="en", timezone="Europe/Madrid")

    assert _preferences(app, newcomer.id) == ("fr", "America/Bogota")


def test_a_sign_in_never_overwrites_a_chosen_language_or_timezone(app):
    with app.app_context():
        chosen = user_ref(make_user(password=PASSWORD, locale="pt", timezone="America/Sao_Paulo"))

    _sign_in_page(app, chosen.email, language="fr", timezone="America/Bogota")

    assert _preferences(app, chosen.id) == ("pt", "America/Sao_Paulo")


@pytest.mark.parametrize("timezone", ["Mars/Olympus_Mons", "", "../../etc/passwd", "x" * 5000])
def test_a_bogus_browser_timezone_is_ignored(app, newcomer, timezone):
    _sign_in_page(app, newcomer.email, language="en", timezone=timezone)

    assert _preferences(app, newcomer.id) == ("en", None)


def test_without_javascript_the_sign_in_takes_the_language_alone(app, newcomer):
    _sign_in_page(app, newcomer.email, language="pt")

    assert _preferences(app, newcomer.id) == ("pt", None)


def test_the_sign_in_page_carries_the_timezone_field_and_its_script(app):
    html = app.test_client().get("/login").get_data(as_text=True)

    assert '<input data-browser-timezone id="timezone" name="timezone" type="hidden"' in html
    assert '<script type="module" src="/static/js/timezone.js"></script>' in html


def test_the_preferences_say_how_the_portal_reaches_the_user(as_user, world):
    member = as_user(world.member)

    assert member.get("/me/preferences").get_json() == {
        "locale": "es", "timezone": None, "email_notifications": "immediate",
    }  # fmt: skip
    changed = member.patch(
        "/me/preferences", {"email_notifications": "daily", "timezone": "America/Lima"}
    )

    assert changed.status_code == 200
    assert changed.get_json() == {
        "locale": "es", "timezone": "America/Lima", "email_notifications": "daily",
    }  # fmt: skip
    assert member.get("/me").get_json()["email_notifications"] == "daily"


@pytest.mark.parametrize("value", ["weekly", "", None, 1])
def test_an_unknown_email_preference_is_refused_and_changes_nothing(as_user, world, value):
    member = as_user(world.member)

    refused = member.patch("/me/preferences", {"email_notifications": value})

    assert refused.status_code == 400
    assert "email_notifications" in refused.get_json()["error"]["fields"]
    assert member.get("/me/preferences").get_json()["email_notifications"] == "immediate"
