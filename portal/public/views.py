"""Public pages: home, the publications search and an
item's page, the network directory, robots.txt, sitemap.xml and favicon.ico. Views parse, read
through `public.service` and render; they never write."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar

import nh3
from babel import Locale
from babel.dates import format_date as babel_date
from babel.dates import format_time as babel_time
from babel.units import format_unit
from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import lazy_gettext
from flask_login import current_user
from markupsafe import Markup
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .. import permissions
from ..accounts.models import User
from ..api import setting
from ..extensions import db, limiter
from ..i18n import current_language
from ..network.models import Community, MemberState
from ..pages import page
from . import service
from .api import PublicSearchQuery, count_public_search, public_page_url, run_public_search
from .models import PublishedItem

bp = Blueprint("public", __name__)


def strxfrm(name: str) -> str:
    """A sort key that puts "Panamá" between "Panama" and "Paraguay" whatever the locale."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()


# The pages every sitemap lists besides the publications.
STATIC_PAGES = ("public.home", "public.search", "public.directory")
NEWEST_ON_HOME = 6
PER_PAGE = 10
# A sitemap holds at most 50,000 addresses.
SITEMAP_LIMIT = 50_000 - len(STATIC_PAGES)
SEARCH_FIELDS = ("q", "kind", "community", "country", "language", "year", "sort", "page")
FACET_NAMES = ("kind", "community", "country", "language", "year")
KIND_NAMES = {
    "document": lazy_gettext("Document"),
    "memo": lazy_gettext("Memo"),
    "task": lazy_gettext("Task"),
    "meeting": lazy_gettext("Meeting"),
}
FACET_TITLES = {
    "kind": lazy_gettext("Type"),
    "community": lazy_gettext("Community"),
    "country": lazy_gettext("Member state"),
    "language": lazy_gettext("Language of the text"),
    "year": lazy_gettext("Year"),
}


def highlight_html(fragment: str) -> Markup:
    """A search highlight as markup: the search code escapes the text and wraps matches in
    <mark class="match"> (or <b class="match">); anything else is dropped all the same."""
    return Markup(  # noqa: S704  # cleaned to two tags and one attribute just above
        nh3.clean(fragment, tags={"mark", "b"}, attributes={"mark": {"class"}, "b": {"class"}})
    )


@bp.app_template_global()
def language_name(code: str) -> str:
    """A language's name in the language of the page (`es` -> "inglés" for `en`)."""
    name = Locale.parse(current_language()).languages.get(code, code)
    return name[:1].upper() + name[1:]


@bp.app_template_global()
def country_name(code: str, fallback: str = "") -> str:
    """A member state's name in the language of the page (CLDR's, from its ISO code),
    else the name the secretariat gave it."""
    return Locale.parse(current_language()).territories.get(code) or fallback or code


@bp.app_template_filter()
def file_size(size: int) -> str:
    """A file's size in the page's language: bytes in words, pluralised by the language's
    rules ("1 byte", "413 bytes": CLDR's short English "byte" never takes the plural),
    larger sizes abbreviated to one decimal ("1,2 MB", never "1.000 kB")."""
    locale = current_language()
    if size < 1000:
        return format_unit(size, "digital-byte", length="long", locale=locale)
    for power, unit in enumerate(("kilobyte", "megabyte", "gigabyte"), start=1):
        value = round(size / 1000**power, 1)
        if value < 1000 or unit == "gigabyte":
            break
    return format_unit(value, f"digital-{unit}", length="short", locale=locale)


def _network_at_a_glance() -> dict[str, Any]:
    """Counts of the network and its member states with their active communities."""
    communities = permissions.visible_communities(permissions.Anonymous()).subquery()
    per_state = db.session.execute(
        select(MemberState.code, MemberState.name, func.count(communities.c.id))
        .join(communities, communities.c.member_state_code == MemberState.code)
        .group_by(MemberState.code, MemberState.name)
        .order_by(MemberState.name)
    ).all()
    return {
        "communities": sum(count for _code, _name, count in per_state),
        "member_states": len(per_state),
        "publications": service.count_published(),
        "states": sorted(
            (
                {"code": code, "name": country_name(code, name), "communities": n}
                for code, name, n in per_state
            ),
            key=lambda state: strxfrm(state["name"]),
        ),
    }


