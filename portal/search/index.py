"""The Whoosh index on disk: where it lives, how it is opened, read and written.

`instance/index` is a symbolic link to `index-<stamp>/`; `portal reindex`
builds a new directory and swaps the link atomically, so searches go on during
a rebuild. Each directory holds a `cursor` file: the id of the last event its
documents reflect (event ids follow commit order, see portal/events.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.index import Index
from whoosh.searching import Searcher

from ..api import ApiError
from .schema import ANALYSIS_PROBE, build_schema

WRITER_TIMEOUT = 30.0
# Idle searchers kept per index generation: about as many as searches run at once.
IDLE_SEARCHERS = 16


class SearchUnavailable(ApiError):
    def __init__(self, reason: str) -> None:
        super().__init__(
            503,
            "unavailable",
            f"The search index is {reason}; an operator must run "
            "`flask --app wsgi portal reindex`.",
        )


class ResultCache:
    """Recent search answers, kept `ttl` seconds, at most `size` of them (least recently
    used first out). Keys must name the state an answer was computed from (the index
    folder and generation, the last event), so any commit makes old entries unreachable."""

    def __init__(self, size: int = 512, ttl: float = 30.0) -> None:
        self.size = size
        self.ttl = ttl
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()

    def get(self, key: Hashable) -> Any | None:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] < now:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic() + self.ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class SearchIndex:
    """One index folder, opened lazily and reopened when `reindex` swaps it."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self._lock = threading.Lock()
        self._index: Index | None = None
        self._opened: Path | None = None
        # Searchers of one index and generation waiting for their next search.
        self._idle: list[Searcher] = []
        self._pool_of: tuple[Index, int] | None = None
        # Answers of public searches (see query.run_cached); entries are keyed by the
        # index and event state, so the time to live only bounds memory use.
        self.public_results = ResultCache(size=512, ttl=300.0)

    # --- location ---------------------------------------------------------------

    def directory(self) -> Path:
        return self.link.resolve()

    def exists(self) -> bool:
        directory = self.directory()
        if not directory.is_dir():
            return False
        try:
            return whoosh_index.exists_in(str(directory))
        except Exception:  # there is one, but it cannot be read: `open` calls it damaged
            return True

    def is_current(self) -> bool:
        """Whether the index exists, can be read, and has the fields and analysis this code
        writes and searches (an index built by an older release needs `portal reindex`)."""
        try:
            return self.exists() and _same_schema(whoosh_index.open_dir(str(self.directory())))
        except Exception:  # damaged, or its schema names analysis code that is gone
            return False

    def new_directory(self) -> Path:
        """An empty index folder beside the link, named for when it was built."""
        self.link.parent.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d%H%M%S")
        directory = Path(
            tempfile.mkdtemp(prefix=f"{self.link.name}-{stamp}-", dir=self.link.parent)
        )
        whoosh_index.create_in(str(directory), build_schema())
        return directory

    def swap_to(self, directory: Path) -> None:
        """Point the link at `directory` atomically.

        The index it replaced stays until the next swap, so searches that opened it
        just before finish on it; older ones are removed.
        """
        previous = self.link.resolve() if self.link.exists() else None
        temporary = self.link.with_name(self.link.name + ".swap")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(directory.name)
        os.replace(temporary, self.link)
        keep = {directory, previous}
        for old in self.link.parent.glob(f"{self.link.name}-*"):
            if old.is_dir() and old not in keep:
                shutil.rmtree(old, ignore_errors=True)

    def create_if_missing(self, cursor: int) -> bool:
        if self.exists():
            return False
        directory = self.new_directory()
        write_cursor(directory, cursor)
        self.swap_to(directory)
        return True

    # --- reading and writing ----------------------------------------------------

    def open(self) -> Index:
        directory = self.directory()
        with self._lock:
            if self._index is None or self._opened != directory:
                if not self.exists():
                    raise SearchUnavailable("missing")
                try:
                    opened = whoosh_index.open_dir(str(directory))
                except Exception as error:
                    raise SearchUnavailable("damaged") from error
                if not _same_schema(opened):
                    raise SearchUnavailable("out of date")
                self._index = opened
                self._opened = directory
            return self._index

    @contextmanager
    def searching(self) -> Iterator[Searcher]:
        """A searcher of the index's latest generation, lent to this thread alone.

        Opening one reads the table of contents and every segment's terms table
        (2.5 to 34 ms measured on the rehearsal's index), and the indexer commits
        about once a second under load: a searcher per thread meant a serve's hundreds
        of threads each opened their own after every commit. Here the searchers of
        the current generation go back to a pool after a search and serve the next
        one, whichever thread runs it. One is never used by two threads at once:
        whoosh reads its files by seek and read. After a commit new ones are opened
        rather than `refresh()`ed: a refreshed searcher reuses segment readers and
        was seen (whoosh-reloaded 2.7.5) to keep a replaced document alive in counts
        and facets.
        """
        index = self.open()
        latest = index.latest_generation()
        with self._lock:
            stale = self._claim_pool(index, latest)
            searcher = self._idle.pop() if self._idle else None
        _close_all(stale)
        if searcher is None:
            searcher = index.searcher()
        try:
            yield searcher
        finally:
            generation = searcher.reader().generation()
            if generation is None:  # an index without segments: cheap to open, not kept
                generation = -1
            with self._lock:
                stale = self._claim_pool(index, generation)
                kept = self._pool_of == (index, generation) and len(self._idle) < IDLE_SEARCHERS
                if kept:
                    self._idle.append(searcher)
            _close_all(stale if kept else [*stale, searcher])

    def _claim_pool(self, index: Index, generation: int) -> list[Searcher]:
        """Make the pool of idle searchers that of `generation` of `index`, unless it
        already holds a later generation of it; the searchers it held, to be closed."""
        held_index, held_generation = self._pool_of or (None, -1)
        if held_index is index and held_generation >= generation:
            return []
        stale, self._idle, self._pool_of = self._idle, [], (index, generation)
        return stale

    @contextmanager
    def writer(self, **options: Any) -> Iterator[Any]:
        """A writer that waits for the lock instead of failing, committed on success."""
        writer = self.open().writer(timeout=WRITER_TIMEOUT, delay=0.05, **options)
        try:
            yield writer
        except BaseException:
            writer.cancel()
            raise
        writer.commit()

    def cursor(self) -> int:
        return read_cursor(self.directory())

    def set_cursor(self, value: int) -> None:
        write_cursor(self.directory(), value)


def _close_all(searchers: list[Searcher]) -> None:
    for searcher in searchers:
        searcher.close()


def _same_schema(index: Index) -> bool:
    """Whether the index has this code's fields, each of the same type and weight and
    analysing text the same way: otherwise its terms would not meet the terms of this
    code's queries, or would not weigh as this code's documents do."""
    built, current = index.schema, build_schema()
    return set(built.names()) == set(current.names()) and all(
        _signature(built[name]) == _signature(current[name]) for name in current.names()
    )


def _signature(field: Any) -> tuple[Any, ...]:
    analyzer = getattr(field, "analyzer", None)
    terms = [token.text for token in analyzer(ANALYSIS_PROBE)] if analyzer is not None else []
    return type(field), getattr(field.format, "field_boost", None), terms


def read_cursor(directory: Path) -> int:
    try:
        return int((directory / "cursor").read_text().strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def write_cursor(directory: Path, value: int) -> None:
    temporary = directory / "cursor.tmp"
    temporary.write_text(str(value))
    os.replace(temporary, directory / "cursor")
