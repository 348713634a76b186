"""Conventions of the server-rendered pages, as `api.py` is for the JSON routes.

- `page(access=...)`: every page view declares the gate of `portal.permissions`
  it passes through (a test walks the URL map and refuses a page without one);
- `render(template, **context)`: the whole page, or only the block named by
  htmx's `HX-Target` (the id of the element it swaps, `task_board` ...) when
  htmx asks: one template serves the page and its live-refreshed parts;
- `parse_form(Model)`: a form validated by the API's own body model, with errors by
  field in the page's language and the input kept for the page to show again;
- friendly HTML error pages (404, 429, ...) for page routes, while routes
  under /api/ keep their JSON error envelope (a refusal raised as `ApiError`
  in a page view, such as the 404 of `permissions`, becomes the HTML page).
"""

from __future__ import annotations

import functools
import json
import math
import re
import threading
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import TIMEDELTA_UNITS, format_date, format_datetime, format_timedelta
from flask import Flask, Response, current_app, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from jinja2 import Environment, Template, nodes
from markupsafe import Markup
from pydantic import BaseModel, ValidationError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest, HTTPException
from wtforms.validators import ValidationError as CsrfInvalid

from .api import ApiError, http_error_envelope, is_api_request
from .i18n import current_language, names_list
from .text import has_unsafe_characters

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=BaseModel)


def _refuse_unsafe_text(form: bool = True) -> None:
    """A page's query string and form hold no character a database or XML cannot hold
    (NUL...): refused with the 400 page, as `api.Body` refuses them in the API."""
    for values in (request.args, request.form) if form else (request.args,):
        for name, value in values.items(multi=True):
            if has_unsafe_characters(name) or has_unsafe_characters(value):
                raise BadRequest()


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def check_csrf(token: str | None) -> None:
    """The session's CSRF token, or the 400 page."""
    try:
        validate_csrf(token)
    except CsrfInvalid:
        raise CSRFError(
            gettext("The form was too old or not sent by this site: try again.")
        ) from None


def _check_csrf() -> None:
    """Every form a page posts carries the session's CSRF token (the `csrf_token` field of
    `form.csrf()`, or the X-CSRF-Token header of a script's request): refused otherwise
    with the 400 page, whatever the view does."""
    if request.method in UNSAFE_METHODS:
        check_csrf(request.form.get("csrf_token") or request.headers.get("X-CSRF-Token"))


