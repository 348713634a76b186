"""Live updates through Flask-SocketIO's test client: who connects, who receives what."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask

from portal import events
from portal.accounts.models import Notification
from portal.extensions import db, socketio
from portal.workspaces.models import Item, Workspace

ACTIVITY_KEYS = {"event_id", "verb", "at", "actor", "workspace_id", "item", "audience"}


def _make_item(app: Flask, workspace_id: int, actor_id: int, title: str = "Berth plan") -> int:
    from portal.accounts.models import User
    from portal.memos import service as memos_service

    with app.app_context():
        actor = db.session.get(User, actor_id)
        item = memos_service.create_memo(actor, _ws(app, workspace_id), title=title, body="")
        item_id = item.id
        db.session.remove()
        return item_id


def _ws(app: Flask, workspace_id: int) -> Any:
    return db.session.get(Workspace, workspace_id)


def _verbs(socket: Any) -> list[str]:
    return [payload["verb"] for payload in socket.received("activity")]


# --- connecting ---------------------------------------------------------------


def test_anonymous_connection_is_refused(world: SimpleNamespace, connect: Any) -> None:
    assert not connect().connected


@pytest.mark.parametrize(
    "auth", [{"token": "pnp_not-a-real-token"}, {"token": ""}, {"token": 7}, {"x": 1}, "text", [1]]
)
def test_bad_credentials_are_refused(world: SimpleNamespace, connect: Any, auth: Any) -> None:
    assert not connect(auth=auth).connected


def test_revoked_token_and_stale_cookie_are_refused(
    world: SimpleNamespace, connect: Any, token_of: Any, as_user: Any
) -> None:
    token_id, plain = token_of(world.member)
    assert as_user(world.member).delete(f"/me/tokens/{token_id}").status_code == 200
    assert not connect(token=plain).connected
    assert (
        as_user(world.secretariat)
        .patch(f"/users/{world.observer.id}", json={"active": False})
        .status_code
        == 200
    )
    assert not connect(world.observer).connected  # its cookie's epoch has moved on


def test_cookie_and_token_connections_join_their_rooms(
    world: SimpleNamespace, connect: Any, token_of: Any
) -> None:
    by_cookie = connect(world.member)
    _, plain = token_of(world.observer)
    by_token = connect(token=plain)
    assert by_cookie.rooms() == {f"user:{world.member.id}", f"ws:{world.ws_id}"}
    assert by_token.rooms() == {f"user:{world.observer.id}", f"ws:{world.ws_id}"}
    assert connect(world.bystander).rooms() == {f"user:{world.bystander.id}"}
    assert connect(world.secretariat).rooms() == {
        f"user:{world.secretariat.id}",
        f"ws:{world.ws_id}",
        f"ws:{world.other_ws_id}",
    }


# --- delivery -----------------------------------------------------------------


def test_activity_reaches_the_workspace_and_nobody_else(
    world: SimpleNamespace, connect: Any, as_user: Any
) -> None:
    readers = [connect(world.coordinator), connect(world.member), connect(world.observer)]
    secretariat = connect(world.secretariat)
    outsiders = [connect(world.outsider), connect(world.bystander)]
    response = as_user(world.secretariat).patch(
        f"/workspaces/{world.ws_id}", json={"description": "Single window"}
    )
    assert response.status_code == 200
    for socket in [*readers, secretariat]:
        (payload,) = socket.received("activity")
        assert set(payload) == ACTIVITY_KEYS
        assert payload["verb"] == "workspace.updated"
        assert payload["workspace_id"] == world.ws_id
        assert payload["actor"] == {"id": world.secretariat.id, "name": world.secretariat.name}
        assert payload["item"] is None
        assert payload["at"].endswith("+00:00")
    for socket in outsiders:
        assert socket.received("activity") == []


@pytest.mark.parametrize(
    ("method", "path", "body", "verb"),
    [
        ("PATCH", "/workspaces/{ws}", {"description": "Ventanilla única"}, "workspace.updated"),
        ("DELETE", "/workspaces/{ws}", None, "workspace.archived"),
        ("PUT", "/workspaces/{ws}/members/{bystander}", {"role": "member"}, "member.added"),
        ("PUT", "/workspaces/{ws}/members/{observer}", {"role": "member"}, "member.role_changed"),
        ("DELETE", "/workspaces/{ws}/members/{member}", None, "member.removed"),
    ],
)
def test_each_workspace_verb_is_delivered_to_members_only(
    world: SimpleNamespace, connect: Any, as_user: Any, method: str, path: str, body: Any, verb: str
) -> None:
    coordinator, outsider = connect(world.coordinator), connect(world.outsider)
    url = path.format(
        ws=world.ws_id,
        bystander=world.bystander.id,
        observer=world.observer.id,
        member=world.member.id,
    )
    response = as_user(world.secretariat).request(method, url, body)
    assert response.status_code == 200
    assert _verbs(coordinator) == [verb]
    assert _verbs(outsider) == []


def test_activity_carries_the_event_id_of_the_feed(
    app: Flask, world: SimpleNamespace, connect: Any, as_user: Any
) -> None:
    member = connect(world.member)
    as_user(world.coordinator).put(
        f"/workspaces/{world.ws_id}/members/{world.bystander.id}", json={"role": "observer"}
    )
    (payload,) = member.received("activity")
    with app.app_context():
        last = db.session.scalar(db.select(events.Event).order_by(events.Event.id.desc()))
        assert (payload["event_id"], payload["verb"]) == (last.id, "member.added")


@pytest.mark.parametrize(
    "verb",
    [
        "item.created",
        "item.updated",
        "item.deleted",
        "item.shared",
        "comment.created",
        "publication.approved",
    ],
)
def test_item_events_reach_the_owner_workspace_only(
    app: Flask, world: SimpleNamespace, connect: Any, verb: str
) -> None:
    item_id = _make_item(app, world.ws_id, world.member.id)
    member, outsider = connect(world.member), connect(world.outsider)
    with app.app_context():
        item = db.session.get(Item, item_id)
        # Without a workspace on the event: the item's owner decides.
        events.record(verb, actor=None, item=item)
        db.session.commit()
    (payload,) = member.received("activity")
    assert payload["verb"] == verb
    assert payload["item"] == {"id": item_id, "kind": "memo", "title": "Berth plan"}
    assert payload["actor"] is None
    assert outsider.received("activity") == []


def test_a_rolled_back_change_emits_nothing(
    app: Flask, world: SimpleNamespace, connect: Any
) -> None:
    member = connect(world.member)
    with app.app_context():
        events.record("workspace.updated", actor=None, workspace=_ws(app, world.ws_id))
        db.session.flush()
        db.session.rollback()
        db.session.commit()
    assert member.received("activity") == []


def test_events_without_a_workspace_go_to_nobody(
    world: SimpleNamespace, connect: Any, as_user: Any
) -> None:
    sockets = [connect(world.secretariat), connect(world.member)]
    as_user(world.member).patch("/me", json={"name": "Renamed Person"})
    as_user(world.secretariat).post("/users", json={"email": "new@ports.example", "name": "New"})
    assert all(s.received("activity") == [] for s in sockets)


def test_notifications_go_to_their_user_only(
    app: Flask, world: SimpleNamespace, connect: Any
) -> None:
    member, coordinator = connect(world.member), connect(world.coordinator)
    with app.app_context():
        event = events.record("workspace.updated", actor=None, workspace=_ws(app, world.ws_id))
        db.session.flush()
        notification = Notification(user_id=world.member.id, event_id=event.id)
        db.session.add(notification)
        db.session.commit()
        ids = (notification.id, event.id)
    (payload,) = member.received("notification")
    assert payload["id"] == ids[0]
    assert payload["read_at"] is None
    assert payload["event"]["id"] == ids[1]
    assert payload["event"]["verb"] == "workspace.updated"
    assert coordinator.received("notification") == []


def test_notification_about_an_unreadable_workspace_is_not_sent(
    app: Flask, world: SimpleNamespace, connect: Any
) -> None:
    bystander = connect(world.bystander)
    with app.app_context():
        event = events.record("workspace.updated", actor=None, workspace=_ws(app, world.ws_id))
        db.session.flush()
        db.session.add(Notification(user_id=world.bystander.id, event_id=event.id))
        db.session.commit()
    assert bystander.received("notification") == []


# --- rooms follow permissions -------------------------------------------------


def test_added_member_receives_without_reconnecting(
    world: SimpleNamespace, connect: Any, as_user: Any
) -> None:
    bystander = connect(world.bystander)
    coordinator = as_user(world.coordinator)
    coordinator.put(
        f"/workspaces/{world.ws_id}/members/{world.bystander.id}", json={"role": "member"}
    )
    assert f"ws:{world.ws_id}" in bystander.rooms()
    as_user(world.secretariat).patch(f"/workspaces/{world.ws_id}", json={"name": "Renamed"})
    assert _verbs(bystander) == ["member.added", "workspace.updated"]


def test_observer_removed_mid_session_stops_receiving(
    world: SimpleNamespace, connect: Any, as_user: Any
) -> None:
    observer, member = connect(world.observer), connect(world.member)
    as_user(world.coordinator).delete(f"/workspaces/{world.ws_id}/members/{world.observer.id}")
    assert observer.connected
    assert observer.rooms() == {f"user:{world.observer.id}"}
    as_user(world.secretariat).patch(f"/workspaces/{world.ws_id}", json={"name": "Renamed"})
    assert _verbs(observer) == []
    assert _verbs(member) == ["member.removed", "workspace.updated"]


def test_member_of_another_group_never_receives(
    app: Flask, world: SimpleNamespace, connect: Any, as_user: Any
) -> None:
    outsider = connect(world.outsider)
    _make_item(app, world.ws_id, world.member.id)
    as_user(world.coordinator).put(
        f"/workspaces/{world.ws_id}/members/{world.bystander.id}", json={"role": "member"}
    )
    assert outsider.received("activity") == []


def test_deactivated_user_is_disconnected(
    world: SimpleNamespace, connect: Any, token_of: Any, as_user: Any
) -> None:
    _, plain = token_of(world.member)
    sockets = [connect(world.member), connect(token=plain)]
    other = connect(world.observer)
    response = as_user(world.secretariat).patch(f"/users/{world.member.id}", json={"active": False})
    assert response.status_code == 200
    assert [s.connected for s in sockets] == [False, False]
    assert other.connected
    as_user(world.secretariat).patch(f"/workspaces/{world.ws_id}", json={"name": "Renamed"})
    assert all(s.received("activity") == [] for s in sockets)


def test_revoked_token_is_disconnected_and_the_cookie_stays(
    world: SimpleNamespace, connect: Any, token_of: Any, as_user: Any
) -> None:
    token_id, plain = token_of(world.member)
    by_token, by_cookie = connect(token=plain), connect(world.member)
    as_user(world.member).delete(f"/me/tokens/{token_id}")
    assert not by_token.connected
    assert by_cookie.connected


def test_a_token_that_expires_while_open_is_disconnected(
    app: Flask, world: SimpleNamespace, connect: Any, token_of: Any
) -> None:
    from datetime import timedelta

    from portal.accounts.models import ApiToken
    from portal.realtime.live import EXTENSION, sweep_token_connections

    token_id, plain = token_of(world.member)
    by_token, by_cookie = connect(token=plain), connect(world.member)
    with app.app_context():
        token = db.session.get(ApiToken, token_id)
        token.expires_at = events.utcnow() - timedelta(seconds=1)
        db.session.commit()
        sweep_token_connections(app.extensions[EXTENSION])  # what the heartbeat does
    assert not by_token.connected
    assert by_cookie.connected


def test_password_change_ends_cookie_connections(
    app: Flask, world: SimpleNamespace, connect: Any
) -> None:
    from portal.accounts import service
    from portal.accounts.models import User

    socket = connect(world.member)
    with app.app_context():
        user = db.session.get(User, world.member.id)
        service.update_user(user, user, {"password": "a-brand-new-password"})
    assert not socket.connected


def test_sign_out_disconnects_the_sockets_of_that_session_only(
    world: SimpleNamespace, connect: Any, as_user: Any
) -> None:
    leaving = as_user(world.member)
    mine, other = connect(http=leaving.client), connect(world.member)
    assert mine.connected and other.connected
    assert leaving.post("/auth/logout").status_code == 200
    assert not mine.connected
    assert other.connected


def test_secretariat_joins_a_new_workspace(
    world: SimpleNamespace, connect: Any, as_user: Any
) -> None:
    secretariat = connect(world.secretariat)
    created = as_user(world.secretariat).post("/workspaces", json={"name": "Nuevo Grupo"})
    new_id = created.get_json()["id"]
    assert f"ws:{new_id}" in secretariat.rooms()
    assert _verbs(secretariat) == ["workspace.created"]


# --- faults -------------------------------------------------------------------


def test_a_failing_emit_does_not_undo_the_change(
    app: Flask, world: SimpleNamespace, connect: Any, as_user: Any, monkeypatch: Any
) -> None:
    member = connect(world.member)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("the message queue is gone")

    monkeypatch.setattr(socketio, "emit", broken)
    response = as_user(world.secretariat).patch(
        f"/workspaces/{world.ws_id}", json={"name": "Still Renamed"}
    )
    assert response.status_code == 200
    assert member.received("activity") == []
    with app.app_context():
        assert db.session.get(Workspace, world.ws_id).name == "Still Renamed"


def test_after_a_redis_outage_the_events_since_it_are_replayed_locally(
    app: Flask, world: SimpleNamespace, connect: Any, monkeypatch: Any
) -> None:
    from portal.realtime import live

    member, coordinator = connect(world.member), connect(world.coordinator)
    since = events.utcnow()  # after the world's own events
    with app.app_context():
        event = events.record("workspace.updated", actor=None, workspace=_ws(app, world.ws_id))
        db.session.flush()
        db.session.add(Notification(user_id=world.member.id, event_id=event.id))
        db.session.commit()
        event_id = event.id
    member.clear()
    coordinator.clear()
    queued: list[tuple[str, bool]] = []
    emit = socketio.emit

    def spy(name: str, *args: Any, ignore_queue: bool = False, **kwargs: Any) -> None:
        if name in ("activity", "notification"):  # (not a presence announcement of a connect)
            queued.append((name, not ignore_queue))
        emit(name, *args, ignore_queue=ignore_queue, **kwargs)

    monkeypatch.setattr(socketio, "emit", spy)
    state = app.extensions[live.EXTENSION]

    live._replay(state, since)
    assert [payload["event_id"] for payload in member.received("activity")] == [event_id]
    assert [payload["event"]["id"] for payload in member.received("notification")] == [event_id]
    assert [payload["event_id"] for payload in coordinator.received("activity")] == [event_id]
    assert coordinator.received("notification") == []
    # Not published: every process replays for its own clients.
    assert queued == [("activity", False), ("notification", False)]

    member.clear()
    live._replay(state, events.utcnow())
    monkeypatch.setattr(live, "REPLAY_LIMIT", 0)
    live._replay(state, since)  # too many: the clients catch up from the feed instead
    assert member.received("activity") == []


# --- presence -----------------------------------------------------------------


def _online(payload: dict[str, Any]) -> set[int]:
    return {user["id"] for user in payload["users"]}


def test_presence_counts_tabs_once(world: SimpleNamespace, connect: Any) -> None:
    coordinator = connect(world.coordinator)
    coordinator.wait_for("presence", lambda p: _online(p) == {world.coordinator.id})
    first_tab = connect(world.member)
    arrived = coordinator.wait_for("presence", lambda p: world.member.id in _online(p))
    assert arrived == {
        "workspace_id": world.ws_id,
        "users": sorted(
            [
                {"id": world.coordinator.id, "name": world.coordinator.name},
                {"id": world.member.id, "name": world.member.name},
            ],
            key=lambda u: u["name"],
        ),
    }
    coordinator.clear()
    second_tab = connect(world.member)
    snapshot = second_tab.wait_for("presence")  # the newcomer learns who is online
    assert _online(snapshot) == {world.coordinator.id, world.member.id}
    first_tab.client.disconnect()
    time.sleep(0.6)  # longer than an announcement takes
    # Still online in the second tab: nothing announced the member gone.
    assert all(world.member.id in _online(p) for p in coordinator.received("presence"))
    second_tab.client.disconnect()
    left = coordinator.wait_for("presence")
    assert _online(left) == {world.coordinator.id}


def test_a_connection_that_ends_while_it_is_accepted_leaves_nothing_behind(
    app: Flask, world: SimpleNamespace, connect: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that goes away while its connect handler waits on the database (a
    reconnection storm) is no connection of the portal's afterwards: not in its rooms,
    not among its connections, and not shown online."""
    from portal import permissions

    coordinator = connect(world.coordinator)
    coordinator.wait_for("presence", lambda p: _online(p) == {world.coordinator.id})
    coordinator.clear()
    reading, release = threading.Event(), threading.Event()
    live_workspace_ids = permissions.live_workspace_ids

    def slow_database(session: Any, user: Any) -> set[int]:
        reading.set()
        release.wait(5)
        return live_workspace_ids(session, user)

    monkeypatch.setattr(permissions, "live_workspace_ids", slow_database)
    before = set(socketio.server.environ)
    arriving = threading.Thread(target=connect, args=(world.member,))
    arriving.start()
    assert reading.wait(5)
    (eio_sid,) = set(socketio.server.environ) - before
    socketio.server._handle_eio_disconnect(eio_sid, "transport close")  # as engine.io does
    release.set()
    arriving.join(5)

    state = app.extensions["portal.realtime"]
    assert world.member.id not in {c.user_id for c in state.connections.values()}
    assert socketio.server.manager.sid_from_eio_sid(eio_sid, "/") is None
    time.sleep(0.6)  # longer than an announcement takes
    assert all(world.member.id not in _online(p) for p in coordinator.received("presence"))


