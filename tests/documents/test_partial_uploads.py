"""Uploads that never finished: `.part` files of the local store and incomplete
multipart uploads in S3 are listed by `storage-check`, removed by `--repair`,
and removed when the portal starts once they are older than an hour."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

from flask import Flask

from portal import create_app
from portal.documents import maintenance
from portal.documents.storage import MiB, store_named
from portal.extensions import db

from ..conftest import TEST_SETTINGS
from .conftest import s3_settings
from .test_storage_check import _run


def _partial_file(instance: Path, name: str, age: timedelta) -> Path:
    incoming = instance / "blobs" / ".incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    path = incoming / name
    path.write_bytes(b"cut short")
    moment = time.time() - age.total_seconds()
    os.utime(path, (moment, moment))
    return path


def _incomplete_upload(app: Flask, key: str) -> str:
    """Start a multipart upload on S3 and send one part of it, as `put_object` does."""
    with app.app_context():
        store = store_named("s3")
        store.ensure_bucket()
        upload_id = store.client._create_multipart_upload(store.bucket, key, {})
        store.client._upload_part(store.bucket, key, b"x" * (5 * MiB), None, upload_id, 1)
        return upload_id


def _incomplete_keys(app: Flask) -> list[str]:
    with app.app_context():
        store = store_named("s3")
        return [u.object_name for u in store.client._list_multipart_uploads(store.bucket).uploads]


def _start(app: Flask, instance: Path, **settings: object) -> Flask:
    """Another app on the same database, as a new process makes it, after its first
    request and the clean-up that request starts."""
    started = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            **TEST_SETTINGS,
            **settings,
        }
    )
    assert started.test_client().get("/api/v1/health").status_code == 200
    started.extensions["portal_partial_sweep"].join(30)
    with started.app_context():
        db.engine.dispose()
    return started


def test_partial_files_are_listed_and_stale_ones_removed(app, world):
    instance = Path(app.instance_path)
    stale = _partial_file(instance, "ab_stale.part", timedelta(hours=2))
    fresh = _partial_file(instance, "cd_fresh.part", timedelta(0))

    found = _run(app)
    repaired = _run(app, "--repair")
    after = _run(app)

    assert found.exit_code == 1
    assert "partial upload local:.incoming/ab_stale.part\n" in found.output
    assert "partial upload local:.incoming/cd_fresh.part (recent, kept)" in found.output
    assert "1 partial uploads" in found.output
    assert repaired.exit_code == 0, repaired.output
    assert "removed partial upload local:.incoming/ab_stale.part" in repaired.output
    assert not stale.exists() and fresh.exists()
    assert after.exit_code == 0, after.output


def test_an_incomplete_multipart_upload_is_listed_and_aborted(app, world, weed, settings):
    settings(**s3_settings(weed))
    _incomplete_upload(app, "ab/cut-short")

    recent = _run(app)
    repaired = _run(app, "--repair", "--grace-minutes", "0")
    after = _run(app, "--grace-minutes", "0")

    assert recent.exit_code == 0, recent.output
    assert "partial upload s3:ab/cut-short (upload " in recent.output
    assert "(recent, kept)" in recent.output
    assert repaired.exit_code == 0, repaired.output
    assert "removed partial upload s3:ab/cut-short" in repaired.output
    assert after.exit_code == 0, after.output
    assert _incomplete_keys(app) == []


def test_start_up_removes_partial_files_older_than_an_hour(app, tmp_path):
    stale = _partial_file(tmp_path, "ab_stale.part", timedelta(hours=2))
    fresh = _partial_file(tmp_path, "cd_fresh.part", timedelta(minutes=10))

    _start(app, tmp_path)

    assert not stale.exists()
    assert fresh.exists()


def test_start_up_aborts_only_stale_incomplete_uploads(app, tmp_path, weed, settings, monkeypatch):
    s3 = s3_settings(weed)
    settings(**s3)
    _incomplete_upload(app, "ab/in-flight")

    _start(app, tmp_path / "first", **s3)
    kept = _incomplete_keys(app)
    monkeypatch.setattr(maintenance, "STALE_PARTIAL_AGE", timedelta(0))
    _start(app, tmp_path / "second", **s3)

    assert kept == ["ab/in-flight"]
    assert _incomplete_keys(app) == []
