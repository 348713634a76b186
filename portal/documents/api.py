"""JSON routes of documents: uploads, versions, downloads, check-out."""

from __future__ import annotations

from flask import Blueprint

from ..api import API_PREFIX
from . import models  # noqa: F401 - the tables belong to the schema

bp = Blueprint("documents_api", __name__, url_prefix=API_PREFIX)
