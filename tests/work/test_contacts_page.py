"""The members' contacts page: communities by member state, focal points first, the
details each person chose to show, the groups the viewer shares with them."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from portal.accounts import service as accounts
from portal.accounts.models import User
from portal.extensions import db
from portal.network import service as network
from portal.network.models import Community
from portal.workspaces import service as workspaces
from portal.workspaces.models import Role, Workspace
from tests.factories import make_community, make_user

EN = {"Accept-Language": "en"}
ROLES = ["observer", "member", "coordinator", "outsider", "bystander", "secretariat"]


def change_user(user_id, **changes):
    user = db.session.get(User, user_id)
    accounts.update_user(user, user, changes)


@pytest.fixture
def contacts(app, world):
    """The coordinator is the community's focal point and shows everything; the member
    gave a position and a phone but shows nothing; the coordinator is also in the
    outsider's reserved group."""
    with app.app_context():
        change_user(world.coordinator.id, position="Directora", phone="+57 300 111 2222",
                    show_email=True, show_phone=True, show_position=True)  # fmt: skip
        change_user(world.member.id, position="Analista secreto", phone="+57 300 999 8888")
        admin = db.session.get(User, world.secretariat.id)
        accounts.update_user(admin, db.session.get(User, world.coordinator.id),
                             {"is_focal_point": True})  # fmt: skip
        workspaces.set_membership(
            admin,
            db.session.get(Workspace, world.other_ws_id),
            db.session.get(User, world.coordinator.id),
            Role.member,
        )
        db.session.remove()
    return world


def page(as_user, who, path="/contacts"):
    client = as_user(who).client
    client.set_cookie("portal_lang", "en")
    response = client.get(path)
    return response, response.get_data(as_text=True)


def person_entry(html, name):
    """The <li> of one person on the page."""
    start = html.index(f'<p class="name"><strong>{name}</strong>')
    ends = [html.find(mark, start) for mark in ('<li class="contact">', "</section>")]
    return html[start : min(end for end in ends if end != -1)]


@pytest.mark.parametrize("role", ROLES)
def test_every_member_reads_the_contacts_and_hidden_details_stay_hidden(as_user, contacts, role):
    response, html = page(as_user, getattr(contacts, role))

    assert response.status_code == 200
    assert "<h1>Network contacts</h1>" in html
    focal = person_entry(html, "Coordinator Person")
    assert "Focal point" in focal and "Directora" in focal
    assert f'href="mailto:{contacts.coordinator.email}"' in focal
    assert 'href="tel:+573001112222"' in focal
    # What the member did not choose to show is nowhere, for every viewer.
    assert "Analista secreto" not in html and "999 8888" not in html
    assert contacts.member.email not in html
    assert "Member Person" in html


def test_a_visitor_is_sent_to_sign_in_and_the_header_links_only_members(app, as_user, world):
    visitor = app.test_client().get("/contacts", headers=EN)
    public = app.test_client().get("/directory", headers=EN).get_data(as_text=True)
    _response, html = page(as_user, world.member, f"/groups/{world.ws_id}")

    assert visitor.status_code == 302 and "/login" in visitor.headers["Location"]
    assert 'href="/contacts"' not in public
    assert '<a href="/contacts">Contacts</a>' in html


def test_focal_points_come_first_then_the_staff_by_name(as_user, contacts):
    _response, html = page(as_user, contacts.member)

    order = [html.index(f"name\"><strong>{name} Person</strong>")
             for name in ("Coordinator", "Member", "Observer")]  # fmt: skip
    assert order == sorted(order)
    assert html.index("Technical secretariat</h2>") < html.index("Colombia</h2>")
    assert "Secretaría Técnica" in person_entry(html, "Secretaría Técnica")


