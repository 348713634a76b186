"""Request bodies and query strings of the workspace administration API, and the
field types the item kinds share."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from ..api import MAX_INT, Body, Id, PageQuery, Query
from .models import Role, SharePermission

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


ItemKind = Literal["document", "memo", "task", "meeting"]


class ItemQuery(PageQuery):
    kind: ItemKind | None = None
    q: Annotated[str, StringConstraints(max_length=200)] | None = None


class ActivityQuery(Query):
    after: int = Field(0, ge=0, le=MAX_INT)
    per_page: int = Field(50, ge=1, le=100)


class ShareBody(Body):
    workspace_id: Id
    permission: SharePermission = SharePermission.view


class CommentBody(Body):
    body: Annotated[str, StringConstraints(min_length=1, max_length=20_000)]


Title = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Markdown = Annotated[str, StringConstraints(max_length=200_000)]
UserIds = Annotated[list[Id], Field(max_length=50)]
