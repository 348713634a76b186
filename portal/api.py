"""API conventions shared by every JSON route.

- `ApiError` and the error envelope `{"error": {"code", "message", "fields"?}}`
  for every refusal, including werkzeug's own (404, 405, 413, ...).
- `endpoint(access=..., body=..., query=...)`: every API view declares the
  gate from `portal.permissions` it passes through (a test walks the URL map
  and refuses a view without one), and the pydantic models its body and query
  string are validated into.
- `Id` and `URL_CONVERTERS`: integers that fit the id columns, in bodies, query
  strings and URLs (`<int:…>` out of range names nothing: 404).
- `paginate`: the `{"items", "page", "per_page", "total"}` list shape.
- `openapi_document`: the OpenAPI description built from the same declarations.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from flask import Flask, Response, current_app, jsonify, request
from flask_wtf.csrf import CSRFError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import Select, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import IntegerConverter, Map, UnicodeConverter
from werkzeug.routing import ValidationError as UrlValidationError
from werkzeug.routing.converters import BaseConverter, NumberConverter

from .backoff import one_line
from .extensions import db
from .text import has_unsafe_characters

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"

# werkzeug status -> envelope code, for errors raised outside our own code.
STATUS_CODES = {
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media",
    429: "rate_limited",
    503: "unavailable",
}


class ApiError(Exception):
    """A refusal answered with the error envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.extra = extra or {}
        self.headers = headers or {}

    def response(self) -> Response:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields is not None:
            body["fields"] = self.fields
        body.update(self.extra)
        resp = jsonify({"error": body})
        resp.status_code = self.status
        resp.headers.update(self.headers)
        return resp


class DatabaseUnavailable(ApiError):
    """The database does not answer (down, restarting, or every pooled connection busy):
    503 `unavailable`; the client tries again after `Retry-After`."""

    def __init__(self) -> None:
        super().__init__(
            503,
            "unavailable",
            "The database is unavailable; try again shortly.",
            headers={"Retry-After": "5"},
        )


def invalid(fields: dict[str, str], message: str = "The request is not valid.") -> ApiError:
    return ApiError(400, "invalid", message, fields=fields)


def not_found(what: str = "resource") -> ApiError:
    return ApiError(404, "not_found", f"No such {what}.")


def conflict(message: str, **extra: Any) -> ApiError:
    return ApiError(409, "conflict", message, extra=extra)


def is_api_request() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


# --- request validation -------------------------------------------------------

# The largest value of PostgreSQL's `integer`, the type of every id and counter column:
# a larger number cannot even be compared with one (the database refuses the query).
MAX_INT = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_INT)]


