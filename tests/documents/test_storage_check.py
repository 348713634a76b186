"""`flask portal storage-check [--repair]` against both stores."""

from __future__ import annotations

import io

from sqlalchemy import select

from portal.documents.models import Blob, DocumentVersion
from portal.documents.storage import S3Store, store_named
from portal.extensions import db

from .conftest import upload


def _run(app, *args: str):
    return app.test_cli_runner().invoke(args=["portal", "storage-check", *args])


def _blob(app, document_id: int) -> tuple[str, str]:
    with app.app_context():
        blob = db.session.scalar(
            select(Blob)
            .join(DocumentVersion, DocumentVersion.blob_id == Blob.id)
            .where(DocumentVersion.document_id == document_id)
        )
        return blob.store, blob.key


def _overwrite(app, store_name: str, key: str, data: bytes) -> None:
    with app.app_context():
        store = store_named(store_name)
        if isinstance(store, S3Store):
            store.client.put_object(store.bucket, key, io.BytesIO(data), len(data))
        else:
            store.path_of(key).write_bytes(data)


def test_a_consistent_store_passes(app, world, as_user, store):
    upload(as_user(world.member), world.ws_id, b"contenido", "a.txt")

    result = _run(app)

    assert result.exit_code == 0, result.output
    assert "Checked 1 blobs: 0 orphans, 0 missing, 0 damaged" in result.output


def test_orphans_are_found_and_removed_after_the_grace_period(app, world, store):
    with app.app_context():
        orphan = store_named(store).put(io.BytesIO(b"huerfano"))

    recent = _run(app)
    repaired = _run(app, "--repair", "--grace-minutes", "0")

    assert recent.exit_code == 0 and "(recent, kept)" in recent.output
    assert repaired.exit_code == 0, repaired.output
    assert f"removed orphan {store}:{orphan.key}" in repaired.output
    with app.app_context():
        assert store_named(store).stat(orphan.key) is None


def test_missing_blob_is_reported_and_cannot_be_invented(app, world, as_user, store):
    created = upload(as_user(world.member), world.ws_id, b"contenido", "a.txt").get_json()
    store_name, key = _blob(app, created["id"])
    with app.app_context():
        store_named(store_name).delete(key)

    result = _run(app)
    repaired = _run(app, "--repair")

    assert result.exit_code == 1
    assert f"missing blob {store_name}:{key}" in result.output
    assert repaired.exit_code == 1
    assert "no intact copy" in repaired.output
    download = as_user(world.member).get(f"/documents/{created['id']}/download")
    assert download.status_code == 503


def test_damaged_blob_is_replaced_by_an_intact_copy(app, world, as_user, store):
    member = as_user(world.member)
    first = upload(member, world.ws_id, b"mismo contenido", "a.txt").get_json()
    upload(member, world.ws_id, b"mismo contenido", "b.txt")
    store_name, key = _blob(app, first["id"])
    _overwrite(app, store_name, key, b"MISMO CONTENIDO")  # same size, other bytes

    found = _run(app)
    repaired = _run(app, "--repair")
    after = _run(app)

    assert found.exit_code == 1 and "checksum mismatch" in found.output
    assert repaired.exit_code == 0, repaired.output
    assert after.exit_code == 0, after.output
    assert member.get(f"/documents/{first['id']}/download").data == b"mismo contenido"
