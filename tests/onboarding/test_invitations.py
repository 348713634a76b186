"""Invitations (API.md, "Onboarding"): who may invite whom, the e-mail with its one-time
link read from a real SMTP server, accepting it on the API and on the page, resend,
revoke and expiry."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal import mail
from portal.accounts.models import User
from portal.extensions import db
from portal.onboarding.models import Invitation
from portal.workspaces.models import Membership

PASSWORD = "una-clave-larga-2026"


def deliver(app, smtp, count=1):
    with app.app_context():
        mail.send_due()
    return smtp.wait_for(count)


def link_in(message) -> str:
    text = message.get_body(("plain",)).get_content()
    return re.search(r"https://portal\.example/invitation/(\S+)", text).group(1)


def invite(client, **body):
    return client.post("/invitations", {"email": "nueva@ports.example", **body})


@pytest.mark.parametrize(
    ("locale", "subject", "words"),
    [
        ("es", "Le invitan al grupo de trabajo Sistemas de Comunidad Portuaria", "Aceptar"),
        ("en", "You are invited to the working group Sistemas de Comunidad Portuaria", "Accept"),
    ],
)
def test_the_invitation_mail_is_in_the_invitees_language_with_a_one_time_link(
    app, as_user, world, smtp, locale, subject, words
):
    answer = invite(
        as_user(world.secretariat), name="Nueva Persona", locale=locale,
        workspace_id=world.ws_id, role="member", community_id=world.community_id,
    )  # fmt: skip

    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["status"] == "pending"
    (message,) = deliver(app, smtp)
    assert message["To"] == "Nueva Persona <nueva@ports.example>"
    assert message["Subject"] == subject
    assert words in message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    token = link_in(message)
    assert f'href="https://portal.example/invitation/{token}"' in html
    with app.app_context():
        stored = db.session.scalars(select(Invitation)).one()
        assert token not in stored.token_hash  # only a hash is kept


def test_accepting_creates_the_account_and_membership_and_signs_in(app, as_user, api, world, smtp):
    invite(as_user(world.secretariat), workspace_id=world.ws_id, role="observer", locale="en")
    token = link_in(deliver(app, smtp)[0])

    seen = api.get(f"/auth/invitations/{token}")
    assert seen.status_code == 200
    assert seen.get_json()["workspace"]["name"] == "Sistemas de Comunidad Portuaria"
    assert seen.get_json()["invited_by"] == "Secretaría Técnica"
    accepted = api.post(
        f"/auth/invitations/{token}/accept",
        {"name": "Nueva", "password": PASSWORD, "timezone": "America/Lima"},
    )

    assert accepted.status_code == 201, accepted.get_json()
    me = api.get("/me").get_json()
    assert (me["email"], me["locale"], me["timezone"]) == (
        "nueva@ports.example", "en", "America/Lima",
    )  # fmt: skip
    assert me["workspaces"] == [
        {"id": world.ws_id, "name": "Sistemas de Comunidad Portuaria", "role": "observer"}
    ]
    again = api.post(f"/auth/invitations/{token}/accept", {"name": "X", "password": PASSWORD})
    assert again.status_code == 404
    assert api.get(f"/auth/invitations/{token}").status_code == 404


def test_a_resend_replaces_the_link(app, as_user, api, world, smtp):
    secretariat = as_user(world.secretariat)
    created = invite(secretariat).get_json()
    first = link_in(deliver(app, smtp)[0])

    assert secretariat.post(f"/invitations/{created['id']}/resend").status_code == 200
    second = link_in(deliver(app, smtp, 2)[1])

    assert first != second
    assert api.get(f"/auth/invitations/{first}").status_code == 404
    assert api.get(f"/auth/invitations/{second}").status_code == 200


def test_a_revoked_or_expired_invitation_opens_nothing(app, as_user, api, world, smtp):
    secretariat = as_user(world.secretariat)
    revoked = invite(secretariat, email="a@ports.example").get_json()
    invite(secretariat, email="b@ports.example")
    tokens = {m["To"]: link_in(m) for m in deliver(app, smtp, 2)}
    assert secretariat.delete(f"/invitations/{revoked['id']}").get_json()["status"] == "revoked"
    with app.app_context():
        expiring = db.session.scalars(
            select(Invitation).where(Invitation.email == "b@ports.example")
        ).one()
        expiring.expires_at = expiring.created_at - timedelta(seconds=1)
        db.session.commit()

    for token in tokens.values():
        assert api.get(f"/auth/invitations/{token}").status_code == 404
        answer = api.post(f"/auth/invitations/{token}/accept", {"name": "X", "password": PASSWORD})
        assert answer.status_code == 404
    statuses = {
        i["email"]: i["status"] for i in secretariat.get("/invitations").get_json()["items"]
    }
    assert statuses == {"a@ports.example": "revoked", "b@ports.example": "expired"}
    expired = secretariat.get("/invitations?status=expired").get_json()["items"]
    assert [i["email"] for i in expired] == ["b@ports.example"]


def test_a_coordinator_invites_to_their_own_group_as_member_or_observer(as_user, world, smtp):
    coordinator = as_user(world.coordinator)

    assert invite(coordinator, workspace_id=world.ws_id, role="member").status_code == 201
    refused = {
        "no group": invite(coordinator, email="x1@ports.example"),
        "coordinator role": invite(
            coordinator, email="x2@ports.example", workspace_id=world.ws_id, role="coordinator"
        ),
        "secretariat rights": invite(
            coordinator, email="x3@ports.example", workspace_id=world.ws_id, role="member",
            is_secretariat=True,
        ),
    }  # fmt: skip
    assert {why: r.status_code for why, r in refused.items()} == dict.fromkeys(refused, 403)
    other_group = invite(coordinator, email="x4@ports.example", workspace_id=world.other_ws_id)
    assert other_group.status_code == 404


@pytest.mark.parametrize("who", ["member", "observer", "bystander"])
def test_others_may_not_invite(as_user, world, who):
    answer = invite(as_user(getattr(world, who)), workspace_id=world.ws_id, role="member")
    assert answer.status_code in {403, 404}
    assert invite(as_user(getattr(world, who))).status_code == 403


def test_anonymous_callers_may_not_invite(api):
    assert invite(api).status_code == 401


def test_the_list_shows_each_coordinator_their_groups_invitations_only(as_user, world, smtp):
    secretariat = as_user(world.secretariat)
    invite(secretariat, email="ws@ports.example", workspace_id=world.ws_id, role="member")
    invite(secretariat, email="other@ports.example", workspace_id=world.other_ws_id, role="member")
    invite(secretariat, email="none@ports.example")

    def emails(who):
        return sorted(i["email"] for i in as_user(who).get("/invitations").get_json()["items"])

    assert emails(world.secretariat) == [
        "none@ports.example", "other@ports.example", "ws@ports.example",
    ]  # fmt: skip
    assert emails(world.coordinator) == ["ws@ports.example"]
    assert emails(world.outsider) == ["other@ports.example"]
    assert emails(world.member) == []
    ws_invitation = as_user(world.secretariat).get("/invitations").get_json()["items"][-1]
    assert as_user(world.outsider).delete(f"/invitations/{ws_invitation['id']}").status_code == 404


def test_an_address_with_an_account_is_added_to_the_group_instead(app, as_user, world, smtp):
    with app.app_context():
        bystander = db.session.get(User, world.bystander.id)
        email = bystander.email

    answer = invite(as_user(world.coordinator), email=email, workspace_id=world.ws_id)

    assert answer.status_code == 201
    assert answer.get_json()["status"] == "added"
    with app.app_context():
        membership = db.session.get(Membership, (world.ws_id, world.bystander.id))
        assert str(membership.role) == "member"
        assert db.session.scalar(select(db.func.count()).select_from(Invitation)) == 0
    conflict = invite(as_user(world.secretariat), email=email)
    assert conflict.status_code == 409


def test_a_second_invitation_to_a_pending_address_is_refused(as_user, world, smtp):
    secretariat = as_user(world.secretariat)
    first = invite(secretariat).get_json()

    second = invite(secretariat)

    assert second.status_code == 409
    assert second.get_json()["error"]["invitation_id"] == first["id"]


def test_a_refused_acceptance_creates_nothing(app, as_user, api, world, smtp):
    invite(as_user(world.secretariat), workspace_id=world.ws_id, role="member")
    token = link_in(deliver(app, smtp)[0])

    short = api.post(f"/auth/invitations/{token}/accept", {"name": "N", "password": "corta"})

    assert short.status_code == 400
    assert "password" in short.get_json()["error"]["fields"]
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "nueva@ports.example")) is None
    assert api.get(f"/auth/invitations/{token}").status_code == 200


# --- the page ---------------------------------------------------------------------


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_the_invitation_page_creates_the_account_and_lands_on_my_work(app, as_user, world, smtp):
    invite(as_user(world.secretariat), name="Nueva Persona", workspace_id=world.ws_id,
           role="member", locale="es")  # fmt: skip
    token = link_in(deliver(app, smtp)[0])
    browser = app.test_client()
    page = browser.get(f"/invitation/{token}").get_data(as_text=True)
    assert "Sistemas de Comunidad Portuaria" in page and "Secretaría Técnica" in page
    form = {"csrf_token": _csrf(page), "name": "Nueva Persona", "locale": "pt",
            "timezone": "America/Bogota"}  # fmt: skip

    mismatch = browser.post(
        f"/invitation/{token}", data=form | {"password": PASSWORD, "password_again": "otra"}
    )
    assert mismatch.status_code == 400
    assert 'value="Nueva Persona"' in mismatch.get_data(as_text=True)
    created = browser.post(
        f"/invitation/{token}", data=form | {"password": PASSWORD, "password_again": PASSWORD}
    )

    assert created.status_code == 303
    assert created.headers["Location"] == "/work"
    assert "Sistemas de Comunidad Portuaria" in browser.get("/work").get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "nueva@ports.example"))
        assert (user.locale, user.timezone) == ("pt", "America/Bogota")
    gone = app.test_client().get(f"/invitation/{token}")
    assert gone.status_code == 404
    assert "no longer valid" in gone.get_data(as_text=True) or gone.status_code == 404


def test_a_page_form_without_its_csrf_token_is_refused(app, as_user, world, smtp):
    invite(as_user(world.secretariat))
    token = link_in(deliver(app, smtp)[0])

    answer = app.test_client().post(
        f"/invitation/{token}",
        data={"name": "N", "password": PASSWORD, "password_again": PASSWORD},
    )

    assert answer.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "nueva@ports.example")) is None


@pytest.mark.parametrize(
    ("locale", "sentence"),
    [
        ("es", "Nueva Persona aceptó la invitación y se unió a la red"),
        ("en", "Nueva Persona accepted the invitation and joined the network"),
    ],
)
def test_the_inviter_hears_of_the_acceptance_in_their_language(
    app, as_user, api, world, smtp, locale, sentence
):
    with app.app_context():
        db.session.get(User, world.secretariat.id).locale = locale
        db.session.commit()
    invite(as_user(world.secretariat), workspace_id=world.ws_id, role="member", locale="es")
    token = link_in(deliver(app, smtp)[0])

    accepted = api.post(
        f"/auth/invitations/{token}/accept", {"name": "Nueva Persona", "password": PASSWORD}
    )

    assert accepted.status_code == 201, accepted.get_json()
    message = deliver(app, smtp, 2)[1]
    assert message["To"].endswith(f"<{world.secretariat.email}>")
    assert message["Subject"] == sentence
    assert sentence in message.get_body(("plain",)).get_content()
    assert sentence in message.get_body(("html",)).get_content()
    unread = as_user(world.secretariat).get("/me/notifications").get_json()["items"]
    assert [n["event"]["verb"] for n in unread] == ["invitation.accepted"]