def page(*, access: Callable[[], None], streams_upload: bool = False) -> Callable[[F], F]:
    """Declare a page view: its gate (from `portal.permissions`) runs first, then the
    check of its CSRF token (for a form posted), its query string and form.

    A view that `streams_upload` reads its multipart body itself as a stream
    (`documents.upload.received_files`, which checks the CSRF field before it stores
    anything, and whose fields its API model checks): reading `request.form` here would
    spool the whole upload first."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            access()
            if not streams_upload:
                _check_csrf()
            _refuse_unsafe_text(form=not streams_upload)
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


# --- rendering ----------------------------------------------------------------


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def refreshing() -> str:
    """The block a live refresh asks for (htmx's `HX-Target`), "" for the whole page: a
    view skips the queries of the blocks it will not render (live refreshes are about
    half of the requests of a working network)."""
    return request.headers.get("HX-Target", "") if is_htmx() else ""


# The header of a live refresh that carries other blocks of its page (`live_refresh`'s
# `carries`), by name, and how many it may name.
CARRIES_HEADER = "X-Portal-Carries"
MAX_CARRIED = 4


def refreshed_blocks() -> tuple[str, ...]:
    """The blocks a live refresh shows: `HX-Target`'s, then those it carries; () for the
    whole page, which is also what a target that is no block rendering alone gets."""
    target = refreshing()
    if not target:
        return ()
    alone = _blocks_rendering_alone(current_app.jinja_env)
    if target not in alone:
        return ()
    carried = request.headers.get(CARRIES_HEADER, "").split()[:MAX_CARRIED]
    return (target, *dict.fromkeys(name for name in carried if name in alone and name != target))


def renders(*blocks: str) -> bool:
    """Whether this answer shows one of `blocks`: the whole page shows them all, a live
    refresh only the ones it asks for (`renders()`: the whole page alone). A view runs a
    block's queries only when it renders it."""
    shown = refreshed_blocks()
    return not shown or any(block in shown for block in blocks)


def render(template_name: str, **context: Any) -> str:
    """The page, or, when htmx asks for the element `HX-Target`, the block of the same
    name alone, the template's own, one it inherits or one of a template they include
    (a template names the blocks that refresh by the id of their element), followed by
    the blocks it carries (`refreshed_blocks`), which htmx swaps out of band.

    A block rendered alone sees the view's context and the template globals, not the
    `{% set %}`s of the template outside it."""
    blocks = refreshed_blocks()
    if blocks:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        template = app.jinja_env.get_or_select_template(template_name)
        app.update_template_context(context)
        page_context = template.new_context(context)
        # The blocks of the templates it extends too (an item page's `item_header` is
        # item.html's), the most derived first, as rendering the whole page sees them.
        for ancestor in _ancestors(app.jinja_env, template):
            for name, block in ancestor.blocks.items():
                page_context.blocks.setdefault(name, []).append(block)
        own = _standalone_blocks(app.jinja_env, template.name or "")
        if blocks[0] not in own:  # a block of another page: the view ran none of this one's
            raise BadRequest(gettext("This page has no such part to refresh."))
        shown = (
            _render_block(app.jinja_env, template, page_context, context, name)
            for name in blocks
            if name in own
        )
        return "".join(part for part in shown if part is not None)
    return render_template(template_name, **context)


def _render_block(
    env: Environment, template: Template, page_context: Any, context: dict[str, Any], name: str
) -> str | None:
    """Block `name` of the page (its own or an ancestor's, in `page_context`), else of a
    template they include (the item panels' `item_comments`); None if none has it."""
    if name in page_context.blocks:
        return "".join(page_context.blocks[name][0](page_context))
    for owner in (template.name, *(a.name for a in _ancestors(env, template))):
        for included_name in _included_names(env, owner or ""):
            included = env.get_template(included_name)
            if name in included.blocks:
                return "".join(included.blocks[name](included.new_context(context)))
    return None


@functools.lru_cache(maxsize=256)
def _standalone_blocks(env: Environment, name: str) -> frozenset[str]:
    """The blocks of template `name` (its own, its ancestors', their includes') that
    render alone: those whose first element has the block's name as its id, as `render`
    asks of a template. Any other (the page's `main`, its `title`) needs what the whole
    page sets around it."""
    found: dict[str, bool] = {}  # the most derived definition decides
    owners = [name]  # and the templates it extends, by name (none compiled for this)
    while (parent := _parent_name(env, owners[-1])) is not None:
        owners.append(parent)
    for owner in [*owners, *(i for o in owners for i in _included_names(env, o))]:
        for block, alone in _own_blocks(env, owner).items():
            found.setdefault(block, alone)
    return frozenset(block for block, alone in found.items() if alone)


@functools.lru_cache(maxsize=256)
def _own_blocks(env: Environment, name: str) -> dict[str, bool]:
    """The blocks template `name` defines itself, and whether each renders alone."""
    found = {}
    for block in _parsed(env, name).find_all(nodes.Block):
        element = re.match(r'<\w+[^>]*?\bid="([^"]*)"', _first_markup(env, block))
        found[block.name] = element is not None and element.group(1) == block.name
    return found


@functools.lru_cache(maxsize=256)
def _parsed(env: Environment, name: str) -> nodes.Template:
    return env.parse(env.loader.get_source(env, name)[0] if env.loader else "")


def _first_markup(env: Environment, node: nodes.Node) -> str:
    """The first text a template node writes, through an `{% include %}` it starts with."""
    for part in node.find_all((nodes.TemplateData, nodes.Include)):
        if isinstance(part, nodes.Include):
            if not isinstance(part.template, nodes.Const):
                return ""
            return _first_markup(env, _parsed(env, part.template.value))
        if part.data.strip():
            return part.data.strip()
    return ""


def _blocks_rendering_alone(env: Environment) -> frozenset[str]:
    """Every block of every page that renders alone: what a live refresh may name. Read
    once per process (about a second of parsing), by the first refresh; the refreshes
    arriving meanwhile wait for it instead of each reading it again."""
    with _READING_BLOCKS:
        return _blocks_of_every_page(env)


_READING_BLOCKS = threading.Lock()


@functools.lru_cache(maxsize=8)
def _blocks_of_every_page(env: Environment) -> frozenset[str]:
    names = env.list_templates(extensions=["html"])
    return frozenset().union(*(_standalone_blocks(env, name) for name in names))


def _ancestors(env: Environment, template: Template) -> list[Template]:
    """The templates that `template` extends, nearest first."""
    found = []
    while (parent := _parent_name(env, template.name or "")) is not None:
        template = env.get_template(parent)
        found.append(template)
    return found


@functools.lru_cache(maxsize=256)
def _parent_name(env: Environment, name: str) -> str | None:
    """The template named by `{% extends "..." %}` in template `name`, if any."""
    source = env.loader.get_source(env, name)[0] if env.loader else ""
    extends = next(env.parse(source).find_all(nodes.Extends), None)
    if extends is None or not isinstance(extends.template, nodes.Const):
        return None
    return str(extends.template.value)


@functools.lru_cache(maxsize=256)
def _included_names(env: Environment, name: str) -> tuple[str, ...]:
    """The templates that template `name` includes by a constant name."""
    source = env.loader.get_source(env, name)[0] if env.loader else ""
    return tuple(
        str(node.template.value)
        for node in env.parse(source).find_all(nodes.Include)
        if isinstance(node.template, nodes.Const)
    )


# --- forms ----------------------------------------------------------------------

# pydantic's error types, as people read them (anything else: "This value is not valid.").
_FORM_MESSAGES: dict[str, Callable[[dict[str, Any]], str]] = {
    "missing": lambda e: gettext("Fill in this field."),
    "string_too_short": lambda e: gettext("Fill in this field."),
    "string_too_long": lambda e: gettext(
        "Keep it to %(limit)s characters.", limit=e["ctx"]["max_length"]
    ),
    "control_character": lambda e: gettext("Remove the control characters from the text."),
    "int_parsing": lambda e: gettext("Enter a whole number."),
    "greater_than_equal": lambda e: gettext("Enter %(limit)s or more.", limit=e["ctx"]["ge"]),
    "less_than_equal": lambda e: gettext("Enter %(limit)s or less.", limit=e["ctx"]["le"]),
    "date_from_datetime_parsing": lambda e: gettext("Enter a date."),
    "date_parsing": lambda e: gettext("Enter a date."),
    "datetime_parsing": lambda e: gettext("Enter a date and time."),
    "datetime_from_date_parsing": lambda e: gettext("Enter a date and time."),
    "enum": lambda e: gettext("Choose one of the options."),
    "literal_error": lambda e: gettext("Choose one of the options."),
}


def form_errors(error: ValidationError) -> dict[str, str]:
    """Field name -> the first problem with it, in the page's language."""
    fields: dict[str, str] = {}
    for problem in error.errors(include_url=False):
        name = str(problem["loc"][0]) if problem["loc"] else "form"
        describe = _FORM_MESSAGES.get(problem["type"])
        if describe is None and problem["type"] == "value_error":
            # The model's own rule: its message is written for people (and in English).
            message = str(problem.get("ctx", {}).get("error") or problem["msg"])
        else:
            message = describe(problem) if describe else gettext("This value is not valid.")
        fields.setdefault(name, message)
    return fields


def parse_form(
    model: type[M],
    *,
    lists: tuple[str, ...] = (),
    form: MultiDict[str, str] | None = None,
) -> tuple[M | None, dict[str, str]]:
    """The posted form validated by `model` (the API's body model: one rule for both).

    Empty fields are left out (the model's default applies); fields named in `lists`
    are read as lists (checkboxes, multiple selects). Returns (body, {}) or (None, errors).
    """
    source = request.form if form is None else form
    data: dict[str, Any] = {}
    for name in model.model_fields:
        if name in lists:
            values = [value for value in source.getlist(name) if value != ""]
            if name in source or f"{name}-present" in source:
                data[name] = values
        elif source.get(name, "") != "":
            data[name] = source[name]
    try:
        # Python mode, lax: form values are text ("3", "2026-03-04") to convert.
        return model.model_validate(data, strict=False), {}
    except ValidationError as error:
        return None, form_errors(error)


# --- times in the viewer's zone -------------------------------------------------


@functools.cache
def _babel_locale(code: str) -> Locale:
    return Locale.parse(code)


def page_locale() -> Locale:
    """The page's language as Babel's Locale, parsed once per language (parsing it for
    every date of a long list cost a third of a millisecond each)."""
    return _babel_locale(current_language())


def viewer_zone() -> ZoneInfo:
    """The signed-in user's timezone, else UTC."""
    name = getattr(current_user, "timezone", None) or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(moment: datetime | None, style: str = "medium", zone: str | None = None) -> str:
    """A stored (UTC) time in the viewer's zone, or in `zone`, in the page's language."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    try:
        shown = ZoneInfo(zone) if zone else viewer_zone()
    except (ZoneInfoNotFoundError, ValueError):
        shown = viewer_zone()
    return _formatted_time(moment, style, shown, page_locale())


@functools.lru_cache(maxsize=4096)
def _formatted_time(moment: datetime, style: str, zone: ZoneInfo, locale: Locale) -> str:
    """Babel's formatting, kept: the same times (a group's newest items, its activity)
    are shown again to each of its members, and each takes Babel a hundred calls."""
    return format_datetime(moment, style, tzinfo=zone, locale=locale)


def local_date(day: date | datetime | None, style: str = "medium") -> str:
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = day.astimezone(viewer_zone()).date()
    return format_date(day, style, locale=page_locale())


def time_ago(moment: datetime | None) -> str:
    """ "5 minutes ago", "in 2 days", in the page's language."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    seconds = (moment - datetime.now(ZoneInfo("UTC"))).total_seconds()
    return _relative_time(*_in_babel_units(seconds), page_locale())


