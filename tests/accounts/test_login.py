"""Signing in and out, by JSON and by the HTML page; the sign-in rate limits."""

from __future__ import annotations

import threading

import pytest
import redis
from sqlalchemy import select

from portal import create_app
from portal.accounts.models import User
from portal.events import Event
from portal.extensions import db, limiter

from ..conftest import TEST_SETTINGS, service_url
from ..factories import make_user, user_ref

PASSWORD = "correct horse battery"


@pytest.fixture
def person(app):
    with app.app_context():
        return user_ref(make_user(password=PASSWORD, email="ana@ports.example", name="Ana"))


def test_login_starts_a_session_and_returns_the_user(api, person):
    response = api.post("/auth/login", {"email": "ANA@ports.example ", "password": PASSWORD})

    assert response.status_code == 200
    body = response.get_json()
    assert body["email"] == "ana@ports.example"
    assert body["workspaces"] == []
    assert body["csrf_token"]
    cookie = response.headers["Set-Cookie"]
    assert "portal_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert api.get("/me").get_json()["id"] == person.id


def test_a_password_hashed_with_older_parameters_is_rehashed_at_sign_in(api, app, person):
    from argon2 import PasswordHasher

    from portal.accounts.passwords import needs_rehash

    with app.app_context():
        user = db.session.get(User, person.id)
        user.password_hash = PasswordHasher().hash(PASSWORD)  # argon2-cffi's defaults
        db.session.commit()

    response = api.post("/auth/login", {"email": "ana@ports.example", "password": PASSWORD})

    assert response.status_code == 200
    with app.app_context():
        stored = db.session.get(User, person.id).password_hash
    assert not needs_rehash(stored)
    again = api.post("/auth/login", {"email": "ana@ports.example", "password": PASSWORD})
    assert again.status_code == 200


def test_the_password_is_checked_with_no_database_connection_held(api, person, monkeypatch):
    """Hashing is slow on purpose: a crowd signing in must not hold the pool meanwhile."""
    from portal.accounts import service

    seen = []

    def verify(stored_hash, password, **options):
        seen.append(db.session().in_transaction())
        return real_verify(stored_hash, password, **options)

    real_verify = service.verify_password
    monkeypatch.setattr(service, "verify_password", verify)
    assert api.post("/auth/login", {"email": person.email, "password": PASSWORD}).status_code == 200
    assert api.post("/auth/login", {"email": person.email, "password": "wrong"}).status_code == 401
    assert seen == [False, False]


def test_login_records_the_time_and_an_event(app, api, person):
    api.post("/auth/login", {"email": person.email, "password": PASSWORD})

    with app.app_context():
        assert db.session.get(User, person.id).last_login_at is not None
        verbs = db.session.scalars(select(Event.verb).where(Event.actor_id == person.id))
        assert list(verbs) == ["auth.login"]


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "ana@ports.example", "password": "wrong password"},
        {"email": "nobody@ports.example", "password": PASSWORD},
    ],
)
def test_bad_credentials_answer_401_alike(api, person, credentials):
    response = api.post("/auth/login", credentials)

    assert response.status_code == 401
    assert response.get_json() == {
        "error": {"code": "unauthenticated", "message": "Wrong email or password."}
    }
    assert api.get("/me").status_code == 401


def test_deactivated_user_cannot_sign_in(app, api, person):
    with app.app_context():
        db.session.get(User, person.id).active = False
        db.session.commit()

    assert api.post("/auth/login", {"email": person.email, "password": PASSWORD}).status_code == 401


def test_logout_ends_the_session(api, person):
    token = api.post("/auth/login", {"email": person.email, "password": PASSWORD}).get_json()[
        "csrf_token"
    ]

    response = api.post("/auth/logout", headers={"X-CSRF-Token": token})

    assert response.status_code == 200
    assert api.get("/me").status_code == 401


def test_login_is_limited_per_address(api, person):
    wrong = {"email": person.email, "password": "nope"}
    for _ in range(5):
        assert api.post("/auth/login", wrong).status_code == 401

    response = api.post("/auth/login", {"email": person.email, "password": PASSWORD})

    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) > 0


