"""One query path for restricted and public search.

The caller's permission labels filter the index (`public` for visitors; the
workspaces they read, plus `public`, for staff; nothing for the secretariat),
items with changes the index has not applied yet are masked out, and the hits
of the page are checked against the database once more before they are shown,
so a hit, a count or a facet never reveals an item the caller may not read.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from whoosh import qparser, sorting
from whoosh.collectors import FilterCollector, TimeLimit, TimeLimitCollector
from whoosh.highlight import ContextFragmenter, HtmlFormatter
from whoosh.lang import stopwords_for_language
from whoosh.query import And, NullQuery, Or, Query, Term

from ..extensions import db
from .index import SearchIndex
from .indexer import pending_item_ids
from .schema import LANGUAGES

FIELDS = [f"title_{lang}" for lang in LANGUAGES] + [f"content_{lang}" for lang in LANGUAGES]
FACETS = ("kind", "community", "country", "language", "year")
TIME_LIMIT_SECONDS = 1.5
PREFIX_MIN_LENGTH = 3
PREFIX_MAX_TERMS = 24
MAX_WINDOW = 1000  # deepest hit a page may reach

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class SearchRequest:
    text: str
    page: int = 1
    per_page: int = 20
    newest_first: bool = False
    filters: dict[str, str] = field(default_factory=dict)
    # None: no label filter (the secretariat); else the labels the caller holds.
    labels: list[str] | None = None


def _parser() -> qparser.MultifieldParser:
    from .schema import build_schema

    parser = qparser.MultifieldParser(FIELDS, build_schema())
    # Plain words, phrases, groups and AND/OR/NOT only: no field names (no
    # reaching into labels), wildcards, ranges or `*:*`.
    for plugin in (
        qparser.FieldsPlugin,
        qparser.WildcardPlugin,
        qparser.RangePlugin,
        qparser.EveryPlugin,
        qparser.SingleQuotePlugin,
        qparser.BoostPlugin,
    ):
        parser.remove_plugin_class(plugin)
    return parser


_PARSER = _parser()


def _plain(text: str) -> str:
    return " ".join(word.lower() for word in _WORD.findall(text))


def _parse(text: str) -> Query | None:
    """The parsed query, or the same words as plain words if the syntax is broken."""
    for candidate in (text, _plain(text)):
        if not candidate.strip():
            continue
        try:
            query = _PARSER.parse(candidate)
        except Exception:  # noqa: S112 - any syntax the parser chokes on: try plain words
            continue
        if query is not NullQuery and not _has_errors(query):
            return query
    return None


def _has_errors(query: Query) -> bool:
    return any(type(q).__name__ == "ErrorQuery" for q in query.leaves()) or (
        type(query).__name__ == "ErrorQuery"
    )


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_ALL_STOPWORDS = frozenset().union(*(stopwords_for_language(lang) for lang in LANGUAGES))
_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"}


def _without_stopwords(text: str) -> str:
    """Drop words that are stopwords in any of the four languages (`de` is one in
    Spanish but a plain word to the English analyzer, which would then require it)."""
    if '"' in text:
        return text
    words = text.split()
    kept = [w for w in words if w in _OPERATORS or _fold(w).strip("()") not in _ALL_STOPWORDS]
    trailing = " " if text.endswith(" ") else ""
    return (" ".join(kept) + trailing) if kept else text


def build_query(text: str, reader: Any) -> Query | None:
    """The user's text as a query; a last word still being typed also matches as a prefix."""
    text = _without_stopwords(text.strip()[:500])
    words = _WORD.findall(text)
    typing = bool(words) and text.endswith(words[-1]) and len(words[-1]) >= PREFIX_MIN_LENGTH
    if not typing:
        return _parse(text)
    last = words[-1]
    head = _parse(text[: len(text) - len(last)])
    expansions: list[Query] = []
    folded = _fold(last)
    for name in FIELDS:
        for n, term in enumerate(reader.expand_prefix(name, folded)):
            if n >= PREFIX_MAX_TERMS:
                break
            expansions.append(Term(name, term.decode() if isinstance(term, bytes) else term))
    exact = _parse(last)
    tail_parts = [q for q in (exact, Or(expansions) if expansions else None) if q is not None]
    if not tail_parts:
        return head
    tail = Or(tail_parts)
    return And([head, tail]) if head is not None else tail


