"""The console's users: the list with its search and filters, a person's page and what
the secretariat changes there (active, secretariat rights, community, an invitation sent
again); to anyone else these pages and forms do not exist."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.accounts import service as accounts
from portal.accounts.models import ApiToken, TwoFactor, User
from portal.events import Event, utcnow
from portal.extensions import db
from portal.mail import OutboxMessage
from portal.onboarding import service as onboarding
from portal.onboarding.models import Invitation

from ..factories import make_community, make_user
from ..workspaces.test_item_queries import count_queries

OTHERS = ["outsider", "observer", "member", "coordinator", "bystander"]


def _english(client):
    client.set_cookie("portal_lang", "en")
    return client


@pytest.fixture
def console(as_user, world):
    """The secretariat's browser, in English."""
    return _english(as_user(world.secretariat).client)


def _html(response) -> str:
    return response.get_data(as_text=True)


def _main(response) -> str:
    """The page's main content, without the header's menus."""
    return re.search(r"<main.*</main>", _html(response), re.S).group(0)


def _person(app, user_id) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def _pages(world) -> list[tuple[str, str, dict]]:
    """(method, path, form) of every users page and form of the console."""
    person = f"/console/users/{world.member.id}"
    return [
        ("GET", "/console/users", {}),
        ("GET", "/console/users?q=person&active=true", {}),
        ("GET", person, {}),
        ("POST", f"{person}/active", {"active": "false"}),
        ("POST", f"{person}/secretariat", {"is_secretariat": "true"}),
        ("POST", f"{person}/community", {"community_id": ""}),
    ]


# --- who reaches them ---------------------------------------------------------------


@pytest.mark.parametrize("role", OTHERS)
def test_the_users_pages_do_not_exist_for_anyone_but_the_secretariat(app, as_user, world, role):
    client = _english(as_user(getattr(world, role)).client)

    for method, path, form in _pages(world):
        response = client.open(path, method=method, data=form)
        assert response.status_code == 404, (method, path)
        assert "Users" not in _main(response)
    member = _person(app, world.member.id)
    assert member.active and not member.is_secretariat and member.community_id is not None


def test_a_visitor_is_sent_to_sign_in(app, world):
    client = app.test_client()
    for method, path, form in _pages(world):
        response = client.open(path, method=method, data=form)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert _person(app, world.member.id).active


def test_the_secretariat_has_the_users_section_in_the_console_menu(console, world):
    html = _html(console.get("/console"))
    assert 'href="/console/users">Users</a>' in html
    assert 'href="/console/users" aria-current="page"' in _html(console.get("/console/users"))


# --- the list -------------------------------------------------------------------------


def _names(response) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/console/users/\d+">([^<]+)</a>', _html(response))


def test_the_list_shows_everyone_by_name_with_community_and_state(console, world):
    response = console.get("/console/users")

    assert response.status_code == 200
    assert _names(response) == [
        "Bystander Person", "Coordinator Person", "Member Person", "Observer Person",
        "Outsider Person", "Secretaría Técnica",
    ]  # fmt: skip
    html = _html(response)
    assert "6 users" in html and "Comunidad Portuaria" in html and "Colombia" in html
    assert '<span class="badge">Secretariat</span>' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=member", ["Member Person"]),
        ("q=MEMBER+pers", ["Member Person"]),
        ("q=ports.example&is_secretariat=true", ["Secretaría Técnica"]),
        ("is_secretariat=false&q=o", ["Bystander Person", "Coordinator Person", "Member Person",
                                      "Observer Person", "Outsider Person"]),
        ("member_state=CO", ["Coordinator Person", "Member Person", "Observer Person"]),
        ("member_state=PA", []),
        ("active=false", []),
    ],
)  # fmt: skip
def test_search_and_filters(console, world, query, expected):
    assert _names(console.get("/console/users?" + query)) == expected


def test_search_by_e_mail_and_filter_by_community(app, console, world):
    with app.app_context():
        other = make_community(name="Comunidad de Colón")
        make_user(name="Zoe Zapata", email="zoe@colon.example", community_id=other.id)
        other_id = other.id
        db.session.remove()

    assert _names(console.get("/console/users?q=colon.exa")) == ["Zoe Zapata"]
    assert _names(console.get(f"/console/users?community_id={other_id}")) == ["Zoe Zapata"]
    assert len(_names(console.get(f"/console/users?community_id={world.community_id}"))) == 3
    html = _html(console.get(f"/console/users?community_id={other_id}"))
    assert f'<option value="{other_id}" selected>Comunidad de Colón · Colombia</option>' in html


