"""The presence stores: several tabs count once, in memory and in Redis."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from portal.realtime import presence
from portal.realtime.presence import MemoryPresence, RedisPresence

from ..conftest import service_url


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryPresence()
        return
    monkeypatch.setattr(presence, "KEY_PREFIX", f"portal:presence:test-{uuid.uuid4().hex}:")
    redis_store = RedisPresence(service_url("PORTAL_TEST_REDIS_URL"))
    yield redis_store
    for key in redis_store.redis.scan_iter(presence.KEY_PREFIX + "*"):
        redis_store.redis.delete(key)


def test_tabs_count_once(store: Any) -> None:
    assert store.add(1, "host:a") is True
    assert store.add(1, "host:b") is False
    assert store.online([1, 2]) == {1}
    assert store.remove(1, "host:a") is False
    assert store.online([1]) == {1}
    assert store.remove(1, "host:b") is True
    assert store.online([1]) == set()
    assert store.remove(1, "host:b") is False


def test_connections_of_a_dead_process_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(presence, "KEY_PREFIX", f"portal:presence:test-{uuid.uuid4().hex}:")
    monkeypatch.setattr(presence, "TTL_SECONDS", 1)
    store = RedisPresence(service_url("PORTAL_TEST_REDIS_URL"))
    store.add(7, "dead-host:sid")
    assert store.online([7]) == {7}
    time.sleep(1.2)  # nobody refreshed it
    assert store.online([7]) == set()
    assert store.add(7, "live-host:sid") is True  # back online counts as arriving
