"""Safe requests (GET, HEAD) read outside a transaction; the others keep theirs
(extensions.PortalSession). The probe routes live on an app of their own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from psycopg.pq import TransactionStatus
from sqlalchemy import select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from portal import create_app
from portal.extensions import WRITES_ALONE, ReadingRequestWrites, csrf, db
from portal.network.models import MemberState

from .conftest import TEST_SETTINGS
from .workspaces.test_item_queries import listening


def _add_two_states() -> None:
    db.session.add_all([MemberState(code="AA", name="Aa"), MemberState(code="BB", name="Bb")])
    db.session.commit()


@pytest.fixture
def probe(app: Flask) -> Iterator[Flask]:
    probe = create_app(
        {
            "INSTANCE_PATH": app.instance_path,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            **TEST_SETTINGS,
        }
    )
    probe.config["TESTING"] = True

    @probe.route("/probe/mode", methods=["GET", "HEAD", "POST"])
    @csrf.exempt
    def mode() -> dict[str, object]:
        db.session.scalar(select(MemberState.code))
        options = db.session.connection().get_execution_options()
        return {"isolation": options.get("isolation_level", "transaction")}

    @probe.route("/probe/status", methods=["GET", "POST"])
    @csrf.exempt
    def status() -> str:
        """The state of the database connection after a SELECT."""
        db.session.scalar(select(MemberState.code))
        return db.session.connection().connection.dbapi_connection.info.transaction_status.name

    @probe.get("/probe/write")
    def write() -> str:
        _add_two_states()
        return "written"

    @probe.post("/probe/write")
    @csrf.exempt
    def write_posted() -> str:
        _add_two_states()
        return "written"

    @probe.post("/probe/write-then-read")
    @csrf.exempt
    def write_then_read() -> str:
        """A change committed, then its answer read in a new transaction."""
        _add_two_states()
        return ",".join(db.session.scalars(select(MemberState.code).order_by(MemberState.code)))

    @probe.post("/probe/write-then-refuse")
    @csrf.exempt
    def write_then_refuse() -> tuple[str, int]:
        """Rows written, not committed, and an answer that is no error to Flask."""
        db.session.add(MemberState(code="DD", name="Dd"))
        db.session.flush()
        return "refused", 409

    @probe.post("/probe/fail-then-answer")
    @csrf.exempt
    def fail_then_answer() -> tuple[str, int]:
        """A statement that fails, answered without ending the transaction."""
        try:
            db.session.execute(text("SELECT 1 / 0"))
        except DBAPIError:
            return "refused", 409
        return "divided", 200

    @probe.get("/probe/write-alone")
    def write_alone() -> str:
        db.session.execute(
            MemberState.__table__.insert()
            .values(code="CC", name="Cc")
            .execution_options(**WRITES_ALONE)
        )
        db.session.commit()
        return "written"

    yield probe
    with probe.app_context():
        db.engine.dispose()


def _state_codes(app: Flask) -> list[str]:
    with app.app_context():
        codes = list(db.session.scalars(select(MemberState.code).order_by(MemberState.code)))
        db.session.remove()
        return codes


def test_a_safe_request_reads_without_a_transaction(probe: Flask) -> None:
    client = probe.test_client()
    assert client.get("/probe/mode").json == {"isolation": "AUTOCOMMIT"}
    assert client.post("/probe/mode").json == {"isolation": "transaction"}


def test_a_safe_request_sends_no_begin(probe: Flask) -> None:
    """psycopg begins a transaction before a statement unless in autocommit (pysqlite
    begins none for a SELECT either way: nothing to see there)."""
    if not probe.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("pysqlite sends no BEGIN before a SELECT in a transaction either")
    client = probe.test_client()
    assert client.get("/probe/status").text == "IDLE"
    assert client.post("/probe/status").text == "INTRANS"


def test_a_safe_request_that_writes_fails_and_writes_nothing(probe: Flask) -> None:
    raised: list[ReadingRequestWrites] = []

    def note(error: ReadingRequestWrites) -> tuple[str, int]:
        raised.append(error)
        return "refused", 500

    probe.register_error_handler(ReadingRequestWrites, note)
    assert probe.test_client().get("/probe/write").status_code == 500
    assert [str(error) for error in raised] == [
        "GET /probe/write writes (INSERT): a safe request writes nothing, or one "
        "statement marked WRITES_ALONE"
    ]
    assert _state_codes(probe) == []


def test_an_unsafe_request_writes_in_its_transaction(probe: Flask) -> None:
    assert probe.test_client().post("/probe/write").status_code == 200
    assert _state_codes(probe) == ["AA", "BB"]


def test_one_statement_marked_to_write_alone_commits_in_a_safe_request(probe: Flask) -> None:
    assert probe.test_client().get("/probe/write-alone").status_code == 200
    assert _state_codes(probe) == ["CC"]


@contextmanager
def rollbacks_sent(app: Flask) -> Iterator[list[str]]:
    """The ROLLBACKs that reach PostgreSQL meanwhile (SQLAlchemy also rolls back a
    connection in autocommit, where psycopg sends nothing)."""
    sent: list[str] = []

    def note(conn: Connection) -> None:
        if conn.connection.dbapi_connection.info.transaction_status != TransactionStatus.IDLE:
            sent.append("ROLLBACK")

    with listening(app, "rollback", note):
        yield sent


@pytest.fixture
def on_postgresql(app: Flask) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("psycopg's prepared statements are PostgreSQL's")


def test_a_transaction_that_only_read_ends_without_a_rollback(
    probe: Flask, on_postgresql: None
) -> None:
    """psycopg deallocates the connection's prepared statements at a ROLLBACK: the
    read that follows a commit ends with COMMIT instead."""
    client = probe.test_client()
    with rollbacks_sent(probe) as sent:
        assert client.post("/probe/write-then-read").text == "AA,BB"
        assert client.post("/probe/status").text == "INTRANS"
    assert sent == []


def test_a_transaction_that_wrote_and_did_not_commit_is_rolled_back(
    probe: Flask, on_postgresql: None
) -> None:
    with rollbacks_sent(probe) as sent:
        assert probe.test_client().post("/probe/write-then-refuse").status_code == 409
    assert sent == ["ROLLBACK"]
    assert _state_codes(probe) == []


def test_a_transaction_a_failed_statement_ended_is_rolled_back_quietly(
    probe: Flask, on_postgresql: None, caplog: pytest.LogCaptureFixture
) -> None:
    client = probe.test_client()
    with rollbacks_sent(probe) as sent:
        assert client.post("/probe/fail-then-answer").status_code == 409
    assert sent == ["ROLLBACK"]
    assert client.post("/probe/status").text == "INTRANS"
    assert [r.message for r in caplog.records if r.levelname != "DEBUG"] == []


def test_a_change_and_its_live_fan_out_end_without_a_rollback(
    app: Flask, as_user, item_world, on_postgresql: None
) -> None:
    """The whole path of one change: the request, its events' fan-out to the live
    connections (which only reads), the answer read after the commit."""
    member = as_user(item_world.member)
    url = f"/memos/{item_world.memo_id}"
    etag = member.get(url).headers["ETag"]
    with rollbacks_sent(app) as sent:
        saved = member.patch(url, {"body": "Acta revisada"}, headers={"If-Match": etag})
    assert saved.status_code == 200
    assert sent == []
