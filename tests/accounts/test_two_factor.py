"""Two-factor sign-in (TOTP, RFC 6238): set-up, sign-in with a code, a wrong code, a
recovery code once, turning it off, and PORTAL_SECRETARIAT_2FA=required."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from sqlalchemy import select

from portal import ConfigurationError, create_app
from portal.accounts import two_factor
from portal.accounts.models import RecoveryCode, TwoFactor
from portal.events import Event, utcnow
from portal.extensions import db

from ..conftest import TEST_SETTINGS
from ..factories import make_user, user_ref

PASSWORD = "correct horse battery"


@pytest.fixture
def ana(app):
    with app.app_context():
        return user_ref(make_user(password=PASSWORD, email="ana@ports.example", name="Ana"))


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """The portal's clock stopped mid-way through a 30-second step: a test's "now" does
    not move on to the next code while it runs."""
    moment = utcnow().replace(microsecond=0)
    moment -= timedelta(seconds=moment.second % 30 - 15)
    monkeypatch.setattr(two_factor, "utcnow", lambda: moment)
    return moment


def code(secret: str, steps_ahead: int = 0) -> str:
    """The app's code now, or of a later 30-second step (accepted within one step)."""
    return pyotp.TOTP(secret).at(two_factor.utcnow() + timedelta(seconds=30 * steps_ahead))


def turn_on(client, password: str = PASSWORD) -> tuple[str, list[str]]:
    started = client.post("/me/2fa", {"password": password})
    assert started.status_code == 200, started.get_json()
    secret = started.get_json()["secret"]
    confirmed = client.post("/me/2fa/confirm", {"code": code(secret)})
    assert confirmed.status_code == 200, confirmed.get_json()
    return secret, confirmed.get_json()["recovery_codes"]


def login(api, otp: str | None = None, email: str = "ana@ports.example"):
    body = {"email": email, "password": PASSWORD} | ({"otp": otp} if otp is not None else {})
    return api.post("/auth/login", body)


