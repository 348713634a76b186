"""Bad input is refused, never a 500, on SQLite and PostgreSQL: ids out of range in
a URL name nothing (404); integers out of range and text a database or XML cannot
hold (NUL and the other C0 controls) are refused with 400 naming the field, in every
body and query string of the API and in page forms."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from portal.api import api_views

from .public.conftest import published_world  # noqa: F401  # the fixture

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
            # Pages as they are (ApiClient would put a page's path under /api/v1).
            response = client.client.open(path, method=method, json={})
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
        # A list is named with the position of the item ("ids.0") or as a whole ("tags"),
        # a field of alternative types with the type too ("from.date").
        names = {name, re.sub(r"(\.\d+)+$", "", name)}
        if response.status_code != 400 or not any(
            key in names or key.startswith(name + ".") for key in named
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


# --- text a database or XML cannot hold ----------------------------------------------

# NUL (PostgreSQL refuses it in text) and other C0 controls (XML 1.0 cannot hold them).
CONTROLS = ["\x00", "\x0b", "\x1f"]


def _text_fields(schema: dict[str, Any], defs: dict[str, Any], path: tuple = ()) -> list[tuple]:
    """Paths to every string of a JSON schema, like `_integer_fields`."""
    if "$ref" in schema:
        return _text_fields(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, path)
    found = [path] if schema.get("type") == "string" else []
    for option in schema.get("anyOf", []):
        found += _text_fields(option, defs, path)
    if schema.get("type") == "array":
        found += _text_fields(schema.get("items", {}), defs, (*path, 0))
    for name, field in schema.get("properties", {}).items():
        found += _text_fields(field, defs, (*path, name))
    return found


@pytest.mark.parametrize("control", CONTROLS, ids=repr)
def test_every_text_of_a_body_or_query_string_refuses_control_characters(
    app, as_user, world, control
):
    client = as_user(world.secretariat)

    assert _not_refused(app, client, _text_fields, f"Acta{control}final") == {}


# Requests valid but for one text, so they reach the database today.
TEXT_REQUESTS = [
    ("POST", "/workspaces", {"name": "G"}, "name"),
    ("PATCH", "/me", {"name": "N"}, "name"),
    ("POST", "/me/tokens", {"name": "cli"}, "name"),
    ("POST", "/communities", {"name": "C", "port": "P", "member_state": "CO"}, "name"),
    ("POST", "/workspaces/{ws}/memos", {"title": "T", "body": "B"}, "body"),
    ("PATCH", "/memos/{memo}", {"title": "T"}, "title"),
    ("POST", "/items/{memo}/comments", {"body": "B"}, "body"),
    ("POST", "/workspaces/{ws}/tasks", {"title": "T"}, "title"),
    ("PATCH", "/meetings/{meeting}", {"location": "L"}, "location"),
    ("POST", "/meetings/{meeting}/agenda", {"title": "T", "notes": "N"}, "notes"),
    (
        "POST",
        "/agenda-items/{agenda}/outcomes",
        {"kind": "task", "text": "T", "task": {"title": "T"}},
        "task.title",
    ),
    ("GET", "/communities?q=T", None, "q"),
    ("GET", "/users?q=T", None, "q"),
    ("GET", "/workspaces?q=T", None, "q"),
    ("GET", "/workspaces/{ws}/items?q=T", None, "q"),
    ("GET", "/audit?verb=T", None, "verb"),
    ("GET", "/search?q=T", None, "q"),
    ("GET", "/public/search?q=T", None, "q"),
    ("GET", "/public/search?community=T", None, "community"),
]


@pytest.mark.parametrize("control", ["\x00", "\x1f"], ids=repr)
def test_a_control_character_in_a_full_request_is_a_400(as_user, planning, control):
    client = as_user(planning.secretariat)
    wrong = {}
    for method, path, body, field in TEXT_REQUESTS:
        url = path.format(
            ws=planning.ws_id, memo=planning.memo_id, meeting=planning.meeting_id,
            agenda=planning.agenda_id,
        ).replace("=T", f"=T{control}x")  # fmt: skip
        body = copy.deepcopy(body)
        if body is not None:
            *parents, name = field.split(".")
            inner = body
            for parent in parents:
                inner = inner[parent]
            inner[name] += f"{control}x"
        response = client.request(method, url, json=body)
        named = (response.get_json() or {}).get("error", {}).get("fields") or {}
        if response.status_code != 400 or field not in named:
            wrong[f"{method} {path} {field}"] = response.status_code

    assert wrong == {}


@pytest.mark.parametrize("email", ["nobody\x00@ports.example", "nobody@ports.example\x1f"])
def test_the_anonymous_sign_in_refuses_a_control_character(api, email):
    response = api.post("/auth/login", {"email": email, "password": "secret"})

    assert response.status_code == 400
    assert "email" in response.get_json()["error"]["fields"]


def test_a_lone_surrogate_in_json_is_refused(as_user, world):
    response = as_user(world.secretariat).post(
        "/workspaces", data=b'{"name": "Grupo \\ud800"}', content_type="application/json"
    )

    assert response.status_code == 400
    assert "body" in response.get_json()["error"]["fields"]


def test_a_control_character_in_a_url_names_nothing(api):
    response = api.get("/member-states/C%00")

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def _csrf(html: str) -> str:
    return html.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]


def test_the_sign_in_page_refuses_a_control_character_with_an_html_page(app):
    client = app.test_client()
    csrf = _csrf(client.get("/login").get_data(as_text=True))

    response = client.post(
        "/login",
        data={"email": "nobody\x00@ports.example", "password": "secret", "csrf_token": csrf},
        headers={"Accept-Language": "en"},
    )

    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "This request could not be understood" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/search?q=acta%00", "/login?next=/%1b"])
def test_a_page_refuses_a_control_character_in_its_query_string(app, path):
    response = app.test_client().get(path)

    assert response.status_code == 400
    assert response.mimetype == "text/html"


def test_the_review_form_refuses_a_control_character_and_keeps_the_request(
    as_user,
    api,
    published_world,  # noqa: F811
):
    secretariat = as_user(published_world.secretariat).client
    path = f"/review/{published_world.pending_id}"
    csrf = _csrf(secretariat.get(path).get_data(as_text=True))

    response = secretariat.post(
        path, data={"action": "reject", "reason": "Incompleto\x00", "csrf_token": csrf}
    )

    assert response.status_code == 400 and response.mimetype == "text/html"
    publication = as_user(published_world.coordinator).get(
        f"/items/{published_world.pending_id}/publication"
    )
    assert publication.get_json()["publication"] == "submitted"
