"""Safe requests (GET, HEAD) read outside a transaction; the others keep theirs
(extensions.PortalSession). The probe routes live on an app of their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from portal import create_app
from portal.extensions import WRITES_ALONE, ReadingRequestWrites, csrf, db
from portal.network.models import MemberState

from .conftest import TEST_SETTINGS


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
