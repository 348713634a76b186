"""Meetings: local times across daylight-saving changes, status moves, minutes with
revisions and stale writes, the agenda and its order, outcomes that create tasks,
attendance and the notifications it brings, bad input."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Notification
from portal.events import Event
from portal.extensions import db
from portal.meetings.models import AgendaItem, Meeting, Outcome
from portal.tasks.models import Task
from portal.workspaces.models import TextRevision

from ..workspaces.planning_world import make_planning_world


@pytest.fixture
def pw(app):
    with app.app_context():
        world = make_planning_world()
        db.session.remove()
        return world


def _state(app) -> tuple[int, ...]:
    """Row counts that any change would move."""
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Event, Meeting, AgendaItem, Outcome, Task, TextRevision)
        )


def _meeting(client, ws_id: int, **fields):
    body = {
        "title": "Comité",
        "starts_at": "2026-06-10T14:00:00+00:00",
        "ends_at": "2026-06-10T15:00:00+00:00",
        "timezone": "America/Panama",
    } | fields
    response = client.post(f"/workspaces/{ws_id}/meetings", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- time zones ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "starts_at", "ends_at", "utc_start", "local_start", "local_end"),
    [
        # Chile leaves summer time on 2026-04-05 at 00:00 (-03 → -04).
        (
            "America/Santiago",
            "2026-04-03T10:00:00-03:00",
            "2026-04-03T11:00:00-03:00",
            "2026-04-03T13:00:00+00:00",
            "2026-04-03T10:00:00-03:00",
            "2026-04-03T11:00:00-03:00",
        ),
        (
            "America/Santiago",
            "2026-04-10T14:00:00Z",
            "2026-04-10T15:00:00Z",
            "2026-04-10T14:00:00+00:00",
            "2026-04-10T10:00:00-04:00",
            "2026-04-10T11:00:00-04:00",
        ),
        # Three hours in UTC across the switch, two hours on the wall clock.
        (
            "America/Santiago",
            "2026-04-05T01:00:00Z",
            "2026-04-05T04:00:00Z",
            "2026-04-05T01:00:00+00:00",
            "2026-04-04T22:00:00-03:00",
            "2026-04-05T00:00:00-04:00",
        ),
        # and enters it again on 2026-09-06 at 04:00 UTC (-04 → -03).
        (
            "America/Santiago",
            "2026-09-04T10:00:00-04:00",
            "2026-09-04T11:00:00-04:00",
            "2026-09-04T14:00:00+00:00",
            "2026-09-04T10:00:00-04:00",
            "2026-09-04T11:00:00-04:00",
        ),
        (
            "America/Santiago",
            "2026-09-11T13:00:00Z",
            "2026-09-11T14:00:00Z",
            "2026-09-11T13:00:00+00:00",
            "2026-09-11T10:00:00-03:00",
            "2026-09-11T11:00:00-03:00",
        ),
        # Spain leaves summer time on 2026-10-25 (+02 → +01).
        (
            "Europe/Madrid",
            "2026-10-23T10:00:00+02:00",
            "2026-10-23T12:00:00+02:00",
            "2026-10-23T08:00:00+00:00",
            "2026-10-23T10:00:00+02:00",
            "2026-10-23T12:00:00+02:00",
        ),
        (
            "Europe/Madrid",
            "2026-10-30T09:00:00Z",
            "2026-10-30T11:00:00Z",
            "2026-10-30T09:00:00+00:00",
            "2026-10-30T10:00:00+01:00",
            "2026-10-30T12:00:00+01:00",
        ),
    ],
)
def test_times_are_kept_in_utc_and_given_in_local_time_across_dst(
    pw, as_user, zone, starts_at, ends_at, utc_start, local_start, local_end
):
    member = as_user(pw.member)
    created = _meeting(member, pw.ws_id, timezone=zone, starts_at=starts_at, ends_at=ends_at)
    meeting = member.get(f"/meetings/{created['id']}").get_json()
    assert meeting["starts_at"] == utc_start
    assert meeting["timezone"] == zone
    assert meeting["local_starts_at"] == local_start
    assert meeting["local_ends_at"] == local_end


def test_the_same_local_hour_a_week_apart_moves_in_utc_across_dst(pw, as_user):
    member = as_user(pw.member)
    before = _meeting(
        member,
        pw.ws_id,
        timezone="Europe/Madrid",
        starts_at="2026-10-21T10:00:00+02:00",
        ends_at="2026-10-21T11:00:00+02:00",
    )
    after = _meeting(
        member,
        pw.ws_id,
        timezone="Europe/Madrid",
        starts_at="2026-10-28T10:00:00+01:00",
        ends_at="2026-10-28T11:00:00+01:00",
    )
    assert before["starts_at"].endswith("T08:00:00+00:00")
    assert after["starts_at"].endswith("T09:00:00+00:00")
    assert before["local_starts_at"][11:16] == after["local_starts_at"][11:16] == "10:00"
    listed = member.get(f"/workspaces/{pw.ws_id}/meetings?from=2026-10-20&to=2026-10-29").get_json()
    assert [m["id"] for m in listed["items"]] == [before["id"], after["id"]]


# --- status, minutes, notifications -------------------------------------------------


def test_status_moves_forward_only(pw, as_user):
    member = as_user(pw.member)
    planned = _meeting(member, pw.ws_id)
    url = f"/meetings/{planned['id']}"
    assert member.patch(url, json={"status": "held"}).status_code == 409
    assert member.patch(url, json={"status": "in_progress"}).status_code == 200
    assert member.patch(url, json={"status": "planned"}).status_code == 409
    assert member.patch(url, json={"status": "held"}).status_code == 200
    assert member.patch(url, json={"status": "cancelled"}).status_code == 409
    assert member.get(url).get_json()["status"] == "held"


def test_a_stale_minutes_write_gets_409_and_the_history_keeps_both_writers(app, pw, as_user):
    member, coordinator = as_user(pw.member), as_user(pw.coordinator)
    url = f"/meetings/{pw.meeting_id}"
    etag = member.get(url).headers["ETag"]
    first = coordinator.patch(url, json={"minutes": "1. Se revisó el piloto."})
    assert first.status_code == 200
    before = _state(app)

    stale = member.patch(url, json={"minutes": "1. Otra versión"}, headers={"If-Match": etag})

    assert stale.status_code == 409
    assert stale.get_json()["error"]["current"]["minutes"] == "1. Se revisó el piloto."
    assert _state(app) == before
    fresh = member.patch(
        url,
        json={"minutes": "1. Se revisó el piloto.\n2. Próxima reunión en enero."},
        headers={"If-Match": first.headers["ETag"]},
    )
    assert fresh.status_code == 200
    revisions = member.get(f"{url}/minutes/revisions").get_json()["items"]
    assert [r["number"] for r in revisions] == [2, 1]
    assert revisions[1]["author"]["id"] == pw.coordinator.id


def _notified(app, user_id: int, verb: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .join(Event, Event.id == Notification.event_id)
            .where(Notification.user_id == user_id, Event.verb == verb)
        )


def test_attendees_hear_of_a_new_time_and_of_a_cancellation(app, pw, as_user):
    member, coordinator, observer = (
        as_user(pw.member),
        as_user(pw.coordinator),
        as_user(pw.observer),
    )
    planned = _meeting(member, pw.ws_id)
    url = f"/meetings/{planned['id']}"
    assert coordinator.put(f"{url}/attendance", json={"response": "yes"}).status_code == 200
    assert observer.put(f"{url}/attendance", json={"response": "no"}).status_code == 200

    assert member.patch(url, json={"starts_at": "2026-06-10T15:00:00+00:00"}).status_code == 400
    moved = member.patch(
        url, json={"starts_at": "2026-06-10T15:00:00Z", "ends_at": "2026-06-10T16:00:00Z"}
    )
    assert moved.status_code == 200
    assert member.patch(url, json={"location": "Sala 3"}).status_code == 200
    assert member.patch(url, json={"status": "cancelled"}).status_code == 200

    assert _notified(app, pw.coordinator.id, "meeting.rescheduled") == 1
    assert _notified(app, pw.coordinator.id, "meeting.cancelled") == 1
    assert _notified(app, pw.observer.id, "meeting.rescheduled") == 0
    assert _notified(app, pw.observer.id, "meeting.cancelled") == 0
    detail = member.get(url).get_json()
    assert {a["user"]["id"]: a["response"] for a in detail["attendance"]} == {
        pw.coordinator.id: "yes",
        pw.observer.id: "no",
    }
    assert coordinator.put(f"{url}/attendance", json={"response": "maybe"}).status_code == 409


# --- agenda -------------------------------------------------------------------------


def test_agenda_and_backlog_and_reordering_in_one_request(app, pw, as_user):
    member = as_user(pw.member)
    meeting_url = f"/meetings/{pw.meeting_id}"
    second = member.post(f"{meeting_url}/agenda", json={"title": "Interoperabilidad"})
    third = member.post(f"{meeting_url}/agenda", json={"title": "Hoja de ruta 2027"})
    ids = [pw.agenda_id, second.get_json()["id"], third.get_json()["id"]]
    detail = member.get(meeting_url).get_json()
    assert [p["id"] for p in detail["agenda"]] == ids
    assert [p["title"] for p in detail["backlog"]] == ["Tarifas 2027"]
    assert detail["agenda"][0]["presenter"]["id"] == pw.member.id

    reordered = member.put(f"{meeting_url}/agenda/order", json={"ids": ids[::-1]})
    assert reordered.status_code == 200
    assert [p["id"] for p in reordered.get_json()["agenda"]] == ids[::-1]

    before = _state(app)
    for bad in (ids[:2], [*ids, pw.backlog_id], [*ids, ids[0]], [*ids[:2], 999999]):
        response = member.put(f"{meeting_url}/agenda/order", json={"ids": bad})
        assert response.status_code == 400
        assert "ids" in response.get_json()["error"]["fields"]
    assert _state(app) == before
    assert [p["id"] for p in member.get(meeting_url).get_json()["agenda"]] == ids[::-1]

    # Scheduling a backlog point puts it at the end of the agenda.
    member.patch(f"/agenda-items/{pw.backlog_id}", json={"scheduled": True})
    detail = member.get(meeting_url).get_json()
    assert [p["id"] for p in detail["agenda"]] == [*ids[::-1], pw.backlog_id]
    assert detail["backlog"] == []


def test_agenda_writes_honour_the_meetings_etag(pw, as_user):
    member, coordinator = as_user(pw.member), as_user(pw.coordinator)
    etag = member.get(f"/meetings/{pw.meeting_id}").headers["ETag"]
    coordinator.patch(f"/agenda-items/{pw.agenda_id}", json={"duration_minutes": 30})
    response = member.patch(
        f"/agenda-items/{pw.agenda_id}", json={"duration_minutes": 10}, headers={"If-Match": etag}
    )
    assert response.status_code == 409
    assert (
        member.get(f"/meetings/{pw.meeting_id}").get_json()["agenda"][0]["duration_minutes"] == 30
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": "20"}, "duration_minutes"),
        ({"presenter_id": "{outsider}"}, "presenter_id"),
        ({"presenter_id": "{bystander}"}, "presenter_id"),
        ({"document_id": "{memo}"}, "document_id"),
        ({"document_id": 999999}, "document_id"),
        ({"scheduled": "yes"}, "scheduled"),
        ({"title": None}, "title"),
    ],
)
def test_bad_agenda_input_is_refused_and_changes_nothing(app, pw, as_user, body, field):
    ids = {"outsider": pw.outsider.id, "bystander": pw.bystander.id, "memo": pw.memo_id}
    body = {k: ids[v[1:-1]] if isinstance(v, str) and v.startswith("{") else v
            for k, v in body.items()}  # fmt: skip
    member = as_user(pw.member)
    before = _state(app)
    detail = member.get(f"/meetings/{pw.meeting_id}").get_json()

    response = member.patch(f"/agenda-items/{pw.agenda_id}", json=body)

    assert response.status_code == 400, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert _state(app) == before
    assert member.get(f"/meetings/{pw.meeting_id}").get_json() == detail


# --- outcomes -----------------------------------------------------------------------


def test_a_task_outcome_creates_a_linked_task_readable_where_the_meeting_is(app, pw, as_user):
    member = as_user(pw.member)
    response = member.post(
        f"/agenda-items/{pw.agenda_id}/outcomes",
        json={
            "kind": "task",
            "text": "Preparar el informe del piloto para la próxima reunión.",
            "task": {
                "title": "Informe del piloto",
                "assignee_ids": [pw.editor.id],
                "due_date": "2026-12-20",
            },
        },
    )
    assert response.status_code == 201, response.get_json()
    outcome = response.get_json()
    task = as_user(pw.editor).get(f"/tasks/{outcome['task_id']}").get_json()
    assert task["meeting_id"] == pw.meeting_id
    assert task["title"] == "Informe del piloto" and task["due_date"] == "2026-12-20"
    assert [a["id"] for a in task["assignees"]] == [pw.editor.id]
    assert _notified(app, pw.editor.id, "task.assigned") == 1
    outcomes = member.get(f"/agenda-items/{pw.agenda_id}/outcomes").get_json()["items"]
    assert [(o["kind"], o["task_id"]) for o in outcomes] == [("task", task["id"])]
    agenda = member.get(f"/meetings/{pw.meeting_id}").get_json()["agenda"]
    assert agenda[0]["outcomes"][0]["task_id"] == task["id"]


def test_outcomes_only_while_in_progress(app, pw, as_user):
    member = as_user(pw.member)
    member.patch(f"/meetings/{pw.meeting_id}", json={"status": "held"})
    before = _state(app)
    response = member.post(
        f"/agenda-items/{pw.agenda_id}/outcomes", json={"kind": "decision", "text": "Tarde"}
    )
    assert response.status_code == 409
    assert _state(app) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "task", "text": "Sin tarea"}, "task"),
        ({"kind": "decision", "text": "x", "task": {"title": "No"}}, "task"),
        ({"kind": "vote", "text": "x"}, "kind"),
        ({"kind": "decision", "text": ""}, "text"),
        (
            {"kind": "task", "text": "x", "task": {"title": "T", "assignee_ids": [999999]}},
            "task.assignee_ids",
        ),
    ],
)
def test_bad_outcomes_are_refused_and_change_nothing(app, pw, as_user, body, field):
    before = _state(app)
    response = as_user(pw.member).post(f"/agenda-items/{pw.agenda_id}/outcomes", json=body)
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]
    assert _state(app) == before


# --- bad meeting input --------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"ends_at": "2026-06-10T13:00:00+00:00"}, "ends_at"),
        ({"ends_at": "2026-06-10T14:00:00+00:00"}, "ends_at"),
        ({"timezone": "America/Atlantis"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"starts_at": "2026-06-10T14:00:00"}, "starts_at"),
        ({"starts_at": "mañana"}, "starts_at"),
        ({"online_url": "javascript:alert(1)"}, "online_url"),
        ({"status": "held"}, "status"),
        ({"title": ""}, "title"),
        ({"agenda": []}, "agenda"),
    ],
)
def test_bad_meetings_are_refused_and_change_nothing(app, pw, as_user, fields, field):
    before = _state(app)
    body = {
        "title": "Comité",
        "starts_at": "2026-06-10T14:00:00+00:00",
        "ends_at": "2026-06-10T15:00:00+00:00",
        "timezone": "America/Panama",
    } | fields
    response = as_user(pw.member).post(f"/workspaces/{pw.ws_id}/meetings", json=body)
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]
    assert _state(app) == before


def test_bad_query_strings_are_400(pw, as_user):
    member = as_user(pw.member)
    assert member.get(f"/workspaces/{pw.ws_id}/meetings?from=yesterday").status_code == 400
    assert member.get(f"/workspaces/{pw.ws_id}/meetings?to=2026-13-01").status_code == 400
