"""One's contact details: kept by the person (the page and PATCH /me), shown to the other
members only as chosen; focal points set by the secretariat (PATCH /users/{id})."""

from __future__ import annotations

import pytest

from portal.accounts.models import User
from portal.extensions import db

EN = {"Accept-Language": "en"}
DETAILS = {
    "position": "Jefa de operaciones",
    "phone": "+57 605 123 4567",
    "show_email": True,
    "show_phone": False,
    "show_position": True,
}


def stored(app, user_id):
    with app.app_context():
        user = db.session.get(User, user_id)
        return {name: getattr(user, name) for name in (*DETAILS, "is_focal_point")}


def page_client(as_user, who):
    client = as_user(who).client
    client.set_cookie("portal_lang", "en")
    return client


# --- the API ---------------------------------------------------------------------


def test_a_new_account_shows_nothing_until_its_owner_says(as_user, world):
    me = as_user(world.member).get("/me").get_json()

    assert {k: me[k] for k in DETAILS} == {
        "position": "",
        "phone": "",
        "show_email": False,
        "show_phone": False,
        "show_position": False,
    }
    assert me["is_focal_point"] is False


def test_patch_me_sets_and_clears_contact_details(app, as_user, world):
    client = as_user(world.member)

    saved = client.patch("/me", DETAILS)
    cleared = client.patch("/me", {"phone": "", "show_position": False})

    assert saved.status_code == 200 and {k: saved.get_json()[k] for k in DETAILS} == DETAILS
    assert cleared.status_code == 200
    assert stored(app, world.member.id) | {"is_focal_point": False} == DETAILS | {
        "phone": "",
        "show_position": False,
        "is_focal_point": False,
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "call me"}, "phone"),
        ({"phone": "+57 605 123 4567 ext. 8"}, "phone"),
        ({"position": "x" * 161}, "position"),
        ({"show_email": "yes"}, "show_email"),
        ({"show_phone": None}, "show_phone"),
        ({"is_focal_point": True}, "is_focal_point"),  # not one's own to set
    ],
)
def test_patch_me_refuses_bad_details(as_user, world, body, field):
    response = as_user(world.member).patch("/me", body)

    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]


def test_the_openapi_document_describes_the_new_fields(api):
    schemas = api.get("/openapi.json").get_json()["components"]["schemas"]

    assert {"position", "phone", "show_email", "show_phone", "show_position"} <= set(
        schemas["ProfileBody"]["properties"]
    )
    assert "is_focal_point" in schemas["UserUpdateBody"]["properties"]
    assert {"contact_email", "publish_focal_points"} <= set(
        schemas["CommunityUpdateBody"]["properties"]
    )


@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 401), ("member", 403), ("coordinator", 403), ("outsider", 403),
     ("secretariat", 200)],
)  # fmt: skip
def test_only_the_secretariat_marks_focal_points(app, as_user, world, role, status):
    response = as_user(getattr(world, role)).patch(
        f"/users/{world.coordinator.id}", {"is_focal_point": True}
    )

    assert response.status_code == status
    assert stored(app, world.coordinator.id)["is_focal_point"] is (status == 200)


def test_a_focal_point_belongs_to_a_community(app, as_user, world):
    admin = as_user(world.secretariat)

    refused = admin.patch(f"/users/{world.outsider.id}", {"is_focal_point": True})
    admin.patch(f"/users/{world.coordinator.id}", {"is_focal_point": True})
    moved = admin.patch(f"/users/{world.coordinator.id}", {"community_id": None})

    assert refused.status_code == 400 and "is_focal_point" in refused.get_json()["error"]["fields"]
    assert moved.status_code == 200 and moved.get_json()["is_focal_point"] is False
    assert stored(app, world.coordinator.id)["is_focal_point"] is False


def test_the_secretariat_sets_what_a_community_publishes(as_user, api, world):
    admin = as_user(world.secretariat)
    path = f"/communities/{world.community_id}"

    bad = admin.patch(path, {"contact_email": "not an address"})
    member = as_user(world.member).patch(path, {"publish_focal_points": True})
    saved = admin.patch(
        path, {"contact_email": "Info@Puerto.example.org", "publish_focal_points": True}
    )

    assert bad.status_code == 400 and "contact_email" in bad.get_json()["error"]["fields"]
    assert member.status_code == 403
    assert saved.status_code == 200
    public = api.get(path).get_json()
    assert public["contact_email"] == "info@puerto.example.org"
    assert public["publish_focal_points"] is True


# --- the page ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["observer", "member", "coordinator", "outsider", "secretariat"])
def test_everyone_signed_in_has_the_page(as_user, world, role):
    response = page_client(as_user, getattr(world, role)).get("/account/contact")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<h1 id="contact-title">Contact details</h1>' in html
    assert 'name="show_email"' in html and 'name="phone"' in html


def test_a_visitor_is_sent_to_sign_in(app):
    response = app.test_client().get("/account/contact", headers=EN)

    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_form_saves_and_an_unticked_box_hides_again(app, as_user, world):
    client = page_client(as_user, world.member)
    token = client.environ_base["HTTP_X_CSRF_TOKEN"]
    form = {"csrf_token": token, "position": "Analyst", "phone": "+507 1234 5678",
            "show_email": "true", "show_phone": "true"}  # fmt: skip

    saved = client.post("/account/contact", data=form)
    again = client.post("/account/contact", data={"csrf_token": token, "position": "Analyst"})

    assert saved.status_code == 303 and saved.headers["Location"].endswith("/account/contact")
    assert again.status_code == 303
    assert stored(app, world.member.id) == {
        "position": "Analyst",
        "phone": "",
        "show_email": False,
        "show_phone": False,
        "show_position": False,
        "is_focal_point": False,
    }
    shown = client.get("/account/contact").get_data(as_text=True)
    assert 'value="Analyst"' in shown and "Your contact details are saved." in shown


def test_a_bad_phone_is_shown_beside_the_field_with_what_was_typed(app, as_user, world):
    client = page_client(as_user, world.member)
    token = client.environ_base["HTTP_X_CSRF_TOKEN"]

    response = client.post(
        "/account/contact",
        data={"csrf_token": token, "position": "Analyst", "phone": "ring me", "show_phone": "true"},
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="phone-error"' in html and 'value="ring me"' in html
    assert 'name="show_phone" value="true" checked' in html
    assert stored(app, world.member.id)["position"] == ""


def test_the_form_needs_its_csrf_token(app, as_user, world):
    client = page_client(as_user, world.member)
    del client.environ_base["HTTP_X_CSRF_TOKEN"]  # as a form from another site comes

    response = client.post("/account/contact", data={"position": "Analyst"})

    assert response.status_code == 400
    assert stored(app, world.member.id)["position"] == ""
