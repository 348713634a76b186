"""GET /contacts: the contacts page's people for API clients, under the same rules."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from portal.extensions import db
from tests.factories import make_community, make_user


@pytest.fixture
def contacts(as_user, world):
    """The coordinator is the focal point and shows e-mail and position; the member gave
    a phone and a position but shows nothing."""
    as_user(world.coordinator).patch(
        "/me", {"position": "Directora", "show_email": True, "show_position": True}
    )
    as_user(world.member).patch("/me", {"position": "Oculta", "phone": "+57 300 999 8888"})
    as_user(world.secretariat).patch(f"/users/{world.coordinator.id}", {"is_focal_point": True})
    return world


def by_name(answer):
    return {person["name"]: person for person in answer.get_json()["items"]}


@pytest.mark.parametrize("role", ["observer", "member", "coordinator", "outsider", "secretariat"])
def test_every_member_reads_only_what_each_person_shows(as_user, contacts, role):
    answer = as_user(getattr(contacts, role)).get("/contacts")

    assert answer.status_code == 200
    people = by_name(answer)
    focal = people["Coordinator Person"]
    assert focal["is_focal_point"] is True
    assert focal["email"] == contacts.coordinator.email and focal["position"] == "Directora"
    assert "phone" not in focal
    hidden = people["Member Person"]
    assert {"email", "phone", "position"}.isdisjoint(hidden)
    assert "Oculta" not in answer.get_data(as_text=True)
    assert "Outsider Person" not in people  # of no community
    assert people["Secretaría Técnica"]["is_secretariat"] is True
    assert next(iter(people)) == "Secretaría Técnica"


def test_a_visitor_is_refused(api):
    assert api.get("/contacts").status_code == 401


def test_groups_are_those_the_caller_reads(as_user, contacts):
    by_outsider = by_name(as_user(contacts.outsider).get("/contacts"))
    by_member = by_name(as_user(contacts.member).get("/contacts"))

    assert by_outsider["Coordinator Person"]["workspaces"] == []
    assert by_member["Coordinator Person"]["workspaces"] == [
        {"id": contacts.ws_id, "name": "Sistemas de Comunidad Portuaria", "role": "coordinator"}
    ]


def test_search_and_filter(app, as_user, contacts):
    with app.app_context():
        other = make_community(name="Comunidad de Manzanillo", port="Manzanillo")
        make_user(name="Rosa Vidal", community_id=other.id)
        other_id = other.id
    client = as_user(contacts.member)

    by_port = client.get("/contacts?q=manzan").get_json()
    by_community = client.get(f"/contacts?community_id={other_id}").get_json()
    by_hidden_detail = client.get("/contacts?q=oculta").get_json()

    assert [p["name"] for p in by_port["items"]] == ["Rosa Vidal"]
    assert [p["name"] for p in by_community["items"]] == ["Rosa Vidal"]
    assert by_hidden_detail["total"] == 0


def test_a_page_costs_the_same_queries_however_many_people(app, as_user, contacts):
    client = as_user(contacts.member)

    def queries() -> int:
        statements: list[int] = []
        with app.app_context():
            engine = db.engine
        listener = lambda *_args: statements.append(1)
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get("/contacts?per_page=100").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(statements)

    before = queries()
    with app.app_context():
        community = make_community()
        for n in range(10):
            make_user(name=f"Persona {n}", community_id=community.id)

    assert queries() == before
