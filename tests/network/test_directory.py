"""Member states, communities and the audit log."""

from __future__ import annotations

import pytest


def test_member_state_codes_are_normalised_and_unique(as_user, world):
    admin = as_user(world.secretariat)

    created = admin.post("/member-states", {"code": "pa", "name": "Panamá"})
    again = admin.post("/member-states", {"code": "PA", "name": "Panama"})

    assert created.status_code == 201 and created.get_json() == {"code": "PA", "name": "Panamá"}
    assert again.status_code == 409 and "code" in again.get_json()["error"]["fields"]
    assert admin.get("/member-states/pa").get_json()["name"] == "Panamá"


def test_community_gets_a_unique_slug_from_its_name(as_user, world):
    admin = as_user(world.secretariat)
    body = {"name": "Comunidad Portuaria de Colón", "port": "Colón", "member_state": "co"}

    first = admin.post("/communities", body).get_json()
    second = admin.post("/communities", body).get_json()

    assert first["slug"] == "comunidad-portuaria-de-colon"
    assert second["slug"] == "comunidad-portuaria-de-colon-2"
    assert first["member_state"] == {"code": "CO", "name": "Colombia"}


def test_a_long_community_name_taken_twice_gets_a_slug_that_fits(as_user, world):
    """Found by schemathesis: the `-2` went past the 80 characters of the column (500 on
    PostgreSQL, a longer slug than the column on SQLite)."""
    admin = as_user(world.secretariat)
    body = {"name": "Comunidad " + "x" * 150, "port": "Colón", "member_state": "co"}

    first = admin.post("/communities", body)
    second = admin.post("/communities", body)

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.get_json()["slug"] == "comunidad-" + "x" * 70
    assert second.get_json()["slug"] == "comunidad-" + "x" * 68 + "-2"


def test_community_in_an_unknown_member_state_is_refused(as_user, world):
    response = as_user(world.secretariat).post(
        "/communities", {"name": "X", "port": "Y", "member_state": "ZZ"}
    )

    assert response.status_code == 400
    assert "member_state" in response.get_json()["error"]["fields"]


def test_community_website_must_be_a_web_address(as_user, world):
    response = as_user(world.secretariat).post(
        "/communities",
        {"name": "X", "port": "Y", "member_state": "CO", "website": "javascript:alert(1)"},
    )

    assert response.status_code == 400
    assert "website" in response.get_json()["error"]["fields"]


def test_inactive_community_leaves_the_public_directory(as_user, api, world):
    admin = as_user(world.secretariat)
    admin.patch(f"/communities/{world.community_id}", {"active": False})

    assert api.get("/communities").get_json()["total"] == 0
    assert api.get(f"/communities/{world.community_id}").status_code == 404
    assert admin.get("/communities").get_json()["total"] == 1
    assert admin.get(f"/communities/{world.community_id}").status_code == 200


def test_communities_filter_by_member_state_and_text(as_user, api, world):
    admin = as_user(world.secretariat)
    admin.post("/member-states", {"code": "PE", "name": "Perú"})
    admin.post(
        "/communities", {"name": "Comunidad del Callao", "port": "Callao", "member_state": "PE"}
    )

    by_state = api.get("/communities?member_state=pe").get_json()
    by_text = api.get("/communities?q=callao").get_json()

    assert [c["port"] for c in by_state["items"]] == ["Callao"]
    assert [c["port"] for c in by_text["items"]] == ["Callao"]


def test_audit_lists_changes_newest_first_with_filters(as_user, world):
    admin = as_user(world.secretariat)
    admin.patch(f"/communities/{world.community_id}", {"port": "Cartagena"})

    everything = admin.get("/audit").get_json()
    updates = admin.get("/audit?verb=community.updated").get_json()
    member_verbs = admin.get("/audit?verb=member.").get_json()
    by_actor = admin.get(f"/audit?actor={world.secretariat.id}").get_json()
    future = admin.get("/audit?since=2999-01-01T00:00:00%2B00:00").get_json()

    ids = [e["id"] for e in everything["items"]]
    assert ids == sorted(ids, reverse=True)
    assert updates["total"] == 1
    assert updates["items"][0]["data"] == {"community_id": world.community_id, "fields": ["port"]}
    assert updates["items"][0]["actor"]["id"] == world.secretariat.id
    assert {e["verb"] for e in member_verbs["items"]} == {"member.added"}
    assert by_actor["total"] > 0
    assert future["total"] == 0


