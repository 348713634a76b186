"""Small text helpers shared by the domain packages."""

from __future__ import annotations

import html
import re
import unicodedata
from difflib import SequenceMatcher
from typing import Any

import nh3
from markdown_it import MarkdownIt
from sqlalchemy import select

from .extensions import db

# What XML 1.0 cannot hold (outside its `Char` production): NUL and the other C0
# controls but tab, newline and carriage return, lone surrogates, U+FFFE and U+FFFF.
# PostgreSQL refuses NUL in text too.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def has_unsafe_characters(text: str) -> bool:
    """Whether `text` holds a character a database or XML cannot hold: input with one
    is refused (see `api.Body`), so nothing new is stored with it."""
    return _NOT_XML.search(text) is not None


def xml_safe(text: str) -> str:
    """`text` without the characters XML cannot hold, for every output that must parse
    (the Atom feed, iCalendar, e-mail) whatever rows stored before the input checks,
    or written by other means, hold."""
    return _NOT_XML.sub("", text)


def slugify(text: str, max_length: int = 80) -> str:
    """`Puerto de Cartagena, Bolívar` -> `puerto-de-cartagena-bolivar`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "item"


def free_slug(column: Any, name: str) -> str:
    """The slug of `name`, or with `-2`, `-3`... appended: the first that `column` lacks.

    The slug is shortened before its suffix so that it still fits the column.
    """
    length = column.type.length
    wanted = slugify(name, length)

    def candidate(n: int) -> str:
        suffix = f"-{n}" if n > 1 else ""
        return slugify(wanted, length - len(suffix)) + suffix

    # Every candidate up to -9999999 begins with this (a shortened slug loses at most
    # one more character, a dash: slugs have no two in a row).
    stem = wanted[: length - 9]
    taken = set(db.session.scalars(select(column).where(column.like(f"{stem}%"))))
    n = 1
    while candidate(n) in taken:
        n += 1
    return candidate(n)


# --- Markdown -----------------------------------------------------------------

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_markdown.enable(["table", "strikethrough"])

_ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}


def render_markdown(source: str) -> str:
    """Markdown to HTML that is safe to show: raw HTML is escaped by the parser, then
    an allow-list sanitizer (ammonia) drops any tag, attribute or URL scheme not
    listed (no scripts, event handlers, `javascript:` or `data:` links)."""
    return nh3.clean(
        _markdown.render(source or ""),
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


_BLOCK_END = re.compile(r"</(p|h[1-6]|li|blockquote|pre|tr|td|th)>|<br\s*/?>|<hr\s*/?>")


def markdown_text(source: str) -> str:
    """The words of Markdown without its markup (`**Acordado**` -> `Acordado`), one
    line per block: what search indexes, highlights and summaries show."""
    rendered = _BLOCK_END.sub("\n", _markdown.render(source or ""))
    text = html.unescape(nh3.clean(rendered, tags=set()))
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


# --- differences ----------------------------------------------------------------


def line_diff(before: list[str], after: list[str]) -> list[tuple[str, str]]:
    """Rows ("old" | "new" | "same" | "gap", line) for `ol.diff` (templates/macros/diff.html):
    the changed lines with two lines of context, a gap between distant changes."""
    rows: list[tuple[str, str]] = []
    for group in SequenceMatcher(None, before, after, autojunk=False).get_grouped_opcodes(2):
        if rows:
            rows.append(("gap", ""))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows += [("same", line) for line in before[i1:i2]]
            else:
                rows += [("old", line) for line in before[i1:i2]]
                rows += [("new", line) for line in after[j1:j2]]
    return rows
