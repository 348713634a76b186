"""Two-factor sign-in: TOTP codes (RFC 6238) from an authenticator app, and one-time
recovery codes for a lost phone.

- Set-up happens in two steps: `begin_setup` (the password again) makes a secret the
  app scans; `confirm` (a code of the app, proving the scan worked) turns it on and
  returns the recovery codes, shown that once and stored only as hashes.
- A code works once: the time step of the last accepted code is kept and only a later
  one is accepted (RFC 6238, section 5.2); a recovery code is marked used. Both are
  claimed by a conditional UPDATE, so two requests racing with one code cannot both win.
- The secret is kept sealed (Fernet) with a key derived from SECRET_KEY. A copy of the
  database alone does not give the codes away; a new SECRET_KEY makes the app's codes
  fail, and recovery codes (hashes, key-free) still let people in to set it up again.
- `PORTAL_SECRETARIAT_2FA=required`: a secretariat account without it may sign in, but
  every request other than setting it up (and signing out) is refused until it is on.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from typing import Any

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, current_app, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import delete, func, or_, select, update
from werkzeug.wrappers import Response

from .. import events, permissions
from ..api import ApiError, conflict, invalid, is_api_request, setting
from ..events import utcnow
from ..extensions import db
from .models import RecoveryCode, TwoFactor, User
from .passwords import verify_password

log = logging.getLogger(__name__)

ISSUER = "Port Network Portal"
RECOVERY_CODE_COUNT = 10
# 16 characters of base32: 80 random bits, so a fast hash of a code is enough.
_RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_RECOVERY_LENGTH = 16

# A sign-in whose password was right and whose code is awaited (the page's second step):
# {"user_id", "epoch", "email", "at", "timezone"} in the session cookie.
PENDING_KEY = "_login_pending"
PENDING_SECONDS = 300

# What a secretariat account that must set up two-factor sign-in may still reach.
SETUP_ENDPOINTS = {
    "accounts.two_factor_page",
    "accounts.two_factor_start",
    "accounts.two_factor_confirm",
    "accounts.logout_page",
    "accounts_api.start_two_factor",
    "accounts_api.confirm_two_factor",
    "accounts_api.logout",
    "accounts_api.me",
}


# --- the sealed secret --------------------------------------------------------------


def _fernet() -> Fernet:
    """Fernet (AES-128-CBC with HMAC-SHA256) under a key derived from SECRET_KEY by HKDF,
    for this one purpose."""
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"portal two-factor secret"
    ).derive(str(current_app.config["SECRET_KEY"]).encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def unseal(sealed: str) -> str | None:
    """The secret, or None when it was sealed under another SECRET_KEY (or altered)."""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None


# --- state --------------------------------------------------------------------------


def _row(user: User) -> TwoFactor | None:
    return db.session.get(TwoFactor, user.id)


def is_enabled(user: User) -> bool:
    row = _row(user)
    return row is not None and row.confirmed_at is not None


def enabled_since(user: User) -> Any:
    row = _row(user)
    return row.confirmed_at if row is not None else None


def must_set_up(user: Any) -> bool:
    """A secretariat account that may do nothing but set two-factor sign-in up."""
    return (
        setting("SECRETARIAT_2FA") == "required"
        and user.is_authenticated
        and user.is_secretariat
        and not is_enabled(user)
    )


def provisioning_uri(user: User, secret: str) -> str:
    """The `otpauth://` URI the app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def pending_setup(user: User) -> tuple[str, str] | None:
    """(secret, otpauth URI) of a set-up begun and not confirmed yet, for its page."""
    row = _row(user)
    if row is None or row.confirmed_at is not None:
        return None
    secret = unseal(row.sealed_secret)
    return (secret, provisioning_uri(user, secret)) if secret else None


