"""What answers carry: `Allow` on every 405 (the API's envelope and pages), the
headers of other refusals (`Retry-After`), and JSON with its non-ASCII characters as
they are, in UTF-8 said so."""

from __future__ import annotations

import re
from collections import defaultdict

from sqlalchemy.exc import OperationalError

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(app) -> dict[str, set[str]]:
    """Each route's path (ids as 1, other arguments as "CO") and its methods."""
    allowed: dict[str, set[str]] = defaultdict(set)
    for rule in app.url_map.iter_rules():
        if rule.endpoint != "static":
            path = re.sub(r"<(\w+:)?\w+>", lambda m: "1" if m.group(1) else "CO", rule.rule)
            allowed[path] |= rule.methods
    return allowed


def test_every_405_names_the_allowed_methods(app, as_user, world):
    client = as_user(world.secretariat).client
    wrong = {}
    for path, methods in _allowed_methods(app).items():
        method = next(m for m in METHODS if m not in methods)
        response = client.open(path, method=method)
        allow = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
        if response.status_code != 405 or allow != methods:
            wrong[f"{method} {path}"] = (response.status_code, allow)
        if path.startswith("/api/"):
            assert response.get_json()["error"]["code"] == "method_not_allowed"

    assert wrong == {}


def _database_down(*args, **kwargs):
    raise OperationalError("SELECT 1", {}, Exception("connection refused"))


def test_the_database_outage_says_when_to_try_again_in_the_api_and_on_pages(app, monkeypatch):
    monkeypatch.setattr("portal.network.api.paginate", _database_down)
    monkeypatch.setattr("portal.public.views._network_at_a_glance", _database_down)
    client = app.test_client()

    api = client.get("/api/v1/member-states")
    page = client.get("/")

    assert api.status_code == 503 and int(api.headers["Retry-After"]) > 0
    assert page.status_code == 503 and int(page.headers["Retry-After"]) > 0


def test_json_keeps_non_ascii_characters_as_they_are_in_utf8(as_user, world):
    client = as_user(world.member)

    response = client.patch("/me", {"name": "André Peña"})

    assert response.status_code == 200
    assert response.content_type == "application/json; charset=utf-8"
    assert "André Peña".encode() in response.data
    assert b"\\u00e9" not in response.data
    assert response.get_json()["name"] == "André Peña"


def test_error_envelopes_keep_non_ascii_characters_too(as_user, world):
    response = as_user(world.secretariat).post("/workspaces", {"name": "Sí", "nombre": "x"})

    assert response.status_code == 400
    assert response.content_type == "application/json; charset=utf-8"
    assert "nombre" in response.get_json()["error"]["fields"]
