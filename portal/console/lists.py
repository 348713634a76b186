"""What the console's lists share: their filter form read by the API's own query model."""

from __future__ import annotations

from typing import TypeVar

from flask import request
from werkzeug.datastructures import MultiDict

from ..api import PageQuery
from ..pages import parse_form

Q = TypeVar("Q", bound=PageQuery)

PER_PAGE = 25


def list_filters(
    model: type[Q], names: tuple[str, ...]
) -> tuple[Q, dict[str, str], dict[str, str]]:
    """(query, errors, filters) of a list's GET form: a value that cannot be read is left
    out of the query and named beside its field; `filters` are the `names` in use, for
    the pager's links and the "show all" link."""
    args = MultiDict(request.args)
    args["per_page"] = str(PER_PAGE)
    query, errors = parse_form(model, form=args)
    if query is None:
        for name in errors:
            args.pop(name, None)
        query = parse_form(model, form=args)[0] or model(per_page=PER_PAGE)
    errors.pop("page", None)
    filters = {
        name: request.args[name] for name in names if request.args.get(name) and name not in errors
    }
    return query, errors, filters