def test_deactivated_people_are_found_by_their_state(app, console, world):
    with app.app_context():
        secretariat = db.session.get(User, world.secretariat.id)
        accounts.update_user(
            secretariat, db.session.get(User, world.observer.id), {"active": False}
        )

    assert _names(console.get("/console/users?active=false")) == ["Observer Person"]
    assert "Observer Person" not in _names(console.get("/console/users?active=true"))
    assert "Deactivated" in _html(console.get("/console/users?active=false"))


def test_a_filter_that_cannot_be_read_is_named_and_the_input_kept(console, world):
    response = console.get("/console/users?q=member&active=perhaps")

    assert response.status_code == 400
    html = _html(response)
    assert 'id="active-error"' in html and 'value="member"' in html
    assert _names(response) == ["Member Person"]  # the other filters still apply


def test_the_list_is_paginated(app, console, world):
    with app.app_context():
        for n in range(30):
            make_user(name=f"Persona {n:02d}")
        db.session.remove()

    first = console.get("/console/users?q=persona")
    second = console.get("/console/users?q=persona&page=2")

    assert len(_names(first)) == 25 and len(_names(second)) == 5
    assert "Page 1 of 2" in _html(first)
    assert 'href="/console/users?page=2&amp;q=persona"' in _html(first)
    assert _names(second)[-1] == "Persona 29"


def test_the_list_costs_the_same_queries_with_few_or_many_users(app, console, world):
    console.get("/console/users")
    with count_queries(app) as few:
        console.get("/console/users")
    with app.app_context():
        communities = [make_community() for _ in range(3)]
        for n in range(19):
            make_user(name=f"Más {n}", community_id=communities[n % 3].id)
        db.session.remove()
    with count_queries(app) as many:
        response = console.get("/console/users")

    assert len(_names(response)) == 25
    assert len(many) == len(few), (len(few), len(many))


# --- one person -----------------------------------------------------------------------


def test_a_persons_page_shows_their_account_and_groups(app, console, world):
    with app.app_context():
        member = db.session.get(User, world.member.id)
        accounts.update_user(member, member, {"timezone": "America/Bogota", "locale": "pt"})
        db.session.add(TwoFactor(user_id=member.id, sealed_secret="x", confirmed_at=utcnow()))
        db.session.commit()

    response = console.get(f"/console/users/{world.member.id}")

    assert response.status_code == 200
    html = _html(response)
    facts = re.search(r'<dl class="facts">.*?</dl>', html, re.S).group(0)
    for shown in (world.member.email, "Comunidad Portuaria", "Colombia", "Português",
                  "America/Bogota", "Never", "Two-factor sign-in</dt><dd>On"):  # fmt: skip
        assert shown in facts
    assert f'href="/console/groups/{world.ws_id}">Sistemas de Comunidad Portuaria</a>' in html
    assert "— Member" in html
    assert "Deactivate the account" in html and "Grant the secretariat" in html


def test_an_unknown_person_is_not_found(console):
    assert console.get("/console/users/999999").status_code == 404
    assert console.post("/console/users/999999/active", data={"active": "false"}).status_code == 404


def test_deactivating_ends_their_sessions_and_tokens_and_reactivating_lets_them_in(
    app, as_user, console, world
):
    theirs = as_user(world.member)
    with app.app_context():
        _, token = accounts.create_token(db.session.get(User, world.member.id), "script", 30)
    assert theirs.get("/me").status_code == 200

    response = console.post(f"/console/users/{world.member.id}/active", data={"active": "false"})

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/console/users/{world.member.id}")
    assert not _person(app, world.member.id).active
    assert theirs.get("/me").status_code == 401  # their session ended
    assert theirs.client.get("/work").status_code == 302
    api = app.test_client()
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(ApiToken).where(ApiToken.revoked_at.is_(None))
            )
            == 0
        )
        assert db.session.scalar(select(Event.verb).order_by(Event.id.desc()).limit(1)) == (
            "user.deactivated"
        )
    page = console.get(response.headers["Location"])
    assert "signed out everywhere" in _html(page) and "Reactivate the account" in _html(page)

    response = console.post(f"/console/users/{world.member.id}/active", data={"active": "true"})

    assert response.status_code == 303 and _person(app, world.member.id).active
    assert "can sign in again" in _html(console.get(response.headers["Location"]))


def test_granting_and_removing_the_secretariats_rights(app, as_user, console, world):
    path = f"/console/users/{world.bystander.id}/secretariat"

    granted = console.post(path, data={"is_secretariat": "true"})

    assert granted.status_code == 303 and _person(app, world.bystander.id).is_secretariat
    assert as_user(world.bystander).client.get("/console/users").status_code == 200
    assert "Remove the secretariat" in _html(console.get(f"/console/users/{world.bystander.id}"))

    removed = console.post(path, data={"is_secretariat": "false"})

    assert removed.status_code == 303 and not _person(app, world.bystander.id).is_secretariat
    assert as_user(world.bystander).client.get("/console/users").status_code == 404


