"""Request bodies and query strings of the accounts API."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, EmailStr, Field, StringConstraints

from ..api import Body, Id, PageQuery
from .passwords import MIN_LENGTH

Name = Annotated[str, StringConstraints(min_length=1, max_length=160)]
Password = Annotated[str, StringConstraints(min_length=MIN_LENGTH, max_length=256)]
Locale = Literal["es", "en", "pt", "fr"]


def is_timezone(value: str) -> bool:
    """An IANA timezone name this machine knows (America/Bogota)."""
    return value in available_timezones()


@cache
def timezone_choices() -> list[tuple[str, str]]:
    """The zones a form offers: every IANA zone with a region (no "Etc/GMT+5" or bare
    abbreviations), sorted, then UTC; as (value, label)."""
    zones = sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))
    return [(zone, zone.replace("_", " ")) for zone in [*zones, "UTC"]]


def _known_timezone(value: str) -> str:
    if not is_timezone(value):
        raise ValueError("Not an IANA timezone such as America/Bogota.")
    return value


Timezone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_known_timezone)]


Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class LoginBody(Body):
    email: Annotated[str, StringConstraints(min_length=1, max_length=254)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    # With two-factor sign-in on: the app's code, or a recovery code.
    otp: Code | None = None


class ResetRequestBody(Body):
    email: Annotated[str, StringConstraints(min_length=1, max_length=254)]


class ResetBody(Body):
    password: Password


class TwoFactorStartBody(Body):
    password: Annotated[str, StringConstraints(max_length=256)]


class TwoFactorConfirmBody(Body):
    code: Code


class TwoFactorOffBody(Body):
    password: Annotated[str, StringConstraints(max_length=256)]
    code: Code


# A number as people write it: digits, an optional leading +, spaces and ( ) . - between.
Phone = Annotated[
    str, StringConstraints(max_length=40, pattern=r"^(\+?[0-9][0-9 ().-]{2,38}[0-9])?$")
]
Position = Annotated[str, StringConstraints(max_length=160)]


class ContactBody(Body):
    """One's contact details and which of them the other members see ("" empties one)."""

    position: Position | None = None
    phone: Phone | None = None
    show_email: bool | None = None
    show_phone: bool | None = None
    show_position: bool | None = None


# What the contact form sets for a field it was sent empty (a box left unticked).
CONTACT_BLANKS = {
    "position": "",
    "phone": "",
    "show_email": False,
    "show_phone": False,
    "show_position": False,
}


class ProfileBody(ContactBody):
    name: Name | None = None
    locale: Locale | None = None
    timezone: Timezone | None = None


EmailNotifications = Literal["immediate", "daily", "off"]


class PreferencesBody(Body):
    locale: Locale | None = None
    timezone: Timezone | None = None
    email_notifications: EmailNotifications | None = None


class PasswordBody(Body):
    current_password: Annotated[str, StringConstraints(max_length=256)]
    new_password: Password


class TokenBody(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    expires_in_days: int | None = Field(None, ge=1, le=3650)


class ReadBody(Body):
    ids: list[Id] = Field(max_length=500)


class UserCreateBody(Body):
    email: EmailStr
    name: Name
    community_id: Id | None = None
    password: Password | None = None
    is_secretariat: bool = False
    # Unsaid: taken from the browser at the first sign-in through the pages.
    locale: Locale | None = None
    timezone: Timezone | None = None


class UserUpdateBody(Body):
    email: EmailStr | None = None
    name: Name | None = None
    community_id: Id | None = None
    password: Password | None = None
    is_secretariat: bool | None = None
    active: bool | None = None
    locale: Locale | None = None
    timezone: Timezone | None = None
    # A focal point of their community (one with a community only).
    is_focal_point: bool | None = None


class UserQuery(PageQuery):
    q: Annotated[str, StringConstraints(max_length=100)] | None = None
    community_id: Id | None = None
    # ISO 3166 alpha-2: the users of that member state's communities.
    member_state: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")] | None = None
    is_secretariat: bool | None = None
    active: bool | None = None


class NotificationQuery(PageQuery):
    unread: bool | None = None
