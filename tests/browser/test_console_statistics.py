"""The secretariat's network statistics in a real browser: the figures of the site's own
activity (its publications, sign-ins, a visitor's download and searches), the charts, the
grouping by member state, the CSV; nobody else reaches the page."""

from __future__ import annotations

import csv
import io

import requests

from .conftest import check_accessibility, shoot


def test_the_statistics_page(signed_in, site):
    # A visitor downloads a publication and searches twice (the second page is not a search).
    pdf = site.data.pdfs["Estudio de tiempos de despacho"]
    download = requests.get(f"{site.url}/api/v1/public/documents/{pdf.id}/download", timeout=10)
    assert download.status_code == 200
    for query in ("q=puerto", "q=informe", "q=informe&page=2"):
        assert requests.get(f"{site.url}/search?{query}", timeout=10).status_code == 200

    page = signed_in("secretariat", "/console/statistics", language="es")

    assert page.locator("nav.console a[aria-current=page]").get_attribute("href") == (
        "/console/statistics"
    )
    assert page.locator("svg.bar-chart[role=img]").count() == 5
    downloads = page.locator("#downloads table tfoot td.total")
    assert int(downloads.inner_text()) >= 1
    searches = page.locator("#searches table tfoot td.total")
    assert int(searches.inner_text()) >= 2
    publications = page.locator("#publications table tfoot td.total")
    assert int(publications.inner_text()) == 2  # the two PDFs approved for the site
    rows = page.locator("#active_users table tbody th[scope=row]").all_inner_texts()
    assert "Comunidad Logística de Cartagena" in rows
    check_accessibility(page)
    shoot(page, "statistics", "console")

    # By member state, through the form.
    page.locator("#by").select_option("state")
    page.locator("form.statistics-filters button[type=submit]").click()
    page.wait_for_url("**by=state**")
    states = page.locator("#active_users table tbody th[scope=row]").all_inner_texts()
    assert "Colombia" in states and "Panamá" in states
    check_accessibility(page)

    # The same figures as CSV.
    with page.expect_download() as event:
        page.locator("a[href^='/console/statistics.csv']").click()
    lines = list(csv.reader(io.StringIO(event.value.path().read_text("utf-8-sig"))))
    assert lines[0][2] == "Estado miembro"
    assert {line[2] for line in lines[1:]} >= {"Colombia", "Panamá"}

    # A month that cannot be read is named beside its field.
    page.goto(site.url + "/console/statistics?start=2026-13")
    assert page.locator("#start[aria-invalid=true]").count() == 1
    assert page.locator("#start-error").is_visible()


def test_nobody_else_reaches_the_statistics(signed_in, site):
    for who in ("coordinator", "member", "observer"):
        page = signed_in(who, "/work")
        response = page.goto(site.url + "/console/statistics")
        assert response.status == 404
        assert page.locator("nav.console").count() == 0
