"""My account (/account), without JavaScript: every form posts with its CSRF token, answers
an error beside its field with the input kept (never a password), and goes through the
accounts services; a new API token or calendar link is shown once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.accounts import service
from portal.accounts.models import ApiToken, CalendarToken, User
from portal.extensions import db

from ..conftest import sign_in_session
from ..factories import make_user, user_ref

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"


def text(response) -> str:
    return response.get_data(as_text=True)


def csrf_of(html: str) -> str:
    return re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def post(client, path: str, data: dict[str, str]):
    """Post `data` with the CSRF token of My account's forms."""
    return client.post(path, data=data | {"csrf_token": csrf_of(text(client.get("/account")))})


def english(app, user):
    client = app.test_client()
    client.set_cookie("portal_lang", "en")
    sign_in_session(client, user)
    return client


@pytest.fixture
def ana(app):
    """A member with a password, who reads the portal in Spanish."""
    with app.app_context():
        return user_ref(
            make_user(password=PASSWORD, email="ana@ports.example", name="Ana", locale="es")
        )


@pytest.fixture
def client(app, ana):
    return english(app, ana)


def stored(app, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


# --- who sees it ------------------------------------------------------------------


def test_a_visitor_is_sent_to_sign_in(app):
    response = app.test_client().get("/account")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/account"


@pytest.mark.parametrize(
    "role", ["secretariat", "coordinator", "member", "observer", "outsider", "bystander"]
)
def test_everyone_signed_in_sees_their_own_account(app, world, role):
    person = getattr(world, role)
    html = text(english(app, person).get("/account"))

    assert "<h1>My account</h1>" in html
    assert f'name="name" value="{person.name}"' in html
    assert 'href="/account/notifications"' in html and 'href="/account/two-factor"' in html


def test_the_account_menu_links_my_account_first(client):
    html = text(client.get("/work"))
    menu = html.split('<details class="menu account">')[1].split("</details>")[0]

    assert menu.index('href="/account"') < menu.index('href="/account/notifications"')


@pytest.mark.parametrize(
    ("language", "heading"),
    [("en", "E-mail notifications"), ("es", "Notificaciones por correo")],
)
def test_the_page_speaks_the_viewers_language(app, ana, language, heading):
    client = app.test_client()
    client.set_cookie("portal_lang", language)
    sign_in_session(client, ana)

    html = text(client.get("/account"))

    assert f'<html lang="{language}">' in html
    assert f'<h2 id="email-title">{heading}</h2>' in html


def test_the_state_of_e_mail_and_two_factor_sign_in_is_shown(client):
    html = text(client.get("/account"))

    assert "At once: one e-mail for each notification" in html
    assert "Set up two-factor sign-in" in html


# --- name, language and timezone ------------------------------------------------------


def test_saving_the_profile_changes_it_and_the_page_follows_the_language(app, client, ana):
    response = post(
        client, "/account", {"name": "Ana María", "locale": "pt", "timezone": "America/Lima"}
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/account#main"
    assert "portal_lang=pt" in response.headers["Set-Cookie"]
    user = stored(app, ana.id)
    assert (user.name, user.locale, user.timezone) == ("Ana María", "pt", "America/Lima")
    assert '<html lang="pt">' in text(client.get("/account"))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "Fill in this field."),
        ("timezone", "Mars/Olympus_Mons", "Choose a timezone from the list."),
        ("locale", "de", "Choose one of the options."),
    ],
)
def test_a_wrong_profile_field_is_shown_beside_it_with_the_input_kept(
    app, client, ana, field, value, message
):
    form = {"name": "Ana Typed", "locale": "en", "timezone": "Europe/Lisbon"} | {field: value}

    response = post(client, "/account", form)

    html = text(response)
    assert response.status_code == 400
    assert f'<p class="field-error" id="{field}-error">{message}</p>' in html
    assert f'aria-describedby="{field}-error"' in html or f"{field}-help {field}-error" in html
    if field != "name":
        assert 'value="Ana Typed"' in html
    if field != "timezone":
        assert '<option value="Europe/Lisbon" selected>' in html
    assert stored(app, ana.id).name == "Ana"


