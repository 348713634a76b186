"""Request bodies and query strings of the documents API."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, ValidationError, field_validator

from ..api import MAX_INT, Body, PageQuery, Query, _fields_of, invalid

Title = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Description = Annotated[str, StringConstraints(max_length=5000)]
Language = Annotated[
    str, StringConstraints(pattern=r"^([a-z]{2,3}(-[A-Za-z0-9]{2,8})*)?$", max_length=16)
]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=50)]
Tags = Annotated[list[Tag], Field(max_length=20)]


def _unique(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


def split_tags(values: list[str]) -> list[str]:
    """Tags as people type them, repeated or comma-separated: trimmed, once each."""
    return _unique([t.strip() for raw in values for t in raw.split(",") if t.strip()])


class DocumentUpdateBody(Body):
    title: Title | None = None
    description: Description | None = None
    language: Language | None = None
    tags: Tags | None = None

    _tags = field_validator("tags")(lambda cls, v: _unique(v) if v is not None else v)


class UploadMeta(Query):
    """Metadata sent with an upload: multipart fields or the query string."""

    title: Title | None = None
    description: Description = ""
    language: Language = ""
    tags: Tags = []


def upload_meta(fields: dict[str, list[str]]) -> UploadMeta:
    """Validate upload metadata; `tags` may repeat or be comma-separated."""
    values: dict[str, object] = {
        name: fields[name][0] for name in ("title", "description", "language") if fields.get(name)
    }
    if fields.get("title") == [""]:
        values.pop("title", None)
    values["tags"] = split_tags(fields.get("tags", []))
    try:
        return UploadMeta.model_validate(values)
    except ValidationError as error:
        raise invalid(_fields_of(error)) from None


class DocumentListQuery(PageQuery):
    q: Annotated[str, StringConstraints(max_length=100)] | None = None


class DownloadQuery(Query):
    version: int | None = Field(None, ge=1, le=MAX_INT)


class CheckoutBody(Body):
    # How long the lock lasts unless released or checked in (at most a week).
    hours: int = Field(24, ge=1, le=168)
