"""API routes about the API itself: the OpenAPI description and a health check."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app
from sqlalchemy import text

from . import permissions
from .api import API_PREFIX, ApiError, endpoint, openapi_document
from .extensions import db

bp = Blueprint("meta_api", __name__, url_prefix=API_PREFIX)


@bp.get("/openapi.json")
@endpoint(access=permissions.anyone)
def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 description of every endpoint that exists."""
    return openapi_document(current_app)


@bp.get("/health")
@endpoint(access=permissions.anyone)
def health() -> dict[str, Any]:
    """Whether the database answers (for load balancers and monitoring)."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        db.session.rollback()
        raise ApiError(503, "unavailable", "The database does not answer.") from None
    return {"status": "ok"}
