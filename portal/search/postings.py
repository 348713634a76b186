"""Matching, counting and ranking a query from whole posting blocks.

Whoosh answers a query posting by posting through a tree of Python matcher
objects (one branch per language field, one per prefix expansion), tests each
match against the permission filter only afterwards, and builds its facet maps
on every search: about a second for a common word at 100,000 documents, most of
it spent on matches the filter then throws away. Here:

- a query's documents are computed with set operations over the document ids
  of whole posting blocks, narrowed by the filter first (`Engine.docs`);
- only the documents that passed are scored, with Whoosh's BM25F (same
  formula, statistics and posting weights), and newest-first does not score;
- phrases check positions only on the candidates that passed the filter;
- facet counts come from one value per document, kept per index generation.

Posting ids and weights, field lengths, facet values and filter sets are kept
per index generation (shared by the searchers of every thread) and dropped
with it: any commit starts afresh, so nothing kept is ever stale.
"""

from __future__ import annotations

import heapq
import threading
import time
from array import array
from collections import Counter, OrderedDict
from collections.abc import Iterator
from typing import Any

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.query import And, AndMaybe, AndNot, Not, NullQuery, Or, Phrase, Query, Term
from whoosh.util.numeric import byte_to_length

POSTINGS_KEPT = 2_000_000  # postings (id and weight: 8 bytes) kept per index generation
FILTERS_KEPT = 256
GENERATIONS_KEPT = 2  # the current one and the one a reindex swap replaced
_LENGTH = [byte_to_length(b) for b in range(256)]


class OutOfTime(Exception):
    """The search's time budget ran out."""


