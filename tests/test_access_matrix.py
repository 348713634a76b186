"""Every API endpoint, called by every role: the status, and that refusals leak and change nothing.

Roles, in the column order of the expectations below:
anonymous, outsider (coordinator of another group), observer, member,
coordinator (of the group under test), secretariat.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.api import API_PREFIX, api_views
from portal.events import Event
from portal.extensions import db

ROLES = ["anonymous", "outsider", "observer", "member", "coordinator", "secretariat"]


def _statuses(spec: str) -> dict[str, int]:
    values = [int(v) for v in spec.split()]
    if len(values) == 1:
        values *= len(ROLES)
    assert len(values) == len(ROLES), spec
    return dict(zip(ROLES, values, strict=True))


def _member_token(app: Flask, world: SimpleNamespace) -> int:
    from portal.accounts import service
    from portal.accounts.models import User

    with app.app_context():
        token, _ = service.create_token(db.session.get(User, world.member.id), "laptop", 30)
        return token.id


# (method, path, body, expected statuses by role)
CASES: list[tuple[str, str, Any, str]] = [
    ("GET", "/openapi.json", None, "200"),
    ("GET", "/health", None, "200"),
    ("POST", "/auth/login", {"email": "nobody@ports.example", "password": "wrong password"}, "401"),
    ("POST", "/auth/logout", None, "401 200 200 200 200 200"),
    ("GET", "/auth/csrf", None, "200"),
    ("GET", "/me", None, "401 200 200 200 200 200"),
    ("PATCH", "/me", {"name": "Renamed Person"}, "401 200 200 200 200 200"),
    (
        "POST",
        "/me/password",
        {"current_password": "x", "new_password": "a-new-long-password"},
        "401 400 400 400 400 400",
    ),
    ("GET", "/me/preferences", None, "401 200 200 200 200 200"),
    ("PATCH", "/me/preferences", {"email_notifications": "off"}, "401 200 200 200 200 200"),
    ("POST", "/auth/password-reset", {"email": "nobody@ports.example"}, "202"),
    ("POST", "/auth/password-reset/unknown-token", {"password": "a-new-long-password"}, "404"),
    ("POST", "/me/2fa", {"password": "wrong password"}, "401 400 400 400 400 400"),
    ("POST", "/me/2fa/confirm", {"code": "123456"}, "401 409 409 409 409 409"),
    ("DELETE", "/me/2fa", {"password": "x", "code": "123456"}, "401 409 409 409 409 409"),
    ("GET", "/me/tokens", None, "401 200 200 200 200 200"),
    ("POST", "/me/tokens", {"name": "calendar"}, "401 201 201 201 201 201"),
    ("DELETE", "/me/tokens/{member_token}", None, "401 404 404 200 404 404"),
    ("GET", "/me/notifications", None, "401 200 200 200 200 200"),
    ("POST", "/me/notifications/read", {"ids": [1, 2]}, "401 200 200 200 200 200"),
    ("PATCH", "/me", {"phone": "+57 300 111 2222", "show_phone": True}, "401 200 200 200 200 200"),
    ("GET", "/contacts", None, "401 200 200 200 200 200"),
    ("GET", "/users", None, "401 403 403 403 403 200"),
    (
        "POST",
        "/users",
        {"email": "new@ports.example", "name": "New Person"},
        "401 403 403 403 403 201",
    ),
    ("GET", "/users/{member}", None, "401 403 403 403 403 200"),
    ("PATCH", "/users/{member}", {"name": "Changed"}, "401 403 403 403 403 200"),
    ("PATCH", "/users/{member}", {"is_focal_point": True}, "401 403 403 403 403 200"),
    ("GET", "/member-states", None, "200"),
    ("POST", "/member-states", {"code": "PA", "name": "Panamá"}, "401 403 403 403 403 201"),
    ("GET", "/member-states/CO", None, "200"),
    ("GET", "/communities", None, "200"),
    (
        "POST",
        "/communities",
        {"name": "Comunidad de Colón", "port": "Colón", "member_state": "CO"},
        "401 403 403 403 403 201",
    ),
    ("GET", "/communities/{community}", None, "200"),
    ("PATCH", "/communities/{community}", {"port": "Cartagena"}, "401 403 403 403 403 200"),
    (
        "PATCH",
        "/communities/{community}",
        {"publish_focal_points": True, "contact_email": "info@puerto.example.org"},
        "401 403 403 403 403 200",
    ),
    ("GET", "/audit", None, "401 403 403 403 403 200"),
    ("GET", "/workspaces", None, "401 200 200 200 200 200"),
    ("POST", "/workspaces", {"name": "Ciberseguridad"}, "401 403 403 403 403 201"),
    ("GET", "/workspaces/{ws}", None, "401 404 200 200 200 200"),
    ("PATCH", "/workspaces/{ws}", {"description": "New"}, "401 404 403 403 403 200"),
    ("DELETE", "/workspaces/{ws}", None, "401 404 403 403 403 200"),
    ("GET", "/workspaces/{ws}/members", None, "401 404 200 200 200 200"),
    ("PUT", "/workspaces/{ws}/members/{bystander}", {"role": "member"}, "401 404 403 403 200 200"),
    ("DELETE", "/workspaces/{ws}/members/{member}", None, "401 404 403 403 200 200"),
]


class Upload(dict):
    """A raw-body file upload instead of a JSON body (documents)."""

    def __init__(self, data: bytes, filename: str) -> None:
        super().__init__(data=data, headers={"Content-Type": "text/plain", "X-Filename": filename})


# Documents: observers read, members upload and edit, coordinators delete and break locks.
CASES += [
    ("GET", "/workspaces/{ws}/documents", None, "401 404 200 200 200 200"),
    (
        "POST",
        "/workspaces/{ws}/documents",
        Upload(b"Orden del dia", "agenda.txt"),
        "401 404 403 201 201 201",
    ),
    ("GET", "/documents/{doc}", None, "401 404 200 200 200 200"),
    ("PATCH", "/documents/{doc}", {"title": "Acta"}, "401 404 403 200 200 200"),
    ("DELETE", "/documents/{doc}", None, "401 404 403 403 200 200"),
    ("GET", "/documents/{doc}/versions", None, "401 404 200 200 200 200"),
    (
        "POST",
        "/documents/{doc}/versions",
        Upload(b"Orden del dia, v2", "agenda.txt"),
        "401 404 403 201 201 201",
    ),
    ("GET", "/documents/{doc}/download", None, "401 404 200 200 200 200"),
    ("POST", "/documents/{doc}/versions/1/restore", None, "401 404 403 201 201 201"),
    ("POST", "/documents/{doc}/checkout", None, "401 404 403 200 200 200"),
    ("DELETE", "/documents/{doc}/checkout", None, "401 404 403 200 200 200"),
]


# Invitations: the secretariat invites anyone; a group's coordinators manage its own.
CASES += [
    ("POST", "/invitations", {"email": "invitee@ports.example"}, "401 403 403 403 403 201"),
    ("GET", "/invitations", None, "401 200 200 200 200 200"),
    ("POST", "/invitations/{invitation}/resend", None, "401 404 404 404 200 200"),
    ("DELETE", "/invitations/{invitation}", None, "401 404 404 404 200 200"),
    ("GET", "/auth/invitations/{invitation_token}", None, "200"),
    (
        "POST",
        "/auth/invitations/{invitation_token}/accept",
        {"name": "Invited Person", "password": "a-long-enough-password"},
        "201",
    ),
]
INVITATION_TOKEN = "a-token-of-the-access-matrix"


def _invitation(app: Flask, world: SimpleNamespace) -> int:
    """A pending invitation to the group under test, with a known link."""
    import hashlib

    from portal.accounts.models import User
    from portal.onboarding import service
    from portal.workspaces.models import Role, Workspace

    with app.app_context():
        invitation, _ = service.invite(
            db.session.get(User, world.secretariat.id),
            email="invitee@ports.example",
            workspace=db.session.get(Workspace, world.ws_id),
            role=Role.member,
        )
        invitation.token_hash = hashlib.sha256(INVITATION_TOKEN.encode()).hexdigest()
        db.session.commit()
        return invitation.id


def _format(path: str, app: Flask, world: SimpleNamespace) -> str:
    values = {
        "ws": world.ws_id,
        "community": world.community_id,
        "member": world.member.id,
        "bystander": world.bystander.id,
    }
    if "{member_token}" in path:
        values["member_token"] = _member_token(app, world)
    if "{doc}" in path:
        values["doc"] = _document(app, world)
    if "{invitation" in path:
        values["invitation"] = _invitation(app, world)
        values["invitation_token"] = INVITATION_TOKEN
    return path.format(**values)


def _document(app: Flask, world: SimpleNamespace) -> int:
    """A document of the group under test, uploaded by its member."""
    import io

    from portal.accounts.models import User
    from portal.documents import service
    from portal.documents.storage import current_store
    from portal.documents.upload import Received
    from portal.workspaces.models import Workspace

    with app.app_context():
        store = current_store()
        blob = store.put(io.BytesIO(b"Orden del dia"))
        document = service.create_document(
            db.session.get(User, world.member.id),
            db.session.get(Workspace, world.ws_id),
            Received(store, blob, "agenda.txt", "text/plain"),
        )
        return document.id


def _event_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(Event).where(Event.verb != "auth.login_failed")
        )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), CASES, ids=[f"{m} {p}" for m, p, _, _ in CASES]
)
def test_endpoint_by_role(app, world, as_user, role, method, path, body, expected):
    url = _format(path, app, world)
    client = as_user(getattr(world, role))
    before = _event_count(app)

    if isinstance(body, Upload):
        response = client.request(method, url, **body)
    else:
        response = client.request(method, url, json=body)

    assert response.status_code == _statuses(expected)[role], response.get_json()
    if response.status_code >= 400:
        error = response.get_json()["error"]
        assert set(error) <= {"code", "message", "fields"}
        assert _event_count(app) == before, "a refused request changed something"
    if response.status_code == 404:
        # The 404 of something hidden reads like the 404 of something absent.
        assert "Sistemas" not in response.get_data(as_text=True)


def test_every_api_route_is_in_a_role_matrix(app):
    from .public.test_publication_access import PUBLICATION_CASES
    from .workspaces.test_item_access import ITEM_CASES
    from .workspaces.test_planning_access import PLANNING_CASES

    adapter = app.url_map.bind("localhost")
    covered = set()
    for method, path, _, _ in CASES + ITEM_CASES + PLANNING_CASES + PUBLICATION_CASES:
        sample = re.sub(r"\{\w+\}", "1", path).split("?")[0]
        endpoint, _ = adapter.match(API_PREFIX + sample, method=method)
        covered.add((endpoint, method))
    routes = {
        (rule.endpoint, method)
        for rule, _ in api_views(app)
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes - covered == set(), "endpoints without a role test"