bp.add_app_template_global(public_page_url, "publication_url")
bp.add_app_template_global(highlight_html)


@bp.app_template_filter()
def meeting_time(starts_at: str, timezone: str | None) -> str:
    """A meeting's start, stored in UTC, shown in the meeting's own timezone."""
    from datetime import datetime
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    moment = datetime.fromisoformat(starts_at)
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    locale = current_language()
    local = moment.astimezone(zone)
    return "{}, {} ({})".format(
        babel_date(local, "long", locale=locale),
        babel_time(local, "short", locale=locale),
        zone.key,
    )


@bp.app_template_global()
def kind_name(kind: str) -> str:
    return str(KIND_NAMES.get(kind, kind))


@bp.get("/")
@page(access=permissions.anyone)
def home() -> str:
    """The network's front page, the same for everyone (signed-in people have My work)."""
    return render_template(
        "public/home.html",
        network=_network_at_a_glance(),
        newest=service.newest(NEWEST_ON_HOME),
    )


Q = TypeVar("Q", bound=BaseModel)


def lenient_query(model: type[Q], names: tuple[str, ...], **fixed: Any) -> Q:
    """The query string as a search, leniently: a value that does not validate (a
    mistyped page number, an unknown kind) is dropped rather than refused."""
    args: dict[str, Any] = {
        key: value for key, value in request.args.items() if key in names and value
    }
    for _attempt in range(len(args) + 1):
        try:
            return model.model_validate({**args, **fixed})
        except ValidationError as error:
            for problem in error.errors(include_url=False):
                args.pop(str(problem["loc"][0]) if problem["loc"] else "", None)
    return model.model_validate(fixed)


def search_links(endpoint: str, current: dict[str, Any]) -> Callable[..., str]:
    """`search_url(**changes)`: this search with `changes` (None removes a parameter)."""

    def search_url(**changes: Any) -> str:
        params = {**current, **changes}
        return url_for(endpoint, **{key: value for key, value in params.items() if value})

    return search_url


def published_copies(ids: list[int]) -> dict[int, PublishedItem]:
    """The public copies of a page of hits, with what their lines show, in one query."""
    return {
        copy.item_id: copy
        for copy in db.session.scalars(
            select(PublishedItem)
            .options(
                selectinload(PublishedItem.community),
                selectinload(PublishedItem.member_state),
            )
            .where(PublishedItem.item_id.in_(ids))
        )
    }


def _facet_labels(
    facets: dict[str, list[dict[str, Any]]], query: PublicSearchQuery
) -> dict[str, Callable[[str], str]]:
    """Display names of the facet values (and of the active filters)."""
    slugs = {entry["value"] for entry in facets.get("community", [])} | {query.community or ""}
    codes = {entry["value"] for entry in facets.get("country", [])} | {query.country or ""}
    communities: dict[str, str] = dict(
        db.session.execute(
            select(Community.slug, Community.name).where(Community.slug.in_(slugs))
        ).all()
    )
    states: dict[str, str] = dict(
        db.session.execute(
            select(MemberState.code, MemberState.name).where(MemberState.code.in_(codes))
        ).all()
    )
    return {
        "kind": lambda value: kind_name(value),
        "community": lambda value: communities.get(value, value),
        "country": lambda value: country_name(value, states.get(value, value)),
        "language": language_name,
        "year": lambda value: value,
    }


