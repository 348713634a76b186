"""The public pages over published material: home, search, item page, sitemap.

Data comes from `tests/public`'s `published_world`: a published PDF and memo,
a memo awaiting review and a private shared memo.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from ..public.conftest import PDF_WORD, published_world  # noqa: F401  # the fixture
from .test_public_pages import SITEMAP

EN = {"Accept-Language": "en"}


@pytest.fixture
def site(app, index, sync, published_world):  # noqa: F811  # the imported fixture
    sync()
    return published_world


def _html(app, path, headers=EN):
    response = app.test_client().get(path, headers=headers)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def test_home_shows_the_newest_publications_and_the_network(app, site):
    html = _html(app, "/")

    assert "Newest publications" in html
    assert "Estudio de tiempos portuarios" in html and "Conclusiones de la reunión" in html
    assert "Propuesta en revisión" not in html
    assert re.search(r"<strong>2</strong> publications", html)
    assert "Colombia" in html


def test_search_finds_a_document_by_a_word_inside_its_pdf_with_highlights(app, site):
    html = _html(app, f"/search?q={PDF_WORD}")

    assert "1 publication found" in html
    assert f'<mark class="match">{PDF_WORD}</mark>' in html
    link = f'href="/publications/{site.document_id}/estudio-de-tiempos-portuarios"'
    assert link in html
    assert '<meta name="robots" content="noindex, follow">' in html


def test_without_words_the_search_page_is_the_catalogue_to_browse_by_facet(app, site):
    html = _html(app, "/search")

    assert "2 publications, newest first" in html
    assert html.index("Conclusiones de la reunión") < html.index("Estudio de tiempos portuarios")
    assert "Propuesta en revisión" not in html
    directory = _html(app, "/directory")
    community = re.search(r'href="(/search\?community=[\w-]+)"', directory).group(1)
    assert "2 publications, newest first" in _html(app, community)
    assert "0 publications, newest first" in _html(app, "/search?kind=task")


def test_search_facets_are_links_that_narrow_and_widen(app, site):
    html = _html(app, f"/search?q={PDF_WORD}")
    narrow = re.search(r'href="(/search\?q=\w+&amp;kind=document)"', html).group(1)

    narrowed = _html(app, narrow.replace("&amp;", "&"))
    assert 'aria-current="true"' in narrowed and "1 publication found" in narrowed
    assert f'href="/search?q={PDF_WORD}"' in narrowed  # the link that removes the filter
    none = _html(app, f"/search?q={PDF_WORD}&kind=memo")
    assert "No publication matches these words." in none


@pytest.mark.parametrize(
    "path", [f"/search?q={PDF_WORD}&kind=memo", "/search?q=inexistente", "/search?kind=task"]
)
def test_a_search_without_hits_shows_no_facets(app, site, path):
    html = _html(app, path)

    assert "Narrow the results" not in html and 'class="facet' not in html
    assert "Try other words, fewer words, or remove a filter." in html


def test_search_sorts_and_paginates_without_javascript(app, site):
    q = "(conclusiones+OR+estudio)"
    html = _html(app, f"/search?q={q}&sort=newest")

    assert "2 publications found" in html
    quoted = "(conclusiones+OR+estudio)"
    assert f'<a href="/search?q={quoted}&amp;sort=newest" aria-current="true">' in html
    assert f'href="/search?q={quoted}"' in html  # back to relevance
    titles = re.findall(r'<h3><a href="/publications/[^"]+" lang="es">([^<]+)</a>', html)
    assert titles == ["Conclusiones de la reunión", "Estudio de tiempos portuarios"]


def test_search_ignores_values_it_cannot_read(app, site):
    html = _html(app, f"/search?q={PDF_WORD}&page=abc&kind=spaceship&year=20")

    assert "1 publication found" in html


def test_search_hides_what_is_not_published(app, site):
    for word in ("confidenciales", "revisión"):
        assert "No publication matches" in _html(app, f"/search?q={word}")


def test_search_highlights_are_sanitized():
    from portal.public.views import highlight_html

    safe = highlight_html('a <mark class="match">b</mark> <script>x</script><img src=x onerror=y>')

    assert str(safe) == 'a <mark class="match">b</mark> '


def test_the_item_page_shows_metadata_body_and_download(app, site):
    html = _html(app, f"/publications/{site.published_memo_id}/conclusiones-de-la-reunion")

    assert "<h1" in html and "Conclusiones de la reunión" in html
    assert "<strong>Acordado</strong>" in html
    assert '<meta property="og:type" content="article">' in html
    document = _html(app, f"/publications/{site.document_id}/estudio-de-tiempos-portuarios")
    assert f'href="/api/v1/public/documents/{site.document_id}/download"' in document
    assert "Estudio_Cartagena.pdf" in document
    canonical = f"http://localhost/publications/{site.document_id}/estudio-de-tiempos-portuarios"
    assert f'<link rel="canonical" href="{canonical}">' in document


@pytest.mark.parametrize("slug", ["", "/", "/wrong-slug"])
def test_a_wrong_or_missing_slug_redirects_to_the_canonical_url(app, site, slug):
    response = app.test_client().get(f"/publications/{site.document_id}{slug}")

    assert response.status_code in {301, 308}
    if response.status_code == 301:
        assert response.headers["Location"] == (
            f"/publications/{site.document_id}/estudio-de-tiempos-portuarios"
        )


def test_unpublished_and_private_items_have_no_page(app, site, as_user):
    client = app.test_client()

    for item_id in (site.pending_id, site.memo_id, 10**9):
        response = client.get(f"/publications/{item_id}/x", headers=EN)
        assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True)
    unpublished = as_user(site.secretariat).post(
        f"/items/{site.published_memo_id}/publication", {"action": "unpublish", "note": "Retirado"}
    )
    assert unpublished.status_code == 200
    gone = client.get(f"/publications/{site.published_memo_id}/conclusiones-de-la-reunion")
    assert gone.status_code == 404


def test_sitemap_lists_exactly_the_published_items(app, site):
    root = ET.fromstring(app.test_client().get("/sitemap.xml").data)  # noqa: S314  # ours

    items = {
        int(loc.text.split("/publications/")[1].split("/")[0])
        for loc in root.iter(SITEMAP + "loc")
        if "/publications/" in loc.text
    }

    assert items == {site.document_id, site.published_memo_id}


def test_directory_shows_member_states_in_the_visitors_language(app, site):
    assert "Kolumbien" not in _html(app, "/directory")
    assert "Colombie" in _html(app, "/directory", {"Accept-Language": "fr"})


def test_search_paginates_with_plain_links(app, site, monkeypatch):
    from portal.public import views

    monkeypatch.setattr(views, "PER_PAGE", 1)
    first = _html(app, "/search?q=(conclusiones+OR+estudio)")
    second = _html(app, "/search?q=(conclusiones+OR+estudio)&page=2")

    assert 'href="/search?q=(conclusiones+OR+estudio)&amp;page=2" rel="next"' in first
    assert '<span aria-current="page">1</span>' in first
    assert 'href="/search?q=(conclusiones+OR+estudio)" rel="prev"' in second
    assert '<ol class="hits" start="2">' in second


def test_pages_with_publications_keep_the_accessibility_and_header_rules(app, site):
    from .test_accessibility import parse

    client = app.test_client()
    paths = [
        "/",
        f"/search?q={PDF_WORD}&country=CO",
        f"/publications/{site.document_id}/estudio-de-tiempos-portuarios",
        f"/publications/{site.published_memo_id}/conclusiones-de-la-reunion",
    ]
    for path in paths:
        response = client.get(path)
        page = parse(response.get_data(as_text=True))
        tags = [tag for tag, _ in page.tags]
        assert tags.count("main") == 1 and tags.count("h1") == 1, path
        assert not any("style" in attrs for _tag, attrs in page.tags), path
        assert page.inline_scripts == 0, path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