def test_groups_show_only_where_the_viewer_reads_them(as_user, contacts):
    _r, by_member = page(as_user, contacts.member)
    _r, by_outsider = page(as_user, contacts.outsider)
    _r, by_secretariat = page(as_user, contacts.secretariat)

    assert "Sistemas de Comunidad Portuaria" in person_entry(by_member, "Coordinator Person")
    assert "Grupo Reservado de Aduanas" not in by_member
    outsider_view = person_entry(by_outsider, "Coordinator Person")
    assert "Grupo Reservado de Aduanas" in outsider_view
    assert "Sistemas de Comunidad Portuaria" not in by_outsider
    both = person_entry(by_secretariat, "Coordinator Person")
    assert "Grupo Reservado de Aduanas" in both and "Sistemas de Comunidad Portuaria" in both
    assert "(Coordinator)" in person_entry(by_secretariat, "Coordinator Person")


def test_inactive_people_and_communities_are_hidden(app, as_user, contacts):
    with app.app_context():
        admin = db.session.get(User, contacts.secretariat.id)
        accounts.update_user(admin, db.session.get(User, contacts.observer.id), {"active": False})
        closed = make_community(name="Comunidad Cerrada")
        make_user(name="Persona Cerrada", community_id=closed.id)
        network.update_community(admin, db.session.get(Community, closed.id), {"active": False})
        closed_id = closed.id
        db.session.remove()

    _response, html = page(as_user, contacts.secretariat)
    _r, filtered = page(as_user, contacts.secretariat, f"/contacts?community_id={closed_id}")

    assert "Observer Person" not in html
    assert "Comunidad Cerrada" not in html and "Persona Cerrada" not in html
    assert "Persona Cerrada" not in filtered


def test_people_without_a_community_are_not_listed(as_user, contacts):
    _response, html = page(as_user, contacts.member)

    assert "Outsider Person" not in html and "Bystander Person" not in html


def test_search_by_name_community_or_port(app, as_user, contacts):
    with app.app_context():
        other = make_community(name="Comunidad de Manzanillo", port="Manzanillo")
        make_user(name="Rosa Vidal", community_id=other.id)
        other_id = other.id
        db.session.remove()

    _r, by_name = page(as_user, contacts.member, "/contacts?q=rosa")
    _r, by_port = page(as_user, contacts.member, "/contacts?q=manzan")
    _r, by_community = page(as_user, contacts.member, f"/contacts?community_id={other_id}")
    _r, hidden_field = page(as_user, contacts.coordinator, "/contacts?q=secreto")
    _r, bad = page(as_user, contacts.member, "/contacts?community_id=abc")

    for html in (by_name, by_port, by_community):
        assert "Rosa Vidal" in html and "Coordinator Person" not in html
        assert "1 person" in html
    assert "Secretaría Técnica" not in by_community
    # A detail its owner hides is not searched either: the search does not reveal it.
    assert "Member Person" not in hidden_field and "Nobody matches" in hidden_field
    assert "Rosa Vidal" in bad and "Coordinator Person" in bad


def count_queries(app, client, path):
    statements = []
    with app.app_context():
        engine = db.engine
    listener = lambda *_args: statements.append(1)
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(statements)


def test_the_page_costs_the_same_queries_however_many_people(app, as_user, contacts):
    client = as_user(contacts.member).client
    before = count_queries(app, client, "/contacts")
    with app.app_context():
        admin = db.session.get(User, contacts.secretariat.id)
        ws = db.session.get(Workspace, contacts.ws_id)
        for n in range(3):
            community = make_community(state=("CO", "PA", "PE")[n])
            for m in range(8):
                person = make_user(name=f"Persona {n}-{m}", community_id=community.id)
                accounts.update_user(person, person, {"show_email": True, "position": "Staff",
                                                      "show_position": True})  # fmt: skip
                workspaces.set_membership(admin, ws, person, Role.member)
        db.session.remove()

    after = count_queries(app, client, "/contacts")
    html = client.get("/contacts").get_data(as_text=True)

    assert "Persona 2-7" in html
    assert after == before
