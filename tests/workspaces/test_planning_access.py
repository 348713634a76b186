"""Every task, meeting, agenda and calendar endpoint, called by every role of the item
matrix (`test_item_access.ITEM_ROLES`), in the same format as `ITEM_CASES`."""

from __future__ import annotations

from typing import Any

import pytest

from portal.extensions import db

from .planning_world import make_planning_world
from .test_item_access import ITEM_ROLES, _event_count

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
]


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    return value


@pytest.fixture
def planning_world(app):
    with app.app_context():
        world = make_planning_world()
        db.session.remove()
        return world


def planning_ids(world) -> dict[str, int]:
    return {
        "ws": world.ws_id, "other_ws": world.other_ws_id, "task": world.task_id,
        "member": world.member.id,
    }  # fmt: skip


@pytest.mark.parametrize("role", ITEM_ROLES)
@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    PLANNING_CASES,
    ids=[f"{m} {p}" for m, p, _, _ in PLANNING_CASES],
)
def test_planning_endpoint_by_role(
    app, planning_world, as_user, role, method, path, body, expected
):
    ids = planning_ids(planning_world)
    before = _event_count(app)

    response = as_user(getattr(planning_world, role)).request(
        method, path.format(**ids), json=_fill(body, ids)
    )

    statuses = dict(zip(ITEM_ROLES, (int(s) for s in expected.split()), strict=True))
    assert response.status_code == statuses[role], response.get_json()
    if response.status_code >= 400:
        assert set(response.get_json()["error"]) <= {"code", "message", "fields", "current"}
        assert _event_count(app) == before, "a refused request changed something"
    if response.status_code == 404:
        text = response.get_data(as_text=True)
        assert "importación" not in text and "Ventanilla" not in text