class IdConverter(IntegerConverter):
    """`<int:…>` in a URL is an id: a number outside 1 .. MAX_INT names nothing, for
    every method (404; werkzeug's own refusal would read as 405 where the path has
    other methods), and never reaches the database."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int = 1, max: int = MAX_INT) -> None:
        super().__init__(map, fixed_digits, min, max)

    def to_python(self, value: str) -> int:
        try:
            return int(super().to_python(value))
        except UrlValidationError:
            raise NotFound() from None


class TextConverter(UnicodeConverter):
    """A text segment of a URL (the default converter): one holding a character a
    database or XML cannot hold names nothing (404)."""

    def to_python(self, value: str) -> str:
        if has_unsafe_characters(value):
            raise NotFound()
        return value


URL_CONVERTERS = {"int": IdConverter, "default": TextConverter, "string": TextConverter}


def _holds_unsafe_text(value: Any) -> bool:
    if isinstance(value, str):
        return has_unsafe_characters(value)
    if isinstance(value, dict):
        return any(_holds_unsafe_text(v) for pair in value.items() for v in pair)
    if isinstance(value, list | tuple | set | frozenset):
        return any(_holds_unsafe_text(v) for v in value)
    return False


class Input(BaseModel):
    """Base of bodies and query strings: no text in them, also inside lists, holds NUL or
    another character a database or XML cannot hold (nested models check their own)."""

    @field_validator("*")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        if _holds_unsafe_text(value):
            raise PydanticCustomError(
                "control_character", "Remove the control characters (such as NUL) from the text."
            )
        return value


class Body(Input):
    """Base of request bodies: unknown fields are refused, types are strict."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class Query(Input):
    """Base of query strings: values arrive as text and are converted."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class PageQuery(Query):
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(20, ge=1, le=100)


M = TypeVar("M", bound=BaseModel)


def _fields_of(error: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in error.errors(include_url=False):
        name = ".".join(str(part) for part in item["loc"]) or "body"
        if item["type"] == "extra_forbidden":
            message = "Unknown field."
        elif item["type"] == "missing":
            message = "This field is required."
        else:
            message = item["msg"]
        fields.setdefault(name, message)
    return fields


def parse_body(model: type[M]) -> M:
    """The JSON body validated into `model`, or a 400 envelope naming the fields.

    Validated in pydantic's JSON mode: strict types (no "1" for 1) that still
    read enum values and ISO datetimes from their JSON strings.
    """
    if not request.is_json:
        raise ApiError(415, "unsupported_media", "Send the body as application/json.")
    try:
        return model.model_validate_json(request.get_data(cache=True) or b"{}")
    except ValidationError as error:
        if any(item["type"] == "json_invalid" for item in error.errors()):
            raise invalid(
                {"body": "The body is not valid JSON."}, "The body is not valid JSON."
            ) from None
        raise invalid(_fields_of(error)) from None


def parse_query(model: type[M]) -> M:
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as error:
        raise invalid(_fields_of(error)) from None


# --- the one shape of an API view ---------------------------------------------

F = TypeVar("F", bound=Callable[..., Any])


def endpoint(
    *,
    access: Callable[[], None],
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    status: int = 200,
) -> Callable[[F], F]:
    """Declare an API view: gate first, then validation, then the view.

    `access` is a gate from `portal.permissions` (it raises a refusal); object
    checks the view makes after loading what the URL names go through
    `portal.permissions` too. The parsed body and query reach the view as the
    keyword arguments `body` and `query`. A view returning a dict or list is
    answered as JSON with `status`.
    """

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            access()
            if query is not None:
                kwargs["query"] = parse_query(query)
            if body is not None:
                kwargs["body"] = parse_body(body)
            result = view(*args, **kwargs)
            if isinstance(result, dict | list):
                resp = jsonify(result)
                resp.status_code = status
                return resp
            return result

        wrapper.access = access  # type: ignore[attr-defined]
        wrapper.body_model = body  # type: ignore[attr-defined]
        wrapper.query_model = query  # type: ignore[attr-defined]
        wrapper.success_status = status  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def paginate(
    statement: Select[Any],
    page: PageQuery,
    serialize: Callable[[Any], dict[str, Any]],
    *,
    prepare: Callable[[list[Any]], None] | None = None,
) -> dict[str, Any]:
    """One page of `statement` (already ordered) with the total count.

    `prepare` receives the page's rows before serialization, to load what the
    serializer needs in one query instead of one per row.
    """
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = list(
        db.session.scalars(statement.limit(page.per_page).offset((page.page - 1) * page.per_page))
    )
    if prepare is not None and rows:
        prepare(rows)
    return {
        "items": [serialize(row) for row in rows],
        "page": page.page,
        "per_page": page.per_page,
        "total": total or 0,
    }


# --- errors -------------------------------------------------------------------


def http_error_envelope(error: HTTPException) -> Response | HTTPException:
    if not is_api_request():
        return error
    status = error.code or 500
    code = STATUS_CODES.get(status, "error")
    messages = {
        404: "No such resource.",
        405: f"{request.method} is not allowed here.",
        413: "The request is too large.",
    }
    message = messages.get(status) or (error.description or error.name)
    # Keep what the refusal says beside its body: `Allow` on a 405, `Retry-After`...
    headers = {name: value for name, value in error.get_headers() if name != "Content-Type"}
    return ApiError(status, code, message, headers=headers).response()


def _csrf_error(error: CSRFError) -> Response | CSRFError:
    if not is_api_request():
        return error
    return ApiError(
        403, "csrf", "Missing or wrong CSRF token: send GET /auth/csrf's token as X-CSRF-Token."
    ).response()


def _integrity_error(error: IntegrityError) -> Response:
    db.session.rollback()
    log.info("integrity error answered 409: %s", error.orig)
    return conflict("The change conflicts with existing data.").response()


def _stale_write(error: StaleDataError) -> Response:
    db.session.rollback()
    return conflict("The item changed while you were saving; read it again.").response()


def database_is_down(error: Exception) -> bool:
    """Whether a database error means the database cannot be reached, not a bad statement:
    a lost or refused connection, or no pooled connection free in time."""
    if isinstance(error, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def discard_session() -> None:
    """Give back the session's connection after a failure; on a dead connection the
    rollback itself may fail, and the pool replaces that connection anyway."""
    try:
        db.session.rollback()
    except Exception:
        db.session.close()


def _database_error(error: DBAPIError | PoolTimeout) -> Any:
    if not database_is_down(error):
        return _unexpected_error(error)
    discard_session()
    log.warning(
        "database unavailable on %s %s: %s",
        request.method,
        request.path,
        one_line(getattr(error, "orig", None) or error),
    )
    # Who is signed in cannot be read now: the error page is drawn as for a visitor.
    current_app.login_manager._update_request_context_with_user(None)  # type: ignore[attr-defined]
    # Answered as any refusal is: the envelope under /api/, the error page elsewhere.
    return current_app.handle_user_exception(DatabaseUnavailable())


def _unexpected_error(error: Exception) -> Response | tuple[str, int]:
    discard_session()
    log.exception("unexpected error on %s %s", request.method, request.path)
    if is_api_request():
        return ApiError(500, "internal", "Something went wrong on our side.").response()
    return "Something went wrong on our side.", 500


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, lambda e: e.response())
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, http_error_envelope)
    app.register_error_handler(IntegrityError, _integrity_error)
    app.register_error_handler(DBAPIError, _database_error)
    app.register_error_handler(PoolTimeout, _database_error)
    app.register_error_handler(StaleDataError, _stale_write)
    app.register_error_handler(Exception, _unexpected_error)


# --- OpenAPI ------------------------------------------------------------------

_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


JSON_SUCCESS = {
    "description": "Success",
    "content": {"application/json": {"schema": {"type": "object"}}},
}


def _accepted_by(converter: BaseConverter) -> dict[str, Any]:
    """What a URL converter accepts, as JSON Schema (`<int:…>` is an id: 1 .. MAX_INT)."""
    if isinstance(converter, NumberConverter):
        schema: dict[str, Any] = {"type": "integer" if converter.num_convert is int else "number"}
        low = converter.min if converter.min is not None or converter.signed else 0
        bounds = {"minimum": low, "maximum": converter.max}
        return schema | {key: value for key, value in bounds.items() if value is not None}
    return {"type": "string", "pattern": f"^{converter.regex}$"}


def _openapi_path(rule: str) -> str:
    return _CONVERTER.sub(lambda m: "{" + m.group(2) + "}", rule[len(API_PREFIX) :]) or "/"


def api_views(app: Flask) -> Iterable[tuple[Any, Callable[..., Any]]]:
    """(rule, view function) of every route under the API prefix."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API_PREFIX + "/") or rule.rule == API_PREFIX:
            yield rule, app.view_functions[rule.endpoint]