def test_an_unchanged_patch_records_no_event(as_user, world):
    admin = as_user(world.secretariat)
    before = admin.get("/audit").get_json()["total"]

    admin.patch(f"/communities/{world.community_id}", {"active": True})

    assert admin.get("/audit").get_json()["total"] == before


# --- what a community publishes in the public directory ------------------------------


def _publishing_world(as_user, world, *, publish: bool) -> None:
    """The coordinator is the community's focal point and shows everything to members;
    the community publishes a contact address and, if `publish`, its focal points."""
    admin = as_user(world.secretariat)
    as_user(world.coordinator).patch(
        "/me",
        {"position": "Directora", "phone": "+57 300 111 2222", "show_email": True,
         "show_phone": True, "show_position": True},
    )  # fmt: skip
    admin.patch(f"/users/{world.coordinator.id}", {"is_focal_point": True})
    admin.patch(
        f"/communities/{world.community_id}",
        {"contact_email": "info@puerto.example.org", "publish_focal_points": publish},
    )


def _directory(client) -> str:
    client.set_cookie("portal_lang", "en")
    response = client.get("/directory")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["anonymous", "member", "secretariat"])
def test_the_directory_names_published_focal_points_and_nothing_members_see(as_user, world, role):
    _publishing_world(as_user, world, publish=True)

    html = _directory(as_user(getattr(world, role)).client)

    assert "Focal point: Coordinator Person" in html
    assert 'href="mailto:info@puerto.example.org"' in html
    # What the person shows to members stays in the restricted environment.
    for hidden in (world.coordinator.email, "Directora", "300 111 2222", "Observer Person"):
        assert hidden not in html


def test_an_unpublished_or_inactive_focal_point_is_not_named(app, as_user, world):
    _publishing_world(as_user, world, publish=False)
    unpublished = _directory(app.test_client())
    as_user(world.secretariat).patch(
        f"/communities/{world.community_id}", {"publish_focal_points": True}
    )
    as_user(world.secretariat).patch(f"/users/{world.coordinator.id}", {"active": False})
    inactive = _directory(app.test_client())

    for html in (unpublished, inactive):
        assert "Coordinator Person" not in html and "Focal point" not in html
        assert "info@puerto.example.org" in html


def test_the_public_api_gives_what_a_community_publishes_and_no_people(api, as_user, world):
    _publishing_world(as_user, world, publish=True)

    community = api.get(f"/communities/{world.community_id}").get_json()

    assert community["contact_email"] == "info@puerto.example.org"
    assert community["publish_focal_points"] is True
    assert world.coordinator.email not in str(community)
    assert api.get("/users").status_code == 401
    assert as_user(world.member).get(f"/users/{world.coordinator.id}").status_code == 403


def test_the_directory_costs_the_same_queries_however_many_focal_points(app, as_user, world):
    from sqlalchemy import event

    from portal.extensions import db
    from tests.factories import make_community, make_user

    def queries() -> int:
        statements: list[int] = []
        with app.app_context():
            engine = db.engine
        listener = lambda *_args: statements.append(1)
        event.listen(engine, "before_cursor_execute", listener)
        try:
            _directory(app.test_client())
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(statements)

    _publishing_world(as_user, world, publish=True)
    before = queries()
    admin = as_user(world.secretariat)
    with app.app_context():
        made = []
        for n in range(5):
            community = make_community(name=f"Comunidad {n}", publish_focal_points=True)
            made.append(make_user(name=f"Enlace {n}", community_id=community.id).id)
    for user_id in made:
        admin.patch(f"/users/{user_id}", {"is_focal_point": True})

    assert "Focal point: Enlace 4" in _directory(app.test_client())
    assert queries() == before
