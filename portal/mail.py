"""The mail outbox: messages are rows written in the transaction of the change that
causes them, and sent after it commits.

- A rolled-back change leaves no row, so no mail goes out for it.
- While the mail server is down the rows wait: each failure moves the next attempt
  further away (`MAIL_RETRY_SECONDS`, doubling up to an hour), so nothing is lost.
- A message is claimed (`sending`) before it is handed to SMTP and marked `sent` right
  after. A sender that dies in between leaves a claim older than `CLAIM_SECONDS`, which
  the next run sends again: that one message may then arrive twice, which SMTP itself
  cannot prevent; its fixed `Message-ID` lets mail programs show it once.
- One sender per deployment is enough but several are safe: a claim is a conditional
  UPDATE that only one of them wins.

Senders: a thread of the web process (`PORTAL_MAILER=thread`, the embedded default) or
the `flask --app wsgi portal mailer` process (`external`). Without `PORTAL_MAIL_SERVER`
each message is written as an `.eml` file under instance/mail/ instead of being sent,
so `make run` works offline.

SMTP goes through the standard library (`smtplib`, `email`): it has the timeouts,
STARTTLS and SSL we need, where Flask-Mail's connection has no timeout and stops sending
whenever the app is in testing mode.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr
from pathlib import Path
from typing import Any

from flask import Flask, current_app, render_template
from flask_babel import force_locale
from sqlalchemy import JSON, CheckConstraint, Index, Integer, String, Text, event, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from .api import database_is_down
from .backoff import Backoff, one_line
from .events import UTCDateTime, utcnow
from .extensions import db
from .text import xml_safe

log = logging.getLogger(__name__)

# A claim older than this is a sender that died mid-send: the message is sent again.
CLAIM_SECONDS = 600
# The longest wait between two attempts, and the attempts before a message is given up.
MAX_RETRY_SECONDS = 3600
MAX_ATTEMPTS = 48
# Messages one run takes; a run repeats while there are more.
BATCH = 50
SMTP_TIMEOUT_SECONDS = 30


class OutboxMessage(db.Model):  # type: ignore[name-defined]
    """One e-mail to one recipient, from its cause's transaction until it is sent."""

    __tablename__ = "mail_outbox"
    __table_args__ = (
        Index("ix_mail_outbox_due", "status", "next_attempt_at"),
        CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The recipient, as "Name <address>" or a bare address.
    recipient: Mapped[str] = mapped_column(String(400))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    # Extra headers (List-Unsubscribe ...): name -> value.
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Fixed when queued, so a message sent twice after a crash is recognisably one.
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    # pending -> sending -> sent; failed after MAX_ATTEMPTS or a permanent refusal.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")


# --- writing messages -------------------------------------------------------------

_WAKE = "portal.mail_queued"


def render(template: str, locale: str, **context: Any) -> tuple[str, str]:
    """(text, html) of templates/mail/<template>.txt and .html in `locale`."""
    with force_locale(locale):
        text = render_template(f"mail/{template}.txt", **context)
        html = render_template(f"mail/{template}.html", **context)
    return text, html


def queue(
    recipient: str,
    subject: str,
    text: str,
    html: str,
    *,
    headers: dict[str, str] | None = None,
) -> OutboxMessage:
    """Add a message to the current transaction; it is sent after the commit."""
    domain = parseaddr(current_app.config["PORTAL"]["MAIL_SENDER"])[1].rpartition("@")[2]
    message = OutboxMessage(
        recipient=xml_safe(recipient),
        subject=xml_safe(" ".join(subject.split()))[:300],
        text_body=xml_safe(text),
        html_body=xml_safe(html),
        headers=dict(headers or {}),
        message_id=make_msgid(domain=domain or "portal.invalid"),
        status="pending",
        attempts=0,
        next_attempt_at=utcnow(),
    )
    db.session.add(message)
    db.session.info[_WAKE] = True
    return message


def address(name: str, email: str) -> str:
    return formataddr((name, email))


@event.listens_for(Session, "after_commit")
def _wake_sender(session: Session) -> None:
    if session.info.pop(_WAKE, False) and not session.in_nested_transaction():
        for waiter in list(_waiters):
            waiter.set()


@event.listens_for(Session, "after_soft_rollback")
def _forget_wake(session: Session, previous_transaction: Any) -> None:
    if not previous_transaction.nested:
        session.info.pop(_WAKE, None)


# In-process senders waiting for new mail (the thread of the embedded default).
_waiters: list[threading.Event] = []


# --- sending ----------------------------------------------------------------------


class PermanentFailure(Exception):
    """The server refused the message for good (5xx): retrying will not help."""


class Delivery:
    """Where messages go: an SMTP server, or .eml files when none is configured."""

    def __init__(self, settings: dict[str, Any], instance_path: str) -> None:
        self.settings = settings
        self.folder = Path(instance_path) / "mail"
        self.smtp: smtplib.SMTP | None = None

    @property
    def to_files(self) -> bool:
        return not self.settings["MAIL_SERVER"]

    def __enter__(self) -> Delivery:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s["MAIL_USE_SSL"]:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                s["MAIL_SERVER"], s["MAIL_PORT"], timeout=SMTP_TIMEOUT_SECONDS
            )
        else:
            smtp = smtplib.SMTP(s["MAIL_SERVER"], s["MAIL_PORT"], timeout=SMTP_TIMEOUT_SECONDS)
            if s["MAIL_USE_TLS"]:
                smtp.starttls()
        if s["MAIL_USERNAME"]:
            smtp.login(s["MAIL_USERNAME"], s["MAIL_PASSWORD"])
        return smtp

    def send(self, message: EmailMessage, name: str) -> None:
        if self.to_files:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = self.folder / f".{name}.eml.partial"
            partial.write_bytes(bytes(message))
            partial.replace(self.folder / f"{name}.eml")
            return
        if self.smtp is None:
            self.smtp = self._connect()
        try:
            self.smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _text in error.recipients.values()]
            if all(500 <= code < 600 for code in codes):
                raise PermanentFailure(str(error)) from None
            raise
        except smtplib.SMTPResponseException as error:
            if 500 <= error.smtp_code < 600:
                raise PermanentFailure(str(error)) from None
            raise


