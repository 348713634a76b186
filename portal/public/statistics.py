"""The network's figures for the secretariat's reports to the member states: active users,
items created, publications approved, public downloads and searches, by community or
member state and by month (UTC), over a period.

Everything is aggregated by the database (one GROUP BY query per source, whatever the
number of communities or months). What nothing else records — public downloads and
searches — is counted here by `count_public`, a single upsert per public request.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from flask import Response, after_this_request, request
from sqlalchemy import ColumnElement, Date, String, case, distinct, func, select, union
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..accounts.models import User, UserSession
from ..events import Event, utcnow
from ..extensions import WRITES_ALONE, db
from ..network.models import Community, MemberState
from ..workspaces.models import Item
from .models import PublicationRequest, PublicCount, RequestStatus

log = logging.getLogger(__name__)

Metric = Literal["active_users", "items_created", "publications", "downloads", "searches"]
METRICS: tuple[Metric, ...] = (
    "active_users",
    "items_created",
    "publications",
    "downloads",
    "searches",
)
Grouping = Literal["community", "state"]
# The counters' names in `public_counts` -> the report's metrics.
COUNTERS: dict[str, Metric] = {"download": "downloads", "search": "searches"}
# Statuses of a counted response: a whole file or its presigned redirect, a result page.
# Not a 206 part of a file being resumed, a 304 or a refusal.
COUNTED_STATUSES = frozenset({200, 302})


# --- counting public downloads and searches ------------------------------------------------


def count_public(
    counter: Literal["download", "search"],
    *,
    community_id: int | None = None,
    community_slug: str | None = None,
) -> None:
    """Count this public request once its answer is ready: one upsert (the day's row of
    the counter and community, created or bumped) that commits alone (WRITES_ALONE: a
    GET reads without a transaction), so no round trip is added but that statement. The
    community is given by id, or by the
    slug of a search's filter (looked up inside the same statement).

    A failure is logged and forgotten: the visitor gets their answer all the same."""

    @after_this_request
    def count(response: Response) -> Response:
        if request.method != "GET" or response.status_code not in COUNTED_STATUSES:
            return response
        community: Any = community_id or 0
        if community_slug:
            community = func.coalesce(
                select(Community.id).where(Community.slug == community_slug).scalar_subquery(),
                0,
            )
        try:
            db.session.execute(_upsert(counter, community))
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("The public %s could not be counted", counter)
        return response


def _upsert(counter: str, community: Any) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE, in the database's own dialect (SQLite and
    PostgreSQL spell it the same; SQLAlchemy builds it per dialect)."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = PublicCount.__table__
    return (
        insert(table)
        .values(day=utcnow().date(), metric=counter, community_id=community, total=1)
        .on_conflict_do_update(
            index_elements=[table.c.day, table.c.metric, table.c.community_id],
            set_={"total": table.c.total + 1},
        )
        .execution_options(**WRITES_ALONE)
    )


# --- months in SQL --------------------------------------------------------------------------


class utc_month(FunctionElement[str]):  # a SQL function, named as one
    """'YYYY-MM' of a stored UTC time (or of a date), computed by the database."""

    type = String()
    inherit_cache = True
    name = "utc_month"


@compiles(utc_month)
def _month_sqlite(element: utc_month, compiler: Any, **kw: Any) -> str:
    # SQLite keeps the UTC time as text: its first seven characters are the month.
    return f"strftime('%Y-%m', {compiler.process(element.clauses, **kw)})"


@compiles(utc_month, "postgresql")
def _month_postgresql(element: utc_month, compiler: Any, **kw: Any) -> str:
    argument = compiler.process(element.clauses, **kw)
    (column,) = element.clauses
    if not isinstance(column.type, Date):
        # A timestamptz shows in the session's timezone: read it in UTC.
        argument = f"timezone('UTC', {argument})"
    return f"to_char({argument}, 'YYYY-MM')"


# --- the report -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """A row of the report: a community or a member state; `key` "" gathers what belongs
    to none (the secretariat's own staff, downloads of files without a community)."""

    key: str
    name: str
    # The member state's code (the community's own, for a community).
    state: str = ""
    slug: str = ""


@dataclass
class Report:
    months: list[str]
    by: Grouping
    groups: list[Group] = field(default_factory=list)
    # metric -> (group key, month) -> figure
    figures: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    # Items created: (group key, month, kind) -> count
    kinds: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def value(self, metric: str, group: str, month: str) -> int:
        return self.figures[metric].get((group, month), 0)

    def month_totals(self, metric: str) -> list[int]:
        """The network's figure of each month (every user belongs to one group, so the
        active users of the groups add up too)."""
        per_month: dict[str, int] = defaultdict(int)
        for (_group, month), value in self.figures[metric].items():
            per_month[month] += value
        return [per_month[month] for month in self.months]

    def kind_totals(self) -> dict[tuple[str, str], int]:
        """(group key, kind) -> items created over the period."""
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for (group, _month, kind), value in self.kinds.items():
            totals[group, kind] += value
        return totals


# The longest period a report covers: the queries stay bounded.
MAX_MONTHS = 36


def month_count(start: date, end: date) -> int:
    """How many months from `start`'s to `end`'s, both included (0 if `end` is before)."""
    return max(0, (end.year - start.year) * 12 + end.month - start.month + 1)


def month_keys(start: date, end: date) -> list[str]:
    """'YYYY-MM' of every month from `start`'s to `end`'s, both included."""
    keys = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return keys


def _bounds(months: list[str]) -> tuple[datetime, datetime]:
    """The period's first instant and the first instant after it, in UTC."""
    first_year, first_month = map(int, months[0].split("-"))
    last_year, last_month = map(int, months[-1].split("-"))
    after = (last_year + 1, 1) if last_month == 12 else (last_year, last_month + 1)
    return datetime(first_year, first_month, 1, tzinfo=UTC), datetime(*after, 1, tzinfo=UTC)


def report(start: date, end: date, by: Grouping) -> Report:
    """The figures of the months from `start` to `end` (at most `MAX_MONTHS`) by community
    or member state: five aggregate queries and one for the names."""
    if not 0 < month_count(start, end) <= MAX_MONTHS:
        raise ValueError(f"a report covers 1 to {MAX_MONTHS} months")
    months = month_keys(start, end)
    begin, after = _bounds(months)
    group_of = Community.member_state_code if by == "state" else Community.id
    result = Report(months=months, by=by)

    def grouped(facts: Any, value: ColumnElement[int], *extra: Any) -> list[Any]:
        """(group, month, *extra, value) of the facts (rows with community_id and month),
        grouped in the database; a community of none, or unknown, is the group ""."""
        columns = (group_of, facts.c.month, *extra)
        return list(
            db.session.execute(
                select(*columns, value)
                .select_from(facts)
                .outerjoin(Community, Community.id == facts.c.community_id)
                .group_by(*columns)
            )
        )

    def key(group: Any) -> str:
        return "" if group is None else str(group)

    # Active users: anyone who acted (every change and sign-in is an event by its actor)
    # or whose browser session was last seen in the month.
    activity = union(
        select(Event.actor_id.label("user_id"), utc_month(Event.at).label("month")).where(
            Event.actor_id.is_not(None), Event.at >= begin, Event.at < after
        ),
        select(UserSession.user_id, utc_month(UserSession.last_seen_at)).where(
            UserSession.last_seen_at >= begin, UserSession.last_seen_at < after
        ),
    ).subquery()
    active = (
        select(User.community_id, activity.c.user_id, activity.c.month)
        .join(User, User.id == activity.c.user_id)
        .subquery()
    )
    result.figures["active_users"] = {
        (key(group), month): n
        for group, month, n in grouped(active, func.count(distinct(active.c.user_id)))
    }

    # Items created, by kind, counted for the community of the person who created them
    # (a working group spans communities); items in the trash were created all the same.
    created = (
        select(User.community_id, utc_month(Item.created_at).label("month"), Item.kind)
        .outerjoin(User, User.id == Item.created_by_id)
        .where(Item.created_at >= begin, Item.created_at < after)
        .subquery()
    )
    items: dict[tuple[str, str], int] = defaultdict(int)
    for group, month, kind, n in grouped(created, func.count(), created.c.kind):
        result.kinds[key(group), month, kind] = n
        items[key(group), month] += n
    result.figures["items_created"] = dict(items)

    # Publications: each approval (a first publication or an approved update), for the
    # community its public copy names.
    approved = (
        select(
            PublicationRequest.public_copy["community_id"].as_integer().label("community_id"),
            utc_month(PublicationRequest.decided_at).label("month"),
        )
        .where(
            PublicationRequest.status == RequestStatus.approved,
            PublicationRequest.decided_at >= begin,
            PublicationRequest.decided_at < after,
        )
        .subquery()
    )
    result.figures["publications"] = {
        (key(group), month): n for group, month, n in grouped(approved, func.count())
    }

    # Public downloads and searches: the counters' days.
    counted = (
        select(
            PublicCount.community_id,
            utc_month(PublicCount.day).label("month"),
            PublicCount.metric,
            PublicCount.total,
        )
        .where(PublicCount.day >= begin.date(), PublicCount.day < after.date())
        .subquery()
    )
    for metric in COUNTERS.values():
        result.figures[metric] = {}
    for group, month, counter, n in grouped(counted, func.sum(counted.c.total), counted.c.metric):
        result.figures[COUNTERS[counter]][key(group), month] = int(n)

    result.groups = _groups(result, by)
    return result


def _groups(result: Report, by: Grouping) -> list[Group]:
    """The report's rows: every active community (or member state with one), and any
    other that has a figure in the period; "" last when it has figures."""
    with_figures = {group for figures in result.figures.values() for group, _month in figures}
    if by == "state":
        rows = db.session.execute(
            select(
                MemberState.code,
                MemberState.name,
                func.sum(case((Community.active, 1), else_=0)),
            )
            .outerjoin(Community, Community.member_state_code == MemberState.code)
            .group_by(MemberState.code, MemberState.name)
        )
        groups = [
            Group(key=code, name=name, state=code)
            for code, name, active in rows
            if active or code in with_figures
        ]
    else:
        rows = db.session.execute(
            select(Community.id, Community.name, Community.member_state_code, Community.slug,
                   Community.active)
        )  # fmt: skip
        groups = [
            Group(key=str(id_), name=name, state=state, slug=slug)
            for id_, name, state, slug, active in rows
            if active or str(id_) in with_figures
        ]
    if "" in with_figures:
        groups.append(Group(key="", name=""))
    return groups
