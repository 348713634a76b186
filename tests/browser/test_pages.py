"""The public pages in a real browser: language switch, keyboard use, error pages."""

from __future__ import annotations

import pytest

from .conftest import screenshot


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_visitor_switches_the_language(visit, javascript):
    page = visit("/directory", javascript=javascript, language="es")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.locator("h1").inner_text() == "Directorio de la red"

    languages = page.get_by_role("navigation", name="Idioma")
    languages.locator("summary").click()  # the menu opens, without JavaScript too
    languages.get_by_role("link", name="English").click()

    assert page.url.endswith("/directory")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Network directory"
    page.get_by_role("link", name="Home").click()
    assert page.locator("html").get_attribute("lang") == "en"


def test_the_directory_lists_communities_by_member_state(visit):
    page = visit("/directory")

    assert page.get_by_role("heading", name="Colombia").is_visible()
    assert page.get_by_role("heading", name="Comunidad Logística de Cartagena").is_visible()
    assert page.get_by_role("heading", name="Panamá").is_visible()
    screenshot(page, "directory")


def test_the_keyboard_reaches_the_skip_link_first_and_it_moves_focus_to_the_content(visit):
    page = visit("/")

    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    page.keyboard.press("Enter")

    assert focused == "Saltar al contenido"
    assert outline == "solid"
    assert page.evaluate("document.activeElement.id") == "main"


def test_a_missing_page_is_friendly(visit, site):
    page = visit("/publications/999999/nothing", language="fr")

    assert page.locator("h1").inner_text() == "Page introuvable"
    assert page.get_by_role("link", name="Aller à la page d'accueil").is_visible()


def test_the_home_page(visit):
    page = visit("/")

    assert page.get_by_role("heading", name="La red de un vistazo").is_visible()
    assert page.get_by_role("searchbox", name="Buscar en las publicaciones").is_visible()


def test_the_access_log_leaves_out_query_strings(visit, site):
    """What visitors search for (and calendar feed tokens) stays out of the server log."""
    visit("/search?q=confidencial")

    log = site.server.log.read_text()
    assert '"GET /search HTTP/1.1" 200' in log
    assert "confidencial" not in log and "?q=" not in log
