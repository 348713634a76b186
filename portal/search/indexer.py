"""Keeping the index in step with the database by following the event outbox.

`catch_up` applies every event after the index's cursor: each item an event
names is re-read from the database and rewritten in the index, or removed if it
is gone or in the trash. The same function serves the indexer thread of the
embedded default, the `portal indexer` process of production, and an indexer
that was down (it resumes from its cursor).
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from whoosh import index as whoosh_index
from whoosh.writing import LockError

from .. import events
from ..api import database_is_down
from ..backoff import Backoff, one_line
from ..events import Event
from ..extensions import db
from ..workspaces.models import Item
from .content import (
    build_documents,
    copy_documents,
    copy_versions,
    items_created_by,
    items_of_community,
    load_items,
)
from .index import SearchIndex, write_cursor

log = logging.getLogger(__name__)

EVENT_BATCH = 2000
REBUILD_BATCH = 500


def search_index(app: Flask) -> SearchIndex:
    return app.extensions["portal_search"]


def _affected_item(event_item_id: int | None, data: dict[str, Any]) -> int | None:
    # A purged item's events lose their item_id (ON DELETE SET NULL); its id stays in data.
    if event_item_id is not None:
        return event_item_id
    value = data.get("item_id") if isinstance(data, dict) else None
    return value if isinstance(value, int) else None


# What of a community its items' documents carry (facets and place names).
_COMMUNITY_FIELDS = {"name", "port", "member_state_code"}


def _affected_items(rows: list[Any]) -> set[int]:
    """The items whose documents these events change: the item an event names, the items
    that carry a renamed community's names, the items of a person who changed community."""
    found: set[int] = set()
    for row in rows:
        item_id = _affected_item(row.item_id, row.data)
        data = row.data if isinstance(row.data, dict) else {}
        changed = set(data.get("fields") or ())
        if item_id is not None:
            found.add(item_id)
        elif row.verb == "community.updated" and changed & _COMMUNITY_FIELDS:
            found |= items_of_community(data.get("community_id", 0))
        elif row.verb.startswith("user.") and "community_id" in changed:
            found.update(items_created_by(data.get("user_id", 0)))
    return found


def documents_of(item_ids: list[int]) -> list[dict[str, Any]]:
    """The index documents of these items: the live ones' and their public copies."""
    items = load_items(item_ids)
    return build_documents([items[i] for i in item_ids if i in items]) + copy_documents(item_ids)


def write_items(index: SearchIndex, item_ids: set[int]) -> None:
    """Rewrite every document of these items (in both scopes), dropping those gone."""
    documents = documents_of(sorted(item_ids))
    with index.writer() as writer:
        for item_id in item_ids:
            writer.delete_by_term("item_id", str(item_id))
        for document in documents:
            writer.add_document(**document)


def catch_up(index: SearchIndex) -> int:
    """Apply the events after the cursor; returns how many were applied."""
    applied = 0
    while True:
        cursor = index.cursor()
        rows = db.session.execute(
            select(Event.id, Event.verb, Event.item_id, Event.data)
            .where(Event.id > cursor)
            .order_by(Event.id)
            .limit(EVENT_BATCH)
        ).all()
        item_ids = sorted(_affected_items(rows))
        db.session.rollback()  # end the read transaction: the next batch sees new commits
        if not rows:
            return applied
        for start in range(0, len(item_ids), REBUILD_BATCH):
            write_items(index, set(item_ids[start : start + REBUILD_BATCH]))
            db.session.rollback()
        index.set_cursor(rows[-1].id)
        applied += len(rows)


def pending_item_ids(index: SearchIndex) -> set[int]:
    """Items whose latest changes the index does not reflect yet (a few seconds' worth)."""
    rows = db.session.execute(
        select(Event.item_id, Event.data).where(Event.id > index.cursor())
    ).all()
    return {i for i in (_affected_item(r.item_id, r.data) for r in rows) if i is not None}


