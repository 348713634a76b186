"""What issue 7 asks of the public environment, in a real browser, with JavaScript and
without: a visitor searches a published document by a word inside its PDF, narrows by
a facet, opens it, downloads it and switches the language."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import PDF_WORD, screenshot


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_visitor_finds_opens_downloads_and_reads_in_another_language(visit, site, javascript):
    suffix = "" if javascript else "-nojs"
    study = site.data.pdfs["Estudio de tiempos de despacho"]
    page = visit("/", javascript=javascript, language="es")
    if javascript:
        screenshot(page, "home")

    # Search by a word that only the PDFs' text holds.
    page.get_by_role("searchbox", name="Buscar en las publicaciones").fill(PDF_WORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/search?q={PDF_WORD}")
    assert page.get_by_role("status").inner_text() == "2 publicaciones encontradas"
    assert page.locator("mark.match").first.inner_text().lower() == PDF_WORD
    assert page.get_by_role("link", name="Borrador interno").count() == 0
    screenshot(page, f"search-results{suffix}")

    # Narrow by a facet: the member state.
    page.get_by_role("complementary").get_by_role("link", name="Colombia (1)").click()
    assert page.get_by_role("status").inner_text() == "1 publicación encontrada"
    assert page.get_by_role("link", name="Informe anual de Colón").count() == 0
    screenshot(page, f"search-narrowed{suffix}")

    # Open it.
    page.get_by_role("link", name="Estudio de tiempos de despacho").click()
    assert page.url.endswith(f"/publications/{study.id}/estudio-de-tiempos-de-despacho")
    assert page.locator("h1").inner_text() == "Estudio de tiempos de despacho"
    assert page.get_by_text("Comunidad Logística de Cartagena").is_visible()
    screenshot(page, f"item{suffix}")

    # Download it: the bytes the coordinator uploaded.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Descargar").click()
    download = download_info.value
    assert download.suggested_filename == study.filename
    assert Path(download.path()).read_bytes() == study.content

    # Switch the language: the same page, in English.
    languages = page.get_by_role("navigation", name="Idioma")
    languages.locator("summary").click()  # the menu opens, without JavaScript too
    languages.get_by_role("link", name="English").click()
    assert page.url.endswith(f"/publications/{study.id}/estudio-de-tiempos-de-despacho")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("link", name="Download").is_visible()
    assert page.get_by_text("Language of the text").is_visible()
    screenshot(page, f"item-en{suffix}")


def test_the_search_page_is_usable_with_the_keyboard_alone(visit, site):
    page = visit(f"/search?q={PDF_WORD}", language="en")

    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent").startswith("Colombia"):
            break
    else:
        pytest.fail("the facet link is not reachable with Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**country=CO**")

    assert page.get_by_role("status").inner_text() == "1 publication found"
