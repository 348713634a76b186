"""`portal backup DEST` and `portal restore SRC`: back up, change things, restore, and
the portal is exactly as at the backup; a backup during uploads is consistent; bad
input is refused with a message and changes nothing.

On the test database (SQLite, or PostgreSQL with PORTAL_TEST_DATABASE_URL) and on
both blob stores (S3: SeaweedFS, as the document tests)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from portal.documents.models import Blob
from portal.documents.storage import store_named
from portal.extensions import db

from .documents import conftest as documents
from .documents.conftest import s3_settings, upload

# The document tests' fixtures: both blob stores, the S3 server, an empty local store.
doomed_weed = documents.doomed_weed
empty_local_store = documents.empty_local_store
settings = documents.settings
store = documents.store
weed = documents.weed


def _cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["portal", *args])


def _refused(result, message: str) -> None:
    """Exit code 1 with a message, never a traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert message in result.output, result.output
    assert "Traceback" not in result.output


def _rows(app) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    with app.app_context():
        names = [table.name for table in db.metadata.sorted_tables] + ["alembic_version"]
        with db.engine.connect() as conn:
            return {
                name: sorted(
                    (tuple(row) for row in conn.execute(text(f'SELECT * FROM "{name}"'))), key=repr
                )
                for name in names
            }


def _blobs(app) -> dict[int, tuple[str, int, str]]:
    """Each blob row's key, size and the SHA-256 of what its store holds."""
    with app.app_context():
        return {
            blob.id: (blob.key, blob.size, store_named(blob.store).sha256_of(blob.key))
            for blob in db.session.scalars(select(Blob))
        }


def _found(client, words: str) -> list[int]:
    response = client.get("/search", query_string={"q": words})
    assert response.status_code == 200, response.get_json()
    return [hit["id"] for hit in response.get_json()["items"]]


