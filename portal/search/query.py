"""One query path for restricted and public search.

Public search reads the public copies (their own fields, label `public`); staff
search reads the workspace documents, filtered by the caller's labels (the
workspaces they read; nothing for the secretariat),
items with changes the index has not applied yet are masked out, and the hits
of the page are checked against the database once more before they are shown,
so a hit, a count or a facet never reveals an item the caller may not read.
"""

from __future__ import annotations

import html
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sqlalchemy import func, select
from whoosh import qparser
from whoosh.lang import stopwords_for_language
from whoosh.query import And, AndMaybe, AndNot, NullQuery, Or, Query, Term
from whoosh.searching import Searcher

from ..extensions import db
from .index import SearchIndex
from .indexer import pending_item_ids
from .postings import Engine, OutOfTime
from .schema import LANGUAGES, PUBLIC_PREFIX, WORKSPACE_PREFIX, build_schema, fold


def fields_of(prefix: str) -> list[str]:
    """The text fields of one scope of the index (schema.WORKSPACE_PREFIX or PUBLIC_PREFIX)."""
    texts = [f"{prefix}{name}_{lang}" for name in ("title", "content") for lang in LANGUAGES]
    return [*texts, f"{prefix}place"]


FACETS = ("kind", "community", "country", "language", "year")
TIME_LIMIT_SECONDS = 1.5
PREFIX_MIN_LENGTH = 3
PREFIX_MAX_TERMS = 16  # the most frequent expansions of a prefix, over all the fields
PREFIX_SCAN_TERMS = 200  # expansions looked at per field to find them
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
    # Search the public copies (public search) rather than the workspace documents.
    public: bool = False
    # With no words, list what the labels and filters let through, newest first (the
    # public catalogue: all publications, or a community's, a year's...).
    browse: bool = False
    # Labels whose hits to count, as the facet `label` (the groups of the signed-in search).
    count_labels: tuple[str, ...] = ()

    @property
    def prefix(self) -> str:
        return PUBLIC_PREFIX if self.public else WORKSPACE_PREFIX


def _parser(fields: list[str]) -> qparser.MultifieldParser:
    parser = qparser.MultifieldParser(fields, build_schema())
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


_PARSERS = {prefix: _parser(fields_of(prefix)) for prefix in (WORKSPACE_PREFIX, PUBLIC_PREFIX)}


def _plain(text: str) -> str:
    return " ".join(word.lower() for word in _WORD.findall(text))


def _parse(text: str, prefix: str) -> Query | None:
    """The parsed query, or the same words as plain words if the syntax is broken."""
    for candidate in (text, _plain(text)):
        if not candidate.strip():
            continue
        try:
            query = _PARSERS[prefix].parse(candidate)
        except Exception:  # noqa: S112 - any syntax the parser chokes on: try plain words
            continue
        if query is not NullQuery and not _has_errors(query):
            return query
    return None


def _has_errors(query: Query) -> bool:
    return any(type(q).__name__ == "ErrorQuery" for q in query.leaves()) or (
        type(query).__name__ == "ErrorQuery"
    )


_ALL_STOPWORDS = frozenset(
    fold(word) for lang in LANGUAGES for word in stopwords_for_language(lang)
)
_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"}


def _without_stopwords(text: str) -> str:
    """Drop words that are stopwords in any of the four languages (`de` is one in
    Spanish but a plain word to the English analyzer, which would then require it)."""
    if '"' in text:
        return text
    words = text.split()
    kept = [w for w in words if w in _OPERATORS or fold(w).strip("()") not in _ALL_STOPWORDS]
    trailing = " " if text.endswith(" ") else ""
    return (" ".join(kept) + trailing) if kept else text


def _expansions(reader: Any, fields: Sequence[str], prefix: str) -> list[Query]:
    """The PREFIX_MAX_TERMS most frequent index terms that start with `prefix`."""
    found = []
    for name in fields:
        for term in islice(reader.expand_prefix(name, prefix), PREFIX_SCAN_TERMS):
            found.append((reader.doc_frequency(name, term), name, term))
    found.sort(key=lambda entry: (-entry[0], entry[1], entry[2]))
    return [
        Term(name, term.decode() if isinstance(term, bytes) else term)
        for _, name, term in found[:PREFIX_MAX_TERMS]
    ]


