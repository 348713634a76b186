"""The Socket.IO message queue on Redis, made to outlive Redis outages, with the
portal's control messages.

- An emit reaches this process's clients at once (PubSubManager delivers locally
  first) and goes to the other processes through a background publisher, so no
  request waits for Redis. While Redis is down, what this process publishes is
  dropped, with one log line per outage: the change stands in the database.
- The listener pings Redis every PING_SECONDS and, when Redis is gone, tries again
  every RETRY_SECONDS. Subscribed again after an outage, it calls `on_recovery` with
  the time from which messages may have been lost (the last time it heard Redis,
  less REPLAY_MARGIN_SECONDS): live.py then brings rooms in line with the database,
  replays to this process's clients the events committed since, and tells them to
  catch up on the rest.
- python-socketio starts the listener with the process's first connection; that
  connection is accepted once Redis has confirmed the subscription
  (`wait_for_first_subscription`), so no change published meanwhile slips between
  the client's catch-up and the subscription.
- Room changes (a member removed, a user deactivated, a token revoked) must reach
  the connections of every process. They travel as control messages on the same
  channel as the emits, in one publisher queue, so every process applies them in
  the order they were published: a removal published before the next event's emit
  is applied before that emit is delivered.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import redis
import socketio
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)

CONTROL = "portal.control"
PING_SECONDS = 5.0
RETRY_SECONDS = 2.0
# Messages waiting for the publisher; more are dropped (Redis answers too slowly).
OUTBOX_SIZE = 10_000
# Before the last time this process heard Redis, how far back the recovery replays:
# another process's message may have waited that long in its publisher queue, and an
# event's time is taken before its commit.
REPLAY_MARGIN_SECONDS = 30.0

# Every Redis client of the realtime package: a Redis that is down or unreachable
# costs a second, never a request's worth of waiting.
REDIS_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": 1,
    "socket_timeout": 1,
    "socket_keepalive": True,
    "retry": Retry(NoBackoff(), 1),
}


def channel_for(url: str) -> str:
    """The Socket.IO channel of a Redis URL.

    Redis pub/sub ignores the database number, so deployments (or test runs)
    that share a Redis server on different databases get different channels.
    Another process that emits to our clients must use the same channel.
    """
    database = urlparse(url).path.strip("/") or "0"
    return f"portal-socketio-{database}"


class ThreadSafeRooms:
    """python-socketio's bookkeeping of rooms and connections, one change at a time.

    Its BaseManager keeps them in plain dictionaries, read and changed in several
    steps, with no lock: in threading mode connect handlers, disconnections and the
    portal's own room changes run in threads of their own, and two interleaving lose
    a room membership for good. One leaving the last place in a room as another entered
    it wrote the newcomer into the room just removed: its client would hear nothing of
    that group for as long as its connection lived, with nothing logged
    (tests/realtime/test_rooms.py reproduces it with the stock manager)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rooms_lock = threading.RLock()


def _one_at_a_time(name: str) -> Callable[..., Any]:
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._rooms_lock:
            return getattr(super(ThreadSafeRooms, self), name)(*args, **kwargs)

    locked.__name__ = name
    return locked


# Every BaseManager method that changes the rooms or the connections; the others only
# read them (an emit copies a room's members first).
for _name in (
    "pre_connect",
    "connect",
    "pre_disconnect",
    "basic_disconnect",
    "basic_enter_room",
    "basic_leave_room",
    "basic_close_room",
):
    setattr(ThreadSafeRooms, _name, _one_at_a_time(_name))


class LocalManager(ThreadSafeRooms, socketio.Manager):  # type: ignore[misc]
    """The rooms of one process, when there is no Redis."""


