"""The Port Network Portal: `create_app` builds the Flask application."""

from __future__ import annotations

import logging
import secrets
import sqlite3
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as portal_config
from .api import URL_CONVERTERS

log = logging.getLogger(__name__)


class ConfigurationError(RuntimeError):
    """The configuration cannot be used; the message says what to change."""


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, error handlers, CLI.

    `config` overrides every other layer (tests pass their database, instance
    folder and limits here); `INSTANCE_PATH` in it moves the instance folder.
    """
    overrides = dict(config or {})
    instance = Path(overrides.pop("INSTANCE_PATH", None) or portal_config.instance_path())
    try:
        settings = portal_config.load(instance, overrides)
    except ValueError as error:
        raise ConfigurationError(str(error)) from None
    problems = portal_config.check_production(settings)
    if problems:
        raise ConfigurationError(
            "Refusing to start in production with development defaults:\n  - "
            + "\n  - ".join(problems)
            + "\nSet the PORTAL_* variables (see README) or write them to "
            + str(instance / portal_config.CONFIG_FILENAME)
            + "."
        )
    if not settings["SECRET_KEY"]:
        log.warning(
            "No secret key configured: sessions end when the process stops. "
            "Run `flask --app wsgi portal init` to write one."
        )
        settings["SECRET_KEY"] = secrets.token_urlsafe(48)

    app = Flask(__name__, instance_path=str(instance), instance_relative_config=True)
    app.config.from_mapping(_flask_settings(settings))
    app.config["PORTAL"] = settings
    app.json.sort_keys = False  # type: ignore[attr-defined]  # fields in the order written
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # "André", not "Andr\u00e9"
    app.json.mimetype = "application/json; charset=utf-8"  # type: ignore[attr-defined]
    app.url_map.converters.update(URL_CONVERTERS)
    if settings["TRUST_PROXY_HOPS"]:
        hops = settings["TRUST_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    _init_extensions(app, settings)
    _register_blueprints(app)
    app.after_request(_security_headers)

    from .cli import portal_cli

    app.cli.add_command(portal_cli)
    return app


def _flask_settings(settings: dict[str, Any]) -> dict[str, Any]:
    production = settings["ENV"] == "production"
    from datetime import timedelta

    limits_uri = settings["RATELIMIT_STORAGE_URL"] or settings["REDIS_URL"] or "memory://"
    return {
        "SECRET_KEY": settings["SECRET_KEY"],
        "SQLALCHEMY_DATABASE_URI": settings["DATABASE_URL"],
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(settings["DATABASE_URL"]),
        "SESSION_COOKIE_NAME": "portal_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": production,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=settings["SESSION_HOURS"]),
        # The cookie is signed anew when its row is touched (accounts.auth), not at
        # every answer.
        "SESSION_REFRESH_EACH_REQUEST": False,
        # CSRF is checked by accounts.auth for cookie-authenticated API writes
        # and by each HTML form; tokens live as long as the session.
        "WTF_CSRF_CHECK_DEFAULT": False,
        "WTF_CSRF_TIME_LIMIT": None,
        "RATELIMIT_STORAGE_URI": limits_uri,
        # A Redis that is down costs a request a second at most before the fallback counts.
        "RATELIMIT_STORAGE_OPTIONS": (
            {"socket_connect_timeout": 1, "socket_timeout": 1}
            if limits_uri.startswith(("redis://", "rediss://"))
            else {}
        ),
        "RATELIMIT_HEADERS_ENABLED": True,
        # While the storage (Redis) is unreachable, count in this process's memory;
        # Flask-Limiter tries it again after 1, 2, 4 ... 32 s and goes back when it answers.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        # What the fallback cannot absorb (a failed sign-in counted as the storage
        # fails mid-request) is logged rather than answered 500.
        "RATELIMIT_SWALLOW_ERRORS": True,
    }


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # Several server threads share the file: wait for the lock instead of failing.
        return {"connect_args": {"timeout": 15}}
    # pre-ping: a connection the database dropped (restart, failover) is replaced before
    # a request uses it; connect_timeout: a database that does not answer costs a
    # request 5 s, then 503, not the operating system's minutes.
    return {
        "pool_pre_ping": True,
        "pool_size": 10,
        "max_overflow": 20,
        "connect_args": {"connect_timeout": 5},
    }


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite enforces foreign keys only when asked, per connection."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def _init_extensions(app: Flask, settings: dict[str, Any]) -> None:
    from . import i18n, realtime
    from .accounts import auth
    from .extensions import csrf, db, limiter, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent.parent / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    auth.init_app(app)
    i18n.init_app(app)
    from . import mail
    from .documents import maintenance
    from .search import indexer

    indexer.init_app(app)
    maintenance.init_app(app)
    mail.init_app(app)
    # Socket.IO (threading mode, Redis as message queue when configured), live fan-out.
    realtime.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from .accounts import account_views  # noqa: F401  # adds My account to accounts_views
    from .accounts.api import bp as accounts_api
    from .accounts.views import bp as accounts_views
    from .api import register_error_handlers
    from .console import bp as console_views
    from .documents.api import bp as documents_api
    from .meetings.api import bp as meetings_api
    from .meetings.calendar_api import bp as calendar_api
    from .memos.api import bp as memos_api
    from .meta import bp as meta_api
    from .network.api import bp as network_api
    from .onboarding.api import bp as onboarding_api
    from .onboarding.views import bp as onboarding_views
    from .pages import register_error_pages
    from .public.api import bp as public_api
    from .public.review import bp as review_views
    from .public.views import bp as public_views
    from .search.api import bp as search_api
    from .tasks.api import bp as tasks_api
    from .workspaces.api import bp as workspaces_api
    from .workspaces.items_api import bp as items_api

    for blueprint in (
        meta_api,
        accounts_api,
        network_api,
        workspaces_api,
        items_api,
        memos_api,
        search_api,
        documents_api,
    ):
        app.register_blueprint(blueprint)
    for blueprint in (tasks_api, meetings_api, calendar_api, public_api, onboarding_api):
        app.register_blueprint(blueprint)
    app.register_blueprint(accounts_views)
    app.register_blueprint(public_views)
    app.register_blueprint(review_views)
    app.register_blueprint(onboarding_views)
    app.register_blueprint(console_views)
    _register_pages(app)
    register_error_handlers(app)
    register_error_pages(app)


def _register_pages(app: Flask) -> None:
    """The restricted environment's pages: each kind's, what every item shares, and the
    pages across kinds (a kind's `views` names its pages in `workspaces.kinds`)."""
    from . import pages
    from .documents.views import bp as documents_views
    from .meetings.views import bp as meetings_views
    from .memos.views import bp as memos_views
    from .public import item_panel  # noqa: F401  # adds the publication panel to items_views
    from .tasks.views import bp as tasks_views
    from .work import bp as work_views
    from .workspaces.views import bp as items_views

    pages.init_app(app)
    for blueprint in (
        documents_views,
        memos_views,
        tasks_views,
        meetings_views,
        items_views,
        work_views,
    ):
        app.register_blueprint(blueprint)


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if request.path.startswith("/api/"):
        headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
        headers.setdefault("Cache-Control", "no-store")
    else:
        headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        )
    return response