class Generation:
    """What the searchers of one index generation share (guarded by `lock`)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.postings: OrderedDict[tuple[str, str], tuple[array, array]] = OrderedDict()
        self.kept = 0
        self.filters: OrderedDict[Query | None, frozenset[int]] = OrderedDict()
        self.lengths: dict[str, bytes] = {}
        self.values: dict[str, list[str]] = {}


_GENERATIONS: OrderedDict[tuple[Any, ...], Generation] = OrderedDict()
_GENERATIONS_LOCK = threading.Lock()


def _generation(searcher: Any) -> Generation:
    storage = searcher._ix.storage if searcher._ix is not None else None
    key = (getattr(storage, "folder", id(storage)), searcher.reader().generation())
    with _GENERATIONS_LOCK:
        found = _GENERATIONS.get(key)
        if found is None:
            found = _GENERATIONS[key] = Generation()
            while len(_GENERATIONS) > GENERATIONS_KEPT:
                _GENERATIONS.popitem(last=False)
        return found


def _leaf(matcher: Any) -> Any:
    # A segment with deletions wraps its leaf matcher in a filter: read the leaf itself
    # (deleted documents are never in the allowed set every result is narrowed by).
    while not isinstance(matcher, W3LeafMatcher) and hasattr(matcher, "child"):
        matcher = matcher.child
    return matcher


def _plain(values: Any, offset: int) -> Any:
    # A block's ids and weights come as tuples or arrays of any typecode.
    if offset:
        return [offset + v for v in values]
    return values.tolist() if isinstance(values, array) else values


class Engine:
    """One search on one searcher, within a time budget."""

    def __init__(self, searcher: Any, seconds: float) -> None:
        self.searcher = searcher
        self.schema = searcher.schema
        self.shared = _generation(searcher)
        self.leaves = searcher.reader().leaf_readers()
        self.deadline = time.monotonic() + seconds

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise OutOfTime

    # --- postings ---------------------------------------------------------------------

    def _blocks(self, fieldname: str, text: str) -> Iterator[tuple[int, Any]]:
        """(offset, leaf matcher positioned on a block) for each block of the term."""
        for reader, offset in self.leaves:
            if (fieldname, text) not in reader:
                continue
            matcher = _leaf(reader.postings(fieldname, text))
            if not isinstance(matcher, W3LeafMatcher):  # e.g. a term's postings kept inline
                yield offset, matcher
                continue
            while matcher.is_active():
                self.check_time()
                if matcher._ids is None:
                    matcher._read_ids()
                yield offset, matcher
                matcher._next_block()

    def postings(self, fieldname: str, text: str) -> tuple[array, array]:
        """The term's document numbers (ascending) and weights, kept per generation."""
        key = (fieldname, text)
        shared = self.shared
        with shared.lock:
            found = shared.postings.get(key)
            if found is not None:
                shared.postings.move_to_end(key)
                return found
        ids, weights = array("I"), array("f")
        for offset, matcher in self._blocks(fieldname, text):
            if not isinstance(matcher, W3LeafMatcher):
                while matcher.is_active():
                    ids.append(offset + matcher.id())
                    weights.append(matcher.weight())
                    matcher.next()
                continue
            if matcher._weights is None:
                matcher._read_weights()
            ids.extend(_plain(matcher._ids, offset))
            weights.extend(_plain(matcher._weights, 0))
        with shared.lock:
            shared.postings[key] = (ids, weights)
            shared.kept += len(ids)
            while shared.kept > POSTINGS_KEPT and len(shared.postings) > 1:
                _, (old, _) = shared.postings.popitem(last=False)
                shared.kept -= len(old)
        return ids, weights

    def _positions(self, fieldname: str, text: str, within: set[int]) -> dict[int, set[int]]:
        """The term's positions in each document of `within`."""
        decode = self.schema[fieldname].format.decode_positions
        found: dict[int, set[int]] = {}
        for offset, matcher in self._blocks(fieldname, text):
            if not isinstance(matcher, W3LeafMatcher):
                while matcher.is_active():
                    if offset + matcher.id() in within:
                        found[offset + matcher.id()] = set(matcher.value_as("positions"))
                    matcher.next()
                continue
            for i, docnum in enumerate(matcher._ids):
                if offset + docnum in within:
                    if matcher._values is None:
                        matcher._read_values()
                    found[offset + docnum] = set(decode(matcher._values[i]))
        return found

    # --- matching ---------------------------------------------------------------------

    def allowed(self, filter_query: Query | None) -> frozenset[int]:
        """The live documents the filter lets through (every live one for None)."""
        shared = self.shared
        with shared.lock:
            found = shared.filters.get(filter_query)
        if found is not None:
            return found
        if filter_query is None:
            live = set(range(self.searcher.doc_count_all()))
            for reader, offset in self.leaves:
                if reader.has_deletions():
                    live.difference_update(
                        offset + d for d in range(reader.doc_count_all()) if reader.is_deleted(d)
                    )
            found = frozenset(live)
        else:
            found = frozenset(self.docs(filter_query, self.allowed(None)))
        with shared.lock:
            shared.filters[filter_query] = found
            while len(shared.filters) > FILTERS_KEPT:
                shared.filters.popitem(last=False)
        return found

    def docs(self, query: Query, within: set[int] | frozenset[int]) -> set[int]:
        """The documents of `within` that match `query`."""
        if not within or query is NullQuery:
            return set()
        kind = type(query)
        if kind is Term:
            if query.fieldname not in self.schema:
                return set()
            return set(within).intersection(self.postings(query.fieldname, query.text)[0])
        if kind is Or:
            found: set[int] = set()
            for sub in query.subqueries:
                found |= self.docs(sub, within)
            return found
        if kind is And:
            found = set(within)
            negated = [sub for sub in query.subqueries if type(sub) is Not]
            for sub in query.subqueries:
                if type(sub) is not Not:
                    found = self.docs(sub, found)
            for sub in negated:
                found -= self.docs(sub.query, found)
            return found
        if kind is AndNot:
            found = self.docs(query.a, within)
            return found - self.docs(query.b, found)
        if kind is AndMaybe:
            return self.docs(query.a, within)
        if kind is Not:
            return set(within) - self.docs(query.query, within)
        if kind is Phrase:
            return self._phrase(query, within)
        # Anything else (not produced by the portal's parser today): Whoosh itself.
        return set(within).intersection(self.searcher.docs_for_query(query))

    def _phrase(self, query: Phrase, within: set[int] | frozenset[int]) -> set[int]:
        fieldname, words = query.fieldname, list(query.words)
        if not words or fieldname not in self.schema:
            return set()
        candidates = set(within)
        for word in words:
            candidates = self.docs(Term(fieldname, word), candidates)
        if len(words) == 1 or not candidates:
            return candidates
        positions = [self._positions(fieldname, word, candidates) for word in words]
        slop = max(1, query.slop)
        found = set()
        for docnum in candidates:
            for start in positions[0][docnum]:
                position = start
                for following in positions[1:]:
                    nearby = following[docnum]
                    position = next(
                        (position + d for d in range(1, slop + 1) if position + d in nearby), None
                    )
                    if position is None:
                        break
                if position is not None:
                    found.add(docnum)
                    break
        return found

    # --- ranking and counting ---------------------------------------------------------

    def _lengths(self, fieldname: str) -> bytes:
        """One length byte per document for the field (Whoosh's length column)."""
        found = self.shared.lengths.get(fieldname)
        if found is None:
            parts = []
            for reader, _offset in self.leaves:
                count = reader.doc_count_all()
                column = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
                data = column._dbfile.get(column._basepos, column._count) if column else b""
                parts.append(data[:count] + bytes(count - min(count, len(data))))
            found = self.shared.lengths[fieldname] = b"".join(parts)
        return found

    def scores(self, query: Query, docs: set[int]) -> tuple[dict[int, float], bool]:
        """BM25F scores of `docs` (Whoosh's weighting); False if time ran out first."""
        totals = dict.fromkeys(docs, 0.0)
        weighting = self.searcher.weighting
        b, k1 = getattr(weighting, "B", 0.75), getattr(weighting, "K1", 1.2)
        try:
            for (fieldname, text), times in sorted(_scored_terms(query).items()):
                if fieldname not in self.schema or not self.schema[fieldname].scorable:
                    continue
                ids, weights = self.postings(fieldname, text)
                if not ids:
                    continue
                idf = times * self.searcher.idf(fieldname, text)
                average = self.searcher.avg_field_length(fieldname) or 1
                lengths = self._lengths(fieldname)
                for i, docnum in enumerate(ids):
                    if docnum in totals:
                        tf = weights[i]
                        norm = (1 - b) + b * _LENGTH[lengths[docnum]] / average
                        totals[docnum] += idf * (tf * (k1 + 1)) / (tf + k1 * norm)
                self.check_time()
        except OutOfTime:
            return totals, False
        return totals, True

    def newest(self, docs: set[int], count: int, fieldname: str) -> list[int]:
        """The `count` documents of `docs` with the latest values of a sortable field."""
        column = self.searcher.reader().column_reader(fieldname)
        return heapq.nlargest(count, docs, key=lambda d: (column[d], -d))

    def facet_counts(self, fieldname: str, docs: set[int]) -> Counter[str]:
        values = self.shared.values.get(fieldname)
        if values is None:
            values = [""] * self.searcher.doc_count_all()
            for term in self.searcher.reader().lexicon(fieldname):
                text = term.decode() if isinstance(term, bytes) else term
                for docnum in self.postings(fieldname, text)[0]:
                    values[docnum] = text
            self.shared.values[fieldname] = values
        return Counter(values[d] for d in docs)


def _scored_terms(query: Query) -> Counter[tuple[str, str]]:
    """The terms whose matches add to a document's score (not those of negations), with
    how often each occurs in the query (Whoosh adds a term's score once per occurrence)."""
    kind = type(query)
    if kind is Term:
        return Counter([(query.fieldname, query.text)])
    if kind is Not:
        return Counter()
    if kind is AndNot:
        return _scored_terms(query.a)
    if kind is Phrase:
        return Counter((query.fieldname, word) for word in query.words)
    if kind in (Or, And, AndMaybe):
        found: Counter[tuple[str, str]] = Counter()
        for sub in query.children():
            found += _scored_terms(sub)
        return found
    return Counter(
        (f, t.decode() if isinstance(t, bytes) else t) for f, t in query.iter_all_terms()
    )
