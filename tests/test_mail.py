"""The mail outbox against a real SMTP server (aiosmtpd on a free loopback port):
messages leave only after their transaction commits, survive a mail-server outage,
arrive once, and go to .eml files when no server is configured."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from portal import mail
from portal.events import utcnow
from portal.extensions import db
from portal.mail import OutboxMessage


def queue_one(n: int = 1, to: str = "Ana <ana@ports.example>") -> None:
    mail.queue(to, f"Aviso {n}", f"Texto {n}: ¿qué tal?", f"<p>Texto {n}: ¿qué tal?</p>")


def test_a_committed_message_arrives_with_a_text_and_an_html_part(ctx, smtp):
    mail.queue(
        "Ana Coordinadora <ana@ports.example>",
        "Invitación a la red",
        "Hola Ana, ¿aceptas?",
        "<p>Hola Ana, ¿aceptas?</p>",
        headers={"List-Unsubscribe": "<https://portal.example/account>"},
    )
    db.session.commit()

    assert mail.send_due() == 1
    (received,) = smtp.wait_for(1)
    assert received["To"] == "Ana Coordinadora <ana@ports.example>"
    assert received["Subject"] == "Invitación a la red"
    assert received["List-Unsubscribe"] == "<https://portal.example/account>"
    assert received.get_body(("plain",)).get_content().strip() == "Hola Ana, ¿aceptas?"
    assert received.get_body(("html",)).get_content().strip() == "<p>Hola Ana, ¿aceptas?</p>"
    row = db.session.scalars(select(OutboxMessage)).one()
    assert (row.status, row.attempts, row.message_id) == ("sent", 1, received["Message-ID"])


def test_nothing_is_sent_for_a_change_that_rolled_back(ctx, smtp):
    queue_one()
    db.session.rollback()

    assert mail.send_due() == 0
    assert db.session.scalar(select(db.func.count()).select_from(OutboxMessage)) == 0
    assert smtp.messages == []


def test_a_savepoint_rolled_back_takes_its_message_with_it(ctx, smtp):
    queue_one(1)
    with pytest.raises(RuntimeError), db.session.begin_nested():
        queue_one(2)
        raise RuntimeError("the inner change fails")
    db.session.commit()

    mail.send_due()
    assert [m["Subject"] for m in smtp.wait_for(1)] == ["Aviso 1"]


def test_three_mails_caused_while_the_server_is_down_arrive_once_when_it_is_back(ctx, smtp):
    smtp.stop()
    for n in (1, 2, 3):
        queue_one(n)
        db.session.commit()

    assert mail.send_due() == 0  # refused: the messages wait
    waiting = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [m.status for m in waiting] == ["pending"] * 3
    assert waiting[0].attempts == 1 and waiting[0].last_error
    smtp.start()

    assert mail.send_due() == 3
    assert mail.send_due() == 0
    assert sorted(m["Subject"] for m in smtp.wait_for(3)) == ["Aviso 1", "Aviso 2", "Aviso 3"]
    assert len(smtp.messages) == 3


def test_retries_wait_longer_after_each_failure(ctx, smtp, app):
    app.config["PORTAL"]["MAIL_RETRY_SECONDS"] = 30
    smtp.stop()
    queue_one()
    db.session.commit()

    delays = []
    for _attempt in range(3):
        row = db.session.scalars(select(OutboxMessage)).one()
        row.next_attempt_at = utcnow()  # due now
        db.session.commit()
        before = utcnow()
        mail.send_due()
        db.session.refresh(row)
        delays.append(round((row.next_attempt_at - before).total_seconds()))

    assert delays == [30, 60, 120]


def test_a_message_claimed_by_a_sender_that_died_is_sent_again(ctx, smtp):
    queue_one()
    db.session.commit()
    row = db.session.scalars(select(OutboxMessage)).one()
    # A sender claimed it and died before marking it sent.
    row.status, row.claimed_at = "sending", utcnow() - timedelta(seconds=mail.CLAIM_SECONDS + 1)
    db.session.commit()

    assert mail.send_due() == 1
    assert len(smtp.wait_for(1)) == 1


def test_a_recent_claim_is_left_to_the_sender_holding_it(ctx, smtp):
    queue_one()
    db.session.commit()
    row = db.session.scalars(select(OutboxMessage)).one()
    row.status, row.claimed_at = "sending", utcnow()
    db.session.commit()

    assert mail.send_due() == 0
    assert smtp.messages == []


def test_an_address_the_server_refuses_for_good_is_not_retried(ctx, smtp):
    class Refusing:
        async def handle_RCPT(self, server, session, envelope, address, options):
            return "550 No such user here"

    smtp.stop()
    smtp.inbox.handle_RCPT = Refusing().handle_RCPT  # type: ignore[attr-defined]
    smtp.start()
    queue_one(to="nobody@ports.example")
    db.session.commit()

    assert mail.send_due() == 0
    row = db.session.scalars(select(OutboxMessage)).one()
    assert row.status == "failed" and "550" in row.last_error
    assert mail.queue_state() == {"pending": 0, "sending": 0, "failed": 1}


def test_without_a_mail_server_messages_are_written_as_eml_files(ctx, app):
    assert not app.config["PORTAL"]["MAIL_SERVER"]
    queue_one()
    db.session.commit()

    assert mail.send_due() == 1
    row = db.session.scalars(select(OutboxMessage)).one()
    written = Path(app.instance_path) / "mail" / f"{row.id:08d}.eml"
    message = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "Aviso 1"
    assert message.get_body(("plain",)).get_content().strip() == "Texto 1: ¿qué tal?"
    assert row.status == "sent"


def test_the_thread_sends_right_after_the_commit(app, smtp):
    thread = mail.MailerThread(app, interval=60)
    thread.start()
    with app.app_context():
        queue_one()
        db.session.commit()
        db.session.remove()

    try:
        assert [m["Subject"] for m in smtp.wait_for(1, timeout=5)] == ["Aviso 1"]
    finally:
        thread.stop()
