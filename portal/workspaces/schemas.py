"""Request bodies and query strings of the workspace administration API."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from ..api import Body, PageQuery
from .models import Role

WorkspaceName = Annotated[str, StringConstraints(min_length=1, max_length=160)]
Description = Annotated[str, StringConstraints(max_length=5000)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=80)]


class WorkspaceCreateBody(Body):
    name: WorkspaceName
    description: Description = ""
    slug: Slug | None = None


class WorkspaceUpdateBody(Body):
    name: WorkspaceName | None = None
    description: Description | None = None
    archived: bool | None = None


class WorkspaceQuery(PageQuery):
    q: Annotated[str, StringConstraints(max_length=100)] | None = None
    archived: bool | None = None


class MembershipBody(Body):
    role: Role
