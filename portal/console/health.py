"""The health of the components in the console: the database, the blob store, the search
index, the mail queue and Redis, each with what to do when it is down or behind.

Each component is probed in a thread of its own, all at once, and a probe that has not
answered after `TIMEOUT_SECONDS` counts as down: the page answers in a few seconds
whatever hangs. A probe only measures (in whatever thread runs it); the sentences are
written afterwards, in the request, in the viewer's language.

`GET /api/v1/health` (the load balancers' check, a contract) stays as it is."""

from __future__ import annotations

import io
import smtplib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from flask_babel import gettext, ngettext
from sqlalchemy import func, select, text

from .. import permissions
from ..api import ApiError
from ..documents.storage import current_store
from ..events import Event, utcnow
from ..extensions import db
from ..mail import OutboxMessage, queue_state
from ..pages import local_time, page, render, time_ago
from ..search.indexer import search_index
from . import bp

TIMEOUT_SECONDS = 4.0
# Network probes give up before the page does, so they can say why.
CONNECT_SECONDS = 2.0
# Work waiting longer than this is late (the indexer and the mailer poll every few seconds).
LATE_AFTER = timedelta(minutes=5)
PROBE_BYTES = b"portal health probe"
ENGINES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}

# --- the probes: measures only, in the probe's thread ------------------------------------


def probe_database() -> dict[str, Any]:
    db.session.execute(text("SELECT 1"))
    directory = current_app.extensions["migrate"].directory
    heads = set(ScriptDirectory(directory).get_heads())
    current = set(db.session.scalars(text("SELECT version_num FROM alembic_version")))
    return {
        "engine": ENGINES.get(db.engine.dialect.name, db.engine.dialect.name),
        "current": ", ".join(sorted(current)) or "—",
        "head": ", ".join(sorted(heads)),
        "up_to_date": current == heads,
    }


def probe_blob_store() -> dict[str, Any]:
    store = current_store()
    found = _store_place(current_app)
    blob = store.put(io.BytesIO(PROBE_BYTES), "text/plain", len(PROBE_BYTES))
    try:
        with store.open(blob.key) as reader:
            read = b"".join(reader)
    finally:
        store.delete(blob.key)
    return found | {"read_back": read == PROBE_BYTES}


def _store_place(app: Flask) -> dict[str, Any]:
    settings = app.config["PORTAL"]
    if settings["STORAGE"] == "s3":
        return {"kind": "s3", "endpoint": settings["S3_ENDPOINT"], "bucket": settings["S3_BUCKET"]}
    return {"kind": "local", "folder": str(Path(app.instance_path) / "blobs")}


def probe_search_index() -> dict[str, Any]:
    index = search_index(current_app)
    index.open()  # SearchUnavailable when missing, damaged or of an older schema
    cursor = index.cursor()
    newest = db.session.scalar(select(func.max(Event.id))) or 0
    waiting = db.session.execute(
        select(func.count(), func.min(Event.at)).where(Event.id > cursor)
    ).one()
    return {"cursor": cursor, "newest": newest, "waiting": waiting[0], "oldest": waiting[1]}


