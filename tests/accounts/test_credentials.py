"""API tokens, CSRF, deactivation and password changes: refused on the very next request."""

from __future__ import annotations

from datetime import timedelta

from portal.accounts.models import ApiToken, User
from portal.events import utcnow
from portal.extensions import db

from ..factories import make_user, user_ref


def _token(as_user, user, **body):
    response = as_user(user).post("/me/tokens", {"name": "script", **body})
    assert response.status_code == 201
    return response.get_json()


def test_token_is_shown_once_and_stored_hashed(app, as_user, world):
    created = _token(as_user, world.member)

    assert created["token"].startswith("pnp_")
    listed = as_user(world.member).get("/me/tokens").get_json()["items"]
    assert [t["id"] for t in listed] == [created["id"]]
    assert "token" not in listed[0]
    with app.app_context():
        stored = db.session.get(ApiToken, created["id"])
        assert stored.token_hash != created["token"]
        assert created["token"] not in stored.token_hash


def test_bearer_token_authenticates_without_cookie_or_csrf(app, as_user, api, world):
    created = _token(as_user, world.member)
    token = created["token"]
    headers = {"Authorization": f"Bearer {token}"}

    me = api.get("/me", headers=headers)
    write = api.patch("/me", {"name": "Via Token"}, headers=headers)

    assert me.status_code == 200 and me.get_json()["id"] == world.member.id
    assert "Set-Cookie" not in me.headers
    assert write.status_code == 200
    with app.app_context():
        assert db.session.get(ApiToken, created["id"]).last_used_at is not None


def test_bearer_token_wins_over_a_cookie(as_user, world):
    token = _token(as_user, world.member)["token"]
    client = as_user(world.secretariat)

    response = client.get("/me", headers={"Authorization": f"Bearer {token}"})

    assert response.get_json()["id"] == world.member.id


def test_unknown_token_is_refused_even_on_open_routes(api):
    response = api.get("/member-states", headers={"Authorization": "Bearer pnp_forged"})

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"
    assert "Bearer" in response.headers["WWW-Authenticate"]


def test_revoked_token_is_refused_at_once(as_user, api, world):
    created = _token(as_user, world.member)
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert api.get("/me", headers=headers).status_code == 200

    revoke = as_user(world.member).delete(f"/me/tokens/{created['id']}")

    assert revoke.status_code == 200 and revoke.get_json()["revoked_at"]
    assert api.get("/me", headers=headers).status_code == 401


def test_expired_token_is_refused(app, as_user, api, world):
    created = _token(as_user, world.member, expires_in_days=1)
    with app.app_context():
        db.session.get(ApiToken, created["id"]).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()

    headers = {"Authorization": f"Bearer {created['token']}"}
    assert api.get("/me", headers=headers).status_code == 401


def test_token_lifetime_is_bounded(as_user, world):
    response = as_user(world.member).post("/me/tokens", {"name": "x", "expires_in_days": 400})

    assert response.status_code == 400
    assert "expires_in_days" in response.get_json()["error"]["fields"]


def test_cookie_write_without_csrf_token_is_refused(as_user, world):
    client = as_user(world.member)
    client.client.environ_base.pop("HTTP_X_CSRF_TOKEN")

    response = client.patch("/me", {"name": "Forged"})

    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "csrf"
    assert client.get("/me").get_json()["name"] == "Member Person"


def test_cookie_write_with_a_wrong_csrf_token_is_refused(as_user, world):
    client = as_user(world.member)

    response = client.patch("/me", {"name": "Forged"}, headers={"X-CSRF-Token": "wrong"})

    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "csrf"


def test_deactivated_user_is_refused_on_the_next_request(as_user, world):
    victim = as_user(world.member)
    token = _token(as_user, world.member)["token"]
    assert victim.get("/me").status_code == 200

    response = as_user(world.secretariat).patch(f"/users/{world.member.id}", {"active": False})

    assert response.status_code == 200
    assert victim.get("/me").status_code == 401
    assert victim.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_reactivated_user_signs_in_again_but_old_sessions_stay_closed(app, as_user, api, world):
    old = as_user(world.member)
    admin = as_user(world.secretariat)
    admin.patch(f"/users/{world.member.id}", {"active": False})

    admin.patch(f"/users/{world.member.id}", {"active": True, "password": "a-long-password-1"})

    assert old.get("/me").status_code == 401
    login = api.post("/auth/login", {"email": world.member.email, "password": "a-long-password-1"})
    assert login.status_code == 200


def test_secretariat_cannot_deactivate_itself(as_user, world):
    response = as_user(world.secretariat).patch(f"/users/{world.secretariat.id}", {"active": False})

    assert response.status_code == 403
    assert as_user(world.secretariat).get("/me").status_code == 200


def test_password_change_keeps_this_session_and_ends_the_others(app, api, as_user):
    with app.app_context():
        person = user_ref(make_user(password="first-password-1"))
    login = api.post("/auth/login", {"email": person.email, "password": "first-password-1"})
    other = as_user(person)
    api.client.environ_base["HTTP_X_CSRF_TOKEN"] = login.get_json()["csrf_token"]

    response = api.post(
        "/me/password",
        {"current_password": "first-password-1", "new_password": "second-password-2"},
    )

    assert response.status_code == 200
    api.client.environ_base["HTTP_X_CSRF_TOKEN"] = response.get_json()["csrf_token"]
    assert api.get("/me").status_code == 200
    assert other.get("/me").status_code == 401
    with app.app_context():
        assert db.session.get(User, person.id).session_epoch == 1


def test_password_change_needs_the_current_password(app, as_user):
    with app.app_context():
        person = user_ref(make_user(password="first-password-1"))

    response = as_user(person).post(
        "/me/password", {"current_password": "guess", "new_password": "second-password-2"}
    )

    assert response.status_code == 400
    assert "current_password" in response.get_json()["error"]["fields"]