@bp.get("/search")
@limiter.limit(lambda: setting("PUBLIC_RATE_LIMIT"))
@page(access=permissions.anyone)
def search() -> str:
    query = lenient_query(PublicSearchQuery, SEARCH_FIELDS, per_page=PER_PAGE)
    current = {name: getattr(query, name) for name in ("q", *FACET_NAMES) if getattr(query, name)}
    if query.sort != "relevance":
        current["sort"] = query.sort
    search_url = search_links("public.search", current)
    # No words: the catalogue, every publication the filters let through, newest first.
    count_public_search(query)
    results = run_public_search(query)
    copies = published_copies([hit["id"] for hit in results["items"]])
    pages = min(math.ceil(results["total"] / PER_PAGE), 50)
    labels = _facet_labels(results["facets"], query)
    return render_template(
        "public/search.html",
        query=query,
        q=query.q,
        current=current,
        results=results,
        copies=copies,
        pages=pages,
        search_url=search_url,
        keep=[(name, value) for name, value in current.items() if name != "q"],
        active=[name for name in FACET_NAMES if name in current],
        labels=labels,
        facet_names=FACET_NAMES,
        facet_titles=FACET_TITLES,
        first_number=(query.page - 1) * PER_PAGE + 1,
    )


@bp.get("/publications/<int:item_id>")
@bp.get("/publications/<int:item_id>/", endpoint="item_page_slash")
@bp.get("/publications/<int:item_id>/<slug>")
@page(access=permissions.anyone)
def item_page(item_id: int, slug: str = "") -> str | Response:
    """A published item's page; a missing or wrong slug redirects to the canonical URL."""
    copy = service.load_published(item_id)
    if slug != copy.slug:
        return redirect(public_page_url(copy), 301)
    return render_template(
        "public/item.html",
        item=copy,
        download_url=url_for("public_api.public_download", document_id=copy.item_id)
        if copy.document_version is not None
        else None,
    )


@bp.get("/directory")
@page(access=permissions.anyone)
def directory() -> str:
    communities = db.session.scalars(
        permissions.visible_communities(current_user).order_by(
            Community.member_state_code, Community.name
        )
    )
    by_state: dict[tuple[str, str], list[Community]] = {}
    for community in communities:
        state = community.member_state
        name = country_name(state.code, state.name)
        by_state.setdefault((name, state.code), []).append(community)
    ordered = sorted(by_state.items(), key=lambda entry: strxfrm(entry[0][0]))
    # The focal points a community chose to name, by name: one query for the whole page.
    focal_points: dict[int, list[str]] = {}
    for community_id, person in db.session.execute(
        permissions.published_focal_points().with_only_columns(User.community_id, User.name)
    ):
        focal_points.setdefault(community_id, []).append(person)
    for names in focal_points.values():
        names.sort(key=strxfrm)
    return render_template("public/directory.html", by_state=ordered, focal_points=focal_points)


@bp.get("/robots.txt")
@page(access=permissions.anyone)
def robots() -> Response:
    lines = [
        "User-agent: *",
        "Allow: /",
        "Allow: /api/v1/public/",
        "Disallow: /api/",
        "Disallow: /login",
        # Result pages are endless variations of the same hits; the sitemap lists the items.
        "Disallow: /search?",
        f"Sitemap: {url_for('public.sitemap', _external=True)}",
    ]
    return Response("\n".join(lines) + "\n", mimetype="text/plain")


@bp.get("/favicon.ico")
@page(access=permissions.anyone)
def favicon() -> Response:
    """Browsers and crawlers ask for /favicon.ico whatever a page links: the SVG icon."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/sitemap.xml")
@page(access=permissions.anyone)
def sitemap() -> Response:
    urls = [{"loc": url_for(name, _external=True), "lastmod": None} for name in STATIC_PAGES]
    published = db.session.execute(
        select(PublishedItem.item_id, PublishedItem.slug, PublishedItem.approved_at)
        .where(PublishedItem.item_id.in_(permissions.published_item_ids()))
        .order_by(PublishedItem.published_at.desc(), PublishedItem.item_id.desc())
        .limit(SITEMAP_LIMIT)
    )
    urls += [
        {
            "loc": url_for("public.item_page", item_id=item_id, slug=slug, _external=True),
            "lastmod": approved_at.date().isoformat(),
        }
        for item_id, slug, approved_at in published
    ]
    body = render_template("public/sitemap.xml", urls=urls)
    return Response(body, mimetype="application/xml")
