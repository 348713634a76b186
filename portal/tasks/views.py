"""The pages of tasks."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("tasks", __name__)
