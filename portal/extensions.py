"""The Flask extensions, created unbound; `create_app` binds them."""

from __future__ import annotations

import logging
from typing import Any
from weakref import WeakKeyDictionary

from flask import Flask, has_request_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event, func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase

log = logging.getLogger(__name__)

# Named constraints make Alembic's batch mode (SQLite) and downgrades work.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Model(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Requests that only read (RFC 9110's safe methods).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The WSGI environ key that marks a safe request once its hooks run.
READS_ONLY = "portal.reads_only"
# The execution options of the one statement a safe request may write: it commits alone.
_WRITES_ALONE_OPTION = "portal_writes_alone"
WRITES_ALONE = {_WRITES_ALONE_OPTION: True}


class ReadingRequestWrites(RuntimeError):
    """A safe request tried to write: it reads outside a transaction, where several
    writes would not be all or nothing."""


# Each engine's twin for safe requests: the same pool, its connections in autocommit.
_reading_engines: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()


def reading_engine(engine: Engine) -> Engine:
    """`engine` without transactions. A safe request's statements each read the
    newest committed data, as they do in a READ COMMITTED transaction, and it saves
    the BEGIN and ROLLBACK round trips (README: Safe requests). The live side's
    lookups, which only read, use it too."""
    reading = _reading_engines.get(engine)
    if reading is None:
        reading = engine.execution_options(isolation_level="AUTOCOMMIT")
        event.listen(reading, "before_cursor_execute", _refuse_writes)
        _reading_engines[engine] = reading
    return reading


def _refuse_writes(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
) -> None:
    if context is None or context.execution_options.get(_WRITES_ALONE_OPTION):
        return
    if context.isinsert or context.isupdate or context.isdelete:
        asker = f"{request.method} {request.path}" if has_request_context() else "the live side"
        raise ReadingRequestWrites(
            f"{asker} writes ({statement.split(None, 1)[0]}): a safe "
            "request writes nothing, or one statement marked WRITES_ALONE"
        )


class PortalSession(Session):
    """`db.session`: a safe request's binds to the reading engine."""

    def get_bind(self, *args: Any, **kwargs: Any) -> Engine | Connection:
        bind = super().get_bind(*args, **kwargs)
        if isinstance(bind, Engine) and has_request_context() and request.environ.get(READS_ONLY):
            return reading_engine(bind)
        return bind


def _note_safe_request() -> None:
    """Before anything reads, as the first of the hooks: a safe request reads
    through the reading engine (not Socket.IO's handlers, which run no hooks)."""
    if request.method in SAFE_METHODS:
        request.environ[READS_ONLY] = True


def _commit_what_only_read(exc: BaseException | None) -> None:
    """End a transaction that wrote nothing with COMMIT, not the ROLLBACK that ending
    the session sends: psycopg deallocates all of a connection's prepared statements
    at every ROLLBACK, and a request that committed its change then reads its answer
    in a new transaction. Without this, PostgreSQL planned the hot statements anew on
    nearly every execution (README: Prepared statements).

    Whether the transaction wrote is PostgreSQL's to say: it has a transaction id
    only once it wrote. One round trip, on requests that are not safe only."""
    session = db.session()
    transaction = session.get_transaction()
    if (
        exc is not None
        or request.environ.get(READS_ONLY)
        or transaction is None
        or not transaction.is_active
        or session.new
        or session.dirty
        or session.deleted
        or session.get_bind().dialect.name != "postgresql"
    ):
        return
    try:
        if session.scalar(select(func.txid_current_if_assigned())) is None:
            session.commit()
    except SQLAlchemyError:
        # A statement failed and was answered, or the connection is gone: ending
        # the session rolls back, as before (and says so if the connection is gone).
        return


class PortalSQLAlchemy(SQLAlchemy):
    def init_app(self, app: Flask) -> None:
        super().init_app(app)
        app.before_request_funcs.setdefault(None, []).insert(0, _note_safe_request)
        app.teardown_request(_commit_what_only_read)

    def _teardown_session(self, exc: BaseException | None) -> None:
        """End the request's session. Its answer is made by now: a connection the
        database dropped meanwhile (closing it rolls back) must not turn the answer
        into a 500, and the broken session must not stay registered."""
        try:
            super()._teardown_session(exc)
        except DBAPIError as error:
            log.warning("the database connection was lost at the end of a request: %s", error.orig)
            self.session.registry.clear()


db = PortalSQLAlchemy(model_class=Model, session_options={"class_": PortalSession})
migrate = Migrate(render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, headers_enabled=True)
socketio = SocketIO()
