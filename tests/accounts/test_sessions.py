"""Signing out ends that session on the server: a copy of its cookie stops working."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.accounts.auth import SESSION_TOUCH_INTERVAL
from portal.accounts.models import UserSession
from portal.events import utcnow
from portal.extensions import db, socketio

from ..conftest import ApiClient
from ..factories import make_user, user_ref

PASSWORD = "correct horse battery"
COOKIE = "portal_session"


@pytest.fixture
def person(app: Flask) -> Any:
    with app.app_context():
        return user_ref(make_user(password=PASSWORD, secretariat=True, name="Ana"))


def _api_sign_in(app: Flask, person: Any) -> ApiClient:
    client = ApiClient(app.test_client())
    response = client.post("/auth/login", {"email": person.email, "password": PASSWORD})
    assert response.status_code == 200
    client.client.environ_base["HTTP_X_CSRF_TOKEN"] = response.get_json()["csrf_token"]
    return client


def _csrf_of(html: str) -> str:
    """The CSRF token of the page's first form (sign-in or sign-out)."""
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def _page_sign_in(app: Flask, person: Any) -> FlaskClient:
    client = app.test_client()
    csrf = _csrf_of(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": person.email, "password": PASSWORD, "csrf_token": csrf}
    )
    assert response.status_code == 302
    return client


def _copy(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another client holding the same session cookie, as a thief would."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return thief


def test_a_copied_cookie_stops_working_after_api_sign_out(app, person):
    client = _api_sign_in(app, person)
    copy = ApiClient(_copy(app, client.client))
    assert copy.get("/me").status_code == 200

    assert client.post("/auth/logout").status_code == 200

    response = copy.get("/me")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"


def test_a_copied_cookie_stops_working_after_page_sign_out(app, person):
    client = _page_sign_in(app, person)
    copy = _copy(app, client)
    assert copy.get("/review").status_code == 200

    csrf = _csrf_of(client.get("/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302

    response = copy.get("/review")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/review")


def test_signing_out_leaves_the_users_other_sessions(app, person):
    leaving, staying = _api_sign_in(app, person), _api_sign_in(app, person)

    assert leaving.post("/auth/logout").status_code == 200

    assert leaving.get("/me").status_code == 401
    assert staying.get("/me").status_code == 200


def test_a_session_row_is_seen_once_an_interval_and_pruned_once_dead(app, person):
    client = _api_sign_in(app, person)
    with app.app_context():
        (live,) = db.session.scalars(select(UserSession)).all()
        live_id, first_seen = live.id, live.last_seen_at
        long_ago = utcnow() - app.permanent_session_lifetime - SESSION_TOUCH_INTERVAL * 2
        db.session.add(UserSession(user_id=person.id, created_at=long_ago, last_seen_at=long_ago))
        db.session.commit()

    assert client.get("/me").status_code == 200
    with app.app_context():
        assert db.session.get(UserSession, live_id).last_seen_at == first_seen
        db.session.get(UserSession, live_id).last_seen_at = (
            utcnow() - SESSION_TOUCH_INTERVAL - timedelta(minutes=1)
        )
        db.session.commit()

    assert client.get("/me").status_code == 200
    _api_sign_in(app, person)

    with app.app_context():
        rows = db.session.scalars(select(UserSession).order_by(UserSession.id)).all()
        assert len(rows) == 2 and rows[0].id == live_id
        assert utcnow() - rows[0].last_seen_at < timedelta(seconds=30)


def test_signing_in_again_in_the_same_browser_ends_the_session_it_replaces(app, person):
    client = _api_sign_in(app, person)
    copy = ApiClient(_copy(app, client.client))

    again = client.post("/auth/login", {"email": person.email, "password": PASSWORD})
    assert again.status_code == 200

    assert copy.get("/me").status_code == 401
    client.client.environ_base["HTTP_X_CSRF_TOKEN"] = again.get_json()["csrf_token"]
    assert client.get("/me").status_code == 200


def test_the_cookie_is_signed_anew_only_when_its_row_is_touched(app, person):
    """Not at every answer (a signature and a Set-Cookie each): when the row is marked
    seen, so that a cookie in use lives on and one left alone ends as its row does."""
    client = _api_sign_in(app, person)
    quiet = client.get("/me")
    assert quiet.status_code == 200
    assert "Set-Cookie" not in quiet.headers

    with app.app_context():
        (row,) = db.session.scalars(select(UserSession)).all()
        row.last_seen_at = utcnow() - SESSION_TOUCH_INTERVAL - timedelta(minutes=1)
        db.session.commit()
    touched = client.get("/me")
    assert touched.status_code == 200
    assert COOKIE in touched.headers["Set-Cookie"]
    assert "Expires=" in touched.headers["Set-Cookie"]
    assert client.get("/me").status_code == 200
    assert "Set-Cookie" not in client.get("/me").headers


def test_a_live_connection_leaves_the_touch_to_a_request_that_can_renew_the_cookie(app, person):
    """A Socket.IO handler's session is never written back to the cookie: were the row
    marked seen there, the next request would not renew the cookie for another interval."""
    client = _api_sign_in(app, person)
    aged = utcnow() - SESSION_TOUCH_INTERVAL - timedelta(minutes=1)
    with app.app_context():
        (row,) = db.session.scalars(select(UserSession)).all()
        row.last_seen_at = aged
        db.session.commit()

    live = socketio.test_client(app, flask_test_client=client.client)
    assert live.is_connected()
    live.disconnect()
    with app.app_context():
        assert db.session.scalars(select(UserSession.last_seen_at)).one() == aged

    touched = client.get("/me")
    assert COOKIE in touched.headers["Set-Cookie"]
    with app.app_context():
        assert db.session.scalars(select(UserSession.last_seen_at)).one() > aged


def test_a_session_keeps_when_its_user_signed_in_before_it(app, person):
    """My work's "since you last signed in": the first session has none, the next one the
    first one's sign-in, whichever browser it came from."""
    _page_sign_in(app, person)
    with app.app_context():
        (first,) = db.session.scalars(select(UserSession)).all()
        assert first.previous_sign_in_at is None
        signed_in_at = first.created_at
    _api_sign_in(app, person)
    with app.app_context():
        second = db.session.scalars(select(UserSession).order_by(UserSession.id.desc())).first()
        assert second.id != first.id and second.previous_sign_in_at == signed_in_at
