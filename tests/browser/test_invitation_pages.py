"""Joining through an invitation in a real browser: the coordinator invites someone to
the group, the invitee opens the link from the mail (the site writes it as an .eml
file), sees who invited them to what, creates the account with the browser's timezone
chosen for them, and lands on My work in the group; then chooses the daily summary on
the e-mail preference page."""

from __future__ import annotations

import re

from .conftest import check_accessibility, shoot
from .test_account_security import mail_to

PASSWORD = "clave-de-la-invitada-2026"


def test_an_invited_person_joins_the_group_from_the_mail(browser, site):
    address = "invitada@ports.example"
    invited = site.server.api(
        "POST",
        "/invitations",
        site.data.tokens.coordinator,
        json={"email": address, "name": "Inés Invitada", "workspace_id": site.data.workspace_id,
              "role": "member", "locale": "es"},
    )  # fmt: skip
    assert invited.status_code == 201, invited.text
    message = mail_to(site, address)
    link = re.search(r"https?://\S+/invitation/[\w-]+", message.get_body(("plain",)).get_content())
    path = "/invitation/" + link[0].rsplit("/invitation/", 1)[1]

    context = browser.new_context(locale="es", timezone_id="America/Lima")
    page = context.new_page()
    page.goto(site.url + path)
    intro = page.locator("main").inner_text()
    assert "Ana Coordinadora" in intro and "Estudios portuarios" in intro
    assert page.locator("#timezone").input_value() == "America/Lima"
    assert page.locator("#name").input_value() == "Inés Invitada"
    check_accessibility(page)
    shoot(page, "invitation")

    page.locator("#password").fill(PASSWORD)
    page.locator("#password_again").fill("otra-clave-distinta")
    page.locator("main form button[type=submit]").click()
    assert page.locator("#password_again-error").is_visible()
    assert page.locator("#name").input_value() == "Inés Invitada"  # kept
    page.locator("#password").fill(PASSWORD)
    page.locator("#password_again").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(site.url + "/work")
    assert page.get_by_role("link", name="Estudios portuarios").first.is_visible()
    me = page.request.get(site.url + "/api/v1/me").json()
    assert (me["timezone"], me["locale"]) == ("America/Lima", "es")

    page.goto(site.url + "/account/notifications")
    check_accessibility(page)
    page.locator("input[value=daily]").check()
    page.locator("main form button[type=submit]").click()
    assert page.locator("input[value=daily]").is_checked()
    shoot(page, "email-preference")
    assert page.request.get(site.url + path).status == 404  # the link worked once
    context.close()
