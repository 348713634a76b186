"""`portal backup DEST` and `portal restore SRC`: the database, the blobs it
references and `portal.cfg`, described by a manifest.

A backup is consistent while the portal runs. An upload writes its blob to the
store before the rows naming it commit (`documents/service.py`: blob first,
row second), and a blob never changes once written. So the database snapshot
is taken FIRST — `pg_dump` inside a snapshot exported by a transaction that
also reads the blob rows and counts, or SQLite's online backup API with the
rows read from the copy — and only then are the blobs that snapshot names
copied: each was complete in its store before its row committed. Uploads that
commit later are in neither half. Only deleting a blob during the backup
breaks the pair (`portal purge`, `storage-check --repair`): do not run them
meanwhile; a blob gone or damaged is listed in the manifest (`problems`) and
the command fails, so a scheduler notices.

A restore changes nothing until the backup has been checked, and goes in an
order where every failure leaves a working portal and says what to do:

1. the manifest, the database file's checksum and the migration head (refused
   when newer than the code's), and an empty target database unless forced;
2. the blobs into the configured store (which may differ from the backup's)
   under the keys their rows name, each checked against the manifest while it
   streams and read back afterwards — the database is untouched, so a failure
   leaves at most orphans that `storage-check --repair` removes;
3. the database in one transaction (`pg_restore --clean --if-exists` piped
   into `psql --single-transaction`; SQLite's backup API, which writes the
   target in one transaction), every blob row pointed at the configured store;
4. an older schema upgraded, the search index rebuilt, `portal.cfg` put back.

Blobs of the store that the backup does not name are left alone (the store may
be shared with the database the backup replaces); `storage-check` lists them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from . import config as portal_config
from .documents.storage import CHUNK, BlobMissing, StoreUnavailable, current_store, store_named
from .extensions import db

MANIFEST = "manifest.json"
FORMAT = 1
DATABASE_FILES = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
# Tables that hold no data of the portal: a database with rows only here is empty.
BOOKKEEPING_TABLES = {"alembic_version"}
PROGRESS_EVERY = 100
UNCHANGED = "The database is as it was: the restore ran in one transaction."
SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

Say = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass
class Snapshot:
    """What the database snapshot holds: its migration head, row counts and blob rows."""

    head: str
    counts: dict[str, int]
    blobs: list[dict[str, Any]]


# --- shared ------------------------------------------------------------------------


def _database_url() -> URL:
    return db.engine.url


def _kind(url: URL) -> str:
    backend = url.get_backend_name()
    if backend not in DATABASE_FILES:
        raise BackupError(f"Backups support PostgreSQL and SQLite, not {backend}.")
    return backend


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The URL's parameters as pg_dump, pg_restore and psql take them: a libpq URL
    (host, port, user, database, query options) and the password in the environment,
    so it appears in no process list."""
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), environment


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("The SQLite database is in memory: there is nothing to back up.")
    return Path(url.database)