def test_the_timezone_select_offers_the_browsers_zone(client):
    html = text(client.get("/account"))

    assert 'data-browser-timezone="select"' in html
    assert 'data-browser-timezone-offer="timezone"' in html
    assert "js/timezone.js" in html


# --- password ---------------------------------------------------------------------


def test_the_page_says_what_a_password_change_does_to_other_sessions(client):
    assert "Changing your password signs you out everywhere else" in text(client.get("/account"))


def test_changing_the_password_keeps_this_session_and_ends_the_others(app, client, ana):
    elsewhere = english(app, ana)

    response = post(
        client,
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )

    assert response.status_code == 303
    assert "Your password is changed." in text(client.get("/account"))
    assert elsewhere.get("/account").status_code == 302
    with app.app_context():
        assert service.authenticate("ana@ports.example", NEW_PASSWORD) is not None
        assert service.authenticate("ana@ports.example", PASSWORD) is None


@pytest.mark.parametrize(
    ("current", "new", "again", "field", "message"),
    [
        ("wrong password!", NEW_PASSWORD, NEW_PASSWORD, "current_password",
         "This is not your current password."),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!", "new_password_again",
         "Type the same password twice."),
        (PASSWORD, "short", "short", "new_password", "Use at least 10 characters."),
        ("", NEW_PASSWORD, NEW_PASSWORD, "current_password", "Fill in this field."),
    ],
)  # fmt: skip
def test_a_wrong_password_form_is_refused_beside_its_field_without_keeping_passwords(
    app, client, current, new, again, field, message
):
    response = post(
        client,
        "/account/password",
        {"current_password": current, "new_password": new, "new_password_again": again},
    )

    html = text(response)
    assert response.status_code == 400
    assert f'<p class="field-error" id="{field}-error">{message}</p>' in html
    for typed in {current, new, again} - {""}:
        assert f'value="{typed}"' not in html
    with app.app_context():
        assert service.authenticate("ana@ports.example", PASSWORD) is not None


# --- API tokens -------------------------------------------------------------------


def create_token(client, name: str = "report script", days: str = "30"):
    return post(client, "/account/tokens", {"name": name, "expires_in_days": days})


def test_a_new_token_is_shown_once_and_works(app, client, ana):
    response = create_token(client)

    html = text(response)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    value = re.search(r'value="(pnp_[^"]+)"', html).group(1)
    assert "it is shown only this once" in html

    again = text(client.get("/account"))
    assert value not in again and "pnp_" not in again
    assert '<th scope="row">report script</th>' in again
    assert "Never" in again
    assert (
        app.test_client()
        .get("/api/v1/me", headers={"Authorization": f"Bearer {value}"})
        .status_code
        == 200
    )


def test_the_token_list_shows_created_expires_and_last_used(app, client, ana):
    with app.app_context():
        _token, value = service.create_token(db.session.get(User, ana.id), "sync", 7)
    app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {value}"})

    html = text(client.get("/account"))
    row = html.split('<th scope="row">sync</th>')[1].split("</tr>")[0]

    assert row.count('<td data-label="') == 3
    assert "Never" not in row


LIFETIME = "Choose one of the lifetimes in the list."


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"name": ""}, "name", "Fill in this field."),
        ({"expires_in_days": "soon"}, "expires_in_days", LIFETIME),
        ({"expires_in_days": "0"}, "expires_in_days", LIFETIME),
        ({"expires_in_days": "400"}, "expires_in_days", LIFETIME),  # above TOKEN_MAX_DAYS
    ],
)
def test_a_wrong_token_form_is_refused_beside_its_field(app, client, ana, form, field, message):
    response = post(
        client, "/account/tokens", {"name": "nightly export", "expires_in_days": "30"} | form
    )

    html = text(response)
    assert response.status_code == 400
    assert f'<p class="field-error" id="{field}-error">{message}</p>' in html
    if field != "name":
        assert 'value="nightly export"' in html
    assert "pnp_" not in html
    with app.app_context():
        assert db.session.scalars(select(ApiToken).where(ApiToken.user_id == ana.id)).all() == []


