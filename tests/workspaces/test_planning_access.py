"""Every task, meeting, agenda and calendar endpoint, called by every role of the item
matrix (`test_item_access.ITEM_ROLES`), in the same format as `ITEM_CASES`."""

from __future__ import annotations

from typing import Any

import pytest

from portal.extensions import db

from .planning_world import make_planning_world
from .test_item_access import by_every_role, check_role_case

# Words of the planning world's items that no 404 may contain.
HIDDEN_WORDS = ("importación", "Ventanilla", "Estado del piloto", "Tarifas")

# (method, path, body, expected statuses by role)
PLANNING_CASES: list[tuple[str, str, Any, str]] = [
    ("GET", "/workspaces/{ws}/tasks", None, "401 404 200 200 200 200 404 404"),
    (
        "POST",
        "/workspaces/{ws}/tasks",
        {"title": "Revisar tarifas", "assignee_ids": ["{member}"]},
        "401 404 403 201 201 201 404 404",
    ),
    ("GET", "/tasks/{task}", None, "401 404 200 200 200 200 200 200"),
    ("PATCH", "/tasks/{task}", {"status": "doing"}, "401 404 403 200 200 200 403 200"),
    ("DELETE", "/tasks/{task}", None, "401 404 403 403 200 200 403 403"),
    ("GET", "/workspaces/{ws}/meetings", None, "401 404 200 200 200 200 404 404"),
    (
        "POST",
        "/workspaces/{ws}/meetings",
        {
            "title": "Comité técnico",
            "starts_at": "2027-01-12T15:00:00+00:00",
            "ends_at": "2027-01-12T16:30:00+00:00",
            "timezone": "America/Lima",
        },
        "401 404 403 201 201 201 404 404",
    ),
    ("GET", "/meetings/{meeting}", None, "401 404 200 200 200 200 200 200"),
    ("PATCH", "/meetings/{meeting}", {"location": "Sala 2"}, "401 404 403 200 200 200 403 200"),
    ("DELETE", "/meetings/{meeting}", None, "401 404 403 403 200 200 403 403"),
    ("GET", "/meetings/{meeting}/minutes/revisions", None, "401 404 200 200 200 200 200 200"),
    (
        "POST",
        "/meetings/{meeting}/agenda",
        {"title": "Varios", "duration_minutes": 10},
        "401 404 403 201 201 201 403 201",
    ),
    ("PATCH", "/agenda-items/{agenda}", {"notes": "Ver anexo"}, "401 404 403 200 200 200 403 200"),
    ("DELETE", "/agenda-items/{backlog}", None, "401 404 403 200 200 200 403 200"),
    (
        "PUT",
        "/meetings/{meeting}/agenda/order",
        {"ids": ["{agenda}"]},
        "401 404 403 200 200 200 403 200",
    ),
    ("GET", "/agenda-items/{agenda}/outcomes", None, "401 404 200 200 200 200 200 200"),
    (
        "POST",
        "/agenda-items/{agenda}/outcomes",
        {"kind": "decision", "text": "Se aprueba el piloto"},
        "401 404 403 201 201 201 403 201",
    ),
    (
        "PUT",
        "/meetings/{meeting}/attendance",
        {"response": "yes"},
        "401 404 200 200 200 200 200 200",
    ),
    ("GET", "/meetings/{meeting}.ics", None, "401 404 200 200 200 200 200 200"),
    ("GET", "/workspaces/{ws}/calendar.ics", None, "401 404 200 200 200 200 404 404"),
    ("POST", "/me/calendar-token", None, "401 201 201 201 201 201 201 201"),
    ("DELETE", "/me/calendar-token", None, "401 200 200 200 200 200 200 200"),
]


@pytest.fixture
def planning_world(app):
    with app.app_context():
        world = make_planning_world()
        db.session.remove()
        return world


def planning_ids(world) -> dict[str, int]:
    return {
        "ws": world.ws_id, "other_ws": world.other_ws_id, "task": world.task_id,
        "member": world.member.id, "meeting": world.meeting_id, "agenda": world.agenda_id,
        "backlog": world.backlog_id,
    }  # fmt: skip


@by_every_role(PLANNING_CASES)
def test_planning_endpoint_by_role(app, planning_world, as_user, role, case):
    check_role_case(
        app, as_user, planning_world, role, case, planning_ids(planning_world), HIDDEN_WORDS
    )