def _run(command: list[str], environment: dict[str, str], what: str) -> None:
    try:
        result = subprocess.run(  # noqa: S603 - pg tools, the URL as one argument
            command, env=environment, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed; it is needed to {what}.") from None
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed to {what}: {_last_lines(result.stderr)}")


def _last_lines(output: str, count: int = 5) -> str:
    return " / ".join(output.strip().splitlines()[-count:]) or "no message"


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _code_revisions() -> tuple[set[str], list[str]]:
    """Every migration revision the code knows, and its heads."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(current_app.extensions["migrate"].directory)
    return {rev.revision for rev in script.walk_revisions()}, list(script.get_heads())


def _portal_version() -> str:
    try:
        return metadata.version("port-network-portal")
    except metadata.PackageNotFoundError:
        return "unknown"


def _size(count: int) -> str:
    value, unit = float(count), "bytes"
    for larger in ("KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value, unit = value / 1024, larger
    return f"{count} bytes" if unit == "bytes" else f"{value:.1f} {unit}"


def _blob_file(entry: dict[str, Any]) -> str:
    """Where a blob lives inside a backup: blobs/<store>/<key>, refused if the
    manifest's store or key could name a file outside it."""
    parts = [str(entry["store"]), *str(entry["key"]).split("/")]
    if not all(SAFE_PART.match(part) for part in parts):
        raise BackupError(f"The manifest names an unsafe blob location {entry['key']!r}.")
    return "/".join(["blobs", *parts])


# --- backup ------------------------------------------------------------------------


def _read_snapshot(query: Callable[[str], list[tuple[Any, ...]]], tables: list[str]) -> Snapshot:
    """Head, counts and blob rows, through `query` (the snapshot's connection)."""
    head = query("SELECT version_num FROM alembic_version") if "alembic_version" in tables else []
    counts = {
        name: int(query(f'SELECT count(*) FROM "{name}"')[0][0])  # noqa: S608 - table names
        for name in sorted(tables)
    }
    blobs = []
    if "blobs" in tables:
        blobs = [
            {"id": row[0], "store": row[1], "key": row[2], "size": int(row[3]), "sha256": row[4]}
            for row in query("SELECT id, store, key, size, sha256 FROM blobs ORDER BY id")
        ]
    return Snapshot(head=head[0][0] if head else "", counts=counts, blobs=blobs)


def _dump_postgresql(url: URL, target: Path) -> Snapshot:
    """pg_dump in the snapshot of a transaction that reads the blob rows meanwhile."""
    libpq, environment = _libpq(url)
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            conn.execute(text("SET TRANSACTION READ ONLY"))
            snapshot_id = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            tables = list(
                conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
                ).scalars()
            )
            _run(
                [
                    "pg_dump",
                    "--format=custom",
                    f"--snapshot={snapshot_id}",
                    f"--file={target}",
                    f"--dbname={libpq}",
                ],
                environment,
                "dump the database",
            )
            return _read_snapshot(lambda sql: list(conn.execute(text(sql))), tables)


