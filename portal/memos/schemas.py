"""Request bodies of the memos API."""

from __future__ import annotations

from ..api import Body
from ..workspaces.schemas import Markdown, Title


class MemoBody(Body):
    title: Title
    body: Markdown = ""


class MemoUpdateBody(Body):
    title: Title | None = None
    body: Markdown | None = None