def _filter(request: SearchRequest) -> Query | None:
    parts: list[Query] = []
    if request.labels is not None:
        if not request.labels:
            return NullQuery
        parts.append(Or([Term("labels", label) for label in request.labels]))
    parts.extend(Term(name, value) for name, value in request.filters.items() if value)
    if not parts:
        return None
    return And(parts) if len(parts) > 1 else parts[0]


def run(index: SearchIndex, request: SearchRequest) -> dict[str, Any]:
    """Search the index: hits of the page, total, facet counts, whether time ran out."""
    searcher = index.searcher()
    query = build_query(request.text, searcher.reader())
    empty = {"hits": [], "total": 0, "facets": {name: [] for name in FACETS}, "partial": False}
    if query is None:
        return empty
    filter_query = _filter(request)
    if filter_query is NullQuery:
        return empty
    stale = pending_item_ids(index)
    mask = Or([Term("id", str(i)) for i in stale]) if stale else None
    facets = sorting.Facets()
    for name in FACETS:
        facets.add_field(name, maptype=sorting.Count)
    window = min(request.page * request.per_page, MAX_WINDOW)
    sortedby = sorting.FieldFacet("created_at", reverse=True) if request.newest_first else None
    # The filter wraps outermost: a wrapper outside it would collect around it.
    timed = TimeLimitCollector(
        searcher.collector(limit=window, sortedby=sortedby, groupedby=facets),
        timelimit=TIME_LIMIT_SECONDS,
        use_alarm=False,  # SIGALRM works only in the main thread; requests run in others
    )
    collector = FilterCollector(timed, filter_query, mask) if filter_query or mask else timed
    partial = False
    try:
        searcher.search_with_collector(query, collector)
    except TimeLimit:
        partial = True
    results = collector.results()
    results.fragmenter = ContextFragmenter(maxchars=240, surround=60)
    results.formatter = HtmlFormatter(tagname="mark", between=" … ")
    start = (request.page - 1) * request.per_page
    hits = []
    for hit in results[start : start + request.per_page]:
        language = hit["language"] if hit["language"] in LANGUAGES else "es"
        fragments = [
            hit.highlights(f"title_{language}", text=hit["title_text"], top=1),
            hit.highlights(f"content_{language}", text=hit["body_text"], top=2),
        ]
        hits.append(
            {
                "id": int(hit["id"]),
                "kind": hit["kind"],
                "title": hit["title_text"],
                "workspace_id": int(hit["workspace_id"]),
                "community": hit.get("community") or None,
                "country": hit.get("country") or None,
                "language": hit["language"],
                "score": round(hit.score or 0.0, 4),
                "highlights": [f for f in fragments if f],
            }
        )
    facet_counts = {
        name: sorted(
            ({"value": value, "count": count} for value, count in results.groups(name).items()
             if value),
            key=lambda entry: (-entry["count"], entry["value"]),
        )
        for name in FACETS
    }  # fmt: skip
    # Every document has a kind: the kind counts add up to the matches that passed the
    # filter and mask (len(results) would count the unfiltered matches).
    total = sum(entry["count"] for entry in facet_counts["kind"])
    return {"hits": hits, "total": total, "facets": facet_counts, "partial": partial}


def recheck(hits: list[dict[str, Any]], readable_ids: Any) -> list[dict[str, Any]]:
    """Keep the hits the database still lets the caller read (the index may lag)."""
    if not hits:
        return hits
    from ..workspaces.models import Item

    allowed = set(
        db.session.scalars(
            select(Item.id).where(Item.id.in_([h["id"] for h in hits]), Item.id.in_(readable_ids))
        )
    )
    return [h for h in hits if h["id"] in allowed]
