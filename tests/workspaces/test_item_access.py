"""Every item endpoint, called by every role, including members of the groups an item
is shared with for view (`viewer`) and for edit (`editor`)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from portal.events import Event
from portal.extensions import db

ITEM_ROLES = [
    "anonymous", "outsider", "observer", "member", "coordinator", "secretariat", "viewer", "editor",
]  # fmt: skip

# (method, path, body, expected statuses by role)
ITEM_CASES: list[tuple[str, str, Any, str]] = [
    ("GET", "/workspaces/{ws}/items", None, "401 404 200 200 200 200 404 404"),
    ("GET", "/workspaces/{ws}/memos", None, "401 404 200 200 200 200 404 404"),
    (
        "POST",
        "/workspaces/{ws}/memos",
        {"title": "Acta", "body": "Texto"},
        "401 404 403 201 201 201 404 404",
    ),
    ("GET", "/memos/{memo}", None, "401 404 200 200 200 200 200 200"),
    ("PATCH", "/memos/{memo}", {"body": "Segunda versión"}, "401 404 403 200 200 200 403 200"),
    ("DELETE", "/memos/{memo}", None, "401 404 403 403 200 200 403 403"),
    ("GET", "/memos/{memo}/revisions", None, "401 404 200 200 200 200 200 200"),
    ("POST", "/memos/{memo}/revisions/1/restore", None, "401 404 403 200 200 200 403 200"),
    ("GET", "/items/{memo}/shares", None, "401 404 200 200 200 200 200 200"),
    (
        "POST",
        "/items/{memo}/shares",
        {"workspace_id": "{other_ws}", "permission": "view"},
        "401 404 403 403 201 201 403 403",
    ),
    ("DELETE", "/items/{memo}/shares/{view_ws}", None, "401 404 403 403 200 200 403 403"),
    ("GET", "/items/{memo}/comments", None, "401 404 200 200 200 200 200 200"),
    ("POST", "/items/{memo}/comments", {"body": "De acuerdo"}, "401 404 403 201 201 201 201 201"),
    ("GET", "/workspaces/{ws}/activity", None, "401 404 200 200 200 200 404 404"),
    ("GET", "/trash", None, "401 200 200 200 200 200 200 200"),
    ("POST", "/items/{trashed}/restore", None, "401 404 404 404 200 200 404 404"),
    ("GET", "/search?q=ventanilla", None, "401 200 200 200 200 200 200 200"),
    ("GET", "/public/search?q=ventanilla", None, "200 200 200 200 200 200 200 200"),
]


def _ids(world) -> dict[str, int]:
    return {
        "ws": world.ws_id, "other_ws": world.other_ws_id, "memo": world.memo_id,
        "trashed": world.trashed_id, "view_ws": world.view_ws_id,
    }  # fmt: skip


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    return value


def _event_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Event))


def by_every_role(cases: list[tuple[str, str, Any, str]]) -> Any:
    """Run a test once per role and case: `role` and `case` (method, path, body, expected)."""

    def decorate(test: Any) -> Any:
        by_case = pytest.mark.parametrize("case", cases, ids=[f"{m} {p}" for m, p, _, _ in cases])
        return pytest.mark.parametrize("role", ITEM_ROLES)(by_case(test))

    return decorate


def check_role_case(app, as_user, world, role, case, ids, hidden_words) -> None:
    """Call one endpoint as one role of `world`: the expected status, an envelope for every
    refusal, nothing changed by a refusal, and a 404 that names nothing hidden."""
    method, path, body, expected = case
    client = as_user(getattr(world, role))
    before = _event_count(app)

    response = client.request(method, path.format(**ids), json=_fill(body, ids))

    statuses = dict(zip(ITEM_ROLES, (int(s) for s in expected.split()), strict=True))
    assert response.status_code == statuses[role], response.get_json()
    if response.status_code >= 400:
        assert set(response.get_json()["error"]) <= {"code", "message", "fields", "current"}
        assert _event_count(app) == before, "a refused request changed something"
    if response.status_code == 404:
        text = response.get_data(as_text=True)
        assert not [word for word in hidden_words if word in text]


@by_every_role(ITEM_CASES)
def test_item_endpoint_by_role(app, item_world, as_user, role, case):
    check_role_case(
        app, as_user, item_world, role, case, _ids(item_world), ("Ventanilla", "Borrador")
    )