def openapi_document(app: Flask) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    for rule, view in sorted(api_views(app), key=lambda rv: rv[0].rule):
        doc = (view.__doc__ or "").strip().splitlines()
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation: dict[str, Any] = {
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "summary": doc[0] if doc else rule.endpoint,
                "tags": [rule.endpoint.split(".")[0]],
                "responses": {
                    **(
                        getattr(view, "openapi_responses", None)
                        or {str(getattr(view, "success_status", 200)): JSON_SUCCESS}
                    ),
                    "default": {
                        "description": "Error envelope",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                },
            }
            params = [
                {"name": name, "in": "path", "required": True, "schema": _accepted_by(converter)}
                for name, converter in rule._converters.items()  # werkzeug's parsed rule
            ]
            query_model = getattr(view, "query_model", None)
            if query_model is not None:
                for name, field in query_model.model_json_schema().get("properties", {}).items():
                    params.append({"name": name, "in": "query", "schema": field})
            # Parameters read outside the models (headers, a feed's token) are named by the view.
            params.extend(getattr(view, "openapi_parameters", ()))
            if params:
                operation["parameters"] = params
            body_model = getattr(view, "body_model", None)
            if body_model is not None and method in {"POST", "PUT", "PATCH"}:
                schemas[body_model.__name__] = body_model.model_json_schema(
                    ref_template="#/components/schemas/{model}"
                )
                schemas.update(schemas[body_model.__name__].pop("$defs", {}))
                operation["requestBody"] = {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{body_model.__name__}"}
                        }
                    },
                }
            # Views whose body is not JSON (file uploads) describe it themselves.
            own_body = getattr(view, "openapi_request_body", None)
            if own_body is not None and method in {"POST", "PUT", "PATCH"}:
                operation["requestBody"] = own_body
            paths.setdefault(_openapi_path(rule.rule), {})[method.lower()] = operation
    schemas["Error"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Port Network Portal API", "version": "1"},
        "servers": [{"url": API_PREFIX}],
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
        "paths": paths,
    }


def setting(name: str) -> Any:
    """A portal setting of the running app (see `portal.config.DEFAULTS`)."""
    return current_app.config["PORTAL"][name]


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with offset, UTC, to the second."""
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


def changes_of(body: BaseModel, *, nullable: Iterable[str] = ()) -> dict[str, Any]:
    """The fields a PATCH body sets; null only where the field may be emptied."""
    changes = body.model_dump(exclude_unset=True)
    refused = {
        name: "This field cannot be null."
        for name, value in changes.items()
        if value is None and name not in set(nullable)
    }
    if refused:
        raise invalid(refused)
    return changes