def test_login_is_limited_per_account_across_addresses(api, person):
    for n in range(5):
        api.post(
            "/auth/login",
            {"email": person.email, "password": "nope"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{n}"},
        )

    response = api.post(
        "/auth/login",
        {"email": person.email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.1.1"},
    )

    assert response.status_code == 429


def test_successful_logins_do_not_count_against_the_limit(api, person):
    for _ in range(8):
        response = api.post("/auth/login", {"email": person.email, "password": PASSWORD})
        assert response.status_code == 200


def test_login_limit_counts_in_redis(app, tmp_path, person):
    """The limiter's production storage: counters in Redis, shared by every process."""
    redis_url = service_url("PORTAL_TEST_REDIS_URL")
    store = redis.Redis.from_url(redis_url)
    store.flushdb()
    settings = {
        **TEST_SETTINGS,
        "INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "RATELIMIT_STORAGE_URL": redis_url,
        "LOGIN_RATE_LIMIT": "2/minute",
    }
    client = create_app(settings).test_client()
    attempt = {"email": person.email, "password": "nope"}
    try:
        statuses = [client.post("/api/v1/auth/login", json=attempt).status_code for _ in range(3)]
        counters = store.keys("LIMITS:*")
    finally:
        limiter.init_app(app)  # the limiter is process-wide: give it back to the test app

    assert statuses == [401, 401, 429]
    assert any(b"login-account" in key for key in counters)


def test_html_sign_in_page_signs_in_and_redirects(app, person):
    client = app.test_client()
    page = client.get("/login")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<label for="email">' in html and 'name="csrf_token"' in html
    csrf = html.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]

    response = client.post(
        "/login?next=/directory",
        data={"email": person.email, "password": PASSWORD, "csrf_token": csrf},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/directory"
    assert "Ana" in client.get("/").get_data(as_text=True)


@pytest.fixture
def hashing_taken(monkeypatch):
    """Every hashing thread busy until `release` is set (at the latest when the test
    ends); sign-ins wait 0.3 s for one. Yields the passwords the portal verifies, and
    `release`."""
    from portal.accounts import passwords

    release = threading.Event()
    for _ in range(passwords.HASHING_THREADS):
        passwords._hashing.submit(release.wait, 30)
    verified: list[str] = []
    real_hasher = passwords._hasher

    class Counting:
        def verify(self, stored, password):
            verified.append(password)
            return real_hasher.verify(stored, password)

        def __getattr__(self, name):
            return getattr(real_hasher, name)

    monkeypatch.setattr(passwords, "_hasher", Counting())
    monkeypatch.setattr("portal.accounts.service.SIGN_IN_WAIT_SECONDS", 0.3)
    yield verified, release
    release.set()


def test_a_sign_in_that_waits_too_long_for_its_turn_is_asked_to_come_back(
    api, app, person, hashing_taken
):
    from portal.accounts import passwords

    response = api.post("/auth/login", {"email": person.email, "password": PASSWORD})

    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "unavailable"
    # (Flask-Limiter writes its own figure over it on this rate-limited route.)
    assert int(response.headers["Retry-After"]) > 0
    assert "portal_session=" not in response.headers.get("Set-Cookie", "")
    assert api.get("/me").status_code == 401
    with app.app_context():
        verbs = set(db.session.scalars(select(Event.verb)))
    assert not verbs & {"auth.login", "auth.login_failed"}
    # The hash it gave up on is never computed, even once the threads are free.
    verified, release = hashing_taken
    release.set()
    for _ in range(passwords.HASHING_THREADS):
        passwords._hashing.submit(lambda: None).result(timeout=10)
    assert verified == []
    # And the next sign-in, with a thread free, goes through.
    again = api.post("/auth/login", {"email": person.email, "password": PASSWORD})
    assert again.status_code == 200
    assert verified == [PASSWORD]


def test_the_sign_in_page_asks_to_come_back_and_keeps_the_email(app, person, hashing_taken):
    client = app.test_client()
    html = client.get("/login", headers={"Accept-Language": "pt"}).get_data(as_text=True)
    csrf = html.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]

    response = client.post(
        "/login",
        data={"email": person.email, "password": PASSWORD, "csrf_token": csrf},
        headers={"Accept-Language": "pt"},
    )

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    page = response.get_data(as_text=True)
    assert "Muitas pessoas estão entrando agora." in page
    assert f'value="{person.email}"' in page
    assert client.get("/api/v1/me").status_code == 401


def test_html_sign_in_refuses_foreign_redirects(app, person):
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    csrf = html.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]

    response = client.post(
        "/login?next=https://evil.example/",
        data={"email": person.email, "password": PASSWORD, "csrf_token": csrf},
    )

    assert response.headers["Location"] == "/work"


def test_html_sign_in_without_csrf_token_is_refused(app, person):
    client = app.test_client()

    response = client.post("/login", data={"email": person.email, "password": PASSWORD})

    assert response.status_code == 400
    assert client.get("/api/v1/me").status_code == 401


def test_html_sign_in_with_wrong_password_shows_the_error(app, person):
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    csrf = html.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]

    response = client.post(
        "/login", data={"email": person.email, "password": "wrong", "csrf_token": csrf}
    )

    assert response.status_code == 401
    # In Spanish, the interface's default language.
    assert "Correo electrónico o contraseña incorrectos." in response.get_data(as_text=True)
