"""The publishing workflow's and the public environment's endpoints, by every role."""

from __future__ import annotations

from typing import Any

import pytest

from ..workspaces.test_item_access import ITEM_ROLES, check_role_case

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
    }


@pytest.mark.parametrize("role", ITEM_ROLES)
@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    PUBLICATION_CASES,
    ids=[f"{m} {p}" for m, p, _, _ in PUBLICATION_CASES],
)
def test_publication_endpoint_by_role(
    app, published_world, as_user, role, method, path, body, expected
):
    check_role_case(
        app,
        as_user(getattr(published_world, role)),
        role,
        method,
        path,
        body,
        expected,
        _ids(published_world),
        ("Ventanilla", "Propuesta"),
    )
