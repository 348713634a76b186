"""Bodies and queries of the invitation routes."""

from __future__ import annotations

from typing import Literal

from pydantic import EmailStr

from ..accounts.schemas import Locale, Name, Password, Timezone
from ..api import Body, Id, PageQuery
from ..workspaces.models import Role


class InvitationBody(Body):
    email: EmailStr
    name: Name | None = None
    locale: Locale | None = None
    community_id: Id | None = None
    workspace_id: Id | None = None
    role: Role | None = None
    is_secretariat: bool = False


class InvitationQuery(PageQuery):
    status: Literal["pending", "accepted", "revoked", "expired"] | None = None


class AcceptBody(Body):
    name: Name
    password: Password
    locale: Locale | None = None
    timezone: Timezone | None = None