def probe_mail() -> dict[str, Any]:
    settings = current_app.config["PORTAL"]
    state = queue_state()
    overdue = db.session.scalar(
        select(func.min(OutboxMessage.next_attempt_at)).where(OutboxMessage.status == "pending")
    )
    last_error = db.session.scalar(
        select(OutboxMessage.last_error)
        .where(OutboxMessage.status == "failed")
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    found: dict[str, Any] = state | {"overdue_since": overdue, "last_error": last_error or ""}
    server = settings["MAIL_SERVER"]
    if not server:
        return found | {"folder": str(Path(current_app.instance_path) / "mail")}
    found["server"] = f"{server}:{settings['MAIL_PORT']}"
    connect = smtplib.SMTP_SSL if settings["MAIL_USE_SSL"] else smtplib.SMTP
    try:
        with connect(server, settings["MAIL_PORT"], timeout=CONNECT_SECONDS) as smtp:
            smtp.noop()
        found["answers"] = True
    except (OSError, smtplib.SMTPException) as error:
        found |= {"answers": False, "error": str(error) or type(error).__name__}
    return found


def probe_redis() -> dict[str, Any]:
    url = current_app.config["PORTAL"]["REDIS_URL"]
    if not url:
        return {"configured": False}
    parts = urlsplit(url)
    # Host and port only: the URL may hold a password.
    found = {"configured": True, "address": f"{parts.hostname}:{parts.port or 6379}"}
    client = redis.Redis.from_url(
        url, socket_connect_timeout=CONNECT_SECONDS, socket_timeout=CONNECT_SECONDS
    )
    try:
        client.ping()
    except redis.RedisError as error:
        return found | {"answers": False, "error": str(error)}
    finally:
        client.close()
    return found | {"answers": True}


# --- what the measures mean, in the viewer's language ------------------------------------


@dataclass
class Health:
    """A component as the page shows it: `status` ok, late, down or off (not configured)."""

    key: str
    name: str
    status: str = "ok"
    facts: list[str] = field(default_factory=list)
    advice: str = ""
    seconds: float | None = None


def _waiting_since(moment: datetime | None) -> bool:
    return moment is not None and utcnow() - moment > LATE_AFTER


def describe_database(health: Health, found: dict[str, Any]) -> None:
    health.facts.append(gettext("Answers (%(engine)s).", engine=found["engine"]))
    if found["up_to_date"]:
        health.facts.append(gettext("The schema is current (%(head)s).", head=found["head"]))
        return
    health.status = "late"
    health.facts.append(
        gettext(
            "The schema is at %(current)s; this version of the portal expects %(head)s.",
            current=found["current"],
            head=found["head"],
        )
    )
    health.advice = gettext(
        "Back up the database, then upgrade its schema: run "
        "“flask --app wsgi portal init” on the server and restart the portal."
    )


def _store_advice(place: dict[str, Any]) -> str:
    if place["kind"] == "s3":
        return gettext(
            "Check that the S3 service at %(endpoint)s runs, that the bucket %(bucket)s "
            "exists and that the portal's access and secret keys (PORTAL_S3_ACCESS_KEY, "
            "PORTAL_S3_SECRET_KEY) are right. Until then uploads and downloads fail.",
            endpoint=place["endpoint"] or "—",
            bucket=place["bucket"] or "—",
        )
    return gettext(
        "Check that the folder %(folder)s exists, that the portal may write to it and "
        "that the disk is not full. Until then uploads and downloads fail.",
        folder=place["folder"],
    )


def describe_blob_store(health: Health, found: dict[str, Any]) -> None:
    if found["kind"] == "s3":
        health.facts.append(
            gettext(
                "S3 service %(endpoint)s, bucket %(bucket)s.",
                endpoint=found["endpoint"],
                bucket=found["bucket"],
            )
        )
    else:
        health.facts.append(gettext("Files in the folder %(folder)s.", folder=found["folder"]))
    if found["read_back"]:
        health.facts.append(gettext("A test file was written, read back and deleted."))
    else:
        health.status = "down"
        health.facts.append(gettext("A test file read back differs from what was written."))
        health.advice = _store_advice(found)


def describe_search_index(health: Health, found: dict[str, Any]) -> None:
    waiting = found["waiting"]
    if not waiting:
        health.facts.append(
            gettext("Up to date: every event is indexed (the newest is number %(id)d).",
                    id=found["newest"])
        )  # fmt: skip
        return
    health.facts.append(
        ngettext(
            "%(num)d event waits to be indexed, the oldest from %(when)s.",
            "%(num)d events wait to be indexed, the oldest from %(when)s.",
            waiting,
            when=time_ago(found["oldest"]),
        )
    )
    health.facts.append(
        gettext(
            "The last event indexed is number %(cursor)d; the newest is number %(newest)d.",
            cursor=found["cursor"],
            newest=found["newest"],
        )
    )
    if not _waiting_since(found["oldest"]):
        return  # catching up
    health.status = "late"
    if current_app.config["PORTAL"]["INDEXER"] == "external":
        health.advice = gettext(
            "Search shows old results. Check that the indexer process "
            "(“flask --app wsgi portal indexer”) runs, and read its log."
        )
    else:
        health.advice = gettext(
            "Search shows old results. The portal's indexing thread has stopped or "
            "falls behind: read the portal's log, and restart the portal."
        )


def describe_mail(health: Health, found: dict[str, Any]) -> None:
    health.facts.append(
        gettext(
            "Waiting: %(pending)d. Being sent: %(sending)d. Failed: %(failed)d.",
            pending=found["pending"],
            sending=found["sending"],
            failed=found["failed"],
        )
    )
    if "folder" in found:
        health.status = "off"
        health.facts.append(
            gettext(
                "No mail server is configured: each message is written as an .eml file "
                "in the folder %(folder)s, and nobody receives it.",
                folder=found["folder"],
            )
        )
        health.advice = gettext(
            "To send e-mail, set PORTAL_MAIL_SERVER (and PORTAL_MAIL_PORT, "
            "PORTAL_MAIL_USERNAME, PORTAL_MAIL_PASSWORD) and restart the portal."
        )
    elif found["answers"]:
        health.facts.append(gettext("The mail server %(server)s answers.", server=found["server"]))
    else:
        health.status = "down"
        health.facts.append(
            gettext(
                "The mail server %(server)s does not answer: %(error)s",
                server=found["server"],
                error=found["error"],
            )
        )
        health.advice = gettext(
            "Messages wait in the queue and go out when the server answers again. Check that "
            "the mail server runs and that PORTAL_MAIL_SERVER and PORTAL_MAIL_PORT name it."
        )
        return
    if found["failed"]:
        health.status = "late"
        health.advice = ngettext(
            "%(num)d message could not be sent and will not be retried (the last error: "
            "%(error)s). Check the mail server's settings and the recipient's address, and "
            "tell the recipient another way.",
            "%(num)d messages could not be sent and will not be retried (the last error: "
            "%(error)s). Check the mail server's settings and the recipients' addresses, and "
            "tell the recipients another way.",
            found["failed"],
            error=found["last_error"] or "—",
        )
    elif _waiting_since(found["overdue_since"]):
        health.status = "late"
        health.facts.append(
            gettext(
                "Messages due since %(when)s have not gone out.",
                when=local_time(found["overdue_since"]),
            )
        )
        if current_app.config["PORTAL"]["MAILER"] == "external":
            health.advice = gettext(
                "Check that the sending process (“flask --app wsgi portal mailer”) runs, "
                "and read its log."
            )
        else:
            health.advice = gettext(
                "The portal's sending thread has stopped or falls behind: read the portal's "
                "log, and restart the portal."
            )


def describe_redis(health: Health, found: dict[str, Any]) -> None:
    if not found["configured"]:
        health.status = "off"
        health.facts.append(
            gettext(
                "Not configured: live updates and sign-in limits are kept by this process "
                "alone, which is right when one portal process serves everyone."
            )
        )
        return
    if found["answers"]:
        health.facts.append(gettext("Redis at %(address)s answers.", address=found["address"]))
        return
    health.status = "down"
    health.facts.append(
        gettext(
            "Redis at %(address)s does not answer: %(error)s",
            address=found["address"],
            error=found["error"],
        )
    )
    health.advice = _redis_advice()


def _redis_advice() -> str:
    return gettext(
        "Start Redis, or correct PORTAL_REDIS_URL and restart the portal. Until then live "
        "updates do not reach people served by the other portal processes."
    )


@dataclass(frozen=True)
class Component:
    key: str
    name: Callable[[], str]
    probe: Callable[[], dict[str, Any]]
    describe: Callable[[Health, dict[str, Any]], None]
    # What to do when the probe fails or does not answer in time.
    when_down: Callable[[Flask], str]


COMPONENTS = [
    Component(
        "database",
        lambda: gettext("Database"),
        probe_database,
        describe_database,
        lambda app: gettext(
            "Check that the database server runs and that PORTAL_DATABASE_URL names it."
        ),
    ),
    Component(
        "blob_store",
        lambda: gettext("Document store"),
        probe_blob_store,
        describe_blob_store,
        lambda app: _store_advice(_store_place(app)),
    ),
    Component(
        "search_index",
        lambda: gettext("Search index"),
        probe_search_index,
        describe_search_index,
        lambda app: gettext(
            "Rebuild the index: run “flask --app wsgi portal reindex” on the server. "
            "Until then search does not answer."
        ),
    ),
    Component(
        "mail",
        lambda: gettext("E-mail"),
        probe_mail,
        describe_mail,
        lambda app: gettext("Read the portal's log: the mail queue could not be read."),
    ),
    Component(
        "redis",
        lambda: gettext("Redis"),
        probe_redis,
        describe_redis,
        lambda app: _redis_advice(),
    ),
]


def _timed(app: Flask, probe: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], float]:
    """Run a probe in an application context of its own (it runs in its own thread)."""
    started = time.monotonic()
    with app.app_context():
        try:
            return probe(), time.monotonic() - started
        finally:
            db.session.remove()


