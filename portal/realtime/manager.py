"""The Socket.IO message queue on Redis, with the portal's control messages.

Room changes (a member removed, a user deactivated, a token revoked) must reach
the connections of every web process. They travel as control messages on the
same Redis channel as the emits, so every process applies them in the order
they were published: a removal published before the next event's emit is
applied before that emit is delivered.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse

import socketio

log = logging.getLogger(__name__)

CONTROL = "portal.control"
_MARKER = CONTROL.encode()

# Fail fast when Redis is unreachable, so an HTTP request that commits a
# change is not held by a connect timeout; the change stands either way.
REDIS_OPTIONS = {"socket_connect_timeout": 2, "socket_keepalive": True, "health_check_interval": 30}


def channel_for(url: str) -> str:
    """The Socket.IO channel of a Redis URL.

    Redis pub/sub ignores the database number, so deployments (or test runs)
    that share a Redis server on different databases get different channels.
    Another process that emits to our clients must use the same channel.
    """
    database = urlparse(url).path.strip("/") or "0"
    return f"portal-socketio-{database}"


class PortalRedisManager(socketio.RedisManager):  # type: ignore[misc]
    """python-socketio's Redis manager, plus `publish_control` for room changes."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        kwargs.setdefault("redis_options", dict(REDIS_OPTIONS))
        super().__init__(url, **kwargs)
        self.control_handler: Callable[[dict[str, Any]], None] | None = None

    def publish_control(self, message: dict[str, Any]) -> None:
        """Send a control message to the other processes (this one acts on its own)."""
        self._publish({**message, "method": CONTROL, "host_id": self.host_id})

    def _listen(self) -> Iterator[Any]:
        for raw in super()._listen():
            if isinstance(raw, bytes | str) and _MARKER in (
                raw if isinstance(raw, bytes) else raw.encode()
            ):
                try:
                    data = json.loads(raw)
                except ValueError:
                    data = None
                if isinstance(data, dict) and data.get("method") == CONTROL:
                    if data.get("host_id") != self.host_id and self.control_handler:
                        try:
                            self.control_handler(data)
                        except Exception:
                            log.exception("realtime control message failed: %s", data)
                    continue
            yield raw