@pytest.mark.parametrize(
    ("action", "form"),
    [("active", {"active": "false"}), ("secretariat", {"is_secretariat": "false"})],
)
def test_nobody_deactivates_or_demotes_themselves(app, console, world, action, form):
    page = console.get(f"/console/users/{world.secretariat.id}")
    assert "This is your own account" in _html(page)
    assert "Deactivate the account" not in _html(page)

    response = console.post(f"/console/users/{world.secretariat.id}/{action}", data=form)

    assert response.status_code == 403
    assert "You cannot deactivate your own account" in _html(response)
    me = _person(app, world.secretariat.id)
    assert me.active and me.is_secretariat


def test_a_yes_or_no_field_that_is_neither_changes_nothing(app, console, world):
    response = console.post(f"/console/users/{world.member.id}/active", data={"active": "maybe"})

    assert response.status_code == 400 and _person(app, world.member.id).active


def test_changing_the_community(app, console, world):
    with app.app_context():
        other_id = make_community(name="Comunidad de Manzanillo").id
        db.session.remove()
    path = f"/console/users/{world.member.id}/community"

    response = console.post(path, data={"community_id": str(other_id)})

    assert response.status_code == 303 and _person(app, world.member.id).community_id == other_id
    assert "Comunidad de Manzanillo" in _html(console.get(f"/console/users/{world.member.id}"))
    assert console.post(path, data={"community_id": ""}).status_code == 303
    assert _person(app, world.member.id).community_id is None


@pytest.mark.parametrize("value", ["999999", "abc"])
def test_a_community_that_does_not_exist_is_refused_beside_the_field(app, console, world, value):
    response = console.post(
        f"/console/users/{world.member.id}/community", data={"community_id": value}
    )

    assert response.status_code == 400
    html = _html(response)
    assert 'id="community_id-error"' in html and "Choose a community from the list." in html
    assert _person(app, world.member.id).community_id == world.community_id


# --- invitations not accepted yet ------------------------------------------------------


def _invite(app, world, email="nueva@ports.example", name="Nueva Persona") -> int:
    with app.app_context():
        secretariat = db.session.get(User, world.secretariat.id)
        invitation, _ = onboarding.invite(
            secretariat, email=email, name=name, community_id=world.community_id
        )
        return invitation.id


def _mails(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def test_a_search_finds_people_invited_and_sends_their_invitation_again(app, console, world):
    invitation_id = _invite(app, world)
    with app.app_context():
        old_hash = db.session.get(Invitation, invitation_id).token_hash
    sent = _mails(app)

    found = console.get("/console/users?q=nueva")

    html = _html(found)
    assert "Invited, not joined yet" in html and "nueva@ports.example" in html
    assert "Nobody matches this search." in html  # no account yet
    action = f"/console/invitations/{invitation_id}/resend"
    assert f'action="{action}"' in html and 'name="next" value="/console/users?q=nueva"' in html

    response = console.post(action, data={"next": "/console/users?q=nueva"})

    assert response.status_code == 303 and response.headers["Location"].endswith(
        "/console/users?q=nueva"
    )
    assert "The invitation is sent again to nueva@ports.example." in _html(
        console.get(response.headers["Location"])
    )
    with app.app_context():
        assert db.session.get(Invitation, invitation_id).token_hash != old_hash
    assert _mails(app) == sent + 1


def test_invitations_follow_the_filters_and_only_a_search_shows_them(app, console, world):
    _invite(app, world)

    assert "Invited, not joined yet" not in _html(console.get("/console/users"))
    assert "Invited, not joined yet" not in _html(
        console.get("/console/users?q=nueva&active=false")
    )
    assert "Invited, not joined yet" not in _html(
        console.get("/console/users?q=nueva&member_state=PA")
    )
    assert "Invited, not joined yet" in _html(console.get("/console/users?q=nueva&member_state=CO"))


def test_an_invitation_revoked_meanwhile_is_not_sent(app, console, world):
    invitation_id = _invite(app, world)
    with app.app_context():
        invitation = db.session.get(Invitation, invitation_id)
        onboarding.revoke(db.session.get(User, world.secretariat.id), invitation)
    sent = _mails(app)

    response = console.post(
        f"/console/invitations/{invitation_id}/resend", data={"next": "/console/users?q=nueva"}
    )

    assert response.status_code == 303
    assert "can no longer be sent again" in _html(console.get(response.headers["Location"]))
    assert _mails(app) == sent


def test_a_search_takes_wildcard_characters_literally(as_user, world):
    secretariat = as_user(world.secretariat)

    assert secretariat.get("/users?q=%25").get_json()["total"] == 0  # "%": nobody has one
    assert secretariat.get("/users?q=_").get_json()["total"] == 0
    assert secretariat.get("/users?q=ports.example").get_json()["total"] > 0