def test_setting_it_up_gives_a_secret_for_the_app_then_recovery_codes(app, as_user, ana):
    client = as_user(ana)

    started = client.post("/me/2fa", {"password": PASSWORD}).get_json()

    uri = urlsplit(started["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert parse_qs(uri.query)["secret"] == [started["secret"]]
    assert parse_qs(uri.query)["issuer"] == ["Port Network Portal"]
    assert "ana%40ports.example" in uri.path
    with app.app_context():  # not on before a first code confirms the app has it
        row = db.session.get(TwoFactor, ana.id)
        assert row.confirmed_at is None
        assert started["secret"] not in row.sealed_secret  # sealed, not stored as is

    confirmed = client.post("/me/2fa/confirm", {"code": code(started["secret"])})

    codes = confirmed.get_json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(len(c) == 19 and c.count("-") == 3 for c in codes)
    with app.app_context():
        assert db.session.get(TwoFactor, ana.id).confirmed_at is not None
        hashes = db.session.scalars(select(RecoveryCode.code_hash)).all()
        assert len(hashes) == 10 and not {c.replace("-", "") for c in codes} & set(hashes)


def test_set_up_needs_the_password_and_a_right_code(as_user, ana):
    client = as_user(ana)

    wrong_password = client.post("/me/2fa", {"password": "not my password"})
    assert wrong_password.status_code == 400
    assert "password" in wrong_password.get_json()["error"]["fields"]
    assert client.post("/me/2fa/confirm", {"code": "123456"}).status_code == 409  # not begun

    secret = client.post("/me/2fa", {"password": PASSWORD}).get_json()["secret"]
    wrong = str((int(code(secret)) + 1) % 1_000_000).zfill(6)
    wrong_code = client.post("/me/2fa/confirm", {"code": wrong})
    assert wrong_code.status_code == 400
    assert "code" in wrong_code.get_json()["error"]["fields"]

    turn_on(client)  # beginning again replaces the unconfirmed secret
    assert client.post("/me/2fa", {"password": PASSWORD}).status_code == 409  # already on


def test_sign_in_asks_for_the_code_and_refuses_a_wrong_one(api, as_user, ana):
    secret, _codes = turn_on(as_user(ana))

    without = login(api)
    assert without.status_code == 401
    assert without.get_json()["error"]["code"] == "otp_required"
    assert api.get("/me").status_code == 401

    wrong = login(api, otp=str((int(code(secret, 1)) + 7) % 1_000_000).zfill(6))
    assert wrong.status_code == 401
    assert wrong.get_json()["error"]["code"] == "unauthenticated"
    assert api.get("/me").status_code == 401

    right = login(api, otp=code(secret, 1))
    assert right.status_code == 200
    assert api.get("/me").get_json()["id"] == ana.id


def test_a_code_works_once(api, as_user, ana):
    secret, _codes = turn_on(as_user(ana))  # the set-up used this step's code

    assert login(api, otp=code(secret)).status_code == 401
    assert login(api, otp=code(secret, 1)).status_code == 200
    assert login(api, otp=code(secret, 1)).status_code == 401  # the same code again


def test_a_wrong_password_is_refused_before_any_code_is_asked(api, as_user, ana):
    turn_on(as_user(ana))

    response = api.post("/auth/login", {"email": ana.email, "password": "wrong password"})

    assert response.get_json()["error"]["code"] == "unauthenticated"


def test_a_recovery_code_signs_in_once(app, api, as_user, ana):
    _secret, codes = turn_on(as_user(ana))

    assert login(api, otp=codes[3].upper().replace("-", " ")).status_code == 200
    assert login(api, otp=codes[3]).status_code == 401
    assert login(api, otp=codes[4]).status_code == 200
    with app.app_context():
        used = db.session.scalars(select(Event.verb).where(Event.actor_id == ana.id)).all()
        assert used.count("auth.recovery_code_used") == 2


def test_wrong_codes_count_as_failed_sign_ins(app, api, as_user, ana):
    secret, _codes = turn_on(as_user(ana))
    limit = int(TEST_SETTINGS["LOGIN_RATE_LIMIT"].split("/")[0])
    for n in range(limit):
        assert login(api, otp=f"{n:06d}").status_code == 401

    assert login(api, otp=code(secret, 1)).status_code == 429


def test_turning_it_off_needs_the_password_and_a_code(api, as_user, ana):
    client = as_user(ana)
    secret, codes = turn_on(client)

    off = lambda password, otp: client.delete("/me/2fa", json={"password": password, "code": otp})
    assert off("not my password", code(secret, 1)).status_code == 400
    assert off(PASSWORD, "000000").status_code == 400
    assert off(PASSWORD, codes[0]).status_code == 204
    assert off(PASSWORD, codes[1]).status_code == 409  # already off

    assert login(api).status_code == 200  # the password alone again


def test_a_secret_sealed_under_another_key_does_not_open(app):
    with app.app_context():
        sealed = two_factor.seal("JBSWY3DPEHPK3PXP")
        assert two_factor.unseal(sealed) == "JBSWY3DPEHPK3PXP"
        altered = sealed[:30] + ("A" if sealed[30] != "A" else "B") + sealed[31:]
        assert two_factor.unseal(altered) is None
        saved = app.config["SECRET_KEY"]
        app.config["SECRET_KEY"] = "another secret key of sufficient length"
        try:
            assert two_factor.unseal(sealed) is None
        finally:
            app.config["SECRET_KEY"] = saved


# --- PORTAL_SECRETARIAT_2FA=required ---------------------------------------------------


@pytest.fixture
def required(app):
    app.config["PORTAL"]["SECRETARIAT_2FA"] = "required"
    yield
    app.config["PORTAL"]["SECRETARIAT_2FA"] = "optional"


def test_required_a_secretariat_account_can_only_set_it_up(app, api, world, required):
    email = world.secretariat.email
    with app.app_context():
        from portal.accounts.models import User
        from portal.accounts.passwords import hash_password

        db.session.get(User, world.secretariat.id).password_hash = hash_password(PASSWORD)
        db.session.commit()

    assert login(api, email=email).status_code == 200  # signs in ...
    api.fetch_csrf()
    refused = api.get("/workspaces")  # ... but may do nothing else
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "two_factor_required"
    assert api.post("/workspaces", {"name": "Nuevo"}).status_code == 403
    assert api.get("/me").status_code == 200
    assert api.get("/public/search?q=puerto").status_code == 200  # open to anyone anyway

    turn_on(api)

    assert api.get("/workspaces").status_code == 200


def test_required_applies_to_api_tokens_and_not_to_others(app, as_user, world, required):
    with app.app_context():
        from portal.accounts import service
        from portal.accounts.models import User

        _token, plain = service.create_token(db.session.get(User, world.secretariat.id), "x", 5)
    bearer = {"Authorization": f"Bearer {plain}"}
    client = as_user(None)

    assert client.get("/workspaces", headers=bearer).status_code == 403
    assert as_user(world.member).get("/workspaces").status_code == 200


def test_required_sends_secretariat_pages_to_the_set_up(app, world, required):
    from ..conftest import sign_in_session

    client = app.test_client()
    sign_in_session(client, world.secretariat)

    page = client.get("/work")
    assert page.status_code == 303
    assert page.headers["Location"].endswith("/account/two-factor")
    client.set_cookie("portal_lang", "en")  # the secretariat reads Spanish otherwise
    setup = client.get("/account/two-factor")
    assert setup.status_code == 200
    assert "Set it up to go on using the portal." in setup.get_data(as_text=True)
    assert client.get("/").status_code == 200  # the public pages stay open


def test_the_setting_is_checked_at_start(tmp_path):
    with pytest.raises(ConfigurationError, match="SECRETARIAT_2FA"):
        create_app(
            {"INSTANCE_PATH": str(tmp_path), **TEST_SETTINGS, "SECRETARIAT_2FA": "sometimes"}
        )


def test_required_refuses_live_connections_until_set_up(app, world, required):
    from portal.extensions import socketio

    from ..conftest import sign_in_session

    client = app.test_client()
    sign_in_session(client, world.secretariat)

    assert not socketio.test_client(app, flask_test_client=client).is_connected()
