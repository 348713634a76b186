"""iCalendar export and the token-protected workspace feed, parsed back with `icalendar`."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import icalendar
import pytest
from sqlalchemy import select

from portal.accounts.models import CalendarToken, User
from portal.extensions import db
from portal.meetings import service as meetings_service
from portal.workspaces import items_service
from portal.workspaces.models import SharePermission, Workspace

from ..workspaces.planning_world import make_planning_world


@pytest.fixture
def cw(app):
    """The planning world plus a meeting of the other group (never in `ws`'s feed),
    a trashed meeting of `ws`, and a meeting of another group shared with `ws`."""
    with app.app_context():
        world = make_planning_world()
        outsider = db.session.get(User, world.outsider.id)
        coordinator = db.session.get(User, world.coordinator.id)
        other = db.session.get(Workspace, world.other_ws_id)
        ws = db.session.get(Workspace, world.ws_id)
        times = {
            "starts_at": datetime(2026, 12, 9, 13, tzinfo=UTC),
            "ends_at": datetime(2026, 12, 9, 14, tzinfo=UTC),
        }
        secret = meetings_service.create_meeting(
            outsider, other, title="Reunión reservada de aduanas", timezone="America/Lima", **times
        )
        shared = meetings_service.create_meeting(
            outsider, other, title="Taller abierto de aduanas", timezone="Europe/Madrid", **times
        )
        items_service.share(outsider, shared, ws, SharePermission.view)
        trashed = meetings_service.create_meeting(
            coordinator, ws, title="Reunión descartada", timezone="America/Bogota", **times
        )
        items_service.move_to_trash(coordinator, trashed)
        world.secret_meeting_id = secret.id
        world.shared_meeting_id = shared.id
        db.session.remove()
        return world


def _events(body: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(body)
    return {str(e["summary"]): e for e in calendar.walk("VEVENT")}


def _feed_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_one_meeting_exports_with_its_timezone(cw, as_user):
    response = as_user(cw.member).get(f"/meetings/{cw.meeting_id}.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    event = _events(response.data)["Reunión de coordinación de importación"]
    start = event.decoded("dtstart")
    assert start == datetime(2026, 12, 3, 14, tzinfo=UTC)
    assert str(start.tzinfo) == "America/Bogota"
    assert start.hour == 9
    assert event.decoded("dtend") == datetime(2026, 12, 3, 16, tzinfo=UTC)
    assert str(event["location"]) == "Sala de juntas, Cartagena"
    assert b"BEGIN:VTIMEZONE" in response.data


def test_the_feed_by_token_holds_exactly_what_its_user_may_read(cw, as_user, api):
    created = as_user(cw.observer).post("/me/calendar-token")
    assert created.status_code == 201
    body = created.get_json()
    feed = next(f for f in body["feeds"] if f["workspace_id"] == cw.ws_id)
    assert body["token"] in feed["url"]

    response = api.get(_feed_path(feed["url"]))  # no session: the token alone

    assert response.status_code == 200
    events = _events(response.data)
    assert set(events) == {"Reunión de coordinación de importación", "Taller abierto de aduanas"}
    assert events["Taller abierto de aduanas"].decoded("dtstart") == datetime(
        2026, 12, 9, 13, tzinfo=UTC
    )
    assert b"reservada" not in response.data and b"descartada" not in response.data
    # The token reads calendars only, and only the calendars of its user's groups.
    token = body["token"]
    assert api.get(f"/workspaces/{cw.other_ws_id}/calendar.ics?token={token}").status_code == 404
    assert api.get(f"/meetings/{cw.secret_meeting_id}.ics?token={token}").status_code == 404
    assert api.get(f"/meetings/{cw.meeting_id}.ics?token={token}").status_code == 200
    assert api.get(f"/workspaces/{cw.ws_id}/items?token={token}").status_code == 401


def test_only_the_hash_is_stored_and_rotation_and_revocation_take_effect_at_once(
    app, cw, as_user, api
):
    member = as_user(cw.member)
    first = member.post("/me/calendar-token").get_json()["token"]
    path = f"/workspaces/{cw.ws_id}/calendar.ics?token="
    assert api.get(path + first).status_code == 200
    with app.app_context():
        stored = db.session.scalars(select(CalendarToken.token_hash)).all()
        assert first not in stored and len(stored) == 1

    second = member.post("/me/calendar-token").get_json()["token"]
    assert api.get(path + first).status_code == 401
    assert api.get(path + second).status_code == 200

    assert member.delete("/me/calendar-token").get_json() == {"revoked": 1}
    refused = api.get(path + second)
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "unauthenticated"
    # A bad token is refused even alongside a valid session.
    assert member.get(path + second).status_code == 401
    assert member.get(f"/workspaces/{cw.ws_id}/calendar.ics").status_code == 200


def test_a_removed_member_or_a_deactivated_user_loses_the_feed(app, cw, as_user, api):
    token = as_user(cw.observer).post("/me/calendar-token").get_json()["token"]
    path = f"/workspaces/{cw.ws_id}/calendar.ics?token={token}"
    assert (
        as_user(cw.coordinator)
        .delete(f"/workspaces/{cw.ws_id}/members/{cw.observer.id}")
        .status_code
        == 200
    )
    assert api.get(path).status_code == 404

    token = as_user(cw.member).post("/me/calendar-token").get_json()["token"]
    path = f"/workspaces/{cw.ws_id}/calendar.ics?token={token}"
    assert (
        as_user(cw.secretariat).patch(f"/users/{cw.member.id}", json={"active": False}).status_code
        == 200
    )
    assert api.get(path).status_code == 401


def test_cancelled_meetings_stay_in_the_feed_marked_cancelled(cw, as_user):
    member = as_user(cw.member)
    member.patch(f"/meetings/{cw.meeting_id}", json={"status": "cancelled"})
    response = member.get(f"/workspaces/{cw.ws_id}/calendar.ics")
    event = _events(response.data)["Reunión de coordinación de importación"]
    assert str(event["status"]) == "CANCELLED"
    with_meeting = member.get(f"/meetings/{cw.meeting_id}").get_json()
    assert int(event["sequence"]) == with_meeting["version"]