# `time_ago` shows a time in the largest unit it makes 1.1 of ("66 minutes", then "1 hour").
AGO_THRESHOLD = 1.1
_SECONDS_PER_UNIT = dict(TIMEDELTA_UNITS)


def _in_babel_units(seconds: float) -> tuple[str, int, bool]:
    """(unit, count, in the future) as Babel's `format_timedelta` picks them for
    `seconds` at AGO_THRESHOLD: all its text depends on (with the locale), so that
    text can be kept (`_relative_time`) while the seconds change at every request."""
    for unit, per_unit in TIMEDELTA_UNITS:
        value = abs(seconds) / per_unit
        if value >= AGO_THRESHOLD or unit == "second":
            if unit == "second" and value > 0:
                value = max(1, value)
            return unit, round(value), seconds >= 0
    raise AssertionError("TIMEDELTA_UNITS ends with the second")


@functools.lru_cache(maxsize=1024)
def _relative_time(unit: str, count: int, future: bool, locale: Locale) -> str:
    """Babel's text for `count` `unit`s ahead or ago (a hundred calls each time)."""
    seconds = count * _SECONDS_PER_UNIT[unit] * (1 if future else -1)
    return format_timedelta(
        seconds, granularity=unit, threshold=math.inf, add_direction=True, locale=locale
    )


