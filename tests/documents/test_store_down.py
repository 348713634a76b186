"""The S3 server stops mid-suite: 503 `unavailable`, quickly, and nothing changes."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from portal.documents.models import Blob, Document, DocumentVersion
from portal.events import Event
from portal.extensions import db

from .conftest import s3_settings, upload


def _state(app):
    with app.app_context():
        return [
            db.session.scalar(select(func.count()).select_from(model))
            for model in (Document, DocumentVersion, Blob, Event)
        ]


def test_store_down_answers_503_quickly_and_changes_nothing(
    app, world, as_user, doomed_weed, settings
):
    settings(**s3_settings(doomed_weed))
    member = as_user(world.member)
    created = upload(member, world.ws_id, b"antes", "a.txt")
    assert created.status_code == 201
    document_id = created.get_json()["id"]
    before = _state(app)

    doomed_weed.stop()
    started = time.monotonic()
    new_document = upload(member, world.ws_id, b"durante", "b.txt")
    new_version = upload(
        member, world.ws_id, b"durante", "a.txt", path=f"/documents/{document_id}/versions"
    )
    download = member.get(f"/documents/{document_id}/download")
    elapsed = time.monotonic() - started

    for response in (new_document, new_version, download):
        assert response.status_code == 503, response.get_json()
        assert response.get_json()["error"]["code"] == "unavailable"
    assert elapsed < 20
    assert _state(app) == before
    # What the database knows stays readable.
    assert member.get(f"/documents/{document_id}").status_code == 200


def test_wrong_credentials_are_unavailable_not_a_crash(app, world, as_user, weed, settings):
    settings(**(s3_settings(weed) | {"S3_SECRET_KEY": "not-the-secret"}))

    response = upload(as_user(world.member), world.ws_id, b"x", "a.txt")

    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "unavailable"
    assert _state(app)[:3] == [0, 0, 0]
