"""The header in a real browser: one row at 1280 px for the secretariat, whose menu is the
longest, in every language; usable at 390 px without scrolling sideways."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from portal.i18n import LANGUAGES

from .conftest import PASSWORD, screenshot

# Where each visible control of the header is: links, menu buttons, buttons.
CONTROLS = """() => [...document.querySelectorAll(
    "header.site a, header.site summary, header.site button")]
  .filter((element) => element.checkVisibility())
  .map((element) => {
    const box = element.getBoundingClientRect();
    return {text: element.textContent.trim(), top: box.top, left: box.left, right: box.right};
  })"""


@pytest.fixture
def secretariat_page(browser: Any, site: Any) -> Iterator[Any]:
    """`secretariat_page(width, language)` -> My work, signed in through the form."""
    contexts = []

    def open_page(width: int, language: str) -> Any:
        context = browser.new_context(viewport={"width": width, "height": 800})
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{site.url}/login?lang={language}")
        page.locator("#email").fill(site.data.secretariat_email)
        page.locator("#password").fill(PASSWORD)
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(site.url + "/work")
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_secretariats_header_is_one_row_at_1280_px(secretariat_page, language):
    page = secretariat_page(1280, language)
    screenshot(page, f"header-secretariat-1280-{language}")

    controls = page.evaluate(CONTROLS)
    tops = [control["top"] for control in controls]

    # The brand, 4 links, search, notifications, the account menu, the languages.
    assert len(controls) == 9, controls
    assert max(tops) - min(tops) < 16, controls
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 1280


def _assert_within(page: Any, width: int) -> None:
    """Nothing of the page, and no control of the header, lies beyond the screen's width."""
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    for control in page.evaluate(CONTROLS):
        assert control["left"] >= 0 and control["right"] <= width, control


@pytest.mark.parametrize("language", ["fr", "pt"])
def test_the_secretariats_header_is_usable_at_390_px(secretariat_page, language):
    page = secretariat_page(390, language)
    screenshot(page, f"header-secretariat-390-{language}")

    _assert_within(page, 390)
    for number, menu in enumerate(page.locator("header.site details").all()):
        menu.locator("summary").click()
        _assert_within(page, 390)
        screenshot(page, f"header-secretariat-390-{language}-menu{number}")
        menu.locator("summary").click()


def test_a_header_menu_closes_on_escape_and_on_a_click_elsewhere(visit):
    page = visit("/", language="en")
    menu = page.get_by_role("navigation", name="Language")
    english = menu.get_by_role("link", name="English")

    menu.locator("summary").click()
    assert english.is_visible()
    page.keyboard.press("Escape")
    assert not english.is_visible()
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"

    menu.locator("summary").click()
    page.locator("main h1").click()
    assert not english.is_visible()