def _dump_sqlite(url: URL, target: Path) -> Snapshot:
    """SQLite's online backup API: a consistent copy while others write."""
    source = _sqlite_path(url)
    if not source.exists():
        raise BackupError(f"The SQLite database {source} does not exist.")
    with _sqlite(source) as live, _sqlite(target) as copy:
        live.backup(copy)
        # One self-contained file: no -wal beside it.
        copy.execute("PRAGMA journal_mode=DELETE")
        tables = [
            row[0]
            for row in copy.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return _read_snapshot(lambda sql: copy.execute(sql).fetchall(), tables)


@contextmanager
def _sqlite(path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(path, timeout=15)
    try:
        yield connection
    finally:
        connection.close()


def _copy_blob(entry: dict[str, Any], dest: Path) -> str | None:
    """Stream one blob from its store into the backup, checking it as storage-check
    does; the problem if it is missing or damaged (the file is then removed)."""
    path = dest / _blob_file(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    try:
        with store_named(entry["store"]).open(entry["key"]) as reader, open(path, "wb") as out:
            for chunk in reader:
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
    except BlobMissing:
        path.unlink(missing_ok=True)
        return "missing from its store"
    if size != entry["size"] or digest.hexdigest() != entry["sha256"]:
        path.unlink(missing_ok=True)
        return f"damaged in its store ({size} bytes, checksum {digest.hexdigest()[:12]}…)"
    return None


def backup(dest: Path, say: Say) -> dict[str, Any]:
    """Write a backup into `dest` (new or empty); returns its manifest.

    Raises BackupError when no usable backup could be written, and after writing
    one whose manifest lists problems (blobs missing or damaged in the store)."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} exists and is not empty; back up into a new folder.")
    url = _database_url()
    kind = _kind(url)
    dest.mkdir(parents=True, exist_ok=True)
    dest.chmod(0o700)  # the configuration and the database hold secrets
    started = datetime.now(UTC)
    incomplete = f"The backup in {dest} is incomplete (it has no manifest): remove it."

    database_file = dest / DATABASE_FILES[kind]
    say(f"Database ({kind}): taking a snapshot into {database_file.name} …")
    try:
        dump = _dump_postgresql if kind == "postgresql" else _dump_sqlite
        snapshot = dump(url, database_file)
    except (SQLAlchemyError, sqlite3.Error) as error:
        raise BackupError(f"Could not read the database: {error}. {incomplete}") from None
    say(f"Database: {sum(snapshot.counts.values())} rows in {len(snapshot.counts)} tables.")

    say(f"Blobs: copying the {len(snapshot.blobs)} blobs the snapshot names …")
    copied_bytes = 0
    problems: list[dict[str, Any]] = []
    for number, entry in enumerate(snapshot.blobs, 1):
        try:
            problem = _copy_blob(entry, dest)
        except StoreUnavailable as error:
            raise BackupError(
                f"The {entry['store']} store is unavailable ({error.detail or error.message}). "
                + incomplete
            ) from None
        if problem:
            problems.append({"blob": entry["id"], "problem": problem})
            say(f"  blob {entry['id']} ({entry['store']}:{entry['key']}): {problem}")
        else:
            entry["file"] = _blob_file(entry)
            copied_bytes += entry["size"]
        if number % PROGRESS_EVERY == 0 or number == len(snapshot.blobs):
            say(f"  {number}/{len(snapshot.blobs)} blobs, {_size(copied_bytes)}")

    config_file = Path(current_app.instance_path) / portal_config.CONFIG_FILENAME
    has_config = config_file.is_file()
    if has_config:
        shutil.copyfile(config_file, dest / portal_config.CONFIG_FILENAME)
        (dest / portal_config.CONFIG_FILENAME).chmod(0o600)
        say(f"Configuration: {portal_config.CONFIG_FILENAME} copied.")
    else:
        say(f"Configuration: the instance folder has no {portal_config.CONFIG_FILENAME}.")

    manifest = {
        "format": FORMAT,
        "portal_version": _portal_version(),
        "migration_head": snapshot.head,
        "created_at": started.isoformat().replace("+00:00", "Z"),
        "database": {
            "kind": kind,
            "file": database_file.name,
            "size": database_file.stat().st_size,
            "sha256": _sha256_file(database_file),
        },
        "config": portal_config.CONFIG_FILENAME if has_config else None,
        "counts": snapshot.counts,
        "blobs": snapshot.blobs,
        "problems": problems,
    }
    # Written last, under a temporary name: a folder with a manifest is a whole backup.
    partial = dest / (MANIFEST + ".part")
    partial.write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    partial.replace(dest / MANIFEST)
    say(
        f"Backup written to {dest}: database at migration {snapshot.head or 'none'}, "
        f"{len(snapshot.blobs) - len(problems)} blobs ({_size(copied_bytes)}), "
        f"configuration {'included' if has_config else 'absent'}."
    )
    if problems:
        raise BackupError(
            f"{len(problems)} blobs named by the database are missing or damaged in their store "
            "and are not in the backup (see `problems` in the manifest); run `portal "
            "storage-check`."
        )
    return manifest


# --- restore -----------------------------------------------------------------------


def read_manifest(src: Path) -> dict[str, Any]:
    """The manifest of a backup folder, checked enough to trust its paths."""
    if not src.is_dir():
        raise BackupError(f"{src} is not a folder; give the folder `portal backup` wrote.")
    path = src / MANIFEST
    if not path.is_file():
        raise BackupError(
            f"{src} is not a portal backup: it has no {MANIFEST} (an interrupted backup has none)."
        )
    try:
        manifest = json.loads(path.read_text())
        database = manifest["database"]
        if manifest["format"] != FORMAT or database["kind"] not in DATABASE_FILES:
            raise ValueError("unknown format or database kind")
        if database["file"] != DATABASE_FILES[database["kind"]]:
            raise ValueError("unexpected database file")
        for entry in manifest["blobs"]:
            if entry.get("file") is not None and entry["file"] != _blob_file(entry):
                raise ValueError(f"unexpected file for blob {entry['id']}")
        if not isinstance(manifest["migration_head"], str) or not isinstance(
            manifest["counts"], dict
        ):
            raise ValueError("no migration head or counts")
    except (ValueError, KeyError, TypeError) as error:
        raise BackupError(f"{src} is not a readable portal backup: {MANIFEST}: {error}.") from None
    return manifest


def _target_rows() -> list[str]:
    """The tables of the configured database that hold rows of the portal."""
    from sqlalchemy import inspect

    names = inspect(db.engine).get_table_names()
    with db.engine.connect() as conn:
        return [
            name
            for name in names
            if name not in BOOKKEEPING_TABLES
            and conn.execute(text(f'SELECT 1 FROM "{name}" LIMIT 1')).first()  # noqa: S608
            is not None
        ]


def _check(src: Path, manifest: dict[str, Any], force: bool, say: Say) -> bool:
    """Everything that can refuse the restore before anything changes; True if the
    restored schema needs an upgrade."""
    url = _database_url()
    kind = _kind(url)
    if kind == "sqlite":  # a new instance's database goes where its folder will be
        _sqlite_path(url).parent.mkdir(parents=True, exist_ok=True)
    if manifest["database"]["kind"] != kind:
        raise BackupError(
            f"The backup holds a {manifest['database']['kind']} database; the portal is "
            f"configured for {kind}. Restore it into a {manifest['database']['kind']} database."
        )
    known, heads = _code_revisions()
    head = manifest["migration_head"]
    if not head:
        raise BackupError("The backup's database has no schema (no migration head).")
    if head not in known:
        raise BackupError(
            f"The backup's schema (migration {head}) is newer than this code knows "
            f"({', '.join(heads)}); restore it with the release that wrote it."
        )
    database_file = src / manifest["database"]["file"]
    if not database_file.is_file() or _sha256_file(database_file) != manifest["database"]["sha256"]:
        raise BackupError(f"{database_file} is missing or damaged (its checksum differs).")
    try:
        occupied = _target_rows()
    except SQLAlchemyError as error:
        raise BackupError(f"Cannot read the target database: {error}") from None
    finally:
        db.session.remove()
        db.engine.dispose()
    if occupied and not force:
        raise BackupError(
            "The target database is not empty (rows in "
            + ", ".join(occupied[:5])
            + (" …" if len(occupied) > 5 else "")
            + "). Restore into an empty database, or give --force to replace its contents."
        )
    for problem in manifest.get("problems", []):
        say(f"Warning: blob {problem['blob']} is not in the backup ({problem['problem']}).")
    return head not in heads


def _restore_blobs(src: Path, manifest: dict[str, Any], say: Say) -> str:
    """Put every blob of the backup into the configured store under its key and
    check it against the manifest; returns the store's name."""
    store = current_store()
    entries = [entry for entry in manifest["blobs"] if entry.get("file")]
    say(f"Blobs: restoring {len(entries)} into the {store.name} store …")
    copied = present = 0
    failure = (
        "Nothing in the database was changed; blobs copied so far are orphans that "
        "`portal storage-check --repair` removes."
    )
    for number, entry in enumerate(entries, 1):
        key, expected = entry["key"], (entry["size"], entry["sha256"])
        try:
            if store.stat(key) == entry["size"] and store.sha256_of(key) == entry["sha256"]:
                present += 1
            else:
                path = src / entry["file"]
                if not path.is_file():
                    raise BackupError(f"Blob {entry['id']} is missing from the backup ({path}).")
                with open(path, "rb") as handle:
                    stored = store.put(handle, length=path.stat().st_size, key=key)
                # As it streamed in, then as the store gives it back.
                intact = (stored.size, stored.sha256) == expected
                if not intact or store.sha256_of(key) != stored.sha256:
                    store.delete(key)
                    raise BackupError(
                        f"Blob {entry['id']} of the backup ({path}) is damaged: its size or "
                        "SHA-256 differs from the manifest."
                    )
                copied += 1
        except StoreUnavailable as error:
            raise BackupError(
                f"The {store.name} store is unavailable ({error.detail or error.message}). "
                + failure
            ) from None
        except BackupError as error:
            raise BackupError(f"{error} {failure}") from None
        if number % PROGRESS_EVERY == 0 or number == len(entries):
            say(f"  {number}/{len(entries)} blobs ({copied} copied, {present} already there)")
    return store.name


def _restore_postgresql(url: URL, dump: Path, store: str, has_blobs: bool) -> None:
    """Replace every table in one transaction: the tables present (a newer schema
    may have more than the backup) are dropped, pg_restore's script recreates and
    fills them, and the blob rows are pointed at the configured store."""
    libpq, environment = _libpq(url)
    with tempfile.TemporaryDirectory() as scratch:
        before, after = Path(scratch, "before.sql"), Path(scratch, "after.sql")
        before.write_text(
            "SET lock_timeout = '10s';\nSET client_min_messages = warning;\n"
            "DO $$ DECLARE name text; BEGIN\n"
            "  FOR name IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema()\n"
            "  LOOP EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', name); END LOOP;\n"
            "END $$;\n"
        )
        # pg_restore's script empties the search_path; the portal's tables are in the default.
        assert SAFE_PART.match(store)  # a store name (`local`, `s3`), quoted as is
        update = f"UPDATE blobs SET store = '{store}';\n"  # noqa: S608
        after.write_text("RESET search_path;\n" + (update if has_blobs else ""))
        # psql's session is found by this name if it must be ended (see below).
        application = f"portal-restore-{secrets.token_hex(6)}"
        logs = Path(scratch, "pg_restore.log"), Path(scratch, "psql.log")
        with open(logs[0], "w+b") as restore_log, open(logs[1], "w+b") as psql_log:
            started: list[subprocess.Popen[bytes]] = []
            try:
                psql = _start(
                    [
                        "psql",
                        "--no-psqlrc",
                        "--quiet",
                        "--single-transaction",
                        "--set=ON_ERROR_STOP=1",
                        f"--file={before}",
                        "--file=-",
                        f"--file={after}",
                        f"--dbname={libpq}",
                    ],
                    {**environment, "PGAPPNAME": application},
                    started,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=psql_log,
                )
                script = _start(
                    [
                        "pg_restore",
                        "--clean",
                        "--if-exists",
                        "--no-owner",
                        "--no-privileges",
                        "--file=-",
                        str(dump),
                    ],
                    environment,
                    started,
                    stdout=subprocess.PIPE,
                    stderr=restore_log,
                )
                _feed(script, psql, restore_log, psql_log, dump)
            except BaseException:
                # A client killed mid-script leaves its statement running on the server,
                # holding its locks, until it tries to answer: end it and wait for the
                # rollback, so the database is as it was when this returns.
                for process in started:
                    if process.poll() is None:
                        process.kill()
                        process.wait()
                with contextlib.suppress(SQLAlchemyError):  # the first error matters
                    _end_session(application)
                raise


def _feed(
    script: subprocess.Popen[bytes],
    psql: subprocess.Popen[bytes],
    restore_log: Any,
    psql_log: Any,
    dump: Path,
) -> None:
    """pg_restore's script into psql; psql commits only if the script ends whole."""
    assert psql.stdin is not None and script.stdout is not None
    psql_stopped = False
    try:
        while chunk := script.stdout.read(CHUNK):
            psql.stdin.write(chunk)
    except BrokenPipeError:  # psql stopped at an error: it says which below
        psql_stopped = True
        script.kill()
    if script.wait() != 0 and not psql_stopped:
        restore_log.seek(0)
        errors = _last_lines(restore_log.read().decode(errors="replace"))
        raise BackupError(f"pg_restore cannot read {dump}: {errors}. {UNCHANGED}")
    with contextlib.suppress(BrokenPipeError):
        psql.stdin.close()
    if psql.wait() != 0:
        psql_log.seek(0)
        errors = _last_lines(psql_log.read().decode(errors="replace"))
        if "lock timeout" in errors:
            errors += " (the portal still uses the database: stop it first)"
        raise BackupError(f"psql failed to restore the database: {errors}. {UNCHANGED}")


def _end_session(application: str, timeout: float = 30.0) -> None:
    """Terminate the server sessions named `application` and wait until they are gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.engine.begin() as conn:  # a new transaction each time: a fresh view
            alive = conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": application},
            ).all()
        if not alive:
            return
        time.sleep(0.1)


def _start(
    command: list[str], environment: dict[str, str], started: list[Any], **kwargs: Any
) -> subprocess.Popen[bytes]:
    try:
        process = subprocess.Popen(command, env=environment, **kwargs)  # noqa: S603 - pg tools
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed; it is needed to restore.") from None
    started.append(process)
    return process


def _restore_sqlite(url: URL, copy: Path, store: str, has_blobs: bool) -> None:
    """Check a scratch copy and point its blob rows at the configured store, then write
    it over the target with the backup API (one transaction on the target)."""
    target = _sqlite_path(url)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        work = Path(scratch) / "restore.sqlite3"
        shutil.copyfile(copy, work)
        with _sqlite(work) as source:
            verdict = source.execute("PRAGMA quick_check").fetchone()[0]
            if verdict != "ok":
                raise BackupError(f"{copy} is damaged ({verdict}). {UNCHANGED}")
            if has_blobs:
                source.execute("UPDATE blobs SET store = ?", (store,))
                source.commit()
            with _sqlite(target) as live:
                source.backup(live)


def restore(src: Path, force: bool, say: Say) -> dict[str, Any]:
    """Restore the backup in `src` into the configured database and store."""
    from flask_migrate import upgrade

    from .search.indexer import rebuild, search_index

    manifest = read_manifest(src)
    say(
        f"Backup of {manifest['created_at']} (portal {manifest['portal_version']}, "
        f"migration {manifest['migration_head'] or 'none'}, {len(manifest['blobs'])} blobs)."
    )
    needs_upgrade = _check(src, manifest, force, say)
    store = _restore_blobs(src, manifest, say)

    url = _database_url()
    kind = manifest["database"]["kind"]
    say(f"Database ({kind}): replacing its contents in one transaction …")
    restore_database = _restore_postgresql if kind == "postgresql" else _restore_sqlite
    try:
        has_blobs = "blobs" in manifest["counts"]
        restore_database(url, src / manifest["database"]["file"], store, has_blobs)
    except sqlite3.Error as error:
        raise BackupError(f"Could not restore the database: {error}. {UNCHANGED}") from None
    finally:
        db.session.remove()
        db.engine.dispose()
    say(f"Database: restored {sum(manifest['counts'].values())} rows.")

    if needs_upgrade:
        say(f"Database: upgrading the schema from migration {manifest['migration_head']} …")
        try:
            upgrade(directory=current_app.extensions["migrate"].directory)
        except (Exception, SystemExit) as error:  # Flask-Migrate exits on Alembic's errors
            raise BackupError(
                f"The database holds the backup, but upgrading its schema failed ({error!r}). "
                "Fix the cause and run `flask --app wsgi portal init`."
            ) from None
    try:
        count = rebuild(search_index(current_app))
    except Exception as error:
        raise BackupError(
            f"The database and blobs are restored, but rebuilding the search index failed: "
            f"{error}. Run `flask --app wsgi portal reindex`."
        ) from None
    finally:
        db.session.remove()
    say(f"Search index: rebuilt ({count} items).")
    _restore_config(src, manifest, say)
    blobs = sum(1 for entry in manifest["blobs"] if entry.get("file"))
    say(
        f"Restored the backup of {manifest['created_at']}: "
        f"{sum(manifest['counts'].values())} rows, {blobs} blobs in the {store} store, "
        f"{count} items in the search index."
    )
    return manifest


def _restore_config(src: Path, manifest: dict[str, Any], say: Say) -> None:
    """Put portal.cfg back where the instance has none; never overwrite one."""
    if not manifest.get("config"):
        return
    saved = src / portal_config.CONFIG_FILENAME
    target = Path(current_app.instance_path) / portal_config.CONFIG_FILENAME
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(saved, target)
        target.chmod(0o600)
        say(f"Configuration: restored {target} (read when the portal starts).")
    elif target.read_bytes() != saved.read_bytes():
        beside = target.with_name(target.name + ".from-backup")
        shutil.copyfile(saved, beside)
        beside.chmod(0o600)
        say(
            f"Configuration: {target} differs from the backup's and is kept; the backup's is "
            f"{beside} (its SECRET_KEY seals two-factor secrets: keep the backup's if they differ)."
        )
