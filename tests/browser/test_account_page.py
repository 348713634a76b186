"""My account in a real browser: a member reaches it from the account menu, changes their
language (the page follows) and timezone (the browser's is offered), creates an API token
with the keyboard alone (shown once) and revokes it, then changes their password and
signs in with the new one. A fresh account: the shared people keep their password."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import PASSWORD, check_accessibility, shoot

NEW_PASSWORD = "otra-clave-del-puerto-2026"
ZONE = "America/Bogota"


@pytest.fixture
def page(browser, site) -> Iterator[Any]:
    """A browser in Bogotá whose language is Spanish, at the sign-in page."""
    context = browser.new_context(
        locale="es",
        timezone_id=ZONE,
        extra_http_headers={"Accept-Language": "es"},
        viewport={"width": 1280, "height": 900},
    )
    yield context.new_page()
    context.close()


def sign_in(page: Any, site: Any, email: str, password: str) -> None:
    page.goto(site.url + "/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(site.url + "/work")


def test_a_member_manages_their_account(page, site):
    email = "cuenta@ports.example"
    created = site.server.api(
        "POST",
        "/users",
        site.data.tokens.secretariat,
        json={"email": email, "name": "Carla Cuenta", "password": PASSWORD, "locale": "es"},
    )
    assert created.status_code == 201, created.text
    sign_in(page, site, email, PASSWORD)

    # "My account" is the first link of the account menu.
    page.locator("header details.account summary").click()
    expect(page.locator("header details.account .panel a").first).to_have_attribute(
        "href", "/account"
    )
    page.locator("header details.account .panel a").first.click()
    page.wait_for_url(site.url + "/account")
    expect(page.locator("#timezone")).to_have_value(ZONE)  # taken from the browser at sign-in
    check_accessibility(page)
    shoot(page, "account")

    # Another language and timezone: the page follows; this browser's zone is offered back.
    page.locator("#locale").select_option("en")
    page.locator("#timezone").select_option("Europe/Madrid")
    page.locator("#profile button[type=submit]").click()
    page.wait_for_url(site.url + "/account#main")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("My account")
    expect(page.locator("main .notice[role=status]")).to_contain_text("are saved")
    offer = page.locator("#profile .browser-zone button")
    expect(offer).to_contain_text("timezone: America/Bogota")
    offer.click()
    expect(page.locator("#timezone")).to_have_value(ZONE)
    expect(page.locator("#timezone")).to_be_focused()

    # A token, with the keyboard alone: its name, Tab over the lifetime, Enter on the button.
    page.locator("#token-name").focus()
    page.keyboard.type("informe semanal")
    page.keyboard.press("Tab")
    expect(page.locator("#expires_in_days")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#tokens button[type=submit]")).to_be_focused()
    page.keyboard.press("Enter")
    value_field = page.locator("#new-token-value")
    expect(value_field).to_be_visible()
    value = value_field.input_value()
    assert value.startswith("pnp_")
    assert site.server.api("GET", "/me", value).json()["email"] == email
    check_accessibility(page)
    shoot(page, "account-new-token")

    # Shown once: the page again lists it, without its value.
    page.goto(site.url + "/account")
    row = page.locator("table.tokens tbody tr", has_text="informe semanal")
    expect(row).to_be_visible()
    assert value not in page.content()

    # Revoked after a question.
    row.locator("button").click()
    expect(page.locator("h1")).to_have_text("Revoke the token “informe semanal”?")
    check_accessibility(page)
    shoot(page, "account-token-revoke")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(site.url + "/account#main")
    expect(page.locator("main .notice[role=status]")).to_contain_text("is revoked")
    expect(page.locator("table.tokens")).to_have_count(0)
    assert site.server.api("GET", "/me", value).status_code == 401

    # A mistake is shown beside its field, then the new password works.
    page.locator("#current_password").fill("not my password")
    page.locator("#new_password").fill(NEW_PASSWORD)
    page.locator("#new_password_again").fill(NEW_PASSWORD)
    page.locator("#password button[type=submit]").click()
    expect(page.locator("#current_password-error")).to_be_visible()
    expect(page.locator("#current_password")).to_have_value("")
    check_accessibility(page)
    page.locator("#current_password").fill(PASSWORD)
    page.locator("#new_password").fill(NEW_PASSWORD)
    page.locator("#new_password_again").fill(NEW_PASSWORD)
    page.locator("#password button[type=submit]").click()
    page.wait_for_url(site.url + "/account#main")
    expect(page.locator("main .notice[role=status]")).to_contain_text("password is changed")

    page.locator("header details.account summary").click()
    page.locator("header details.account form button[type=submit]").click()
    sign_in(page, site, email, NEW_PASSWORD)
