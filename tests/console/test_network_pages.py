"""The console's network pages: member states, communities and onboarding a community in
one flow. Only the secretariat reaches them; a refused form changes nothing and shows
the input again with the error beside its field."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal import mail
from portal.accounts.models import User
from portal.extensions import db
from portal.mail import OutboxMessage
from portal.network.models import Community, MemberState
from portal.onboarding.models import Invitation
from portal.workspaces.models import Membership, Role, Workspace

from ..factories import make_user

ROLES = ("outsider", "observer", "member", "coordinator", "secretariat")
PAGES = (
    "/console/member-states",
    "/console/member-states/CO",
    "/console/communities",
    "/console/communities/new",
    "/console/communities/{community}",
    "/console/onboarding",
)
POSTS = (
    "/console/member-states",
    "/console/member-states/CO",
    "/console/communities/new",
    "/console/communities/{community}",
    "/console/communities/{community}/active",
    "/console/onboarding",
)


def secretariat_client(as_user, world):
    client = as_user(world.secretariat).client
    client.set_cookie("portal_lang", "en")
    return client


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# --- who reaches them -------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("role", ROLES)
def test_every_network_page_is_the_secretariats_alone(as_user, world, role, path):
    client = as_user(getattr(world, role)).client

    response = client.get(path.format(community=world.community_id))

    assert response.status_code == (200 if role == "secretariat" else 404)


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("role", ROLES[:-1])
def test_nobody_else_may_post_to_them(app, as_user, world, role, path):
    client = as_user(getattr(world, role)).client

    response = client.post(
        path.format(community=world.community_id),
        data={"code": "PT", "name": "Portugal", "active": "0", "port": "Lisboa"},
    )

    assert response.status_code == 404
    assert count(app, MemberState) == 1 and count(app, Community) == 1


@pytest.mark.parametrize("path", PAGES)
def test_a_visitor_is_sent_to_sign_in(app, world, path):
    response = app.test_client().get(path.format(community=world.community_id))

    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_console_menu_names_the_sections(as_user, world):
    html = secretariat_client(as_user, world).get("/console").get_data(as_text=True)

    for href in ("/console/member-states", "/console/communities", "/console/invitations"):
        assert f'href="{href}"' in html


# --- member states -----------------------------------------------------------------


def test_the_member_states_list_their_code_name_and_communities(as_user, world):
    html = secretariat_client(as_user, world).get("/console/member-states").get_data(as_text=True)

    assert "<td>CO</td>" in html and "Colombia" in html and "1 community" in html


def test_the_secretariat_adds_a_member_state(app, as_user, world):
    client = secretariat_client(as_user, world)

    added = client.post("/console/member-states", data={"code": "pt", "name": "Portugal"})

    assert added.status_code == 303
    html = client.get(added.headers["Location"]).get_data(as_text=True)
    assert "Portugal joined the network" in html and "<td>PT</td>" in html
    with app.app_context():
        assert db.session.get(MemberState, "PT").name == "Portugal"


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"code": "CO", "name": "Colombia otra vez"}, "code", "already a member state"),
        ({"code": "PT", "name": "Colombia"}, "name", "Another member state already has"),
        ({"code": "Portugal", "name": "Portugal"}, "code", "not valid"),
        ({"code": "", "name": "Portugal"}, "code", "Fill in this field"),
    ],
)
def test_a_refused_member_state_keeps_the_input_beside_its_error(
    app, as_user, world, form, field, message
):
    answer = secretariat_client(as_user, world).post("/console/member-states", data=form)

    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    error = re.search(rf'<p class="field-error" id="{field}-error">([^<]+)</p>', html)
    assert error and message in error.group(1)
    assert f'value="{form["name"]}"' in html
    assert count(app, MemberState) == 1


def test_the_secretariat_renames_a_member_state(app, as_user, world):
    client = secretariat_client(as_user, world)

    renamed = client.post("/console/member-states/co", data={"name": "República de Colombia"})
    taken = client.post("/console/member-states/CO", data={"name": ""})

    assert renamed.status_code == 303
    assert taken.status_code == 400 and 'id="name-error"' in taken.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(MemberState, "CO").name == "República de Colombia"
    assert client.get("/console/member-states/XX").status_code == 404


# --- communities -------------------------------------------------------------------

COMMUNITY = {
    "name": "Comunidade Portuária de Sines",
    "port": "Sines",
    "member_state": "CO",
    "description": "A comunidade do porto de Sines.",
    "website": "https://www.sines.example",
}


def test_the_secretariat_creates_a_community(app, as_user, world):
    client = secretariat_client(as_user, world)

    created = client.post("/console/communities/new", data=COMMUNITY)

    assert created.status_code == 303
    page = client.get(created.headers["Location"]).get_data(as_text=True)
    assert "Comunidade Portuária de Sines joined the network" in page
    with app.app_context():
        community = db.session.scalar(select(Community).where(Community.port == "Sines"))
        assert (community.member_state_code, community.website, community.active) == (
            "CO",
            "https://www.sines.example",
            True,
        )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"website": "sines"}, "website"),
        ({"member_state": "ZZ"}, "member_state"),
    ],
)
def test_a_refused_community_changes_nothing_and_keeps_the_input(
    app, as_user, world, change, field
):
    answer = secretariat_client(as_user, world).post(
        "/console/communities/new", data=COMMUNITY | change
    )

    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    assert "A comunidade do porto de Sines.</textarea>" in html
    assert count(app, Community) == 1


def test_the_secretariat_edits_a_community(app, as_user, world):
    client = secretariat_client(as_user, world)
    path = f"/console/communities/{world.community_id}"

    edited = client.post(path, data=COMMUNITY | {"website": ""})
    refused = client.post(path, data=COMMUNITY | {"port": "", "name": "Otro nombre"})

    assert edited.status_code == 303 and edited.headers["Location"] == path
    assert refused.status_code == 400 and 'value="Otro nombre"' in refused.get_data(as_text=True)
    with app.app_context():
        community = db.session.get(Community, world.community_id)
        assert (community.name, community.port, community.website) == (
            COMMUNITY["name"],
            "Sines",
            "",
        )


def test_the_secretariat_deactivates_and_reactivates_a_community(app, as_user, world):
    client = secretariat_client(as_user, world)
    path = f"/console/communities/{world.community_id}"

    off = client.post(f"{path}/active", data={"active": "0"})
    inactive = client.get("/console/communities?status=inactive").get_data(as_text=True)
    active = client.get("/console/communities?status=active").get_data(as_text=True)
    public = app.test_client().get(f"/api/v1/communities/{world.community_id}")
    on = client.post(f"{path}/active", data={"active": "1"})

    assert off.status_code == 303 and on.status_code == 303
    assert path in inactive and path not in active
    assert public.status_code == 404
    with app.app_context():
        assert db.session.get(Community, world.community_id).active is True


def test_the_communities_are_filtered_by_member_state(app, as_user, world):
    client = secretariat_client(as_user, world)
    client.post("/console/member-states", data={"code": "PT", "name": "Portugal"})
    client.post("/console/communities/new", data=COMMUNITY | {"member_state": "PT"})

    portuguese = client.get("/console/communities?member_state=pt").get_data(as_text=True)
    every = client.get("/console/communities").get_data(as_text=True)

    assert "Sines" in portuguese and "Comunidad Portuaria" not in portuguese
    assert "Sines" in every and "Comunidad Portuaria" in every
    assert "2 communities" in every


def test_a_community_page_shows_its_people_and_pending_invitations(as_user, world):
    client = secretariat_client(as_user, world)
    as_user(world.secretariat).post(
        "/invitations",
        {"email": "pendiente@ports.example", "name": "Persona Pendiente",
         "community_id": world.community_id},
    )  # fmt: skip

    html = client.get(f"/console/communities/{world.community_id}").get_data(as_text=True)

    assert "Member Person" in html and "Coordinator Person" in html
    assert "Persona Pendiente" in html and "Outsider Person" not in html
    assert "/resend" in html and "/revoke" in html


# --- onboarding in one flow ----------------------------------------------------------

ONBOARDING = {
    "member_state": "new",
    "state-code": "PT",
    "state-name": "Portugal",
    "community-name": "Comunidade Portuária de Sines",
    "community-port": "Sines",
    "community-description": "",
    "community-website": "https://www.sines.example",
    "person-email": "focal@sines.example.org",
    "person-name": "Ponto Focal",
    "person-locale": "pt",
    "person-role": "coordinator",
}


def test_a_community_is_onboarded_in_one_flow(app, as_user, world, smtp):
    client = secretariat_client(as_user, world)

    done = client.post(
        "/console/onboarding",
        data=ONBOARDING | {"groups": [str(world.ws_id), str(world.other_ws_id)]},
    )

    assert done.status_code == 303
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Comunidade Portuária de Sines joined the network" in page
    assert "Ponto Focal" in page  # its pending invitation
    with app.app_context():
        assert db.session.get(MemberState, "PT").name == "Portugal"
        community = db.session.scalar(select(Community).where(Community.port == "Sines"))
        invitation = db.session.scalar(select(Invitation))
        assert community.member_state_code == "PT"
        assert (invitation.email, invitation.community_id, invitation.workspace_id) == (
            "focal@sines.example.org",
            community.id,
            world.ws_id,
        )
        assert (invitation.role, invitation.locale) == ("coordinator", "pt")
        assert [g.id for g in invitation.groups] == [world.ws_id, world.other_ws_id]
        assert invitation.is_focal_point
        other = db.session.get(Workspace, world.other_ws_id).name
        mail.send_due()
    (message,) = smtp.wait_for(1)
    assert message["To"] == "Ponto Focal <focal@sines.example.org>"
    # Both groups, joined as Portuguese joins names.
    groups = f"Sistemas de Comunidad Portuaria e {other}"
    assert message["Subject"] == f"Você foi convidado(a) para os grupos de trabalho {groups}"
    text = message.get_body(("plain",)).get_content()
    token = re.search(r"https://portal\.example/invitation/(\S+)", text).group(1)

    accepted = app.test_client().post(
        f"/api/v1/auth/invitations/{token}/accept",
        json={"name": "Ponto Focal", "password": "uma-senha-longa-2026"},
    )

    assert accepted.status_code == 201, accepted.get_json()
    with app.app_context():
        person = db.session.scalar(select(User).where(User.email == "focal@sines.example.org"))
        assert person.is_focal_point and person.community.port == "Sines"
        roles = db.session.execute(
            select(Membership.workspace_id, Membership.role).where(Membership.user_id == person.id)
        ).all()
        assert sorted(roles) == sorted(
            [(world.ws_id, Role.coordinator), (world.other_ws_id, Role.coordinator)]
        )


def test_onboarding_into_an_existing_member_state_without_a_group(app, as_user, world):
    form = ONBOARDING | {"member_state": "CO", "state-code": "", "state-name": ""}

    done = secretariat_client(as_user, world).post("/console/onboarding", data=form)

    assert done.status_code == 303
    with app.app_context():
        invitation = db.session.scalar(select(Invitation))
        assert invitation.community.member_state_code == "CO"
        assert invitation.workspace_id is None and invitation.role is None
    assert count(app, MemberState) == 1 and count(app, OutboxMessage) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        # refused by a service, after the member state and the community were written
        ({"person-email": "{taken}"}, "person-email"),
        ({"state-code": "CO"}, "state-code"),
        ({"state-name": "Colombia"}, "state-name"),
        # refused by the form's rules
        ({"member_state": ""}, "member_state"),
        ({"state-code": "PTG"}, "state-code"),
        ({"community-port": ""}, "community-port"),
        ({"community-website": "sines"}, "community-website"),
        ({"person-email": "not an address"}, "person-email"),
        ({"groups": "99999"}, "groups"),
    ],
)
def test_a_refused_onboarding_changes_nothing_and_keeps_the_input(
    app, as_user, world, change, field
):
    form = ONBOARDING | {
        name: value.format(taken=world.member.email) for name, value in change.items()
    }
    before = {model: count(app, model) for model in (MemberState, Community, Invitation)}
    mails = count(app, OutboxMessage)

    answer = secretariat_client(as_user, world).post("/console/onboarding", data=form)

    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    assert 'value="Comunidade Portuária de Sines"' in html and 'value="Ponto Focal"' in html
    assert {model: count(app, model) for model in before} == before
    assert count(app, OutboxMessage) == mails


def test_an_archived_group_takes_no_focal_point(app, as_user, world):
    as_user(world.secretariat).patch(f"/workspaces/{world.other_ws_id}", {"archived": True})
    form = ONBOARDING | {"groups": str(world.other_ws_id)}

    answer = secretariat_client(as_user, world).post("/console/onboarding", data=form)

    assert answer.status_code == 400
    assert 'id="groups-error"' in answer.get_data(as_text=True)
    assert count(app, Community) == 1 and count(app, Invitation) == 0


def test_a_pending_invitation_to_the_focal_point_refuses_the_onboarding(app, as_user, world):
    client = secretariat_client(as_user, world)
    as_user(world.secretariat).post("/invitations", {"email": "focal@sines.example.org"})

    answer = client.post("/console/onboarding", data=ONBOARDING)

    assert answer.status_code == 400 and 'id="person-email-error"' in answer.get_data(as_text=True)
    assert count(app, Community) == 1 and count(app, MemberState) == 1


def test_an_address_with_an_account_in_any_case_is_refused_as_focal_point(app, as_user, world):
    with app.app_context():
        make_user(email="old@sines.example.org", name="Old Account")
    form = ONBOARDING | {"person-email": "OLD@sines.example.org"}

    answer = secretariat_client(as_user, world).post("/console/onboarding", data=form)

    assert answer.status_code == 400
    assert count(app, Community) == 1
