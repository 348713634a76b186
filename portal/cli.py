"""`flask --app wsgi portal <command>`: set-up and operation from the command line."""

from __future__ import annotations

import logging
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_migrate import upgrade

from . import config as portal_config
from . import logs
from .admission import DEFAULT_ACTIVE
from .backoff import Backoff, one_line
from .i18n import LANGUAGES

log = logging.getLogger(__name__)

portal_cli = AppGroup("portal", help="Set up and run the Port Network Portal.")


@portal_cli.command("init")
def init_command() -> None:
    """Create or upgrade the schema; write portal.cfg with a secret key if missing."""
    instance = Path(current_app.instance_path)
    if portal_config.write_instance_config(instance, secrets.token_urlsafe(48)):
        click.echo(f"Wrote {instance / portal_config.CONFIG_FILENAME} with a new secret key.")
    upgrade(directory=current_app.extensions["migrate"].directory)
    click.echo("The database schema is up to date.")
    from .search.indexer import rebuild, search_index

    index = search_index(current_app)
    if not index.is_current():
        count = rebuild(index)
        click.echo(f"Built the search index ({count} items).")


@portal_cli.command("create-user")
@click.argument("email")
@click.option("--name", required=True, help="The person's full name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--secretariat", is_flag=True, help="Staff of the technical secretariat.")
@click.option("--community", "community_slug", help="Slug of the person's community.")
@click.option(
    "--locale",
    type=click.Choice(LANGUAGES),
    help="Interface language; unsaid, the browser's at the first sign-in.",
)
@click.option(
    "--timezone", help="IANA timezone (America/Bogota); unsaid, the browser's at the first sign-in."
)
def create_user_command(
    email: str,
    name: str,
    password_stdin: bool,
    secretariat: bool,
    community_slug: str | None,
    locale: str | None,
    timezone: str | None,
) -> None:
    """Add a user."""
    from pydantic import TypeAdapter, ValidationError
    from sqlalchemy import select

    from .accounts import service
    from .accounts.schemas import Password, is_timezone
    from .api import ApiError
    from .extensions import db
    from .network.models import Community

    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        try:
            TypeAdapter(Password).validate_python(password)
        except ValidationError:
            raise click.ClickException("The password needs at least 10 characters.") from None
    if timezone is not None and not is_timezone(timezone):
        raise click.ClickException(f"{timezone!r} is not an IANA timezone such as America/Bogota.")
    community_id = None
    if community_slug:
        community_id = db.session.scalar(
            select(Community.id).where(Community.slug == community_slug)
        )
        if community_id is None:
            raise click.ClickException(f"No community has the slug {community_slug!r}.")
    try:
        user = service.create_user(
            None,
            email=email,
            name=name,
            community_id=community_id,
            password=password,
            is_secretariat=secretariat,
            locale=locale,
            timezone=timezone,
        )
    except ApiError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Created user {user.id} <{user.email}>.")


@portal_cli.command("demo")
def demo_command() -> None:
    """Load a demonstration network (marked as demo data); does nothing if loaded."""
    from .demo import load_demo

    summary = load_demo()
    if summary is None:
        click.echo("The demonstration network is already loaded.")
    else:
        click.echo(
            "Loaded the demonstration network: "
            + ", ".join(f"{count} {what}" for what, count in summary.items())
        )


@portal_cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--threads",
    default=200,
    show_default=True,
    type=int,
    help="Request threads; each open WebSocket holds one.",
)
@click.option(
    "--active",
    default=DEFAULT_ACTIVE,
    show_default=True,
    type=click.IntRange(min=1),
    help="Requests worked on at once; the others wait, holding no database connection.",
)
def serve_command(host: str, port: int, threads: int, active: int) -> None:
    """Serve HTTP and Socket.IO with gunicorn (one process, threads)."""
    from .server import serve

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    serve(app, host=host, port=port, threads=threads, active=active)


@portal_cli.command("purge")
@click.option("--days", type=int, default=None, help="Trash retention (default TRASH_DAYS).")
def purge_command(days: int | None) -> None:
    """Remove for good the items that have been in the trash longer than the retention."""
    from datetime import timedelta

    from .events import utcnow
    from .workspaces.items_service import purge_trash

    keep = days if days is not None else current_app.config["PORTAL"]["TRASH_DAYS"]
    count = purge_trash(utcnow() - timedelta(days=keep))
    click.echo(f"Purged {count} item(s) deleted more than {keep} day(s) ago.")


@portal_cli.command("reindex")
@click.option("--check", "check_only", is_flag=True, help="Only report differences.")
@click.option("--procs", default=1, show_default=True, help="Indexing processes.")
def reindex_command(check_only: bool, procs: int) -> None:
    """Rebuild the search index from the database and swap it in atomically."""
    from sqlalchemy import func, select

    from .extensions import db
    from .search.indexer import check, rebuild, search_index
    from .workspaces.models import Item

    index = search_index(current_app)
    if check_only:
        report = check(index)
        for name, ids in report.items():
            shown = ", ".join(map(str, ids[:20])) + (" ..." if len(ids) > 20 else "")
            click.echo(f"{name}: {len(ids)}" + (f" ({shown})" if ids else ""))
        if any(report.values()):
            raise SystemExit(1)
        return
    total = db.session.scalar(select(func.count()).where(Item.deleted_at.is_(None))) or 0
    with click.progressbar(length=total, label="Indexing items") as bar:
        count = rebuild(index, progress=bar.update, procs=procs)
    click.echo(f"Indexed {count} items into {index.directory().name}.")