def email_of(row: OutboxMessage, sender: str) -> EmailMessage:
    """The MIME message of a row: a text part and an HTML alternative."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row.recipient
    message["Subject"] = row.subject
    message["Message-ID"] = row.message_id
    message["Date"] = row.created_at.strftime("%a, %d %b %Y %H:%M:%S +0000")
    message["Auto-Submitted"] = "auto-generated"
    for name, value in (row.headers or {}).items():
        message[name] = value
    message.set_content(row.text_body)
    message.add_alternative(row.html_body, subtype="html")
    return message


def _retry_delay(attempts: int) -> timedelta:
    base = float(current_app.config["PORTAL"]["MAIL_RETRY_SECONDS"])
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS))


def _release_stale_claims(now: datetime) -> None:
    """Claims of a sender that died mid-send go back to the queue."""
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == "sending",
            OutboxMessage.claimed_at < now - timedelta(seconds=CLAIM_SECONDS),
        )
        .values(status="pending", next_attempt_at=now)
    )
    db.session.commit()


def _claim(message_id: int, now: datetime) -> bool:
    claimed = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.status == "pending",
            OutboxMessage.next_attempt_at <= now,
        )
        .values(status="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1)
    )
    db.session.commit()
    return claimed.rowcount == 1  # type: ignore[attr-defined]


def send_due() -> int:
    """Send the messages that are due; the number sent. Needs an app context."""
    settings = current_app.config["PORTAL"]
    sent = 0
    now = utcnow()
    _release_stale_claims(now)
    due = db.session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(BATCH)
    ).all()
    db.session.commit()
    with Delivery(settings, current_app.instance_path) as delivery:
        for message_id in due:
            if not _claim(message_id, utcnow()):
                continue  # another sender took it
            row = db.session.get(OutboxMessage, message_id)
            if row is None:
                continue
            try:
                delivery.send(email_of(row, settings["MAIL_SENDER"]), f"{row.id:08d}")
            except PermanentFailure as error:
                row.status, row.last_error = "failed", str(error)[:2000]
                log.warning("mail %s to %s refused for good: %s", row.id, row.recipient, error)
            except (TimeoutError, smtplib.SMTPException, OSError) as error:
                failed_for_good = row.attempts >= MAX_ATTEMPTS
                row.status = "failed" if failed_for_good else "pending"
                row.next_attempt_at = utcnow() + _retry_delay(row.attempts)
                row.last_error = str(error)[:2000] or type(error).__name__
                row.claimed_at = None
                db.session.commit()
                log.warning("mail server unavailable (%s); %s will be retried", error, row.id)
                break  # the server is down: the rest wait for the next run
            else:
                row.status, row.sent_at, row.last_error = "sent", utcnow(), ""
                sent += 1
            row.claimed_at = None
            db.session.commit()
    return sent


def queue_state() -> dict[str, int]:
    """How many messages wait, are being sent, and failed for good (for the health page)."""
    counts = dict(
        db.session.execute(
            select(OutboxMessage.status, db.func.count())
            .where(OutboxMessage.status != "sent")
            .group_by(OutboxMessage.status)
        ).all()
    )
    return {status: counts.get(status, 0) for status in ("pending", "sending", "failed")}


# Jobs of the sender beside the outbox (the daily digests, portal.work.mails), run at
# most once a minute: `job(now)` queues what is due in its own transactions.
Periodic = Callable[[datetime], Any]
_periodic: list[Periodic] = []
PERIODIC_SECONDS = 60


def every_minute(job: Periodic) -> Periodic:
    if job not in _periodic:
        _periodic.append(job)
    return job


def run_periodic(last_run: datetime | None) -> datetime | None:
    """Run the periodic jobs if a minute has passed since `last_run`; when they ran."""
    now = utcnow()
    if last_run is not None and (now - last_run).total_seconds() < PERIODIC_SECONDS:
        return last_run
    for job in list(_periodic):
        try:
            job(now)
        except Exception:
            log.exception("the mail job %s failed; it runs again in a minute", job)
            db.session.rollback()
    return now


def work_once(last_run: datetime | None) -> tuple[int, datetime | None]:
    """One turn of a sender: the periodic jobs when due, then the due messages."""
    last_run = run_periodic(last_run)
    sent = send_due()
    return sent, last_run


class MailerThread(threading.Thread):
    """The embedded sender: sends after each commit that queued mail, and retries due
    messages every `interval` seconds."""

    def __init__(self, app: Flask, interval: float = 5.0) -> None:
        super().__init__(name="portal-mailer", daemon=True)
        self.app = app
        self.interval = interval
        self.wake = threading.Event()
        self.stopping = False
        _waiters.append(self.wake)

    def stop(self) -> None:
        """Finish the message in hand and end."""
        self.stopping = True
        _waiters.remove(self.wake)
        self.wake.set()
        self.join(timeout=SMTP_TIMEOUT_SECONDS)

    def run(self) -> None:
        last_run: datetime | None = None
        backoff = Backoff(self.interval)
        wait = self.interval
        while not self.stopping:
            self.wake.wait(wait)
            self.wake.clear()
            if self.stopping:
                return
            wait = self.interval
            with self.app.app_context():
                try:
                    sent, last_run = work_once(last_run)
                    while sent == BATCH:
                        sent = send_due()
                except Exception as error:
                    wait = backoff.failed()
                    if database_is_down(error):
                        log.warning("the mailer waits for the database: %s", one_line(error))
                    else:
                        log.exception("the mailer failed; it tries again in %s s", wait)
                else:
                    if backoff.succeeded():
                        log.info("the mailer sends again")
                finally:
                    db.session.remove()


def init_app(app: Flask) -> None:
    """In `thread` mode, start the sender with the first request (after any fork of the
    server), in the process that serves."""
    if app.config["PORTAL"]["MAILER"] != "thread":
        return
    started = threading.Lock()

    def ensure_mailer() -> None:
        if "portal_mailer" in app.extensions or not started.acquire(blocking=False):
            return
        thread = MailerThread(app, interval=float(app.config["PORTAL"]["MAIL_POLL_SECONDS"]))
        app.extensions["portal_mailer"] = thread
        thread.start()

    app.before_request(ensure_mailer)