def iso_datetime(moment: datetime | None) -> str:
    """For `<time datetime=...>`."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.isoformat()


def live_refresh(*events: str, url: str | None = None, carries: Sequence[str] = ()) -> Markup:
    """The attributes that make an element refresh itself through htmx when one of the
    live events (raised on <body> by static/js/live.js, whose header lists them) happens:
    it asks this page again for the block named by its id and swaps itself. Put them on
    the element the block wraps. Listen to the narrowest events that can change the
    block, since each one heard costs a request: a list of one kind `live:memos-5`
    (`live:tasks-5`, `live:documents-5`, `live:meetings-5`; also raised by the group's
    own changes), a block of every kind `live:workspace-5`, members or roles
    `live:members-5`, one item `live:item-12`, `live:notifications`.
    Other blocks of the page that change with the same events, `carries`, come in the
    same answer and are swapped out of band (one request, not one each); give them no
    live attributes of their own, and no form (live.js keeps a busy one as it is).
    A part of the layout, on every page, asks its own `url` instead."""
    path = url or request.full_path.rstrip("?")
    triggers = ", ".join(f"{name} from:body" for name in events)
    attributes = Markup('hx-get="{}" hx-trigger="{}" hx-swap="outerHTML"').format(path, triggers)
    if carries:
        attributes += Markup(' hx-select-oob="{}" hx-headers="{}"').format(
            ",".join(f"#{name}" for name in carries),
            json.dumps({CARRIES_HEADER: " ".join(carries)}),
        )
    return attributes


ROLE_LABELS = {
    "coordinator": lazy_gettext("Coordinator"),
    "member": lazy_gettext("Member"),
    "observer": lazy_gettext("Observer"),
}


def role_label(role: Any) -> str:
    """A working-group role in the page's (or the e-mail's) language."""
    return str(ROLE_LABELS.get(str(role), role))


def init_app(app: Flask) -> None:
    """The template helpers every page (and e-mail) may use."""
    app.jinja_env.add_extension("jinja2.ext.do")
    app.add_template_global(live_refresh)
    app.add_template_global(role_label)
    app.add_template_filter(local_time)
    app.add_template_filter(local_date)
    app.add_template_filter(time_ago)
    app.add_template_filter(iso_datetime)
    app.add_template_filter(names_list)
    app.add_template_global(is_htmx)


# --- error pages --------------------------------------------------------------

# Statuses that have their own wording in errors/error.html; others read as 400 or 500.
KNOWN_STATUSES = {400, 403, 404, 405, 409, 413, 429, 503}

# What a refusal of `permissions` or a service says, as people read it in the page's
# language, by its API message (written for programs, in English). A refusal not named
# here shows its status's own wording.
REFUSALS = {
    "You may not do this.": lazy_gettext(
        "You can read this, but your role in the working group does not let you change it."
    ),
    "Only the technical secretariat may do this.": lazy_gettext(
        "Only the technical secretariat may do this."
    ),
    "Only the technical secretariat approves, rejects or unpublishes.": lazy_gettext(
        "Only the technical secretariat approves, rejects or unpublishes publications."
    ),
    "The item is in the trash; restore it first.": lazy_gettext(
        "This item is in the trash: restore it before changing it."
    ),
    "The workspace is archived; restore it first.": lazy_gettext(
        "This working group is archived: its items can be read but not changed."
    ),
    "The item is not in the trash.": lazy_gettext("This item is not in the trash."),
    "The item is already awaiting the secretariat's review.": lazy_gettext(
        "This item is already waiting for the secretariat's review."
    ),
    "Upload the document's file before submitting it.": lazy_gettext(
        "Upload the document's file before submitting it for publication."
    ),
}


def error_page(status: int, headers: dict[str, str] | None = None, message: str = "") -> Response:
    """The HTML error page; `message`, an API refusal's, says why when it is one of
    `REFUSALS`."""
    shown = status if status in KNOWN_STATUSES else (400 if status < 500 else 500)
    reason = REFUSALS.get(message)
    response = Response(
        render_template("errors/error.html", status=shown, reason=reason), status=status
    )
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
    return error_page(error.status, error.headers, error.message)


def register_error_pages(app: Flask) -> None:
    """Registered after `api.register_error_handlers`, whose handlers they delegate to."""
    app.register_error_handler(HTTPException, _http_exception)
    app.register_error_handler(ApiError, _api_error)
