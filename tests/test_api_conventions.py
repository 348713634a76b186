"""The API's conventions: every route passes a permissions gate, every error is an envelope,
bad input is refused with 400 and changes nothing, and OpenAPI describes what exists."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate
from sqlalchemy import func, select

from portal import permissions
from portal.api import api_views
from portal.extensions import db

# --- every route goes through portal/permissions.py ------------------------------


def test_every_api_route_declares_a_permissions_gate(app):
    unguarded = [
        rule.rule
        for rule, view in api_views(app)
        if getattr(getattr(view, "access", None), "__module__", None) != permissions.__name__
    ]

    assert unguarded == []


def test_the_route_walk_would_catch_an_unguarded_route():
    from flask import Blueprint, Flask

    app = Flask("probe")
    bp = Blueprint("probe", __name__, url_prefix="/api/v1")
    bp.add_url_rule("/forgotten", view_func=lambda: {})
    app.register_blueprint(bp)

    assert [rule.rule for rule, view in api_views(app) if not hasattr(view, "access")] == [
        "/api/v1/forgotten"
    ]


# --- error envelopes --------------------------------------------------------------


def _envelope(response, status, code):
    assert response.status_code == status
    body = response.get_json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_unknown_api_route_is_a_404_envelope(api):
    _envelope(api.get("/no-such-thing"), 404, "not_found")


def test_wrong_method_is_a_405_envelope(api):
    _envelope(api.request("PATCH", "/member-states"), 405, "method_not_allowed")


def test_unexpected_error_is_a_500_envelope_without_internals(app, api, monkeypatch):
    def explode(_app):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr("portal.meta.openapi_document", explode)

    error = _envelope(api.get("/openapi.json"), 500, "internal")
    assert "secret" not in error["message"]


def test_unknown_page_outside_the_api_is_not_json(app):
    response = app.test_client().get("/no-such-page")

    assert response.status_code == 404
    assert not response.is_json


# --- bad input: 400 and nothing changes -------------------------------------------

# (method, path, a valid body) for every endpoint that takes one, called by the secretariat.
BODY_ENDPOINTS = [
    ("PATCH", "/me", {"name": "Valid Name"}),
    ("POST", "/me/tokens", {"name": "cli"}),
    ("POST", "/users", {"email": "valid@ports.example", "name": "Valid Name"}),
    ("PATCH", "/users/{member}", {"name": "Valid Name"}),
    ("POST", "/member-states", {"code": "PA", "name": "Panamá"}),
    ("POST", "/communities", {"name": "Comunidad", "port": "Colón", "member_state": "CO"}),
    ("PATCH", "/communities/{community}", {"name": "Valid Name"}),
    ("POST", "/workspaces", {"name": "Valid Name"}),
    ("PATCH", "/workspaces/{ws}", {"name": "Valid Name"}),
    ("PUT", "/workspaces/{ws}/members/{bystander}", {"role": "member"}),
]


def _first_text_field(body):
    return next(name for name, value in body.items() if isinstance(value, str))


def _bad_variants(body):
    field = _first_text_field(body)
    return {
        "wrong type": {**body, field: 12345},
        "missing field": {name: value for name, value in body.items() if name != field},
        "oversize string": {**body, field: "x" * 100_000},
        "unknown field": {**body, "is_admin": True},
        "null for a required field": {**body, field: None},
        "array instead of object": [body],
    }


def _snapshot(app):
    with app.app_context():
        return {
            table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables
        }


def _cases():
    for method, path, body in BODY_ENDPOINTS:
        for name in ("wrong type", "oversize string", "unknown field", "array instead of object"):
            yield pytest.param(method, path, body, name, id=f"{method} {path} {name}")
        if method in ("POST", "PUT"):
            yield pytest.param(method, path, body, "missing field", id=f"{method} {path} missing")
        if method == "PATCH":
            yield pytest.param(
                method, path, body, "null for a required field", id=f"{method} {path} null"
            )


def _url(path, world):
    return path.format(
        ws=world.ws_id,
        community=world.community_id,
        member=world.member.id,
        bystander=world.bystander.id,
    )


@pytest.mark.parametrize(("method", "path", "body", "variant"), list(_cases()))
def test_bad_body_is_refused_and_changes_nothing(app, as_user, world, method, path, body, variant):
    client = as_user(world.secretariat)
    before = _snapshot(app)

    response = client.request(method, _url(path, world), json=_bad_variants(body)[variant])

    error = _envelope(response, 400, "invalid")
    assert error["fields"], error
    assert _snapshot(app) == before


@pytest.mark.parametrize(
    ("method", "path", "body"), BODY_ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in BODY_ENDPOINTS]
)
def test_malformed_json_is_refused_and_changes_nothing(app, as_user, world, method, path, body):
    client = as_user(world.secretariat)
    before = _snapshot(app)

    response = client.request(
        method, _url(path, world), data='{"name": "unclosed', content_type="application/json"
    )

    error = _envelope(response, 400, "invalid")
    assert error["fields"] == {"body": "The body is not valid JSON."}
    assert _snapshot(app) == before


@pytest.mark.parametrize(
    ("method", "path", "body"), BODY_ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in BODY_ENDPOINTS]
)
def test_the_valid_body_of_each_bad_input_case_is_accepted(app, as_user, world, method, path, body):
    """The control: the bodies above fail for the reason named, not for another."""
    response = as_user(world.secretariat).request(method, _url(path, world), json=body)

    assert response.status_code in (200, 201), response.get_json()


def test_form_body_is_refused_as_unsupported_media(as_user, world):
    response = as_user(world.secretariat).request("POST", "/workspaces", data={"name": "Form"})

    _envelope(response, 415, "unsupported_media")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/communities?page=0", "page"),
        ("/communities?per_page=101", "per_page"),
        ("/communities?page=abc", "page"),
        ("/audit?since=yesterday", "since"),
    ],
)
def test_bad_query_string_is_a_400_naming_the_parameter(as_user, world, path, field):
    response = as_user(world.secretariat).get(path)

    assert field in _envelope(response, 400, "invalid")["fields"]


def test_lists_are_paginated(as_user, world):
    for n in range(3):
        as_user(world.secretariat).post("/workspaces", {"name": f"Grupo {n}"})

    page = as_user(world.secretariat).get("/workspaces?page=2&per_page=2").get_json()

    assert page["page"] == 2 and page["per_page"] == 2 and page["total"] == 5
    assert len(page["items"]) == 2


# --- OpenAPI ----------------------------------------------------------------------


def test_openapi_describes_every_route_and_validates(app, api):
    document = api.get("/openapi.json").get_json()

    validate(document)
    described = {
        (path, method) for path, operations in document["paths"].items() for method in operations
    }
    for rule, _view in api_views(app):
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in described
    assert "WorkspaceCreateBody" in document["components"]["schemas"]


def test_openapi_path_parameters_say_what_the_url_accepts(api):
    document = api.get("/openapi.json").get_json()

    def path_schema(path, method, name):
        parameters = document["paths"][path][method]["parameters"]
        return next(p["schema"] for p in parameters if p["in"] == "path" and p["name"] == name)

    assert path_schema("/workspaces/{workspace_id}", "get", "workspace_id") == {
        "type": "integer",
        "minimum": 1,
        "maximum": 2**31 - 1,
    }
    assert path_schema("/member-states/{code}", "get", "code") == {
        "type": "string",
        "pattern": "^[^/]{1,}$",
    }


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/meetings/{meeting_id}.ics", "text/calendar"),
        ("/workspaces/{workspace_id}/calendar.ics", "text/calendar"),
        ("/public/feed.atom", "application/atom+xml"),
        ("/documents/{document_id}/download", "*/*"),
        ("/public/documents/{document_id}/download", "*/*"),
        ("/workspaces/{workspace_id}", "application/json"),
    ],
)
def test_openapi_names_what_each_success_is_sent_as(api, path, media_type):
    responses = api.get("/openapi.json").get_json()["paths"][path]["get"]["responses"]

    assert list(responses["200"]["content"]) == [media_type]
    assert list(responses["default"]["content"]) == ["application/json"]


def test_database_outage_is_a_503_envelope(api, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def down(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr("portal.network.api.paginate", down)

    error = _envelope(api.get("/member-states"), 503, "unavailable")
    assert "connection refused" not in error["message"]
