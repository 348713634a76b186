"""Bad input is refused, never a 500, on SQLite and PostgreSQL: ids out of range in
a URL name nothing (404); integers out of range and text a database or XML cannot
hold (NUL and the other C0 controls) are refused with 400 naming the field, in every
body and query string of the API and in page forms."""

from __future__ import annotations

import re
from typing import Any

import pytest

from portal.api import api_views

# Beyond PostgreSQL's `integer` (the id columns), beyond 64 bits, and far beyond.
HUGE = [2**31, 2**63, 10**25]
INT_ARGUMENT = re.compile(r"<int:\w+>")


def _unsafe_methods(rule: Any) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


# --- ids in URLs -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1", *map(str, HUGE)])
def test_every_route_with_an_id_answers_404_for_an_id_out_of_range(app, as_user, world, value):
    """Walks the URL map: every route with an `<int:>` argument, every method, pages too."""
    client = as_user(world.secretariat)
    answers = {}
    for rule in app.url_map.iter_rules():
        if not INT_ARGUMENT.search(rule.rule):
            continue
        path = INT_ARGUMENT.sub(value, rule.rule)
        for method in _unsafe_methods(rule):
            response = client.request(method, path, json={})
            answers[f"{method} {path}"] = response.status_code
            if path.startswith("/api/") and response.status_code == 404:
                assert response.get_json()["error"]["code"] == "not_found"

    assert len(answers) > 60
    assert {name: status for name, status in answers.items() if status != 404} == {}


# --- integers in bodies and query strings ------------------------------------------


def _integer_fields(schema: dict[str, Any], defs: dict[str, Any], path: tuple = ()) -> list[tuple]:
    """Paths to every integer of a JSON schema: ("ids", 0), ("task", "assignee_ids", 0)."""
    if "$ref" in schema:
        return _integer_fields(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, path)
    found = [path] if schema.get("type") == "integer" else []
    for option in schema.get("anyOf", []):
        found += _integer_fields(option, defs, path)
    if schema.get("type") == "array":
        found += _integer_fields(schema.get("items", {}), defs, (*path, 0))
    for name, field in schema.get("properties", {}).items():
        found += _integer_fields(field, defs, (*path, name))
    return found


def _nest(path: tuple, value: Any) -> Any:
    """The JSON that holds `value` at `path`: ("ids", 0) -> {"ids": [value]}."""
    for part in reversed(path):
        value = [value] if isinstance(part, int) else {part: value}
    return value


def _declared_fields(app, finder):
    """(body or query, method, path, field path) of each field `finder` finds in each
    declared model, the URL's ids set to 1 (validation comes before loading)."""
    for rule, view in api_views(app):
        path = INT_ARGUMENT.sub("1", rule.rule)
        for kind in ("body", "query"):
            model = getattr(view, f"{kind}_model", None)
            if model is None:
                continue
            schema = model.model_json_schema(by_alias=True)
            methods = [m for m in _unsafe_methods(rule) if (m == "GET") == (kind == "query")]
            for method in methods:
                for field in dict.fromkeys(finder(schema, schema.get("$defs", {}))):
                    yield kind, method, path, field


def _not_refused(app, client, finder, value: Any) -> dict[str, Any]:
    """Sends `value` in each body and query field `finder` finds; the answers that are
    not a 400 naming that field."""
    wrong = {}
    for kind, method, path, field in _declared_fields(app, finder):
        name = ".".join(str(part) for part in field)
        if kind == "body":
            response = client.request(method, path, json=_nest(field, value))
        else:
            response = client.request(method, path, query_string={name: str(value)})
        named = (response.get_json() or {}).get("error", {}).get("fields") or {}
        if response.status_code != 400 or not any(
            key == name or key.startswith(name + ".") for key in named
        ):
            wrong[f"{method} {path} {kind} {name}"] = (response.status_code, named)
    assert wrong or any(True for _ in _declared_fields(app, finder))
    return wrong


@pytest.mark.parametrize("value", [*HUGE, -(2**63)])
def test_every_integer_of_a_body_or_query_string_refuses_a_value_out_of_range(
    app, as_user, world, value
):
    client = as_user(world.secretariat)

    assert _not_refused(app, client, _integer_fields, value) == {}


@pytest.fixture
def planning(app):
    """`make_planning_world`: a memo, a task and a meeting in progress with its agenda."""
    from portal.extensions import db

    from .workspaces.planning_world import make_planning_world

    with app.app_context():
        world = make_planning_world()
        db.session.remove()
        return world


# Requests that are valid but for one id or integer, so they reach the database today.
FULL_REQUESTS = [
    ("POST", "/me/notifications/read", {"ids": [0]}, "ids.0"),
    (
        "POST",
        "/users",
        {"email": "n@ports.example", "name": "N", "community_id": 0},
        "community_id",
    ),
    ("GET", "/users?community_id={n}", None, "community_id"),
    ("GET", "/audit?actor={n}", None, "actor"),
    ("GET", "/audit?workspace_id={n}", None, "workspace_id"),
    ("GET", "/search?workspace_id={n}", None, "workspace_id"),
    ("GET", "/workspaces/{ws}/activity?after={n}", None, "after"),
    ("GET", "/workspaces/{ws}/tasks?assignee={n}", None, "assignee"),
    ("POST", "/items/{memo}/shares", {"workspace_id": 0}, "workspace_id"),
    ("POST", "/workspaces/{ws}/tasks", {"title": "T", "assignee_ids": [0]}, "assignee_ids.0"),
    ("PATCH", "/tasks/{task}", {"assignee_ids": [0]}, "assignee_ids.0"),
    ("POST", "/meetings/{meeting}/agenda", {"title": "P", "presenter_id": 0}, "presenter_id"),
    ("POST", "/meetings/{meeting}/agenda", {"title": "P", "document_id": 0}, "document_id"),
    ("PATCH", "/agenda-items/{agenda}", {"presenter_id": 0}, "presenter_id"),
    ("PUT", "/meetings/{meeting}/agenda/order", {"ids": [0]}, "ids.0"),
    (
        "POST",
        "/agenda-items/{agenda}/outcomes",
        {"kind": "task", "text": "T", "task": {"title": "T", "assignee_ids": [0]}},
        "task.assignee_ids.0",
    ),
]


def _with(value: Any, body: Any) -> Any:
    """`body` with each 0 (the placeholder above) replaced by `value`."""
    if isinstance(body, dict):
        return {name: _with(value, item) for name, item in body.items()}
    if isinstance(body, list):
        return [_with(value, item) for item in body]
    return value if body == 0 else body


@pytest.mark.parametrize("value", HUGE)
def test_an_integer_out_of_range_in_a_full_request_is_a_400(as_user, planning, value):
    client = as_user(planning.secretariat)
    wrong = {}
    for method, path, body, field in FULL_REQUESTS:
        url = path.format(
            n=value, ws=planning.ws_id, memo=planning.memo_id, task=planning.task_id,
            meeting=planning.meeting_id, agenda=planning.agenda_id,
        )  # fmt: skip
        response = client.request(method, url, json=_with(value, body))
        named = (response.get_json() or {}).get("error", {}).get("fields") or {}
        if response.status_code != 400 or field not in named:
            wrong[f"{method} {url} {field}"] = response.status_code

    assert wrong == {}
