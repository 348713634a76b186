"""Network statistics: the figures the secretariat reports to the member states, by
community or member state and month, as tables with bar charts drawn on the server (SVG:
no script, and the table beside each chart is its text alternative) and as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from typing import Any, Literal

from babel.dates import format_skeleton
from babel.numbers import format_decimal
from flask import Response, request, stream_with_context, url_for
from flask_babel import gettext, lazy_gettext
from pydantic import BaseModel, field_validator
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest

from .. import permissions
from ..events import utcnow
from ..pages import page, page_locale, parse_form, render
from ..public import statistics
from ..public.statistics import MAX_MONTHS, METRICS, Group, Report, month_count
from ..public.views import KIND_NAMES, country_name, kind_name, strxfrm
from . import bp

TITLES = {
    "active_users": lazy_gettext("Active users"),
    "items_created": lazy_gettext("Items created"),
    "publications": lazy_gettext("Publications approved"),
    "downloads": lazy_gettext("Public downloads"),
    "searches": lazy_gettext("Public searches"),
}
EXPLANATIONS = {
    "active_users": lazy_gettext(
        "People who signed in, changed something or used the portal in the month, "
        "counted for their community."
    ),
    "items_created": lazy_gettext(
        "Documents, memos, tasks and meetings created in the working groups, counted for "
        "the community of the person who created them."
    ),
    "publications": lazy_gettext(
        "Each approval by the secretariat, a first publication or an approved update, "
        "counted for the community of the publication."
    ),
    "downloads": lazy_gettext(
        "Files of publications downloaded from the public pages, counted for the "
        "community of the publication."
    ),
    "searches": lazy_gettext(
        "Searches of the publications by visitors, on the public pages and through the "
        "public API, counted for the community they were limited to, if any."
    ),
}


# No figure is older than the portal: an earlier year is a typing mistake.
FIRST_YEAR = 2000


class StatisticsQuery(BaseModel):
    """The page's period (months, YYYY-MM, as `<input type="month">` sends them) and
    grouping; the default is the last twelve months."""

    start: date | None = None
    end: date | None = None
    by: Literal["community", "state"] = "community"

    @field_validator("start", "end", mode="before")
    @classmethod
    def month(cls, value: Any) -> Any:
        if isinstance(value, date):
            return value
        try:
            year, month = (int(part) for part in str(value).split("-"))
            if year < FIRST_YEAR:
                raise ValueError(year)
            return date(year, month, 1)
        except ValueError:
            raise ValueError(gettext("Enter a month, as 2026-03.")) from None

    @field_validator("end")
    @classmethod
    def after_start(cls, value: date | None, info: Any) -> date | None:
        start = info.data.get("start")
        if value is None or start is None:
            return value
        if value < start:
            raise ValueError(gettext("Enter a month after the first month of the period."))
        if month_count(start, value) > MAX_MONTHS:
            raise ValueError(
                gettext("Choose a period of %(months)d months at most.", months=MAX_MONTHS)
            )
        return value


def _period() -> tuple[StatisticsQuery, dict[str, str]]:
    """The query string read by `StatisticsQuery`; a value that cannot be read is named
    beside its field and the default takes its place: the period ends with this month
    (UTC) and lasts twelve months."""
    query, errors = parse_form(StatisticsQuery, form=request.args)
    if query is None:
        kept = MultiDict([(k, v) for k, v in request.args.items() if k not in errors])
        query = parse_form(StatisticsQuery, form=kept)[0] or StatisticsQuery()
    end = query.end or utcnow().date().replace(day=1)
    start = query.start
    if start is None or not 0 < month_count(start, end) <= MAX_MONTHS:
        start = _add_months(end, -11)
    return query.model_copy(update={"start": start, "end": end}), errors


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


# --- what the page and the CSV show ---------------------------------------------------------


def month_label(month: str) -> str:
    """'2026-03' as "Mar 2026" in the page's language."""
    year, number = map(int, month.split("-"))
    return format_skeleton("yMMM", date(year, number, 1), locale=page_locale())


def month_heading(month: str) -> tuple[str, str]:
    """'2026-03' as ("Mar", "2026"): a table's column heading on two lines, narrow."""
    year, number = map(int, month.split("-"))
    return format_skeleton("MMM", date(year, number, 1), locale=page_locale()), str(year)


def number(value: int) -> str:
    return format_decimal(value, locale=page_locale())


def group_name(group: Group, by: str) -> str:
    if group.key == "":
        return gettext("No member state") if by == "state" else gettext("No community")
    return country_name(group.state, group.name) if by == "state" else group.name


def sorted_groups(report: Report) -> list[tuple[Group, str]]:
    """The rows with their names, in alphabetical order; what belongs to none last."""
    named = [(group, group_name(group, report.by)) for group in report.groups]
    return sorted(named, key=lambda pair: (pair[0].key == "", strxfrm(pair[1])))


