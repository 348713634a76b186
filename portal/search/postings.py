"""Matching, counting and ranking a query from whole posting blocks.

Whoosh answers a query posting by posting through a tree of Python matcher
objects (one branch per language field, one per prefix expansion), tests each
match against the permission filter only afterwards, and builds its facet maps
on every search: about a second for a common word at 100,000 documents, most of
it spent on matches the filter then throws away. Here:

- a query's documents are computed with set operations over the document ids
  of whole posting blocks, narrowed by the filter first (`Engine.docs`);
- only the documents that passed are scored, with Whoosh's BM25F (same
  formula, statistics and posting weights; a phrase scores as its words), and
  newest-first does not score at all;
- phrases check positions only on the candidates that passed the filter;
- facet counts come from one value per document.

What is read from a segment (posting ids and weights, field lengths, facet
values) is kept per segment, which Whoosh never changes once written: a commit
adds or merges segments, and only those are read again. Filter sets (which
also depend on deletions) are kept per index generation.
"""

from __future__ import annotations

import heapq
import threading
import time
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter, OrderedDict
from collections.abc import Hashable, Iterable, Iterator
from itertools import accumulate, compress
from operator import itemgetter, neg
from pickle import loads
from typing import Any

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.query import And, AndMaybe, AndNot, Not, NullQuery, Or, Phrase, Query, Term
from whoosh.util.numeric import byte_to_length

# Bounds of what is kept, counted in documents (or postings): sizes of the sets, arrays
# and lists kept, plus one per entry.
POSTINGS_KEPT = 4_000_000  # posting ids and weights (8 bytes a posting), all segments
SEGMENT_DATA_KEPT = 10_000_000  # field lengths, facet and column values (1-8 bytes each)
FILTERS_KEPT = 1_000_000  # filter sets of an index generation (~50 bytes a document)
GENERATIONS_KEPT = 2  # the current one and the one a reindex swap replaced
_LENGTH = [byte_to_length(b) for b in range(256)]


class OutOfTime(Exception):
    """The search's time budget ran out."""


