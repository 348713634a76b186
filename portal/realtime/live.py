"""Socket.IO connections, their rooms, and the fan-out of committed events.

- A connection is accepted with the session cookie or `auth={"token": ...}`
  and joins `user:<id>` and `ws:<id>` for each workspace the user may read
  (`permissions.live_workspace_ids`).
- After each commit (`events.subscribe`), the users whose access may have
  changed (`permissions.users_whose_access_changed`) have their connections
  checked again in every process: they join or leave workspace rooms, or are
  disconnected (deactivated user, revoked token, ended or signed-out session).
  Then each event goes as `activity` to the rooms of
  `permissions.event_audience`, and its notifications as `notification` to
  their users' rooms.
- `presence` tells a workspace who of its members is online, when that changes.
- Emitting never undoes a commit: failures are logged, and clients catch up
  through the activity endpoint with the last `event_id` they saw.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis
from flask import Flask, current_app, request
from flask_login import current_user
from socketio.exceptions import ConnectionRefusedError as SocketRefusal
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from .. import events, permissions
from ..accounts import two_factor
from ..accounts.api import notification_json
from ..accounts.auth import current_session_id, live_session, usable_token
from ..accounts.models import ApiToken, Notification, User
from ..api import database_is_down, discard_session
from ..backoff import one_line
from ..events import CommittedEvent, Event, utcnow
from ..extensions import db, reading_engine, socketio
from ..workspaces.items_api import activity_json
from ..workspaces.models import Item
from .manager import LocalManager, PortalRedisManager, channel_for
from .presence import HEARTBEAT_SECONDS, MemoryPresence, PresenceStore, RedisPresence

log = logging.getLogger(__name__)

NAMESPACE = "/"
EXTENSION = "portal.realtime"
# After a Redis outage this process's connections are closed over this many seconds, so
# their clients reconnect (and catch up) spread out rather than all at once.
RECONNECT_SPREAD_SECONDS = 5.0
# At most this many events are replayed after a Redis outage; after a longer or busier
# one the clients rely on their catch-up from the activity feed alone.
REPLAY_LIMIT = 5000
# Presence changes of a workspace are announced at most this often (seconds):
# when a whole group arrives at once, each member gets a few lists, not one per arrival.
PRESENCE_INTERVAL = 0.5
# How long a process's first connections wait, at most, for its subscription to Redis
# (manager.py; a Redis that is down fails the attempt at once: no wait then).
FIRST_SUBSCRIPTION_WAIT_SECONDS = 5.0


def workspace_room(workspace_id: int) -> str:
    return f"ws:{workspace_id}"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


@dataclass
class Connection:
    """What this process remembers of one of its sockets."""

    user_id: int
    # The API token it was opened with, or None for the session cookie.
    token_id: int | None
    # The user's session epoch at connect and the cookie's session row (None for a
    # token): a cookie connection ends when the epoch moves or the row is deleted.
    epoch: int
    session_id: int | None
    workspaces: set[int] = field(default_factory=set)


class Realtime:
    """The live-update state of one app in one process."""

    def __init__(self, app: Flask, manager: PortalRedisManager | None, presence: PresenceStore):
        self.app = app
        self.manager = manager
        self.presence = presence
        self.host_id = manager.host_id if manager else "local"
        self.lock = threading.Lock()
        self.connections: dict[str, Connection] = {}
        self._heartbeat_started = False
        self._presence_due: set[int] = set()
        self._flusher_started = False

    def conn_key(self, sid: str) -> str:
        return f"{self.host_id}:{sid}"

    def local_connections(self, user_ids: set[int]) -> list[tuple[str, Connection]]:
        with self.lock:
            return [(sid, c) for sid, c in self.connections.items() if c.user_id in user_ids]

    def start_heartbeat(self) -> None:
        """Refresh this process's connections in a shared presence store, and end
        those whose token expired in the meantime, every HEARTBEAT_SECONDS."""
        if self._heartbeat_started:
            return
        self._heartbeat_started = True
        socketio.start_background_task(self._heartbeat)

    def announce_presence(self, workspace_ids: set[int]) -> None:
        """Send these workspaces their presence soon (coalesced, see PRESENCE_INTERVAL)."""
        if not workspace_ids:
            return
        with self.lock:
            self._presence_due |= workspace_ids
            start = not self._flusher_started
            self._flusher_started = True
        if start:
            socketio.start_background_task(self._flush_presence)

    def _flush_presence(self) -> None:
        while True:
            time.sleep(PRESENCE_INTERVAL)
            with self.lock:
                due, self._presence_due = self._presence_due, set()
            if not due:
                continue
            try:
                with self.app.app_context(), _reading_session() as session:
                    for workspace_id in sorted(due):
                        _emit(
                            "presence",
                            _presence(self, session, workspace_id),
                            workspace_room(workspace_id),
                        )
            except Exception as error:
                _warn("presence announcement failed", error)

    def _heartbeat(self) -> None:
        while True:
            time.sleep(HEARTBEAT_SECONDS)
            with self.lock:
                conns = [(c.user_id, self.conn_key(sid)) for sid, c in self.connections.items()]
            try:
                self.presence.refresh(conns)
            except Exception as error:
                _warn("presence heartbeat failed", error)
            try:
                sweep_token_connections(self)
            except Exception as error:
                _warn("token sweep failed", error)


def init_app(app: Flask) -> None:
    """Bind Socket.IO to the app and hook the fan-out on committed events."""
    url = app.config["PORTAL"]["REDIS_URL"]
    manager = PortalRedisManager(url, channel=channel_for(url)) if url else None
    presence: PresenceStore = RedisPresence(url) if url else MemoryPresence()
    socketio.init_app(
        app,
        async_mode="threading",
        client_manager=manager if manager is not None else LocalManager(),
        # Same origin only; a browser on another site cannot ride the cookie.
        cors_allowed_origins=None,
    )
    state = Realtime(app, manager, presence)
    app.extensions[EXTENSION] = state
    if manager is not None:
        manager.control_handler = lambda message: _on_control(state, message)
        manager.on_recovery = lambda since: socketio.start_background_task(
            _after_redis_outage, state, since
        )
    events.subscribe(_fan_out)


def _warn(what: str, error: Exception) -> None:
    """A component that is down (Redis, the database) is one line per failure; anything
    else keeps its traceback."""
    if isinstance(error, redis.RedisError) or database_is_down(error):
        log.warning("%s: %s", what, one_line(error))
    else:
        log.warning(what, exc_info=error)


def _state() -> Realtime | None:
    return current_app.extensions.get(EXTENSION)


# --- connections --------------------------------------------------------------


def _authenticate(auth: Any) -> tuple[User, int | None] | None:
    """The user and token of a connection attempt, or None to refuse it."""
    if auth is not None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token or len(token) > 200:
            return None
        record = usable_token(token)
        return (record.user, record.id) if record is not None else None
    if current_user.is_authenticated:
        return current_user._get_current_object(), None
    return None


@socketio.on("connect")
def _on_connect(auth: Any = None) -> None:
    try:
        _accept(auth)
    except (DBAPIError, PoolTimeout) as error:
        if not database_is_down(error):
            raise
        discard_session()
        log.warning("live connection refused, the database is unavailable: %s", one_line(error))
        # The client reads the reason (the builtin exception would send a generic one);
        # live.js tries again a few seconds later.
        raise SocketRefusal("unavailable") from None


def _accept(auth: Any) -> None:
    state = _state()
    found = _authenticate(auth)
    if state is None or found is None:
        raise ConnectionRefusedError("unauthenticated")
    user, token_id = found
    if two_factor.must_set_up(user):
        raise ConnectionRefusedError("two_factor_required")
    if state.manager is not None:
        state.manager.wait_for_first_subscription(FIRST_SUBSCRIPTION_WAIT_SECONDS)
    sid = request.sid  # type: ignore[attr-defined]
    workspaces = permissions.live_workspace_ids(db.session, user)
    with state.lock:
        state.connections[sid] = Connection(
            user.id,
            token_id,
            user.session_epoch,
            None if token_id is not None else current_session_id(),
            workspaces,
        )
    socketio.server.enter_room(sid, user_room(user.id), namespace=NAMESPACE)
    for workspace_id in workspaces:
        socketio.server.enter_room(sid, workspace_room(workspace_id), namespace=NAMESPACE)
    if _transport_ended(sid):
        with state.lock:
            del state.connections[sid]
        raise ConnectionRefusedError("gone")  # python-socketio then empties its rooms
    socketio.start_background_task(_announce_arrival, state, sid, user.id)


def _transport_ended(sid: str) -> bool:
    """Whether the client went away while its connect handler ran. python-socketio
    ignores the end of a connection still being accepted (its disconnect handler never
    runs), then marks it connected once the handler returns: the portal would keep it
    in its rooms and show its user online for as long as the process lives."""
    server = socketio.server
    eio_sid = server.manager.eio_sid_from_sid(sid, NAMESPACE)
    transport = server.eio.sockets.get(eio_sid)
    ending = transport is not None and (transport.closing or transport.closed)
    return ending or eio_sid not in server.environ


def _announce_arrival(state: Realtime, sid: str, user_id: int) -> None:
    """After the connection is accepted: presence to the workspaces and to the newcomer."""
    for _ in range(100):  # the handshake completes right after the connect handler
        if socketio.server.manager.is_connected(sid, NAMESPACE):
            break
        time.sleep(0.01)
    else:
        return
    with state.app.app_context():
        try:
            state.start_heartbeat()
            came_online = state.presence.add(user_id, state.conn_key(sid))
            with state.lock:
                connection = state.connections.get(sid)
            if connection is None:
                return
            with _reading_session() as session:
                if came_online:
                    state.announce_presence(permissions.presence_workspace_ids(session, user_id))
                # The newcomer learns at once who is online in each of its workspaces.
                for workspace_id in sorted(connection.workspaces):
                    _emit("presence", _presence(state, session, workspace_id), sid)
        except Exception as error:
            _warn("presence on connect failed", error)


@socketio.on("disconnect")
def _on_disconnect(reason: Any = None) -> None:
    state = _state()
    if state is None:
        return
    sid = request.sid  # type: ignore[attr-defined]
    with state.lock:
        connection = state.connections.pop(sid, None)
    if connection is None:
        return
    try:
        went_offline = state.presence.remove(connection.user_id, state.conn_key(sid))
        if went_offline:
            with _reading_session() as session:
                workspaces = permissions.presence_workspace_ids(session, connection.user_id)
            state.announce_presence(workspaces)
    except Exception as error:
        _warn("presence on disconnect failed", error)


def _reading_session() -> Session:
    """A session for the live side's lookups, which only read: in autocommit, as a
    safe request reads, so closing it sends no ROLLBACK (which would make psycopg
    drop the connection's prepared statements; README: Prepared statements)."""
    return Session(reading_engine(db.engine))


def _presence(state: Realtime, session: Session, workspace_id: int) -> dict[str, Any]:
    online = state.presence.online(permissions.presence_user_ids(session, workspace_id))
    users = session.execute(
        select(User.id, User.name).where(User.id.in_(online)).order_by(User.name, User.id)
    ).all()
    return {"workspace_id": workspace_id, "users": [{"id": i, "name": n} for i, n in users]}


# --- access changes -----------------------------------------------------------


def recheck(state: Realtime, user_ids: set[int]) -> None:
    """Bring this process's connections of these users in line with the database."""
    local = state.local_connections(user_ids)
    if not local:
        return
    now = utcnow()
    with state.app.app_context(), _reading_session() as session:
        for sid, connection in local:
            user = session.get(User, connection.user_id)
            if not _still_valid(session, user, connection, now):
                socketio.server.disconnect(sid, namespace=NAMESPACE, ignore_queue=True)
                continue
            wanted = permissions.live_workspace_ids(session, user)
            for workspace_id in wanted - connection.workspaces:
                socketio.server.enter_room(sid, workspace_room(workspace_id), namespace=NAMESPACE)
            for workspace_id in connection.workspaces - wanted:
                socketio.server.leave_room(sid, workspace_room(workspace_id), namespace=NAMESPACE)
            connection.workspaces = wanted


def sweep_token_connections(state: Realtime) -> None:
    """Check the token connections again: a token may have expired while open."""
    with state.lock:
        users = {c.user_id for c in state.connections.values() if c.token_id is not None}
    if users:
        recheck(state, users)


def _still_valid(session: Session, user: User | None, connection: Connection, now: Any) -> bool:
    if user is None or not user.active:
        return False
    if connection.token_id is None:
        return live_session(session, connection.session_id, user.id, connection.epoch) is not None
    token = session.get(ApiToken, connection.token_id)
    return token is not None and token.user_id == user.id and token.usable(now)


def _after_redis_outage(state: Realtime, since: datetime) -> None:
    """Redis is back: what the other processes published meanwhile was lost here.
    Rooms are checked against the database, the events committed `since` are replayed
    to this process's clients, then each connection of this process is closed as a
    dropped network would close it: its client reconnects, and catches up from the
    activity feed as after any reconnection (API.md).

    The replay matters to a client that received this process's own events meanwhile:
    its cursor moved past the events of the other processes it never received, so its
    catch-up `after` that cursor alone would miss them."""
    with state.lock:
        sids = list(state.connections)
        users = {connection.user_id for connection in state.connections.values()}
    try:
        recheck(state, users)
    except Exception:
        log.exception("could not recheck live connections after the Redis outage")
    try:
        _replay(state, since)
    except Exception as error:
        _warn("replay of the events missed during the Redis outage failed", error)
    log.info("Redis is back: %d live connections reconnect to catch up", len(sids))
    for sid in sids:
        _drop_transport(sid)
        time.sleep(RECONNECT_SPREAD_SECONDS / len(sids))


def _replay(state: Realtime, since: datetime) -> None:
    """Send this process's clients (only: every process replays for its own) the
    `activity` and `notification` messages of the events committed since `since`."""
    with state.app.app_context(), _reading_session() as session:
        rows = session.scalars(
            select(Event).where(Event.at >= since).order_by(Event.id).limit(REPLAY_LIMIT + 1)
        ).all()
        if len(rows) > REPLAY_LIMIT:
            log.warning(
                "more than %d events since %s: not replayed, clients catch up from the feed",
                REPLAY_LIMIT,
                since.isoformat(),
            )
            return
        committed = [CommittedEvent.of(row) for row in rows]
        log.info("Redis is back: replaying %d events to this process's clients", len(committed))
        for event in committed:
            try:
                _emit_activity(session, event, local=True)
            except Exception as error:
                _warn(f"replay of event {event.id} failed", error)
        _send_notifications(session, committed, local=True)


def _drop_transport(sid: str) -> None:
    """End a connection as a network failure would, with no close message: Socket.IO
    clients reconnect by themselves after that, not after a close from the server."""
    eio_sid = socketio.server.manager.eio_sid_from_sid(sid, NAMESPACE)
    transport = socketio.server.eio.sockets.pop(eio_sid, None) if eio_sid else None
    if transport is not None:
        transport.close(wait=False, abort=True)


def _on_control(state: Realtime, message: dict[str, Any]) -> None:
    """A control message from another process (see manager.py)."""
    user_ids = message.get("recheck")
    if isinstance(user_ids, list):
        recheck(state, {uid for uid in user_ids if isinstance(uid, int)})


# --- fan-out ------------------------------------------------------------------


def _emit(event: str, payload: Any, to: Any, *, local: bool = False) -> None:
    """Emit to rooms of every process, or with `local` of this process only (the
    manager's `ignore_queue`: nothing is published to Redis)."""
    try:
        socketio.emit(event, payload, to=to, namespace=NAMESPACE, ignore_queue=local)
    except Exception:
        log.exception("could not emit %s; clients catch up from the activity feed", event)


def activity_payload(session: Session, event: CommittedEvent) -> dict[str, Any]:
    """The `activity` message of API.md (the feed's shape, without `data`)."""
    actor = session.get(User, event.actor_id) if event.actor_id is not None else None
    item = session.get(Item, event.item_id) if event.item_id is not None else None
    return activity_json(event, actor, item, with_data=False)


def _fan_out(committed: list[CommittedEvent]) -> None:
    """The `events` subscriber: after a commit, change rooms, then emit."""
    state = _state()
    if state is None:
        return
    with _reading_session() as session:
        changed: set[int] = set()
        try:
            for event in committed:
                changed |= permissions.users_whose_access_changed(session, event)
        except Exception:
            log.exception("could not tell whose access changed; rechecking nobody")
        if changed:
            _apply_access_changes(state, changed)
        for event in committed:
            try:
                _emit_activity(session, event)
                if event.verb in ("member.added", "member.removed") and event.workspace_id:
                    _announce_membership(state, event)
            except Exception as error:
                _warn(f"live fan-out of event {event.id} failed", error)
        _send_notifications(session, committed)


def _emit_activity(session: Session, event: CommittedEvent, *, local: bool = False) -> None:
    """The event's `activity` message to the rooms of its audience."""
    audience = sorted(permissions.event_audience(session, event))
    if audience:
        # `audience`: the groups whose pages show it (an item shared into a
        # group shows on that group's pages too).
        payload = activity_payload(session, event) | {"audience": audience}
        _emit("activity", payload, [workspace_room(ws) for ws in audience], local=local)


def _apply_access_changes(state: Realtime, user_ids: set[int]) -> None:
    try:
        recheck(state, user_ids)
    except Exception:
        log.exception("could not recheck live connections of users %s", sorted(user_ids))
    if state.manager is not None:
        try:
            state.manager.publish_control({"recheck": sorted(user_ids)})
        except Exception:
            log.exception("could not send the recheck of users %s to other processes", user_ids)


def _announce_membership(state: Realtime, event: CommittedEvent) -> None:
    """A member who is online joined or left: the workspace's presence changed."""
    user_id = event.data.get("user_id")
    if isinstance(user_id, int) and event.workspace_id and state.presence.online([user_id]):
        state.announce_presence({event.workspace_id})


def _send_notifications(
    session: Session, committed: list[CommittedEvent], *, local: bool = False
) -> None:
    by_id = {event.id: event for event in committed}
    try:
        rows = session.scalars(
            select(Notification).where(Notification.event_id.in_(by_id)).order_by(Notification.id)
        ).all()
        for notification in rows:
            user = session.get(User, notification.user_id)
            if user is None or not user.active:
                continue
            visible = session.scalar(
                permissions.visible_notifications(user)
                .where(Notification.id == notification.id)
                .with_only_columns(Notification.id)
            )
            if visible is not None:
                _emit(
                    "notification",
                    notification_json(notification, by_id[notification.event_id]),
                    user_room(user.id),
                    local=local,
                )
    except Exception:
        log.exception("could not send live notifications")
