"""API routes about the API itself: the OpenAPI description and a health check."""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, current_app
from sqlalchemy import text

from . import permissions
from .api import API_PREFIX, DatabaseUnavailable, discard_session, endpoint, openapi_document
from .extensions import db

# The health check's own Redis client, made once per app (see `_redis_status`).
HEALTH_REDIS = "portal.health_redis"

bp = Blueprint("meta_api", __name__, url_prefix=API_PREFIX)


@bp.get("/openapi.json")
@endpoint(access=permissions.anyone)
def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 description of every endpoint that exists."""
    return openapi_document(current_app)


@bp.get("/health")
@endpoint(access=permissions.anyone)
def health() -> dict[str, Any]:
    """Whether this process can serve: 503 while the database does not answer; with
    Redis configured, `redis` says whether it answers, and `status` is `degraded` while
    it does not (pages and the API work; live events stop crossing processes)."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        discard_session()
        raise DatabaseUnavailable() from None
    redis_status = _redis_status()
    if redis_status is None:
        return {"status": "ok"}
    return {"status": "ok" if redis_status == "ok" else "degraded", "redis": redis_status}


def _redis_status() -> str | None:
    """`ok` or `unavailable` (within a second), or None when no Redis is configured."""
    url = current_app.config["PORTAL"]["REDIS_URL"]
    if not url:
        return None
    client = current_app.extensions.get(HEALTH_REDIS)
    if client is None:
        client = current_app.extensions[HEALTH_REDIS] = redis.Redis.from_url(
            url, socket_connect_timeout=1, socket_timeout=1
        )
    try:
        client.ping()
    except redis.RedisError:
        return "unavailable"
    return "ok"
