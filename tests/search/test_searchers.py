"""Searchers are lent from a pool of the index's latest generation, one thread at a time."""

from __future__ import annotations

import threading
from pathlib import Path

from whoosh.searching import Searcher

from portal.search.index import IDLE_SEARCHERS, SearchIndex


def _index(tmp_path: Path) -> SearchIndex:
    index = SearchIndex(tmp_path / "index")
    index.create_if_missing(0)
    _add(index, "1")
    return index


def _add(index: SearchIndex, key: str) -> None:
    with index.writer() as writer:
        writer.add_document(id=key, item_id=key, kind="memo")


def _in_threads(count: int, work, *, together: bool) -> list:
    """`work()` in `count` new threads, all at once or one after the other."""
    results: list = [None] * count
    barrier = threading.Barrier(count) if together else None

    def run(n: int) -> None:
        results[n] = work(barrier)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
        if not together:
            thread.join(10)
    for thread in threads:
        thread.join(10)
    return results


def _lend(index: SearchIndex, barrier: threading.Barrier | None = None) -> Searcher:
    with index.searching() as searcher:
        if barrier is not None:
            barrier.wait(10)
        assert searcher.doc_count() >= 1
        return searcher


def test_one_searcher_serves_the_searches_of_many_threads_in_turn(tmp_path):
    index = _index(tmp_path)

    lent = _in_threads(20, lambda _: _lend(index), together=False)

    assert len({id(searcher) for searcher in lent}) == 1
    assert not lent[0].is_closed


def test_searches_at_the_same_time_never_share_a_searcher(tmp_path):
    index = _index(tmp_path)

    lent = _in_threads(4, lambda barrier: _lend(index, barrier), together=True)

    assert len({id(searcher) for searcher in lent}) == 4
    # The next four searches, at once again, reuse them: nothing new is opened.
    again = _in_threads(4, lambda barrier: _lend(index, barrier), together=True)
    assert {id(s) for s in again} == {id(s) for s in lent}


def test_no_more_than_the_pool_size_stay_open_after_a_crowd(tmp_path):
    index = _index(tmp_path)
    crowd = IDLE_SEARCHERS + 4

    lent = _in_threads(crowd, lambda barrier: _lend(index, barrier), together=True)

    assert sum(not searcher.is_closed for searcher in lent) == IDLE_SEARCHERS


def test_after_a_commit_searches_read_it_and_the_older_searchers_are_closed(tmp_path):
    index = _index(tmp_path)
    before = _in_threads(3, lambda barrier: _lend(index, barrier), together=True)

    _add(index, "2")
    with index.searching() as searcher:
        assert searcher.doc_count() == 2
        assert id(searcher) not in {id(s) for s in before}

    assert all(searcher.is_closed for searcher in before)
    with index.searching() as again:
        assert again is searcher


def test_a_searcher_lent_before_a_commit_is_closed_when_it_comes_back(tmp_path):
    index = _index(tmp_path)
    with index.searching() as old:
        _add(index, "2")
        with index.searching() as new:
            assert new.doc_count() == 2
        assert old.doc_count() == 1  # still whole while lent
    assert old.is_closed and not new.is_closed


def test_after_a_reindex_swap_searches_read_the_new_folder(tmp_path):
    index = _index(tmp_path)
    old = _lend(index)

    directory = index.new_directory()
    index.swap_to(directory)
    _add(index, "a")
    _add(index, "b")
    _add(index, "c")

    with index.searching() as searcher:
        assert searcher.doc_count() == 3
    assert old.is_closed


def test_an_index_without_documents_can_be_searched_again_and_again(tmp_path):
    index = SearchIndex(tmp_path / "index")
    index.create_if_missing(0)

    for _ in range(3):
        with index.searching() as searcher:
            assert searcher.doc_count() == 0
    assert searcher.is_closed