def _failure(error: BaseException) -> str:
    if isinstance(error, ApiError):
        return error.message
    return str(error) or type(error).__name__


def check_all() -> list[Health]:
    """Every component's health, probed at once; at most TIMEOUT_SECONDS in all."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    pool = ThreadPoolExecutor(max_workers=len(COMPONENTS), thread_name_prefix="health")
    try:
        futures = [pool.submit(_timed, app, c.probe) for c in COMPONENTS]
        wait_for(futures, timeout=TIMEOUT_SECONDS)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a hung probe is left behind
    results = []
    for component, future in zip(COMPONENTS, futures, strict=True):
        health = Health(component.key, component.name())
        if not future.done():
            health.status = "down"
            health.facts.append(
                ngettext(
                    "No answer within %(num)d second.",
                    "No answer within %(num)d seconds.",
                    int(TIMEOUT_SECONDS),
                )
            )
            health.advice = component.when_down(app)
        elif (error := future.exception()) is not None:
            health.status = "down"
            health.facts.append(gettext("It failed: %(error)s", error=_failure(error)))
            health.advice = component.when_down(app)
        else:
            found, health.seconds = future.result()
            component.describe(health, found)
        results.append(health)
    return results


@bp.get("/health")
@page(access=permissions.console)
def health_page() -> str:
    components = check_all()
    return render(
        "console/health.html",
        components=components,
        troubled=[c for c in components if c.status in {"late", "down"}],
        checked_at=utcnow(),
    )
