"""Who may do what with documents (the full grid is in tests/test_access_matrix.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.documents.models import Blob
from portal.documents.storage import store_named
from portal.extensions import db

from .conftest import upload


@pytest.fixture
def document(world, as_user):
    response = upload(as_user(world.member), world.ws_id, b"Orden del dia", "Sistemas.txt")
    return response.get_json()


def test_observer_cannot_upload_and_nothing_is_stored(app, world, as_user, store):
    response = upload(as_user(world.observer), world.ws_id, b"x" * 1000, "a.txt")

    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Blob)) == 0
        assert list(store_named(store).list_blobs()) == []


@pytest.mark.parametrize(
    "path",
    [
        "/documents/{id}",
        "/documents/{id}/versions",
        "/documents/{id}/download",
        "/documents/{id}/download?version=1",
    ],
)
def test_non_members_get_404_that_leaks_nothing(world, as_user, document, path):
    response = as_user(world.outsider).get(path.format(id=document["id"]))

    assert response.status_code == 404
    assert "Sistemas" not in response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "not_found"


def test_non_members_cannot_upload_versions_or_lock(world, as_user, document):
    outsider = as_user(world.outsider)
    path = f"/documents/{document['id']}"

    assert upload(outsider, world.ws_id, b"x", "a.txt", path=f"{path}/versions").status_code == 404
    assert outsider.post(f"{path}/checkout").status_code == 404
    assert outsider.post(f"{path}/versions/1/restore").status_code == 404
    assert upload(outsider, world.ws_id, b"x", "a.txt").status_code == 404


def test_observer_reads_but_does_not_change(world, as_user, document):
    observer = as_user(world.observer)
    path = f"/documents/{document['id']}"

    assert observer.get(path).status_code == 200
    assert observer.get(f"{path}/download").data == b"Orden del dia"
    assert observer.patch(path, json={"title": "x"}).status_code == 403
    assert upload(observer, world.ws_id, b"x", "a.txt", path=f"{path}/versions").status_code == 403
    assert observer.post(f"{path}/checkout").status_code == 403
    assert observer.delete(path).status_code == 403


def test_members_do_not_delete_coordinators_do(world, as_user, document):
    path = f"/documents/{document['id']}"

    assert as_user(world.member).delete(path).status_code == 403
    assert as_user(world.coordinator).delete(path).status_code == 200
    # In the trash: gone for members and observers, downloads included; those who may
    # restore it still see it (the trash lists it) and cannot change it until restored.
    for role in ("observer", "member"):
        assert as_user(getattr(world, role)).get(f"{path}/download").status_code == 404
    for role in ("coordinator", "secretariat"):
        assert as_user(getattr(world, role)).get(f"{path}/download").status_code == 200
        assert as_user(getattr(world, role)).patch(path, {"title": "x"}).status_code == 409


def test_archived_workspace_takes_no_uploads(world, as_user, document):
    as_user(world.secretariat).delete(f"/workspaces/{world.ws_id}")

    response = upload(as_user(world.member), world.ws_id, b"x", "a.txt")

    assert response.status_code == 409
    assert as_user(world.member).get(f"/documents/{document['id']}/download").status_code == 200


def test_anonymous_is_asked_to_sign_in(api, document):
    assert api.get(f"/documents/{document['id']}/download").status_code == 401
