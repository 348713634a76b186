"""Small text helpers shared by the domain packages."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import or_, select

from .extensions import db


def slugify(text: str, max_length: int = 80) -> str:
    """`Puerto de Cartagena, Bolívar` -> `puerto-de-cartagena-bolivar`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "item"


def free_slug(column: Any, name: str) -> str:
    """The slug of `name`, or with `-2`, `-3`... appended: the first that `column` lacks."""
    wanted = slugify(name)
    taken = set(
        db.session.scalars(select(column).where(or_(column == wanted, column.like(f"{wanted}-%"))))
    )
    slug, n = wanted, 2
    while slug in taken:
        slug, n = f"{wanted}-{n}", n + 1
    return slug