class _Kept:
    """A thread-safe least-recently-used store bounded by the total size of its values."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.lock = threading.Lock()
        self.entries: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()

    def get(self, key: Hashable) -> Any | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                return None
            self.entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, value: Any, size: int = 1) -> None:
        with self.lock:
            if key in self.entries:
                self.size -= self.entries[key][0]
            self.entries[key] = (size, value)
            self.size += size
            while self.size > self.limit and len(self.entries) > 1:
                self.size -= self.entries.popitem(last=False)[1][0]


class _Generation:
    """What depends on an index generation (deletions, the order of the segments)."""

    def __init__(self) -> None:
        self.filters = _Kept(FILTERS_KEPT)  # filter query (None: every live one) -> set
        self.joined: dict[tuple[str, str], Any] = {}  # segment data joined in order


_POSTINGS = _Kept(POSTINGS_KEPT)  # (segment, field, term) -> (ids, weights)
_SEGMENT_DATA = _Kept(SEGMENT_DATA_KEPT)  # (segment, kind, field) -> bytes or list
_GENERATIONS = _Kept(GENERATIONS_KEPT)  # (index folder, generation) -> _Generation


def _segment_key(reader: Any) -> Hashable:
    segment = getattr(reader, "segment", lambda: None)()
    return segment.segment_id() if segment is not None else id(reader)


def _leaf(matcher: Any) -> Any:
    # A segment with deletions wraps its leaf matcher in a filter: read the leaf itself
    # (deleted documents are never in the allowed set every result is narrowed by).
    while not isinstance(matcher, W3LeafMatcher) and hasattr(matcher, "child"):
        matcher = matcher.child
    return matcher


def _plain(values: Any) -> Any:
    # A block's ids and weights come as tuples or arrays of any typecode.
    return values.tolist() if isinstance(values, array) else values


def _decode_positions(value: bytes) -> list[int]:
    # Whoosh's Positions.decode_positions without its per-call overheads (the index's own
    # files are pickles written by Whoosh: nothing from outside).
    pickled = value[4:] if value.endswith(b".") else value[4:] + b"."
    return list(accumulate(loads(pickled)))  # noqa: S301


def _following(before: set[int], positions: set[int], slop: int) -> set[int]:
    """The positions that come 1 to `slop` places after one of `before`."""
    return positions.intersection([b + d for b in before for d in range(1, slop + 1)])


class Engine:
    """One search on one searcher, within a time budget."""

    def __init__(self, searcher: Any, seconds: float) -> None:
        self.searcher = searcher
        self.schema = searcher.schema
        self.segments = [(r, o, _segment_key(r)) for r, o in searcher.reader().leaf_readers()]
        self.deadline = time.monotonic() + seconds
        self.phrases: dict[Phrase, set[int]] = {}  # the documents each phrase matched
        storage = searcher._ix.storage if searcher._ix is not None else None
        key = (getattr(storage, "folder", id(storage)), searcher.reader().generation())
        self.generation = _GENERATIONS.get(key)
        if self.generation is None:
            self.generation = _Generation()
            _GENERATIONS.put(key, self.generation)

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise OutOfTime

    # --- postings ---------------------------------------------------------------------

    def _blocks(
        self, reader: Any, fieldname: str, text: str, wanted: list[int] | None = None
    ) -> Iterator[Any]:
        """The term's leaf matcher of one segment, once on each block (ids read); with
        `wanted` (ascending), only on the blocks that may hold one of those documents."""
        if (fieldname, text) not in reader:
            return
        matcher = _leaf(reader.postings(fieldname, text))
        if not isinstance(matcher, W3LeafMatcher):  # e.g. postings kept inline
            yield matcher
            return
        last = -1
        while matcher.is_active():
            self.check_time()
            top = matcher.block_max_id()
            if wanted is None or bisect_right(wanted, top) > bisect_right(wanted, last):
                if matcher._ids is None:
                    matcher._read_ids()
                yield matcher
            last = top
            matcher._next_block()

    def _postings(self, reader: Any, key: Hashable, fieldname: str, text: str) -> tuple:
        """One segment's document numbers (ascending) and weights for the term."""
        found = _POSTINGS.get((key, fieldname, text))
        if found is not None:
            return found
        ids, weights = array("I"), array("f")
        for matcher in self._blocks(reader, fieldname, text):
            if not isinstance(matcher, W3LeafMatcher):
                while matcher.is_active():
                    ids.append(matcher.id())
                    weights.append(matcher.weight())
                    matcher.next()
                continue
            if matcher._weights is None:
                matcher._read_weights()
            ids.extend(_plain(matcher._ids))
            weights.extend(_plain(matcher._weights))
        _POSTINGS.put((key, fieldname, text), (ids, weights), len(ids) + 1)
        return ids, weights

    def postings(self, fieldname: str, text: str) -> Iterator[tuple[int, array, array]]:
        """(offset, ids, weights) of the term in each segment."""
        for reader, offset, key in self.segments:
            ids, weights = self._postings(reader, key, fieldname, text)
            if ids:
                yield offset, ids, weights

    def _positions(self, fieldname: str, text: str, within: set[int]) -> dict[int, set[int]]:
        """The term's positions in each document of `within`."""
        found: dict[int, set[int]] = {}
        for reader, offset, _key in self.segments:
            end = offset + reader.doc_count_all()
            wanted = sorted(d - offset for d in within if offset <= d < end)
            if not wanted:
                continue
            for matcher in self._blocks(reader, fieldname, text, wanted):
                if not isinstance(matcher, W3LeafMatcher):
                    while matcher.is_active():
                        if offset + matcher.id() in within:
                            found[offset + matcher.id()] = set(matcher.value_as("positions"))
                        matcher.next()
                    continue
                for i in _indexes(within, matcher._ids, offset):
                    if matcher._values is None:
                        matcher._read_values()
                    found[offset + matcher._ids[i]] = set(_decode_positions(matcher._values[i]))
        return found

    # --- matching ---------------------------------------------------------------------

    def live(self) -> frozenset[int]:
        found = self.generation.filters.get(None)
        if found is None:
            live = set(range(self.searcher.doc_count_all()))
            for reader, offset, _key in self.segments:
                if reader.has_deletions():
                    live.difference_update(offset + d for d in reader._perdoc.deleted_docs())
            found = frozenset(live)
            self.generation.filters.put(None, found, len(found) + 1)
        return found

    def allowed(self, filter_query: Query | None) -> frozenset[int]:
        """The live documents the filter lets through (every live one for None)."""
        if filter_query is None:
            return self.live()
        found = self.generation.filters.get(filter_query)
        if found is None:
            found = frozenset(self.docs(filter_query, self.live()))
            self.generation.filters.put(filter_query, found, len(found) + 1)
        return found

    def docs(self, query: Query, within: set[int] | frozenset[int]) -> set[int]:
        """The documents of `within` that match `query`."""
        if not within or query is NullQuery:
            return set()
        kind = type(query)
        if kind is Term:
            if query.fieldname not in self.schema:
                return set()
            found: set[int] = set()
            for offset, ids, _weights in self.postings(query.fieldname, query.text):
                found.update(within.intersection(map(offset.__add__, ids) if offset else ids))
            return found
        if kind is Or:
            found = set()
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
            found = self._phrase(query, within)
            self.phrases[query] = self.phrases.get(query, set()) | found
            return found
        # Anything else (not produced by the portal's parser today): Whoosh itself.
        return set(within.intersection(self.searcher.docs_for_query(query)))

    def _phrase(self, query: Phrase, within: set[int] | frozenset[int]) -> set[int]:
        fieldname, words = query.fieldname, list(query.words)
        if not words or fieldname not in self.schema:
            return set()
        candidates = set(within)
        for word in words:
            candidates = self.docs(Term(fieldname, word), candidates)
        if len(words) == 1 or not candidates:
            return candidates
        slop = max(1, query.slop)
        # Word by word, keep where each word follows the previous one within `slop`
        # positions (Whoosh's SpanNear2, ordered, mindist 1), and the positions it ends at.
        ends = self._positions(fieldname, words[0], candidates)
        for word in words[1:]:
            following = self._positions(fieldname, word, set(ends))
            ends = {
                docnum: kept
                for docnum, positions in following.items()
                if (kept := _following(ends[docnum], positions, slop))
            }
        return set(ends)

    # --- ranking and counting ---------------------------------------------------------

    def _segment_data(self, kind: str, fieldname: str, read: Any) -> Any:
        """Per-document data (bytes or a list) of every segment, in document order; read
        once per segment, joined once per index generation."""
        joined = self.generation.joined.get((kind, fieldname))
        if joined is not None:
            return joined
        parts = []
        for reader, _offset, key in self.segments:
            part = _SEGMENT_DATA.get((key, kind, fieldname))
            if part is None:
                part = read(reader)
                _SEGMENT_DATA.put((key, kind, fieldname), part, len(part) + 1)
            parts.append(part)
        joined = b"".join(parts) if kind == "lengths" else [v for part in parts for v in part]
        self.generation.joined[kind, fieldname] = joined
        return joined

    def _lengths(self, fieldname: str) -> bytes:
        """One length byte per document for the field (Whoosh's length column)."""

        def read(reader: Any) -> bytes:
            count = reader.doc_count_all()
            column = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            data = column._dbfile.get(column._basepos, column._count) if column else b""
            return data[:count] + bytes(count - min(count, len(data)))

        return self._segment_data("lengths", fieldname, read)

    def scores(self, query: Query, docs: set[int]) -> tuple[dict[int, float], bool]:
        """BM25F scores of `docs` (Whoosh's weighting); False if time ran out first."""
        totals = dict.fromkeys(docs, 0.0)
        if not totals:
            return totals, True
        weighting = self.searcher.weighting
        b, k1 = getattr(weighting, "B", 0.75), getattr(weighting, "K1", 1.2)
        try:
            for (fieldname, text, phrase), times in sorted(_scored_terms(query).items(), key=str):
                # A phrase's words count only in the documents where the phrase matched.
                scored = totals if phrase is None else self.phrases.get(phrase, set())
                if fieldname not in self.schema or not self.schema[fieldname].scorable:
                    continue
                # BM25: idf * tf * (k1 + 1) / (tf + k1 * ((1 - b) + b * length / average)),
                # the length part taken from a table of the 256 length bytes.
                idf = times * self.searcher.idf(fieldname, text) * (k1 + 1)
                average = self.searcher.avg_field_length(fieldname) or 1
                norms = [k1 * ((1 - b) + b * length / average) for length in _LENGTH]
                lengths = None
                for offset, ids, weights in self.postings(fieldname, text):
                    lengths = lengths or self._lengths(fieldname)
                    for i in _found(scored, ids, offset):
                        docnum, tf = offset + ids[i], weights[i]
                        totals[docnum] += idf * tf / (tf + norms[lengths[docnum]])
                    self.check_time()
        except OutOfTime:
            return totals, False
        return totals, True

    def newest(self, docs: set[int], count: int, fieldname: str) -> list[int]:
        """The `count` documents of `docs` with the latest values of a sortable field."""

        def read(reader: Any) -> list[Any]:
            return list(reader.column_reader(fieldname, translate=False))

        values = self._segment_data("column", fieldname, read)
        return heapq.nlargest(count, sorted(docs), key=values.__getitem__)

    @staticmethod
    def best(scores: dict[int, float], count: int) -> list[int]:
        """The `count` best-scored documents; on equal scores the lower document number
        first, as Whoosh orders them."""
        best = heapq.nlargest(count, zip(scores.values(), map(neg, scores), strict=True))
        return [-negated for _, negated in best]

    def facet_counts(self, fieldname: str, docs: set[int]) -> Counter[str]:
        def read(reader: Any) -> list[str]:
            values = [""] * reader.doc_count_all()
            for term in reader.lexicon(fieldname):
                text = term.decode() if isinstance(term, bytes) else term
                for docnum in self._postings(reader, _segment_key(reader), fieldname, text)[0]:
                    values[docnum] = text
            return values

        values = self._segment_data("values", fieldname, read)
        if len(docs) < 2:
            return Counter(values[d] for d in docs)
        return Counter(itemgetter(*docs)(values))


