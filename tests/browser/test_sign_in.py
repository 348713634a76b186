"""Signing in through the page in a real browser: an account created without a language
or timezone takes the page's language and the browser's timezone the first time."""

from __future__ import annotations

from .conftest import PASSWORD, screenshot


def test_the_first_sign_in_takes_the_pages_language_and_the_browsers_timezone(browser, site):
    created = site.server.api(
        "POST",
        "/users",
        site.data.tokens.secretariat,
        json={"email": "recien@ports.example", "name": "Recién Llegada", "password": PASSWORD},
    )
    assert created.status_code == 201, created.text
    assert (created.json()["locale"], created.json()["timezone"]) == (None, None)
    context = browser.new_context(
        timezone_id="America/Bogota",
        locale="pt-BR",
        extra_http_headers={"Accept-Language": "pt-BR,pt;q=0.9"},
    )
    page = context.new_page()

    page.goto(site.url + "/login")
    assert page.locator("input[name=timezone]").input_value() == "America/Bogota"
    page.locator("#email").fill("recien@ports.example")
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(site.url + "/work")

    me = page.request.get(site.url + "/api/v1/me").json()
    assert (me["locale"], me["timezone"]) == ("pt", "America/Bogota")
    assert page.locator("html").get_attribute("lang") == "pt"
    screenshot(page, "first-sign-in-pt")
    context.close()
