from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from portal.search.index import SearchIndex
from portal.search.indexer import catch_up, search_index


@pytest.fixture
def index(app: Flask) -> Iterator[SearchIndex]:
    """A fresh, empty index for the test (the database is emptied between tests)."""
    handle = search_index(app)
    directory = handle.new_directory()
    handle.swap_to(directory)
    yield handle


@pytest.fixture
def sync(app: Flask, index: SearchIndex):
    """`sync()` applies the pending events to the index, as the indexer would."""

    def apply() -> int:
        with app.app_context():
            return catch_up(index)

    return apply


@pytest.fixture
def no_index(app: Flask) -> Iterator[None]:
    """No index at all (as before `portal reindex` ever ran); restored afterwards."""
    handle = search_index(app)
    target = handle.directory()
    handle.link.unlink()
    yield
    handle.link.symlink_to(target.name)
