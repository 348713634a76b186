"""Member states, communities and the audit log."""

from __future__ import annotations


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