def _memo(client, world, title: str, body: str) -> int:
    response = client.post(f"/workspaces/{world.ws_id}/memos", {"title": title, "body": body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _document(client, world, data: bytes, name: str) -> int:
    response = upload(client, world.ws_id, data, name)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _assert_clean(app) -> None:
    checked = _cli(app, "storage-check")
    assert checked.exit_code == 0, checked.output
    assert "0 orphans, 0 missing, 0 damaged, 0 unused rows" in checked.output
    indexed = _cli(app, "reindex", "--check")
    assert indexed.exit_code == 0, indexed.output


def test_restore_brings_the_portal_back_as_it_was_at_the_backup(
    app,
    world,
    as_user,
    store,
    sync,
    tmp_path,
):
    member, coordinator = as_user(world.member), as_user(world.coordinator)
    memo = _memo(member, world, "Plan de dragado", "Profundidad del canal de acceso")
    _memo(coordinator, world, "Tarifas portuarias", "Dragado y practicaje")
    minutes = _document(member, world, b"Acta de la primera reunion", "acta.txt")
    upload(
        member,
        world.ws_id,
        b"Acta corregida, segunda version",
        "acta.txt",
        path=f"/documents/{minutes}/versions",
    )
    study = _document(coordinator, world, b"Estudio de calado del canal " * 5000, "estudio.txt")
    sync()
    found_before = _found(member, "dragado")
    rows, blobs = _rows(app), _blobs(app)

    backed_up = _cli(app, "backup", str(tmp_path / "backup"))
    assert backed_up.exit_code == 0, backed_up.output

    _memo(member, world, "Dragado de emergencia", "Nuevo dragado")
    assert _cli(app, "create-user", "nueva@ports.example", "--name", "Nueva").exit_code == 0
    group = as_user(world.secretariat).post("/workspaces", {"name": "Grupo posterior"})
    assert group.status_code == 201, group.get_json()
    member.patch(f"/memos/{memo}", {"body": "Otro texto"})
    member.delete(f"/documents/{study}")
    upload(member, world.ws_id, b"tercera", "acta.txt", path=f"/documents/{minutes}/versions")
    _document(member, world, b"Documento posterior", "posterior.txt")
    sync()
    assert _rows(app) != rows and _found(member, "dragado") != found_before

    restored = _cli(app, "restore", str(tmp_path / "backup"), "--force")

    assert restored.exit_code == 0, restored.output
    assert "Search index: rebuilt" in restored.output
    assert _rows(app) == rows
    assert _blobs(app) == blobs
    _assert_clean(app)
    assert _found(member, "dragado") == found_before
    download = member.get(f"/documents/{minutes}/download")
    assert download.data == b"Acta corregida, segunda version"
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["counts"]["document_versions"] == 3
    assert {(b["size"], b["sha256"]) for b in manifest["blobs"]} == {
        (size, digest) for _, size, digest in blobs.values()
    }


def test_a_local_backup_restores_into_s3(app, world, as_user, settings, weed, tmp_path):
    settings(STORAGE="local")
    member = as_user(world.member)
    document = _document(member, world, b"Manual de operaciones" * 1000, "manual.txt")
    rows = _rows(app)
    assert _cli(app, "backup", str(tmp_path / "backup")).exit_code == 0
    settings(**s3_settings(weed))

    restored = _cli(app, "restore", str(tmp_path / "backup"), "--force")

    assert restored.exit_code == 0, restored.output
    assert "into the s3 store" in restored.output
    after = _rows(app)
    with app.app_context():
        assert set(db.session.scalars(select(Blob.store))) == {"s3"}
    assert {k: v for k, v in after.items() if k != "blobs"} == {
        k: v for k, v in rows.items() if k != "blobs"
    }
    assert member.get(f"/documents/{document}/download").data == b"Manual de operaciones" * 1000
    _assert_clean(app)


def test_a_backup_taken_while_documents_are_uploaded_is_consistent(
    app,
    world,
    as_user,
    store,
    tmp_path,
):
    member = as_user(world.member)
    statuses: list[int] = []
    stop = threading.Event()

    def keep_uploading() -> None:
        while not stop.is_set():
            number = len(statuses)
            response = upload(member, world.ws_id, b"pieza %d " % number * 2000, f"p{number}.txt")
            statuses.append(response.status_code)

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 60
        while len(statuses) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    uploader = threading.Thread(target=keep_uploading)
    uploader.start()
    try:
        wait_for(3)
        backed_up = _cli(app, "backup", str(tmp_path / "backup"))
        during = len(statuses)
        wait_for(during + 3)
    finally:
        stop.set()
        uploader.join()

    assert backed_up.exit_code == 0, backed_up.output
    assert set(statuses) == {201}
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["problems"] == []
    assert 3 <= manifest["counts"]["document_versions"] < len(statuses)
    assert len(manifest["blobs"]) == manifest["counts"]["document_versions"]
    for entry in manifest["blobs"]:
        data = (tmp_path / "backup" / entry["file"]).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["size"], entry["sha256"])
    restored = _cli(app, "restore", str(tmp_path / "backup"), "--force")
    assert restored.exit_code == 0, restored.output
    _assert_clean(app)


def test_an_older_backup_is_upgraded_after_the_restore(app, world, tmp_path):
    directory = app.extensions["migrate"].directory
    with app.app_context():
        head = db.session.scalar(text("SELECT version_num FROM alembic_version"))
        db.session.remove()
        downgrade(directory=directory, revision="-1")
        older = db.session.scalar(text("SELECT version_num FROM alembic_version"))
        db.session.remove()
    try:
        backed_up = _cli(app, "backup", str(tmp_path / "backup"))
    finally:
        with app.app_context():
            upgrade(directory=directory)
    rows = _rows(app)

    restored = _cli(app, "restore", str(tmp_path / "backup"), "--force")

    assert backed_up.exit_code == 0, backed_up.output
    assert restored.exit_code == 0, restored.output
    assert f"upgrading the schema from migration {older}" in restored.output
    assert _rows(app)["alembic_version"] == [(head,)]
    assert _rows(app)["users"] == rows["users"]


# --- refusals: a message, exit code != 0, and nothing changed ----------------------


@pytest.fixture
def backup(app, world, as_user, tmp_path):
    """A backup of the world with a document, and the client that made it."""
    member = as_user(world.member)
    _document(member, world, b"Reglamento del puerto", "reglamento.txt")
    result = _cli(app, "backup", str(tmp_path / "backup"))
    assert result.exit_code == 0, result.output
    return tmp_path / "backup"


def test_backup_refuses_a_destination_that_is_not_empty(app, backup):
    _refused(_cli(app, "backup", str(backup)), "exists and is not empty")
    missing = _cli(app, "backup")
    assert missing.exit_code == 2 and "Missing argument 'DEST'" in missing.output


def test_restore_refuses_what_is_not_a_backup(app, backup, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "garbage").mkdir()
    (tmp_path / "garbage" / "manifest.json").write_text("{not json")
    (tmp_path / "file").write_text("x")

    _refused(_cli(app, "restore", str(tmp_path / "empty"), "--force"), "is not a portal backup")
    _refused(_cli(app, "restore", str(tmp_path / "garbage"), "--force"), "not a readable")
    _refused(_cli(app, "restore", str(tmp_path / "file"), "--force"), "is not a folder")
    _refused(_cli(app, "restore", str(tmp_path / "nowhere"), "--force"), "is not a folder")


def test_restore_refuses_a_database_that_is_not_empty_without_force(app, world, backup, as_user):
    _document(as_user(world.member), world, b"Posterior", "posterior.txt")
    rows = _rows(app)

    _refused(_cli(app, "restore", str(backup)), "not empty")
    assert _rows(app) == rows


def test_restore_refuses_a_damaged_database_file_or_a_newer_schema(app, world, backup, as_user):
    _document(as_user(world.member), world, b"Posterior", "posterior.txt")
    rows = _rows(app)
    manifest_path = backup / "manifest.json"
    manifest = json.loads(manifest_path.read_text())

    manifest_path.write_text(json.dumps({**manifest, "migration_head": "9999"}))
    _refused(_cli(app, "restore", str(backup), "--force"), "newer than this code knows")
    manifest_path.write_text(json.dumps(manifest))
    with open(backup / manifest["database"]["file"], "r+b") as database:
        database.seek(200)
        database.write(b"damage")
    _refused(_cli(app, "restore", str(backup), "--force"), "missing or damaged")
    assert _rows(app) == rows


def test_restore_refuses_a_damaged_blob_before_touching_the_database(app, world, backup, as_user):
    _document(as_user(world.member), world, b"Posterior", "posterior.txt")
    rows = _rows(app)
    entry = json.loads((backup / "manifest.json").read_text())["blobs"][0]
    (backup / entry["file"]).write_bytes(b"Reglamento del puertX")
    with app.app_context():  # the store lost it too: the backup's copy is needed
        store_named(entry["store"]).delete(entry["key"])

    result = _cli(app, "restore", str(backup), "--force")

    _refused(result, "is damaged")
    assert "Nothing in the database was changed" in result.output
    assert _rows(app) == rows
    with app.app_context():
        assert store_named(entry["store"]).stat(entry["key"]) is None


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_database_file_the_tools_cannot_read_leaves_the_database_as_it_was(
    app, world, backup, as_user, damage
):
    """The checksum matches (the manifest is rewritten): pg_restore, psql or SQLite fail
    part-way, and the transaction leaves the database as it was."""
    _document(as_user(world.member), world, b"Posterior", "posterior.txt")
    rows = _rows(app)
    manifest = json.loads((backup / "manifest.json").read_text())
    database = backup / manifest["database"]["file"]
    whole = database.read_bytes()
    unreadable = b"not a database " * 100 if damage == "garbage" else whole[: len(whole) * 2 // 3]
    database.write_bytes(unreadable)
    manifest["database"]["sha256"] = hashlib.sha256(unreadable).hexdigest()
    (backup / "manifest.json").write_text(json.dumps(manifest))

    result = _cli(app, "restore", str(backup), "--force")

    _refused(result, "The database is as it was")
    assert _rows(app) == rows


def test_a_backup_whose_store_is_down_fails_and_says_it_is_incomplete(
    app, world, as_user, settings, doomed_weed, tmp_path
):
    settings(**s3_settings(doomed_weed))
    _document(as_user(world.member), world, b"Reglamento", "reglamento.txt")
    doomed_weed.kill()

    result = _cli(app, "backup", str(tmp_path / "backup"))

    _refused(result, "The s3 store is unavailable")
    assert "incomplete (it has no manifest): remove it" in result.output
    assert not (tmp_path / "backup" / "manifest.json").exists()


def test_a_restore_whose_store_is_down_changes_nothing(
    app, world, backup, as_user, settings, doomed_weed
):
    _document(as_user(world.member), world, b"Posterior", "posterior.txt")
    rows = _rows(app)
    settings(**s3_settings(doomed_weed))
    doomed_weed.kill()

    result = _cli(app, "restore", str(backup), "--force")

    _refused(result, "The s3 store is unavailable")
    assert "Nothing in the database was changed" in result.output
    assert _rows(app) == rows


def test_portal_cfg_is_backed_up_and_put_back_where_none_is(app, world, tmp_path):
    config = Path(app.instance_path) / "portal.cfg"
    config.write_text("SECRET_KEY = 'the-secret-key-of-the-backed-up-portal-0123'\n")
    try:
        assert _cli(app, "backup", str(tmp_path / "backup")).exit_code == 0
        config.unlink()
        restored = _cli(app, "restore", str(tmp_path / "backup"), "--force")
        assert restored.exit_code == 0, restored.output
        assert "the-secret-key-of-the-backed-up-portal" in config.read_text()

        config.write_text("SECRET_KEY = 'another-key'\n")
        again = _cli(app, "restore", str(tmp_path / "backup"), "--force")
        assert again.exit_code == 0, again.output
        assert config.read_text() == "SECRET_KEY = 'another-key'\n"
        beside = config.with_name("portal.cfg.from-backup")
        assert "the-secret-key-of-the-backed-up-portal" in beside.read_text()
        assert "differs from the backup's and is kept" in again.output
    finally:
        config.unlink(missing_ok=True)
        config.with_name("portal.cfg.from-backup").unlink(missing_ok=True)