def _found(docs: set[int] | dict[int, float], ids: array, offset: int) -> Iterable[int]:
    """The indexes in one segment's ascending `ids` of the documents in `docs`."""
    if len(docs) * 16 < len(ids):  # few documents: look each one up
        found = []
        for docnum in docs:
            i = bisect_left(ids, docnum - offset)
            if i < len(ids) and ids[i] == docnum - offset:
                found.append(i)
        return found
    return _indexes(docs, ids, offset)


def _indexes(docs: Any, ids: Any, offset: int) -> Iterator[int]:
    """The indexes in `ids` (+ offset) of the documents in `docs` (the loop runs in C)."""
    global_ids = map(offset.__add__, ids) if offset else ids
    return compress(range(len(ids)), map(docs.__contains__, global_ids))


def _scored_terms(query: Query) -> Counter[tuple[str, str, Phrase | None]]:
    """The terms whose matches add to a document's score (not those of negations), each
    with the phrase it belongs to, if any, and how often it occurs in the query (Whoosh
    adds a term's score once per occurrence)."""
    kind = type(query)
    if kind is Term:
        return Counter([(query.fieldname, query.text, None)])
    if kind is Not:
        return Counter()
    if kind is AndNot:
        return _scored_terms(query.a)
    if kind is Phrase:
        return Counter((query.fieldname, word, query) for word in query.words)
    if kind in (Or, And, AndMaybe):
        found: Counter[tuple[str, str, Phrase | None]] = Counter()
        for sub in query.children():
            found += _scored_terms(sub)
        return found
    return Counter(
        (f, t.decode() if isinstance(t, bytes) else t, None) for f, t in query.iter_all_terms()
    )
