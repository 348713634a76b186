"""The console's invitations: the list by status, the invite form, resend and revoke.
Only the secretariat reaches them (coordinators invite through their group's pages)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal import mail
from portal.events import utcnow
from portal.extensions import db
from portal.mail import OutboxMessage
from portal.onboarding.models import Invitation
from portal.workspaces.models import Membership

ROLES = ("outsider", "observer", "member", "coordinator", "secretariat")


def secretariat_client(as_user, world):
    client = as_user(world.secretariat).client
    client.set_cookie("portal_lang", "en")
    return client


def invite(as_user, world, email="nueva@ports.example", **body):
    answer = as_user(world.secretariat).post("/invitations", {"email": email, **body})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["id"]


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("path", ["/console/invitations", "/console/invitations/new"])
@pytest.mark.parametrize("role", ROLES)
def test_the_invitation_pages_are_the_secretariats_alone(as_user, world, role, path):
    response = as_user(getattr(world, role)).client.get(path)

    assert response.status_code == (200 if role == "secretariat" else 404)


@pytest.mark.parametrize("action", ["resend", "revoke"])
@pytest.mark.parametrize("role", ROLES[:-1])
def test_nobody_else_resends_or_revokes(app, as_user, world, role, action):
    """Not even the coordinator of the group invited to: the console is not theirs."""
    invitation_id = invite(as_user, world, workspace_id=world.ws_id, role="member")

    response = as_user(getattr(world, role)).client.post(
        f"/console/invitations/{invitation_id}/{action}"
    )

    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(Invitation, invitation_id).status == "pending"


@pytest.mark.parametrize("role", ROLES[:-1])
def test_nobody_else_invites_through_the_console(app, as_user, world, role):
    response = as_user(getattr(world, role)).client.post(
        "/console/invitations/new", data={"email": "nueva@ports.example"}
    )

    assert response.status_code == 404 and count(app, Invitation) == 0


@pytest.mark.parametrize("path", ["/console/invitations", "/console/invitations/new"])
def test_a_visitor_is_sent_to_sign_in(app, path):
    response = app.test_client().get(path)

    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_invitations_are_listed_by_status(app, as_user, world):
    client = secretariat_client(as_user, world)
    pending = invite(as_user, world, "pendiente@ports.example", name="Persona Pendiente")
    revoked = invite(as_user, world, "revocada@ports.example")
    expired = invite(as_user, world, "caducada@ports.example")
    as_user(world.secretariat).delete(f"/invitations/{revoked}")
    with app.app_context():
        db.session.get(Invitation, expired).expires_at = utcnow() - timedelta(days=1)
        db.session.commit()

    every = client.get("/console/invitations").get_data(as_text=True)
    by_status = {
        status: client.get(f"/console/invitations?status={status}").get_data(as_text=True)
        for status in ("pending", "revoked", "expired", "accepted")
    }

    assert "3 invitations" in every
    assert "Persona Pendiente" in by_status["pending"]
    assert "revocada@" not in by_status["pending"] and "caducada@" not in by_status["pending"]
    assert "revocada@" in by_status["revoked"] and "caducada@" in by_status["expired"]
    assert "No invitation here." in by_status["accepted"]
    assert f"/console/invitations/{pending}/resend" in by_status["pending"]
    assert f"/console/invitations/{revoked}/resend" not in every  # nothing to do with it


def test_the_secretariat_invites_to_a_community_and_a_group(app, as_user, world, smtp):
    client = secretariat_client(as_user, world)
    form = {
        "email": "Nueva@Ports.example",
        "name": "Nueva Persona",
        "locale": "en",
        "community_id": world.community_id,
        "workspace_id": world.ws_id,
        "role": "observer",
    }

    sent = client.post("/console/invitations/new", data=form)

    assert sent.status_code == 303
    assert sent.headers["Location"] == "/console/invitations?status=pending"
    assert "nueva@ports.example" in client.get(sent.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        invitation = db.session.scalar(select(Invitation))
        assert (invitation.community_id, invitation.workspace_id, invitation.role) == (
            world.community_id,
            world.ws_id,
            "observer",
        )
        assert invitation.is_secretariat is False
        mail.send_due()
    (message,) = smtp.wait_for(1)
    assert (
        message["Subject"] == "You are invited to the working group Sistemas de Comunidad Portuaria"
    )


def test_the_secretariat_invites_a_colleague_to_the_secretariat(app, as_user, world):
    answer = secretariat_client(as_user, world).post(
        "/console/invitations/new",
        data={"email": "colega@ports.example", "is_secretariat": "true"},
    )

    assert answer.status_code == 303
    with app.app_context():
        invitation = db.session.scalar(select(Invitation))
        assert invitation.is_secretariat is True and invitation.workspace_id is None


def test_inviting_an_existing_account_adds_it_to_the_group(app, as_user, world):
    answer = secretariat_client(as_user, world).post(
        "/console/invitations/new",
        data={"email": world.bystander.email, "workspace_id": world.ws_id, "role": "member"},
    )

    assert answer.status_code == 303
    assert count(app, Invitation) == 0
    with app.app_context():
        assert db.session.get(Membership, (world.ws_id, world.bystander.id)).role == "member"


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"email": "no es una dirección"}, "email"),
        ({"email": "{member}"}, "email"),  # has an account, and no group was named
        ({"email": "{pending}"}, "email"),  # already invited
        ({"community_id": "99999"}, "community_id"),
        ({"workspace_id": "99999"}, "workspace_id"),
        ({"role": "owner", "workspace_id": "{ws}"}, "role"),
    ],
)
def test_a_refused_invitation_changes_nothing_and_keeps_the_input(app, as_user, world, form, field):
    invite(as_user, world, "ya@ports.example")
    mails = count(app, OutboxMessage)
    values = {"email": "nueva@ports.example", "name": "Nombre Guardado"} | form
    values = {
        name: str(value).format(
            member=world.member.email, pending="ya@ports.example", ws=world.ws_id
        )
        for name, value in values.items()
    }

    answer = secretariat_client(as_user, world).post("/console/invitations/new", data=values)

    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert f'id="{field}-error"' in html and 'value="Nombre Guardado"' in html
    assert count(app, Invitation) == 1 and count(app, OutboxMessage) == mails


def test_resend_makes_a_new_link_and_revoke_ends_it(app, as_user, world, smtp):
    client = secretariat_client(as_user, world)
    invitation_id = invite(as_user, world, community_id=world.community_id)
    back = f"/console/communities/{world.community_id}"

    resent = client.post(f"/console/invitations/{invitation_id}/resend", data={"next": back})
    revoked = client.post(f"/console/invitations/{invitation_id}/revoke")
    again = client.post(f"/console/invitations/{invitation_id}/revoke")

    assert resent.status_code == 303 and resent.headers["Location"] == back
    assert revoked.headers["Location"] == "/console/invitations"
    assert "already accepted or revoked" in client.get(again.headers["Location"]).get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.get(Invitation, invitation_id).status == "revoked"
        mail.send_due()
    first, second = smtp.wait_for(2)
    links = [
        re.search(r"/invitation/(\S+)", m.get_body(("plain",)).get_content()).group(1)
        for m in (first, second)
    ]
    assert links[0] != links[1]


def test_resend_goes_back_only_to_a_console_page(as_user, world):
    invitation_id = invite(as_user, world)

    answer = secretariat_client(as_user, world).post(
        f"/console/invitations/{invitation_id}/resend", data={"next": "https://evil.example/"}
    )

    assert answer.headers["Location"] == "/console/invitations"


def test_a_form_without_its_csrf_token_is_refused(app, world):
    from ..conftest import sign_in_session

    client = app.test_client()
    sign_in_session(client, world.secretariat)

    answer = client.post("/console/invitations/new", data={"email": "nueva@ports.example"})

    assert answer.status_code == 400 and count(app, Invitation) == 0
