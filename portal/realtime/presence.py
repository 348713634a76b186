"""Who is online: several tabs of one user count once.

`add` and `remove` say whether the user came online or went offline, so
presence is announced only when it changes. With Redis the state is shared by
every web process (a sorted set of connections per user, each with an expiry
that the owning process refreshes, so a crashed process's connections fade
out); without Redis it lives in this process.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Protocol

import redis

from .manager import REDIS_OPTIONS

KEY_PREFIX = "portal:presence:user:"
TTL_SECONDS = 90
# Connections of one process to Redis for presence (see RedisPresence).
CONNECTIONS = 50
HEARTBEAT_SECONDS = 30


class PresenceStore(Protocol):
    def add(self, user_id: int, conn: str) -> bool: ...
    def remove(self, user_id: int, conn: str) -> bool: ...
    def online(self, user_ids: Iterable[int]) -> set[int]: ...
    def refresh(self, conns: Iterable[tuple[int, str]]) -> None: ...


class MemoryPresence:
    """One process's connections (the embedded default)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conns: dict[int, set[str]] = defaultdict(set)

    def add(self, user_id: int, conn: str) -> bool:
        with self._lock:
            first = not self._conns[user_id]
            self._conns[user_id].add(conn)
            return first

    def remove(self, user_id: int, conn: str) -> bool:
        with self._lock:
            conns = self._conns.get(user_id)
            if not conns or conn not in conns:
                return False
            conns.discard(conn)
            if not conns:
                del self._conns[user_id]
                return True
            return False

    def online(self, user_ids: Iterable[int]) -> set[int]:
        with self._lock:
            return {uid for uid in user_ids if self._conns.get(uid)}

    def refresh(self, conns: Iterable[tuple[int, str]]) -> None:
        """Nothing expires in memory."""


class RedisPresence:
    """Connections of every process, in Redis."""

    def __init__(self, url: str) -> None:
        # Hundreds of server threads connect and disconnect at once when a crowd
        # arrives: they wait their turn for one of a bounded set of connections (as
        # long as a Redis call may take) rather than fail at redis-py's cap of 100.
        pool = redis.BlockingConnectionPool.from_url(
            url, max_connections=CONNECTIONS, timeout=REDIS_OPTIONS["socket_timeout"],
            **REDIS_OPTIONS,
        )  # fmt: skip
        self.redis = redis.Redis(connection_pool=pool)

    @staticmethod
    def _key(user_id: int) -> str:
        return f"{KEY_PREFIX}{user_id}"

    def add(self, user_id: int, conn: str) -> bool:
        now = time.time()
        key = self._key(user_id)
        pipe = self.redis.pipeline()
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zadd(key, {conn: now + TTL_SECONDS})
        pipe.zcount(key, now, "+inf")
        pipe.expire(key, TTL_SECONDS)
        _, added, count, _ = pipe.execute()
        return bool(added) and count == 1

    def remove(self, user_id: int, conn: str) -> bool:
        now = time.time()
        key = self._key(user_id)
        pipe = self.redis.pipeline()
        pipe.zrem(key, conn)
        pipe.zcount(key, now, "+inf")
        removed, count = pipe.execute()
        return bool(removed) and count == 0

    def online(self, user_ids: Iterable[int]) -> set[int]:
        ids = list(user_ids)
        if not ids:
            return set()
        now = time.time()
        pipe = self.redis.pipeline()
        for uid in ids:
            pipe.zcount(self._key(uid), now, "+inf")
        return {uid for uid, count in zip(ids, pipe.execute(), strict=True) if count}

    def refresh(self, conns: Iterable[tuple[int, str]]) -> None:
        expiry = time.time() + TTL_SECONDS
        pipe = self.redis.pipeline()
        for uid, conn in conns:
            pipe.zadd(self._key(uid), {conn: expiry})
            pipe.expire(self._key(uid), TTL_SECONDS)
        pipe.execute()