def build_query(text: str, reader: Any, prefix: str = WORKSPACE_PREFIX) -> Query | None:
    """The user's text as a query over one scope's fields; a last word still being typed
    also matches as a prefix."""
    text = _without_stopwords(text.strip()[:500])
    words = _WORD.findall(text)
    typing = bool(words) and text.endswith(words[-1]) and len(words[-1]) >= PREFIX_MIN_LENGTH
    if not typing:
        return _parse(text, prefix)
    last = words[-1]
    head_text = text[: len(text) - len(last)].rstrip()
    operator = head_text.rsplit(None, 1)[-1] if head_text else ""
    if operator in _OPERATORS:  # `a OR b…`, `a NOT b…`: the word typed is the operand
        head_text = head_text[: len(head_text) - len(operator)]
    head = _parse(head_text, prefix)
    expansions = _expansions(reader, fields_of(prefix), fold(last))
    exact = _parse(last, prefix)
    tail_parts = [q for q in (exact, Or(expansions) if expansions else None) if q is not None]
    if not tail_parts:
        return head
    tail = Or(tail_parts)
    if head is None:
        return tail
    if operator == "OR":
        return Or([head, tail])
    if operator in ("NOT", "ANDNOT"):
        return AndNot(head, tail)
    if operator == "ANDMAYBE":
        return AndMaybe(head, tail)
    return And([head, tail])


# --- highlights ------------------------------------------------------------------------
# Whoosh's highlighter runs every hit's text through the field's analyzer (tokenizer,
# stemmer, accent folding: ~2 ms for 300 words). Here the text is split with the same
# tokenizer pattern (one C regex pass) and each distinct word is analysed once per
# process and remembered, so a page of 20 hits costs a few dictionary look-ups a word.

_SCHEMA = build_schema()
# Whoosh's tokenizer pattern (whoosh.analysis.tokenizers.default_pattern) with its group
# made non-capturing, so that findall returns whole words.
_TOKEN = re.compile(r"[\w\*]+(?:\.?[\w\*]+)*", re.UNICODE)
_TERMS: dict[tuple[str, str], str | None] = {}
_TERMS_LOCK = threading.Lock()
_TERMS_MAX = 200_000
FRAGMENT_CHARS = 240
FRAGMENT_SURROUND = 60


def _index_term(fieldname: str, word: str) -> str | None:
    key = (fieldname, word)
    try:
        return _TERMS[key]
    except KeyError:
        pass
    analyzer = _SCHEMA[fieldname].analyzer
    term = next((t.text for t in analyzer(word, mode="index", removestops=False)), None)
    with _TERMS_LOCK:
        if len(_TERMS) >= _TERMS_MAX:
            _TERMS.clear()
        _TERMS[key] = term
    return term


def highlight(text: str, fieldname: str, words: frozenset[str], top: int) -> str:
    """Up to `top` fragments of `text` around the words that match `words` (index terms
    of `fieldname`), HTML-escaped, matches in <mark>, joined by an ellipsis."""
    if not text or not words:
        return ""
    # Each distinct word of the text is looked up once; the text is walked again only if
    # one of them matches.
    found = {w for w in set(_TOKEN.findall(text)) if _index_term(fieldname, w) in words}
    if not found:
        return ""
    spans = [(m.start(), m.end()) for m in _TOKEN.finditer(text) if m.group() in found]
    if not spans:
        return ""
    groups: list[list[tuple[int, int]]] = []
    for span in spans:
        if groups and span[1] - groups[-1][0][0] <= FRAGMENT_CHARS - 2 * FRAGMENT_SURROUND:
            groups[-1].append(span)
        else:
            groups.append([span])
    best = sorted(sorted(groups, key=len, reverse=True)[:top], key=lambda g: g[0][0])
    fragments = []
    for group in best:
        start = max(0, group[0][0] - FRAGMENT_SURROUND)
        end = min(len(text), group[-1][1] + FRAGMENT_SURROUND)
        if start > 0:
            space = text.find(" ", start, group[0][0])
            start = space + 1 if space >= 0 else start
        if end < len(text):
            space = text.rfind(" ", group[-1][1], end)
            end = space if space >= 0 else end
        parts, position = [], start
        for first, last in group:
            parts.append(html.escape(text[position:first]))
            parts.append(f'<mark class="match">{html.escape(text[first:last])}</mark>')
            position = last
        parts.append(html.escape(text[position:end]))
        fragments.append("".join(parts).strip())
    return " … ".join(fragments)


def _query_words(query: Query) -> dict[str, frozenset[str]]:
    words: dict[str, set[str]] = defaultdict(set)
    for fieldname, text in query.all_terms(phrases=True):
        words[fieldname].add(text.decode() if isinstance(text, bytes) else text)
    return {fieldname: frozenset(found) for fieldname, found in words.items()}


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
    with index.searching() as searcher:
        return _search(index, searcher, request)