# The bar chart's geometry, in SVG user units (the drawing scales to its box).
# About one unit a pixel at its widths (22rem at most, a phone's width less its margins),
# so its text keeps the page's size.
CHART_WIDTH = 320
LABEL_WIDTH = 76
BAR_LEFT = LABEL_WIDTH + 6
BAR_SPACE = 186
ROW_HEIGHT = 26


def bar_chart(labels: list[str], values: list[int]) -> dict[str, Any]:
    """One horizontal bar per month, longest for the highest figure, its value after it:
    readable as narrow as a phone, where month columns would crowd."""
    top = max(values, default=0) or 1
    bars = [
        {
            "label": label,
            "value": number(value),
            "y": index * ROW_HEIGHT,
            "width": round(value / top * BAR_SPACE, 1),
        }
        for index, (label, value) in enumerate(zip(labels, values, strict=True))
    ]
    return {
        "bars": bars,
        "width": CHART_WIDTH,
        "height": len(bars) * ROW_HEIGHT,
        "label_x": LABEL_WIDTH,
        "bar_x": BAR_LEFT,
    }


def tables(report: Report) -> list[dict[str, Any]]:
    """For each figure: its rows (a group's name, its figure of each month and of the
    period) and the network's total row, and its chart."""
    groups = sorted_groups(report)
    labels = [month_label(month) for month in report.months]
    shown = []
    for metric in METRICS:
        rows = []
        for group, name in groups:
            values = [report.value(metric, group.key, month) for month in report.months]
            rows.append({"name": name, "values": values, "total": sum(values)})
        totals = report.month_totals(metric)
        shown.append(
            {
                "metric": metric,
                "title": TITLES[metric],
                "explanation": EXPLANATIONS[metric],
                # A person active in two months is one person over the period: no total.
                "period_total": metric != "active_users",
                "rows": rows,
                "totals": totals,
                "total": sum(totals),
                "chart": bar_chart(labels, totals),
            }
        )
    return shown


def kind_table(report: Report) -> dict[str, Any]:
    """Items created over the period by kind, for each group."""
    totals = report.kind_totals()
    kinds = list(KIND_NAMES)
    rows = [
        {"name": name, "values": [totals.get((group.key, kind), 0) for kind in kinds]}
        for group, name in sorted_groups(report)
    ]
    return {
        "kinds": [kind_name(kind) for kind in kinds],
        "rows": rows,
        "totals": [sum(row["values"][i] for row in rows) for i in range(len(kinds))],
    }


# --- pages ----------------------------------------------------------------------------------


@bp.get("/statistics")
@page(access=permissions.console)
def statistics_page() -> tuple[str, int]:
    period, errors = _period()
    report = statistics.report(period.start, period.end, period.by)  # type: ignore[arg-type]
    chosen = {
        "start": period.start.strftime("%Y-%m"),  # type: ignore[union-attr]
        "end": period.end.strftime("%Y-%m"),  # type: ignore[union-attr]
        "by": period.by,
    }
    return render(
        "console/statistics.html",
        chosen=chosen,
        # What was typed stays in a field named by an error.
        typed={**chosen, **{name: request.args.get(name, "") for name in errors}},
        errors=errors,
        months=[month_heading(month) for month in report.months],
        period=(month_label(report.months[0]), month_label(report.months[-1])),
        figures=tables(report),
        by_kind=kind_table(report),
        by=report.by,
        csv_url=url_for(".statistics_csv", **chosen),
        number=number,
    ), 400 if errors else 200


# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text, never runs (OWASP's CSV injection advice)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@bp.get("/statistics.csv")
@page(access=permissions.console)
def statistics_csv() -> Response:
    """The page's figures, one line per figure, group and month (items created: per kind
    too), streamed."""
    period, errors = _period()
    if errors:
        raise BadRequest()
    report = statistics.report(period.start, period.end, period.by)  # type: ignore[arg-type]
    groups = sorted_groups(report)
    by_state = report.by == "state"
    header = [
        gettext("Figure"),
        gettext("Type"),
        gettext("Member state") if by_state else gettext("Community"),
        gettext("Code"),
        gettext("Month"),
        gettext("Count"),
    ]

    def lines() -> Iterator[list[Any]]:
        yield header
        for metric in METRICS:
            title = str(TITLES[metric])
            for group, name in groups:
                code = group.state if by_state else group.slug
                for month in report.months:
                    if metric == "items_created":
                        for kind in KIND_NAMES:
                            count = report.kinds.get((group.key, month, kind), 0)
                            yield [title, kind_name(kind), name, code, month, count]
                    else:
                        count = report.value(metric, group.key, month)
                        yield [title, "", name, code, month, count]

    def stream() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        yield "\ufeff"  # so spreadsheets read the names' accents as UTF-8
        for line in lines():
            writer.writerow([csv_cell(cell) for cell in line])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    name = f"statistics-{report.months[0]}-{report.months[-1]}-{report.by}.csv"
    return Response(
        stream_with_context(stream()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
