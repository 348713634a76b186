"""Notifications list only what their user may still read."""

from __future__ import annotations

from portal import events
from portal.accounts.models import Notification
from portal.extensions import db
from portal.workspaces.models import Workspace


def _notify(app, user_id, workspace_id):
    with app.app_context():
        event = events.record(
            "member.added", actor=None, workspace=db.session.get(Workspace, workspace_id)
        )
        db.session.flush()
        db.session.add(Notification(user_id=user_id, event_id=event.id))
        db.session.commit()


def test_notifications_are_listed_and_marked_read(app, as_user, world):
    _notify(app, world.member.id, world.ws_id)
    client = as_user(world.member)

    listed = client.get("/me/notifications?unread=true").get_json()
    marked = client.post("/me/notifications/read", {"ids": [listed["items"][0]["id"]]})

    assert listed["total"] == 1
    assert listed["items"][0]["event"]["verb"] == "member.added"
    assert marked.get_json() == {"marked": 1}
    assert client.get("/me/notifications?unread=true").get_json()["total"] == 0
    assert client.get("/me/notifications").get_json()["total"] == 1


def test_notification_about_a_workspace_one_left_disappears(app, as_user, world):
    _notify(app, world.member.id, world.ws_id)
    as_user(world.coordinator).delete(f"/workspaces/{world.ws_id}/members/{world.member.id}")

    assert as_user(world.member).get("/me/notifications").get_json()["total"] == 0


def test_nobody_marks_another_users_notifications(app, as_user, world):
    _notify(app, world.member.id, world.ws_id)
    theirs = as_user(world.member).get("/me/notifications").get_json()["items"][0]["id"]

    response = as_user(world.observer).post("/me/notifications/read", {"ids": [theirs]})

    assert response.get_json() == {"marked": 0}
    assert as_user(world.member).get("/me/notifications?unread=true").get_json()["total"] == 1
