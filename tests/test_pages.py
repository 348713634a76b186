"""The server-rendered pages of the foundation and the headers every response carries."""

from __future__ import annotations

from .conftest import sign_in_session


def test_home_invites_visitors_to_sign_in(app, world):
    response = app.test_client().get("/")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'href="/login"' in html
    assert "Sistemas de Comunidad Portuaria" not in html
    assert '<main id="main"' in html


def test_my_work_shows_a_member_their_working_groups_only(app, world):
    client = app.test_client()
    sign_in_session(client, world.outsider)

    html = client.get("/work").get_data(as_text=True)

    assert "Grupo Reservado de Aduanas" in html
    assert "Sistemas de Comunidad Portuaria" not in html


def test_home_is_the_same_for_the_secretariat_without_raw_event_codes(app, world):
    client = app.test_client()
    sign_in_session(client, world.secretariat)

    html = client.get("/").get_data(as_text=True)

    assert 'href="/work"' in html
    assert "member.added" not in html and "Sistemas de Comunidad Portuaria" not in html


def test_directory_lists_active_communities_by_member_state(app, world):
    html = app.test_client().get("/directory").get_data(as_text=True)

    assert "Colombia" in html and "Comunidad Portuaria" in html


def test_pages_carry_security_headers(app):
    response = app.test_client().get("/login")

    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_api_responses_are_not_cached_or_framed(app):
    response = app.test_client().get("/api/v1/member-states")

    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_html_sign_out_needs_the_csrf_token(app, world):
    client = app.test_client()
    sign_in_session(client, world.member)

    client.post("/logout")

    assert client.get("/api/v1/me").status_code == 200