def test_presence_is_not_told_to_other_groups(world: SimpleNamespace, connect: Any) -> None:
    outsider = connect(world.outsider)
    outsider.wait_for("presence")
    outsider.clear()
    connect(world.member).wait_for("presence")
    assert all(p["workspace_id"] == world.other_ws_id for p in outsider.received("presence"))


def test_shared_item_events_reach_the_sharing_group_until_unshared(
    app: Flask, item_world: SimpleNamespace, connect: Any, as_user: Any
) -> None:
    viewer, outsider = connect(item_world.viewer), connect(item_world.outsider)
    editor = as_user(item_world.editor)

    editor.post(f"/items/{item_world.memo_id}/comments", {"body": "Revisado"})
    payload = viewer.wait_for("activity", lambda p: p["verb"] == "comment.created")
    assert payload["item"]["id"] == item_world.memo_id
    # The viewer's group shows the item too: its pages refresh on the event.
    assert item_world.view_ws_id in payload["audience"]
    assert payload["workspace_id"] in payload["audience"]
    assert outsider.received("activity") == []

    as_user(item_world.coordinator).delete(
        f"/items/{item_world.memo_id}/shares/{item_world.view_ws_id}"
    )
    viewer.clear()
    owner = connect(item_world.member)
    editor.post(f"/items/{item_world.memo_id}/comments", {"body": "Otra vez"})
    owner.wait_for("activity", lambda p: p["verb"] == "comment.created")
    assert [p["verb"] for p in viewer.received("activity")] == []
