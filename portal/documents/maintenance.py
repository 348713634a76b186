"""`portal storage-check`: compare blob rows with what the stores hold.

Finds orphan blobs (in a store, in no row), rows whose blob is missing, blobs
whose bytes no longer match their size or SHA-256, and what uploads cut off by
a crash left (`.part` files, incomplete S3 multipart uploads). `repair` removes
orphans and partial uploads older than a grace period (younger ones may be
uploads in flight), points versions whose blob is missing or damaged at an
intact blob with the same checksum when one exists, and removes blob rows no
version uses. Each serving process also removes partial uploads older than an
hour once, in the background, from its first request on (`init_app`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select, update

from ..events import utcnow
from ..extensions import db
from .models import Blob, DocumentVersion
from .storage import BlobMissing, Partial, StoreUnavailable, store_named

log = logging.getLogger(__name__)

# Older than this, an unfinished upload is abandoned: removed when a process starts.
STALE_PARTIAL_AGE = timedelta(hours=1)


@dataclass
class Report:
    orphans: list[tuple[str, str]] = field(default_factory=list)
    young_orphans: list[tuple[str, str]] = field(default_factory=list)
    missing: list[Blob] = field(default_factory=list)
    damaged: list[tuple[Blob, str]] = field(default_factory=list)
    unused_rows: list[Blob] = field(default_factory=list)
    partials: list[tuple[str, Partial]] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    unrepaired: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def problems(self) -> int:
        return (
            len(self.orphans)
            + len(self.missing)
            + len(self.damaged)
            + len(self.unused_rows)
            + len(self.partials)
            + len(self.unreachable)
        )


def _young(moment: datetime | None, now: datetime, grace: timedelta) -> bool:
    return moment is not None and now - moment < grace


def check(
    *,
    checksums: bool = True,
    grace: timedelta = timedelta(hours=1),
    say: Callable[[str], None] = log.info,
) -> Report:
    report = Report()
    rows = list(db.session.scalars(select(Blob).order_by(Blob.id)))
    used = set(db.session.scalars(select(DocumentVersion.blob_id).distinct()))
    store_names = {row.store for row in rows} | {db_store_setting()}
    now = utcnow()
    for name in sorted(store_names):
        try:
            store = store_named(name)
            listed = {key: (size, modified) for key, size, modified in store.list_blobs()}
            partials = list(store.list_partials())
        except StoreUnavailable as error:
            report.unreachable.append(name)
            say(f"store {name}: unreachable ({error.detail or error.message})")
            continue
        known = {row.key: row for row in rows if row.store == name}
        for key in sorted(set(listed) - set(known)):
            young = _young(listed[key][1], now, grace)
            (report.young_orphans if young else report.orphans).append((name, key))
            say(f"orphan blob {name}:{key}" + (" (recent, kept)" if young else ""))
        for partial in partials:
            young = _young(partial.started, now, grace)
            if not young:
                report.partials.append((name, partial))
            say(f"partial upload {name}:{partial}" + (" (recent, kept)" if young else ""))
        for key, row in known.items():
            report.checked += 1
            if key not in listed:
                report.missing.append(row)
                say(f"missing blob {name}:{key} (blob row {row.id})")
                continue
            size = listed[key][0]
            if size != row.size:
                report.damaged.append((row, f"size {size} instead of {row.size}"))
                say(f"damaged blob {name}:{key}: size {size} instead of {row.size}")
                continue
            if checksums:
                try:
                    digest = store.sha256_of(key)
                except (BlobMissing, StoreUnavailable):
                    report.missing.append(row)
                    say(f"unreadable blob {name}:{key}")
                    continue
                if digest != row.sha256:
                    report.damaged.append((row, "checksum mismatch"))
                    say(f"damaged blob {name}:{key}: checksum mismatch")
        for row in rows:
            if row.store == name and row.id not in used and row not in report.unused_rows:
                report.unused_rows.append(row)
                say(f"blob row {row.id} ({name}:{row.key}) is used by no version")
    return report


def db_store_setting() -> str:
    from flask import current_app

    return str(current_app.config["PORTAL"]["STORAGE"])


def repair(report: Report, say: Callable[[str], None] = log.info) -> Report:
    for name, key in report.orphans:
        try:
            store_named(name).delete(key)
            report.repaired.append(f"removed orphan {name}:{key}")
        except StoreUnavailable:
            report.unrepaired.append(f"orphan {name}:{key}: store unavailable")
    for name, partial in report.partials:
        try:
            store_named(name).remove_partial(partial)
            report.repaired.append(f"removed partial upload {name}:{partial}")
        except StoreUnavailable:
            report.unrepaired.append(f"partial upload {name}:{partial}: store unavailable")
    unused = {row.id: row for row in report.unused_rows}
    bad = {row.id: row for row in report.missing} | {row.id: row for row, _ in report.damaged}
    doomed = dict(unused)
    for row in bad.values():
        if row.id in unused:
            continue
        twin = db.session.scalar(
            select(Blob)
            .where(Blob.sha256 == row.sha256, Blob.size == row.size, Blob.id.not_in(list(bad)))
            .order_by(Blob.id)
            .limit(1)
        )
        if twin is None:
            report.unrepaired.append(
                f"blob row {row.id} ({row.store}:{row.key}): no intact copy; restore it from backup"
            )
            continue
        db.session.execute(
            update(DocumentVersion).where(DocumentVersion.blob_id == row.id).values(blob_id=twin.id)
        )
        report.repaired.append(f"versions of blob row {row.id} now use the intact copy {twin.id}")
        doomed[row.id] = row
    locations = [(row.store, row.key) for row in doomed.values()]
    for row in doomed.values():
        db.session.delete(row)
        report.repaired.append(f"removed blob row {row.id}")
    db.session.commit()
    for name, key in locations:
        try:
            store_named(name).delete(key)
        except StoreUnavailable:
            report.unrepaired.append(f"blob {name}:{key} stays: store unavailable")
    for line in report.repaired + report.unrepaired:
        say(line)
    return report


def remove_stale_partials(app: Flask) -> None:
    """Remove the partial uploads older than STALE_PARTIAL_AGE from the local store
    and the configured one; younger ones may be uploads of other processes."""
    with app.app_context():
        now = utcnow()
        for name in sorted({"local", db_store_setting()}):
            try:
                store = store_named(name)
                for partial in list(store.list_partials()):
                    if not _young(partial.started, now, STALE_PARTIAL_AGE):
                        store.remove_partial(partial)
                        log.info("removed the abandoned partial upload %s:%s", name, partial)
            except StoreUnavailable as error:
                log.warning("partial uploads of store %s stay: %s", name, error.detail)


def init_app(app: Flask) -> None:
    """Clean up abandoned partial uploads once per process, in the background, from
    the first request on (after any fork of the server, not in every CLI command)."""
    started = threading.Lock()

    def sweep_once() -> None:
        if not started.acquire(blocking=False):
            return
        thread = threading.Thread(
            target=remove_stale_partials, args=(app,), name="partial-sweep", daemon=True
        )
        app.extensions["portal_partial_sweep"] = thread
        thread.start()

    app.before_request(sweep_once)
