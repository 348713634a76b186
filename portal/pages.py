"""Conventions of the server-rendered pages, as `api.py` is for the JSON routes.

- `page(access=...)`: every page view declares the gate of `portal.permissions`
  it passes through (a test walks the URL map and refuses a page without one);
- friendly HTML error pages (404, 429, ...) for page routes, while routes
  under /api/ keep their JSON error envelope (a refusal raised as `ApiError`
  in a page view, such as the 404 of `permissions`, becomes the HTML page).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, redirect, render_template, request, url_for
from werkzeug.exceptions import BadRequest, HTTPException

from .api import ApiError, http_error_envelope, is_api_request
from .text import has_unsafe_characters

F = TypeVar("F", bound=Callable[..., Any])


def _refuse_unsafe_text() -> None:
    """A page's query string and form hold no character a database or XML cannot hold
    (NUL...): refused with the 400 page, as `api.Body` refuses them in the API."""
    for values in (request.args, request.form):
        for name, value in values.items(multi=True):
            if has_unsafe_characters(name) or has_unsafe_characters(value):
                raise BadRequest()


def page(*, access: Callable[[], None]) -> Callable[[F], F]:
    """Declare a page view: its gate (from `portal.permissions`) runs first, then the
    check of its query string and form."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            access()
            _refuse_unsafe_text()
            return view(*args, **kwargs)

        wrapper.access = access  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def page_views(app: Flask) -> list[tuple[Any, Callable[..., Any]]]:
    """(rule, view) of every route outside the API and the static files."""
    return [
        (rule, app.view_functions[rule.endpoint])
        for rule in app.url_map.iter_rules()
        if not (rule.rule.startswith("/api/") or rule.endpoint == "static")
    ]


# --- error pages --------------------------------------------------------------

# Statuses that have their own wording in errors/error.html; others read as 400 or 500.
KNOWN_STATUSES = {400, 403, 404, 405, 413, 429, 503}


def error_page(status: int, headers: dict[str, str] | None = None) -> Response:
    shown = status if status in KNOWN_STATUSES else (400 if status < 500 else 500)
    response = Response(render_template("errors/error.html", status=shown), status=status)
    for name, value in (headers or {}).items():
        if name.lower() not in {"content-type", "content-length"}:
            response.headers[name] = value
    return response


def _http_exception(error: HTTPException) -> Any:
    status = error.code or 500
    if is_api_request() or status < 400:
        return http_error_envelope(error)
    return error_page(status, dict(error.get_headers()))


def _api_error(error: ApiError) -> Response:
    if is_api_request():
        return error.response()
    if error.status == 401:
        return redirect(url_for("accounts.login_page", next=request.full_path.rstrip("?")))
    return error_page(error.status, error.headers)


def register_error_pages(app: Flask) -> None:
    """Registered after `api.register_error_handlers`, whose handlers they delegate to."""
    app.register_error_handler(HTTPException, _http_exception)
    app.register_error_handler(ApiError, _api_error)