class PortalRedisManager(ThreadSafeRooms, socketio.PubSubManager):  # type: ignore[misc]
    """python-socketio's pub/sub manager on Redis, with `publish_control` for room
    changes and `on_recovery` for the end of a Redis outage."""

    name = "portal-redis"

    def __init__(self, url: str, channel: str) -> None:
        super().__init__(channel=channel)
        self.url = url
        self.control_handler: Callable[[dict[str, Any]], None] | None = None
        self.on_recovery: Callable[[datetime], None] | None = None
        # time.time() when Redis last answered the listener (at first: when it began).
        self.last_heard = time.time()
        # Set once Redis confirmed the listener's first subscription, or the attempt
        # failed (then the recovery replays what the outage hid).
        self._first_subscription = threading.Event()
        self._outbox: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=OUTBOX_SIZE)
        self._publisher_lock = threading.Lock()
        self._publisher_started = False

    def wait_for_first_subscription(self, timeout: float) -> None:
        """Until this process hears the others. python-socketio starts the listener with
        the process's first connection: accepting that client before the subscription
        would lose a change another process publishes in between, after the client's
        catch-up has read the feed."""
        if not self._first_subscription.wait(timeout):
            # Waited once in vain: the next ones do not (the listener's recovery, once
            # subscribed, replays what it missed).
            self._first_subscription.set()

    def publish_control(self, message: dict[str, Any]) -> None:
        """Send a control message to the other processes (this one acts on its own)."""
        self._publish({**message, "method": CONTROL, "host_id": self.host_id})

    def _publish(self, data: dict[str, Any]) -> None:
        # Started with the first message: the listener starts with the first client,
        # but a process with no client of its own still publishes for the others.
        with self._publisher_lock:
            if not self._publisher_started:
                self._publisher_started = True
                self.server.start_background_task(self._publisher)
        try:
            self._outbox.put_nowait(data)
        except queue.Full:
            log.warning("realtime outbox full: a %s message is not sent", data.get("method"))

    def _publisher(self) -> None:
        client = redis.Redis.from_url(self.url, **REDIS_OPTIONS)
        down = False
        while True:
            data = self._outbox.get()
            try:
                client.publish(self.channel, self.json.dumps(data))
            except redis.RedisError as error:
                if not down:
                    log.warning(
                        "Redis unavailable (%s): live events of this process do not reach "
                        "the other processes until it returns",
                        error,
                    )
                down = True
                continue
            except Exception:  # a message that cannot be sent; the next ones can
                log.exception("realtime message not published: %s", data.get("method"))
                continue
            if down:
                log.info("Redis answers again: publishing to the other processes")
                down = False

    def _listen(self) -> Iterator[Any]:
        lost = False
        while True:
            pubsub = None
            try:
                pubsub = redis.Redis.from_url(self.url, **REDIS_OPTIONS).pubsub()
                pubsub.subscribe(self.channel)
                _await_confirmation(pubsub)
                self._first_subscription.set()
                if lost:
                    log.info("Redis answers again: receiving from the other processes")
                    lost = False
                    self._recovered()
                yield from self._messages(pubsub)
            except redis.RedisError as error:
                if not lost:
                    log.warning("lost Redis (%s): trying again every %.0f s", error, RETRY_SECONDS)
                lost = True
                self._first_subscription.set()
            finally:
                if pubsub is not None:
                    _close_quietly(pubsub)
            time.sleep(RETRY_SECONDS)

    def _messages(self, pubsub: Any) -> Iterator[Any]:
        """The channel's messages, until Redis goes: a ping unanswered for two rounds
        ends it as surely as a closed connection does."""
        heard = pinged = time.monotonic()
        while True:
            message = pubsub.get_message(timeout=1.0)
            now = time.monotonic()
            if message is not None:
                heard = now
                self.last_heard = time.time()
                if message["type"] == "message" and not self._is_control(message["data"]):
                    yield message["data"]
            if now - heard > 2 * PING_SECONDS:
                raise redis.ConnectionError(f"no answer for {now - heard:.0f} s")
            if now - pinged >= PING_SECONDS:
                pubsub.ping()
                pinged = now

    def _is_control(self, raw: bytes) -> bool:
        """Apply a control message from another process; True if it was one."""
        if CONTROL.encode() not in raw:
            return False
        try:
            data = json.loads(raw)
        except ValueError:
            return False
        if not isinstance(data, dict) or data.get("method") != CONTROL:
            return False
        if data.get("host_id") != self.host_id and self.control_handler:
            try:
                self.control_handler(data)
            except Exception:
                log.exception("realtime control message failed: %s", data)
        return True

    def _recovered(self) -> None:
        if self.on_recovery is not None:
            since = datetime.fromtimestamp(self.last_heard - REPLAY_MARGIN_SECONDS, UTC)
            try:
                self.on_recovery(since)
            except Exception:
                log.exception("realtime recovery after the Redis outage failed")


def _await_confirmation(pubsub: Any) -> None:
    """Until Redis answers the SUBSCRIBE: from then on it delivers what others publish
    (its first answer on the connection; nothing published comes before it)."""
    deadline = time.monotonic() + 2 * PING_SECONDS
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=1.0)
        if message is not None and message["type"] == "subscribe":
            return
    raise redis.ConnectionError("Redis did not confirm the subscription")


def _close_quietly(pubsub: Any) -> None:
    with contextlib.suppress(redis.RedisError, OSError):
        pubsub.close()
