"""The plumbing of the public pages: error pages, robots.txt, sitemap.xml, meta tags,
security headers and the gate every page view declares."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from portal import permissions
from portal.pages import page_views

PUBLIC_PAGES = ["/", "/search", "/search?q=puerto", "/directory", "/login"]
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def test_every_page_view_declares_its_gate(app):
    unguarded = [
        rule.rule
        for rule, view in page_views(app)
        if getattr(getattr(view, "access", None), "__module__", None) != permissions.__name__
    ]

    assert unguarded == []


@pytest.mark.parametrize("path", [*PUBLIC_PAGES, "/no-such-page", "/robots.txt", "/sitemap.xml"])
def test_every_public_page_carries_the_security_headers(app, path):
    response = app.test_client().get(path)

    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_every_public_page_has_title_description_open_graph_and_canonical(app, path):
    html = app.test_client().get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)

    title = re.search(r"<title>([^<]+)</title>", html).group(1)
    assert "Port Network Portal" in title
    assert re.search(r'<meta name="description" content="[^"]{20,}">', html)
    for prop in ("og:title", "og:description", "og:type", "og:url", "og:site_name", "og:locale"):
        assert f'<meta property="{prop}" content="' in html, prop
    assert f'<meta property="og:title" content="{title}">' in html
    canonical = re.search(r'<link rel="canonical" href="([^"]+)">', html).group(1)
    assert canonical == "http://localhost" + path.split("?")[0]


def test_a_missing_page_is_a_friendly_404_in_the_visitors_language(app):
    response = app.test_client().get("/no-such-page", headers={"Accept-Language": "es"})

    html = response.get_data(as_text=True)
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "Página no encontrada" in html and 'href="/search"' in html
    assert '<meta name="robots" content="noindex">' in html


def test_api_routes_keep_the_json_envelope(app):
    client = app.test_client()

    missing = client.get("/api/v1/no-such-thing")
    wrong_method = client.delete("/api/v1/member-states")

    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    assert wrong_method.status_code == 405
    assert wrong_method.get_json()["error"]["code"] == "method_not_allowed"


def test_too_many_requests_is_a_friendly_429_page(app, world):
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    csrf = html.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    form = {"email": "nobody@example.org", "password": "wrong", "csrf_token": csrf}
    statuses = []
    for _ in range(7):  # the tests' login limit is 5/minute
        response = client.post("/login", data=form, headers={"Accept-Language": "en"})
        statuses.append(response.status_code)

    assert statuses[-1] == 429
    assert response.mimetype == "text/html"
    assert "Too many requests" in response.get_data(as_text=True)
    assert response.headers.get("Retry-After")


def test_a_page_answering_method_not_allowed_keeps_its_allow_header(app):
    response = app.test_client().delete("/directory")

    assert response.status_code == 405 and response.mimetype == "text/html"
    assert "GET" in response.headers["Allow"]


def test_robots_allows_the_public_pages_and_points_to_the_sitemap(app):
    response = app.test_client().get("/robots.txt")

    text = response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    assert "Allow: /\n" in text and "Allow: /api/v1/public/\n" in text
    assert "Disallow: /api/\n" in text
    assert "Sitemap: http://localhost/sitemap.xml" in text


@pytest.mark.parametrize("path", ["/", "/login", "/no-such-page"])
def test_every_page_links_the_favicon(app, path):
    client = app.test_client()
    html = client.get(path).get_data(as_text=True)

    href = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html).group(1)
    icon = client.get(href)
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    svg = ET.fromstring(icon.data)  # noqa: S314  # our own file
    assert svg.tag == "{http://www.w3.org/2000/svg}svg" and svg.get("viewBox")


def test_favicon_ico_answers_with_the_icon_instead_of_a_404(app):
    """Browsers and crawlers ask for /favicon.ico whatever the page links."""
    client = app.test_client()

    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response.headers["Location"] == "/static/favicon.svg"
    assert client.get("/favicon.ico", follow_redirects=True).mimetype == "image/svg+xml"


def test_sitemap_lists_the_static_pages(app):
    response = app.test_client().get("/sitemap.xml")

    root = ET.fromstring(response.data)  # noqa: S314  # our own answer
    locs = [loc.text for loc in root.iter(SITEMAP + "loc")]
    assert response.mimetype == "application/xml"
    assert {"http://localhost/", "http://localhost/search", "http://localhost/directory"} <= set(
        locs
    )


def test_the_search_page_is_rate_limited_with_a_friendly_page(app, index, monkeypatch):
    monkeypatch.setitem(app.config["PORTAL"], "PUBLIC_RATE_LIMIT", "2/minute")
    client = app.test_client()

    responses = [
        client.get("/search?q=puerto", headers={"Accept-Language": "en"}) for _ in range(3)
    ]

    assert [r.status_code for r in responses] == [200, 200, 429]
    refused = responses[-1]
    assert "text/html" in refused.content_type and int(refused.headers["Retry-After"]) > 0
    assert "<main" in refused.get_data(as_text=True)
