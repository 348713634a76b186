"""Request bodies and query strings of the network API."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, HttpUrl, StringConstraints, validate_email

from ..api import Body, Id, PageQuery

Text = Annotated[str, StringConstraints(max_length=5000)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$", to_upper=True)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=80)]


def _http_url(value: str) -> str:
    if value:
        HttpUrl(value)  # raises ValueError with a clear message
    return value


Website = Annotated[str, StringConstraints(max_length=300), AfterValidator(_http_url)]


def _email_or_empty(value: str) -> str:
    return validate_email(value)[1].lower() if value else value


# The address a community publishes in the public directory ("" for none).
PublicEmail = Annotated[str, StringConstraints(max_length=254), AfterValidator(_email_or_empty)]


class MemberStateBody(Body):
    code: CountryCode
    name: Annotated[str, StringConstraints(min_length=1, max_length=120)]


class CommunityCreateBody(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=160)]
    port: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    member_state: CountryCode
    description: Text = ""
    website: Website = ""
    slug: Slug | None = None
    contact_email: PublicEmail = ""
    publish_focal_points: bool = False


class CommunityUpdateBody(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=160)] | None = None
    port: Annotated[str, StringConstraints(min_length=1, max_length=120)] | None = None
    member_state: CountryCode | None = None
    description: Text | None = None
    website: Website | None = None
    active: bool | None = None
    # What the public directory shows of it: this address, and its focal points' names.
    contact_email: PublicEmail | None = None
    publish_focal_points: bool | None = None


class CommunityQuery(PageQuery):
    member_state: Annotated[str, StringConstraints(max_length=2, to_upper=True)] | None = None
    q: Annotated[str, StringConstraints(max_length=100)] | None = None


class AuditQuery(PageQuery):
    actor: Id | None = None
    verb: Annotated[str, StringConstraints(max_length=64)] | None = None
    # An item's id, or a part of its title.
    item: Annotated[str, StringConstraints(max_length=300)] | None = None
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    workspace_id: Id | None = None
