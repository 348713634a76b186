"""The pages of memos."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("memos", __name__)
