"""Tasks: assignees who can read them, completion, filters, stale writes, bad input."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Notification
from portal.events import Event
from portal.extensions import db
from portal.tasks.models import Task

from ..workspaces.planning_world import make_planning_world


@pytest.fixture
def pw(app):
    with app.app_context():
        world = make_planning_world()
        db.session.remove()
        return world


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(Task)),
            db.session.scalar(select(func.count()).select_from(Event)),
        )


def test_a_new_task_notifies_its_assignees_but_not_its_author(pw, as_user):
    member = as_user(pw.member)
    response = member.post(
        f"/workspaces/{pw.ws_id}/tasks",
        json={
            "title": "Actualizar el manual de la VUCE",
            "priority": "high",
            "due_date": "2026-12-01",
            "assignee_ids": [pw.coordinator.id, pw.member.id],
        },
    )
    assert response.status_code == 201
    task = response.get_json()
    assert response.headers["ETag"] == f'"{task["id"]}.{task["version"]}"'
    assert {a["id"] for a in task["assignees"]} == {pw.coordinator.id, pw.member.id}
    assert task["due_date"] == "2026-12-01" and task["completed_at"] is None

    notes = as_user(pw.coordinator).get("/me/notifications").get_json()["items"]
    assert [(n["event"]["verb"], n["event"]["item_id"]) for n in notes] == [
        ("task.assigned", task["id"])
    ]
    mine = member.get("/me/notifications").get_json()["items"]
    assert not any(n["event"]["item_id"] == task["id"] for n in mine)


@pytest.mark.parametrize("who", ["outsider", "bystander"])
def test_assignees_must_be_able_to_read_the_task(app, pw, as_user, who):
    before = _counts(app)
    response = as_user(pw.member).post(
        f"/workspaces/{pw.ws_id}/tasks",
        json={"title": "Imposible", "assignee_ids": [getattr(pw, who).id]},
    )
    assert response.status_code == 400
    assert "assignee_ids" in response.get_json()["error"]["fields"]
    assert _counts(app) == before


def _notified(app, user_id: int, verb: str) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(Event.item_id)
                .join(Notification, Notification.event_id == Event.id)
                .where(Notification.user_id == user_id, Event.verb == verb)
            )
        )


def test_members_of_a_sharing_group_may_be_assigned(app, pw, as_user):
    response = as_user(pw.member).patch(
        f"/tasks/{pw.task_id}", json={"assignee_ids": [pw.editor.id, pw.viewer.id]}
    )
    assert response.status_code == 200
    assert {a["id"] for a in response.get_json()["assignees"]} == {pw.editor.id, pw.viewer.id}
    assert _notified(app, pw.viewer.id, "task.assigned") == [pw.task_id]
    assert _notified(app, pw.editor.id, "task.assigned") == [pw.task_id]


def test_a_sharing_group_member_lists_their_assignment(pw, as_user):
    as_user(pw.member).patch(f"/tasks/{pw.task_id}", json={"assignee_ids": [pw.viewer.id]})
    notes = as_user(pw.viewer).get("/me/notifications").get_json()["items"]
    verbs = [n["event"]["verb"] for n in notes]
    assert verbs[0] == "task.assigned"  # newest first; the shares told them before
    assert set(verbs[1:]) <= {"item.shared"}


def test_completed_at_follows_the_status(pw, as_user):
    member = as_user(pw.member)
    done = member.patch(f"/tasks/{pw.task_id}", json={"status": "done"}).get_json()
    assert done["status"] == "done" and done["completed_at"] is not None
    again = member.patch(f"/tasks/{pw.task_id}", json={"status": "done"}).get_json()
    assert again["completed_at"] == done["completed_at"]
    reopened = member.patch(f"/tasks/{pw.task_id}", json={"status": "doing"}).get_json()
    assert reopened["completed_at"] is None


def test_filters(pw, as_user):
    member = as_user(pw.member)
    today = date.today()
    late = member.post(
        f"/workspaces/{pw.ws_id}/tasks",
        json={"title": "Atrasada", "due_date": (today - timedelta(days=3)).isoformat()},
    ).get_json()
    member.post(
        f"/workspaces/{pw.ws_id}/tasks",
        json={
            "title": "Hecha",
            "status": "done",
            "due_date": (today - timedelta(days=3)).isoformat(),
            "assignee_ids": [pw.coordinator.id],
        },
    )
    member.post(
        f"/workspaces/{pw.ws_id}/tasks",
        json={"title": "Futura", "due_date": (today + timedelta(days=30)).isoformat()},
    )

    def titles(query: str) -> set[str]:
        response = member.get(f"/workspaces/{pw.ws_id}/tasks?{query}")
        assert response.status_code == 200
        return {t["title"] for t in response.get_json()["items"]}

    assert titles("overdue=true") == {"Atrasada"}
    assert "Atrasada" not in titles("overdue=false")
    assert titles("status=done") == {"Hecha"}
    assert titles(f"assignee={pw.coordinator.id}") == {"Hecha"}
    assert titles(f"assignee={pw.member.id}") == {"Mapear los procesos de importación"}
    assert titles(f"due_before={today.isoformat()}") == {"Atrasada", "Hecha"}
    assert late["id"]
    assert member.get(f"/workspaces/{pw.ws_id}/tasks?status=later").status_code == 400
    assert member.get(f"/workspaces/{pw.ws_id}/tasks?due_before=soon").status_code == 400


def test_a_stale_write_gets_409_with_the_current_task(app, pw, as_user):
    member, coordinator = as_user(pw.member), as_user(pw.coordinator)
    etag = member.get(f"/tasks/{pw.task_id}").headers["ETag"]
    assert coordinator.patch(f"/tasks/{pw.task_id}", json={"priority": "urgent"}).status_code == 200
    before = _counts(app)

    response = member.patch(
        f"/tasks/{pw.task_id}", json={"priority": "low"}, headers={"If-Match": etag}
    )

    assert response.status_code == 409
    assert response.get_json()["error"]["current"]["priority"] == "urgent"
    assert _counts(app) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"status": "finished"}, "status"),
        ({"priority": 3}, "priority"),
        ({"due_date": "tomorrow"}, "due_date"),
        ({"assignee_ids": "everyone"}, "assignee_ids"),
        ({"assignee_ids": None}, "assignee_ids"),
        ({"title": None}, "title"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(app, pw, as_user, body, field):
    member = as_user(pw.member)
    before_task = member.get(f"/tasks/{pw.task_id}").get_json()
    before = _counts(app)

    response = member.patch(f"/tasks/{pw.task_id}", json=body)

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert any(name.startswith(field) for name in error["fields"])
    assert _counts(app) == before
    assert member.get(f"/tasks/{pw.task_id}").get_json() == before_task


def test_deleting_moves_to_the_trash(pw, as_user):
    coordinator = as_user(pw.coordinator)
    assert coordinator.delete(f"/tasks/{pw.task_id}").status_code == 200
    assert as_user(pw.member).get(f"/tasks/{pw.task_id}").status_code == 404
    trash = coordinator.get("/trash?kind=task").get_json()["items"]
    assert [t["id"] for t in trash] == [pw.task_id]