@portal_cli.command("indexer")
@click.option(
    "--interval",
    default=1.0,
    show_default=True,
    help="Seconds between passes; each applies what came since in one commit.",
)
def indexer_command(interval: float) -> None:
    """Keep the search index up to date: the one index writer in production.

    It waits `interval` after every pass, not only after an idle one: a commit costs
    about 20 ms whatever it holds, so under a steady flow of changes the index is
    written once per interval rather than once per change or two (at the default,
    as fresh as Elasticsearch's default refresh of 1 s). A backlog is still applied
    batch after batch."""
    import time

    from .extensions import db
    from .search.indexer import catch_up, search_index

    logs.configure(current_app.config["PORTAL"]["LOG_LEVEL"])
    index = search_index(current_app)
    if not index.exists():
        raise click.ClickException("No search index: run `flask --app wsgi portal reindex`.")
    click.echo(f"Following the event log from event {index.cursor()}.")
    backoff = Backoff(interval)
    while True:
        try:
            catch_up(index)
        except Exception as error:  # keep following; the cursor did not move
            delay = backoff.failed()
            log.warning("indexing failed, retrying in %g s: %s", delay, one_line(error))
            time.sleep(delay)
            continue
        finally:
            db.session.remove()
        if backoff.succeeded():
            log.info("indexing again, at event %s", index.cursor())
        time.sleep(interval)


@portal_cli.command("mailer")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between looks.")
def mailer_command(interval: float) -> None:
    """Send the e-mails of the outbox (with PORTAL_MAILER=external): retries while the
    mail server is down, so nothing is lost."""
    import time

    from . import mail
    from .extensions import db

    settings = current_app.config["PORTAL"]
    logs.configure(settings["LOG_LEVEL"])
    target = settings["MAIL_SERVER"] or f"{current_app.instance_path}/mail (no MAIL_SERVER)"
    click.echo(f"Sending the outbox to {target}.")
    last_run = None
    backoff = Backoff(interval)
    while True:
        try:
            sent, last_run = mail.work_once(last_run)
        except Exception as error:  # the database may be down: keep trying
            delay = backoff.failed()
            log.warning("sending failed, retrying in %g s: %s", delay, one_line(error))
            time.sleep(delay)
            continue
        finally:
            db.session.remove()
        if backoff.succeeded():
            log.info("sending again")
        if sent < mail.BATCH:
            time.sleep(interval)


@portal_cli.command("storage-check")
@click.option("--repair", is_flag=True, help="Remove orphans, re-point damaged versions.")
@click.option("--quick", is_flag=True, help="Compare sizes only; skip reading every blob.")
@click.option(
    "--grace-minutes",
    default=60,
    show_default=True,
    type=int,
    help="Orphans younger than this may be uploads in flight and are kept.",
)
def storage_check_command(repair: bool, quick: bool, grace_minutes: int) -> None:
    """Compare blobs and rows: orphans, missing blobs, bad checksums."""
    from datetime import timedelta

    from .documents import maintenance

    report = maintenance.check(
        checksums=not quick, grace=timedelta(minutes=grace_minutes), say=click.echo
    )
    click.echo(
        f"Checked {report.checked} blobs: {len(report.orphans)} orphans, "
        f"{len(report.missing)} missing, {len(report.damaged)} damaged, "
        f"{len(report.unused_rows)} unused rows, {len(report.partials)} partial uploads, "
        f"{len(report.unreachable)} unreachable stores."
    )
    if repair and report.problems:
        maintenance.repair(report, say=click.echo)
        if report.unrepaired:
            raise click.ClickException(f"{len(report.unrepaired)} problems could not be repaired.")
        click.echo(f"Repaired {len(report.repaired)} problems.")
    elif report.problems:
        raise click.ClickException("Problems found; run again with --repair to fix what can be.")


@portal_cli.command("backup")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
def backup_command(dest: Path) -> None:
    """Back up the database, the blobs it names and portal.cfg into DEST (new or empty);
    consistent while the portal runs."""
    from .backup import backup

    _run_backup_step(lambda: backup(dest, say=click.echo))


@portal_cli.command("restore")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace the contents of a database that is not empty.")
def restore_command(src: Path, force: bool) -> None:
    """Restore a backup written by `portal backup` into the configured database and
    store (stop the portal first), then rebuild the search index."""
    from .backup import restore

    _run_backup_step(lambda: restore(src, force=force, say=click.echo))


def _run_backup_step(step: Callable[[], object]) -> None:
    """A refusal or a failure is a message and exit code 1, never a traceback."""
    from .backup import BackupError

    try:
        step()
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"{error.strerror or error}: {error.filename or ''}") from None