def _search(index: SearchIndex, searcher: Searcher, request: SearchRequest) -> dict[str, Any]:
    query = build_query(request.text, searcher.reader(), request.prefix)
    names = (*FACETS, "label") if request.count_labels else FACETS
    empty = {"hits": [], "total": 0, "facets": {name: [] for name in names}, "partial": False}
    filter_query = _filter(request)
    if filter_query is NullQuery or (query is None and not (request.browse and filter_query)):
        return empty
    engine = Engine(searcher, TIME_LIMIT_SECONDS)
    try:
        allowed = engine.allowed(filter_query)
        docs = engine.docs(query, allowed) if query is not None else set(allowed)
        stale = pending_item_ids(index)
        if stale and docs:
            docs -= engine.docs(Or([Term("item_id", str(i)) for i in stale]), docs)
    except OutOfTime:
        return {**empty, "partial": True}
    if not docs:  # (an index without documents has no columns to rank or count from)
        return empty
    window = min(request.page * request.per_page, MAX_WINDOW)
    scores: dict[int, float] = {}
    partial = False
    if request.newest_first or query is None:
        ranked = engine.newest(docs, window, "created_at")
    else:
        scores, complete = engine.scores(query, docs)
        partial = not complete
        ranked = engine.best(scores, window)
    words = _query_words(query) if query is not None else {}
    start = (request.page - 1) * request.per_page
    hits = []
    for docnum in ranked[start : start + request.per_page]:
        hit = searcher.stored_fields(docnum)
        language = hit["language"] if hit["language"] in LANGUAGES else "es"
        title_field = f"{request.prefix}title_{language}"
        content_field = f"{request.prefix}content_{language}"
        fragments = [
            highlight(hit["title_text"], title_field, words.get(title_field, frozenset()), 1),
            highlight(hit["body_text"], content_field, words.get(content_field, frozenset()), 2),
        ]
        found: dict[str, Any] = {"id": int(hit["item_id"]), "kind": hit["kind"]}
        if not request.public:  # the public does not see the group behind a copy
            found["workspace_id"] = int(hit["workspace_id"])
        found |= {
            "title": hit["title_text"],
            "community": hit.get("community") or None,
            "country": hit.get("country") or None,
            "language": hit["language"],
            "score": round(scores.get(docnum, 0.0), 4),
            "highlights": [f for f in fragments if f],
        }
        hits.append(found)
    try:
        facet_counts = _facet_counts(engine, request, docs)
    except OutOfTime:  # the hits stand; the counts would be a guess
        facet_counts, partial = {name: [] for name in names}, True
    return {"hits": hits, "total": len(docs), "facets": facet_counts, "partial": partial}


def _facet_counts(
    engine: Engine, request: SearchRequest, docs: set[int]
) -> dict[str, list[dict[str, Any]]]:
    """Each facet's values among `docs`, the most frequent first."""
    counted = {name: engine.facet_counts(name, docs) for name in FACETS}
    if request.count_labels:
        counted["label"] = Counter(
            {label: len(engine.docs(Term("labels", label), docs)) for label in request.count_labels}
        )
    return {
        name: sorted(
            (
                {"value": value, "count": count}
                for value, count in counts.items()
                if value and count
            ),
            key=lambda entry: (-entry["count"], entry["value"]),
        )
        for name, counts in counted.items()
    }


def _state(index: SearchIndex) -> tuple[Any, ...]:
    """What an answer depends on besides the request: the index folder and generation,
    the indexer's cursor and the last event committed (every change records one)."""
    from ..events import Event

    last_event = db.session.scalar(select(func.max(Event.id))) or 0
    return (str(index.directory()), index.open().latest_generation(), index.cursor(), last_event)


def _request_key(request: SearchRequest) -> tuple[Any, ...]:
    return (
        " ".join(request.text.split())[:500],
        request.page,
        request.per_page,
        request.newest_first,
        tuple(sorted((k, v) for k, v in request.filters.items() if v)),
        None if request.labels is None else tuple(sorted(request.labels)),
        request.public,
        request.browse,
        request.count_labels,
    )


def run_cached(index: SearchIndex, request: SearchRequest) -> dict[str, Any]:
    """`run`, answered from the index's cache of recent answers when neither the index
    nor the database has changed since (for public search: the same few queries come
    again and again). The hits still go through `recheck` afterwards."""
    key = (_request_key(request), _state(index))
    found = index.public_results.get(key)
    if found is None:
        found = run(index, request)
        index.public_results.put(key, found)
    return {**found, "hits": list(found["hits"])}


def recheck(hits: list[dict[str, Any]], readable_ids: Any) -> list[dict[str, Any]]:
    """Keep the hits the database still lets the caller read (the index may lag)."""
    if not hits:
        return hits
    from ..workspaces.models import Item

    # The page's ids narrow the readable-ids query itself (a select of Item.id): the
    # database then looks up 20 rows by key instead of building the whole readable set
    # (~55 ms for 20,000 published items on SQLite).
    allowed = set(db.session.scalars(readable_ids.where(Item.id.in_([h["id"] for h in hits]))))
    return [h for h in hits if h["id"] in allowed]
