from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from portal.search.indexer import search_index


@pytest.fixture
def no_index(app: Flask) -> Iterator[None]:
    """No index at all (as before `portal reindex` ever ran); restored afterwards."""
    handle = search_index(app)
    target = handle.directory()
    handle.link.unlink()
    yield
    handle.link.symlink_to(target.name)