def own_token_id(app, user_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == user_id))


def test_revoking_a_token_asks_first_then_revokes_it(app, client, ana):
    value = re.search(r'value="(pnp_[^"]+)"', text(create_token(client))).group(1)
    token_id = own_token_id(app, ana.id)
    path = f"/account/tokens/{token_id}/revoke"

    question = post(client, path, {})
    assert question.status_code == 200
    assert "Revoke the token “report script”?" in text(question)
    assert own_token_id(app, ana.id) == token_id

    done = post(client, path, {"confirm": "yes"})
    assert done.status_code == 303
    page = text(client.get("/account"))
    assert "The token “report script” is revoked" in page
    assert '<th scope="row">report script</th>' not in page
    assert (
        app.test_client()
        .get("/api/v1/me", headers={"Authorization": f"Bearer {value}"})
        .status_code
        == 401
    )


@pytest.mark.parametrize("confirm", ["", "yes"])
def test_someone_elses_token_is_not_found(app, client, world, confirm):
    with app.app_context():
        service.create_token(db.session.get(User, world.member.id), "theirs", 30)
    theirs = own_token_id(app, world.member.id)

    for token_id in (theirs, theirs + 1000):
        response = post(client, f"/account/tokens/{token_id}/revoke", {"confirm": confirm})
        assert response.status_code == 404
    with app.app_context():
        assert db.session.get(ApiToken, theirs).revoked_at is None


# --- the calendar link ------------------------------------------------------------------


def test_a_calendar_link_is_shown_once_and_replacing_it_ends_the_old_one(app, world):
    client = english(app, world.member)

    made = post(client, "/account/calendar", {"action": "create"})
    html = text(made)
    link = re.search(r'value="(http://[^"]+calendar\.ics\?token=[^"]+)"', html).group(1)
    assert made.headers["Cache-Control"] == "private, no-store"
    assert "Sistemas de Comunidad Portuaria" in html
    assert app.test_client().get(link).status_code == 200
    assert "token=" not in text(client.get("/account"))
    assert "You made your calendar link on" in text(client.get("/account"))

    replaced = text(post(client, "/account/calendar", {"action": "create"}))
    assert "The links you made before no longer work." in replaced
    assert app.test_client().get(link).status_code != 200

    turned_off = post(client, "/account/calendar", {"action": "revoke"})
    assert turned_off.status_code == 303
    assert "Your calendar link no longer works." in text(client.get("/account"))
    with app.app_context():
        assert (
            db.session.scalars(
                select(CalendarToken).where(
                    CalendarToken.user_id == world.member.id, CalendarToken.revoked_at.is_(None)
                )
            ).all()
            == []
        )


# --- CSRF ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/account", {"name": "Eve", "locale": "en", "timezone": "UTC"}),
        (
            "/account/password",
            {
                "current_password": PASSWORD,
                "new_password": NEW_PASSWORD,
                "new_password_again": NEW_PASSWORD,
            },
        ),
        ("/account/tokens", {"name": "forged", "expires_in_days": "30"}),
        ("/account/tokens/{token}/revoke", {"confirm": "yes"}),
        ("/account/calendar", {"action": "create"}),
    ],
)
def test_every_form_needs_its_csrf_token(app, client, ana, path, form):
    with app.app_context():
        service.create_token(db.session.get(User, ana.id), "kept", 30)
    token_id = own_token_id(app, ana.id)

    response = client.post(path.format(token=token_id), data=form)

    assert response.status_code == 400
    user = stored(app, ana.id)
    assert user.name == "Ana"
    with app.app_context():
        assert service.authenticate("ana@ports.example", PASSWORD) is not None
        tokens = db.session.scalars(select(ApiToken).where(ApiToken.user_id == ana.id)).all()
        assert [(t.name, t.revoked_at) for t in tokens] == [("kept", None)]
        assert db.session.scalar(select(CalendarToken.id)) is None