def live_item_ids() -> Iterator[list[int]]:
    last = 0
    while True:
        ids = list(
            db.session.scalars(
                select(Item.id)
                .where(Item.deleted_at.is_(None), Item.id > last)
                .order_by(Item.id)
                .limit(REBUILD_BATCH)
            )
        )
        if not ids:
            return
        yield ids
        last = ids[-1]


def rebuild(
    index: SearchIndex, progress: Callable[[int], None] = lambda n: None, procs: int = 1
) -> int:
    """Build a fresh index beside the current one and swap it in; returns the item count.

    The cursor is taken before reading, so changes made during the rebuild are
    replayed by the next catch-up. Searches keep using the old index meanwhile.
    """
    cursor = db.session.scalar(select(func.max(Event.id))) or 0
    directory = index.new_directory()
    options: dict[str, Any] = {"limitmb": 256}
    if procs > 1:
        options.update(procs=procs, multisegment=True)
    writer = whoosh_index.open_dir(str(directory)).writer(**options)
    count = 0
    try:
        for ids in live_item_ids():
            for document in documents_of(ids):
                writer.add_document(**document)
            count += len(ids)
            progress(len(ids))
            db.session.expunge_all()
        writer.commit()
    except BaseException:
        writer.cancel()
        shutil.rmtree(directory, ignore_errors=True)
        raise
    write_cursor(directory, cursor)
    index.swap_to(directory)
    return count


def check(index: SearchIndex) -> dict[str, list[str]]:
    """Index documents missing, indexed at an old version, or indexed but gone: workspace
    documents by item id, public copies as `public:<item id>`."""
    database = {
        str(item_id): version
        for item_id, version in db.session.execute(
            select(Item.id, Item.version).where(Item.deleted_at.is_(None))
        )
    } | copy_versions()
    indexed: dict[str, int] = {}
    with index.open().searcher() as searcher:
        for fields in searcher.all_stored_fields():
            indexed[fields["id"]] = int(fields["version"])

    def in_order(keys: Any) -> list[str]:
        return sorted(keys, key=lambda key: (key.startswith("public:"), int(key.split(":")[-1])))

    return {
        "missing": in_order(database.keys() - indexed.keys()),
        "stale": in_order(k for k, v in indexed.items() if k in database and database[k] != v),
        "orphaned": in_order(indexed.keys() - database.keys()),
    }


class IndexerThread:
    """The embedded default: a thread of the web process applies index jobs.

    Woken by each commit's events (and every second, to pick up other
    processes' commits); a lock timeout or a failure is logged and retried.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="portal-indexer", daemon=True)

    def start(self) -> None:
        events.subscribe(self._notify)
        self.thread.start()

    def _notify(self, batch: list[events.CommittedEvent]) -> None:
        self.wake.set()

    def _run(self) -> None:
        with self.app.app_context():
            index = search_index(self.app)
            backoff = Backoff(1.0)
            wait = 1.0
            while not self.stop.is_set():
                self.wake.wait(wait)
                self.wake.clear()
                wait = 1.0
                try:
                    catch_up(index)
                except LockError:
                    log.info("index writer busy; retrying")
                except Exception as error:
                    wait = backoff.failed()
                    if database_is_down(error):
                        log.warning("indexing waits for the database: %s", one_line(error))
                    else:
                        log.exception("indexing failed; retrying from the cursor")
                else:
                    if backoff.succeeded():
                        log.info("indexing again, at event %s", index.cursor())
                finally:
                    db.session.remove()


def init_app(app: Flask) -> None:
    """Open the index lazily; in `thread` mode start the indexer with the first request
    (after any fork of the server), so it lives in the process that serves."""
    from pathlib import Path

    app.extensions["portal_search"] = SearchIndex(Path(app.instance_path) / "index")
    if app.config["PORTAL"]["INDEXER"] != "thread":
        return
    started = threading.Lock()

    def ensure_indexer() -> None:
        if "portal_indexer" in app.extensions or not started.acquire(blocking=False):
            return
        thread = IndexerThread(app)
        app.extensions["portal_indexer"] = thread
        thread.start()

    app.before_request(ensure_indexer)
