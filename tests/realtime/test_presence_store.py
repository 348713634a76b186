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


def test_a_crowd_arriving_at_once_waits_for_a_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hundreds of server threads may reach presence at once (a crowd connecting):
    beyond its connections they wait their turn, none fails."""
    from concurrent.futures import ThreadPoolExecutor

    import redis

    url = service_url("PORTAL_TEST_REDIS_URL")
    monkeypatch.setattr(presence, "KEY_PREFIX", f"portal:presence:test-{uuid.uuid4().hex}:")
    store = RedisPresence(url)
    # Redis holds every write for 300 ms: each thread keeps its connection meanwhile.
    redis.Redis.from_url(url).execute_command("CLIENT", "PAUSE", 300, "WRITE")
    with ThreadPoolExecutor(150) as threads:
        arrived = list(threads.map(lambda n: store.add(n, f"host:{n}"), range(150)))
    assert all(arrived)
    assert store.online(range(150)) == set(range(150))
    for key in store.redis.scan_iter(presence.KEY_PREFIX + "*"):
        store.redis.delete(key)