def recovery_codes_left(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


# --- codes --------------------------------------------------------------------------


def _normalize(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _accept_totp(row: TwoFactor, code: str) -> bool:
    """Claim the time step of `code` if it is the app's code now (a step of clock drift
    either way) and later than the last accepted one. The caller commits."""
    if len(code) != 6 or not code.isdigit():
        return False
    secret = unseal(row.sealed_secret)
    if secret is None:
        log.warning("the two-factor secret of user %s cannot be unsealed", row.user_id)
        return False
    totp = pyotp.TOTP(secret)
    now = totp.timecode(utcnow())
    step = next(
        (s for s in (now - 1, now, now + 1) if hmac.compare_digest(totp.generate_otp(s), code)),
        None,
    )
    if step is None:
        return False
    claimed = db.session.execute(
        update(TwoFactor)
        .where(
            TwoFactor.user_id == row.user_id,
            or_(TwoFactor.last_step.is_(None), TwoFactor.last_step < step),
        )
        .values(last_step=step)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(row)
    return claimed.rowcount == 1  # type: ignore[attr-defined]


def _use_recovery_code(user: User, code: str) -> bool:
    if len(code) != _RECOVERY_LENGTH:
        return False
    claimed = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    return claimed.rowcount == 1  # type: ignore[attr-defined]


def _new_recovery_codes(user: User) -> list[str]:
    """Fresh codes in place of any earlier ones; the plain codes are returned only here."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(code)) for code in codes)
    return ["-".join(code[i : i + 4] for i in range(0, _RECOVERY_LENGTH, 4)) for code in codes]


def verify(user: User, code: str) -> bool:
    """The second factor of a sign-in (or of turning it off): the app's code or an unused
    recovery code, each accepted once."""
    row = _row(user)
    if row is None or row.confirmed_at is None:
        return False
    code = _normalize(code)
    if _accept_totp(row, code):
        db.session.commit()
        return True
    if _use_recovery_code(user, code):
        events.record("auth.recovery_code_used", actor=user, data={"user_id": user.id})
        db.session.commit()
        return True
    db.session.rollback()
    return False


# --- set-up and turning off ---------------------------------------------------------


def _check_password(user: User, password: str) -> None:
    if not verify_password(user.password_hash, password):
        raise invalid({"password": "This is not your password."})


def begin_setup(user: User, password: str) -> tuple[str, str]:
    """A new secret for the app to scan: (secret, otpauth URI). Sign-in is unchanged
    until `confirm`; beginning again replaces a secret not yet confirmed."""
    _check_password(user, password)
    row = _row(user)
    if row is not None and row.confirmed_at is not None:
        raise conflict("Two-factor sign-in is already on; turn it off first.")
    secret = pyotp.random_base32(32)
    if row is None:
        row = TwoFactor(user_id=user.id)
        db.session.add(row)
    row.sealed_secret, row.created_at, row.last_step = seal(secret), utcnow(), None
    db.session.commit()
    return secret, provisioning_uri(user, secret)


def confirm(user: User, code: str) -> list[str]:
    """Turn two-factor sign-in on with a first code of the app; the recovery codes."""
    row = _row(user)
    if row is None:
        raise conflict("Begin the set-up first (POST /me/2fa).")
    if row.confirmed_at is not None:
        raise conflict("Two-factor sign-in is already on.")
    if not _accept_totp(row, _normalize(code)):
        db.session.rollback()
        raise invalid({"code": "This is not the code the app shows now."})
    row.confirmed_at = utcnow()
    codes = _new_recovery_codes(user)
    events.record("user.two_factor_enabled", actor=user, data={"user_id": user.id})
    db.session.commit()
    return codes


def disable(user: User, password: str, code: str) -> None:
    """Turn it off: the password and a code (of the app or a recovery code) again."""
    if not is_enabled(user):
        raise conflict("Two-factor sign-in is off.")
    _check_password(user, password)
    if not verify(user, code):
        raise invalid({"code": "This is not the code the app shows now, nor a recovery code."})
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(delete(TwoFactor).where(TwoFactor.user_id == user.id))
    events.record("user.two_factor_disabled", actor=user, data={"user_id": user.id})
    db.session.commit()


# --- the secretariat's rule ---------------------------------------------------------


def two_factor_required() -> ApiError:
    return ApiError(
        403,
        "two_factor_required",
        "The technical secretariat signs in with two factors: set it up first "
        "(POST /me/2fa, then POST /me/2fa/confirm).",
    )


def _enforce_setup() -> Response | None:
    """Before each request: hold a secretariat account without two-factor sign-in to
    its set-up, when the deployment requires it."""
    if setting("SECRETARIAT_2FA") != "required":
        return None
    endpoint = request.endpoint or ""
    if endpoint in ("", "static") or endpoint in SETUP_ENDPOINTS:
        return None
    view = current_app.view_functions.get(endpoint)
    if getattr(view, "access", None) is permissions.anyone or not must_set_up(current_user):
        return None
    if is_api_request():
        raise two_factor_required()
    return redirect(url_for("accounts.two_factor_page"), 303)


def init_app(app: Flask) -> None:
    app.before_request(_enforce_setup)
