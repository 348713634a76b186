"""The publishing workflow's and the public environment's endpoints, by every role."""

from __future__ import annotations

from typing import Any

from ..workspaces.test_item_access import by_every_role, check_role_case

# (method, path, body, expected statuses by role: anonymous outsider observer member
# coordinator secretariat viewer editor)
PUBLICATION_CASES: list[tuple[str, str, Any, str]] = [
    ("GET", "/items/{memo}/publication", None, "401 404 200 200 200 200 200 200"),
    ("POST", "/items/{memo}/publication", {"action": "submit"}, "401 404 403 403 200 200 403 403"),
    (
        "POST",
        "/items/{pending}/publication",
        {"action": "approve"},
        "401 404 403 403 403 200 404 404",
    ),
    (
        "POST",
        "/items/{pending}/publication",
        {"action": "approve", "version": "{pending_version}"},
        "401 404 403 403 403 200 404 404",
    ),
    (  # the reviewer saw another version than the one submitted
        "POST",
        "/items/{pending}/publication",
        {"action": "approve", "version": "{stale_version}"},
        "401 404 403 403 403 409 404 404",
    ),
    (
        "POST",
        "/items/{pending}/publication",
        {"action": "reject", "note": "Falta el resumen"},
        "401 404 403 403 403 200 404 404",
    ),
    (
        "POST",
        "/items/{published}/publication",
        {"action": "unpublish", "note": "Retirado"},
        "401 404 403 403 403 200 404 404",
    ),
    ("GET", "/publication-requests", None, "401 403 403 403 403 200 403 403"),
    ("GET", "/public/items/{published}", None, "200 200 200 200 200 200 200 200"),
    ("GET", "/public/items/{memo}", None, "404 404 404 404 404 404 404 404"),
    ("GET", "/public/items/{pending}", None, "404 404 404 404 404 404 404 404"),
    ("GET", "/public/documents/{document}/download", None, "200 200 200 200 200 200 200 200"),
    ("GET", "/public/documents/{published}/download", None, "404 404 404 404 404 404 404 404"),
    ("GET", "/public/documents/{memo}/download", None, "404 404 404 404 404 404 404 404"),
    ("GET", "/public/feed.atom", None, "200 200 200 200 200 200 200 200"),
]


def _ids(world) -> dict[str, int]:
    return {
        "memo": world.memo_id,
        "pending": world.pending_id,
        "published": world.published_memo_id,
        "document": world.document_id,
        "pending_version": world.pending_version,
        "stale_version": world.pending_version - 1,
    }


@by_every_role(PUBLICATION_CASES)
def test_publication_endpoint_by_role(app, published_world, as_user, role, case):
    check_role_case(
        app,
        as_user,
        published_world,
        role,
        case,
        _ids(published_world),
        ("Ventanilla", "Propuesta"),
    )
