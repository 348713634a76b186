"""The whole onboarding in a real browser: the secretariat onboards a new community of a
new member state through the console and invites its focal point to a working group;
the focal point opens the link from the mail (the site writes it as an .eml file), sets
a password and lands on My work in the group; then signs out, forgets the password,
resets it from the mail's link and signs in with the new one.

Every console page of the network and the invitations passes axe, and is shot at
desktop width and at 390 px under tests/artifacts/console/."""

from __future__ import annotations

import re

from .conftest import check_accessibility, shoot
from .test_account_security import mail_to

ADDRESS = "focal@guayaquil.example.org"
PASSWORD = "clave-del-punto-focal-2026"
NEW_PASSWORD = "otra-clave-del-punto-focal"


def look(page, name: str) -> None:
    check_accessibility(page)
    shoot(page, name, "console")


def test_the_secretariat_onboards_a_community_and_its_focal_point_joins(browser, site, signed_in):
    page = signed_in("secretariat", "/console/communities", language="en")
    look(page, "communities")
    page.get_by_role("link", name="Onboard a community").first.click()
    page.wait_for_url(site.url + "/console/onboarding")
    look(page, "onboarding")

    # One form: a new member state, the community, its focal point to a group.
    page.locator("#member_state").select_option("new")
    page.locator("#state-code").fill("EC")
    page.locator("#state-name").fill("Ecuador")
    page.locator("#community-name").fill("Comunidad Portuaria de Guayaquil")
    page.locator("#community-description").fill("El puerto principal del Ecuador.")
    page.locator("#community-website").fill("https://guayaquil.example")
    page.locator("#person-email").fill(ADDRESS)
    page.locator("#person-name").fill("Fernanda Focal")
    page.locator("#person-locale").select_option("es")
    page.get_by_label("Estudios portuarios").check()
    page.get_by_label("Comité de tarifas").check()
    page.locator("#person-role").select_option("member")
    # The port is missing: nothing is saved, the input stays, the error is beside it.
    page.locator("main form.onboarding-form button[type=submit]").click()
    assert page.locator("#community-port-error").is_visible()
    assert page.locator("#community-name").input_value() == "Comunidad Portuaria de Guayaquil"
    assert page.locator("#state-code").input_value() == "EC"
    assert page.get_by_label("Comité de tarifas").is_checked()
    check_accessibility(page)
    shoot(page, "onboarding-errors", "console")
    page.locator("#community-port").fill("Guayaquil")
    page.locator("main form.onboarding-form button[type=submit]").click()

    page.wait_for_url(re.compile(r".*/console/communities/\d+$"))
    main = page.locator("main").inner_text()
    assert "Comunidad Portuaria de Guayaquil joined the network" in main
    assert "Fernanda Focal" in main and "Estudios portuarios" in main  # pending invitation
    look(page, "community")

    # The other console pages of the section, each checked and shot.
    for path, name in [
        ("/console/member-states", "member-states"),
        ("/console/member-states/EC", "member-state"),
        ("/console/communities/new", "community-new"),
        ("/console/invitations", "invitations"),
        ("/console/invitations/new", "invitation-new"),
    ]:
        page.goto(site.url + path)
        look(page, name)
    assert "Ecuador" in page.goto(site.url + "/console/member-states").text()

    # The focal point opens the link from the mail and creates the account.
    message = mail_to(site, ADDRESS, containing="/invitation/")
    assert "Estudios portuarios" in message["Subject"]
    link = re.search(r"/invitation/[\w-]+", message.get_body(("plain",)).get_content())[0]
    context = browser.new_context(locale="es", timezone_id="America/Guayaquil")
    focal = context.new_page()
    focal.goto(site.url + link)
    intro = focal.locator("main").inner_text()
    assert "Estudios portuarios" in intro and "Comunidad Portuaria de Guayaquil" in intro
    focal.locator("#password").fill(PASSWORD)
    focal.locator("#password_again").fill(PASSWORD)
    focal.locator("main form button[type=submit]").click()
    focal.wait_for_url(site.url + "/work")
    assert focal.get_by_role("link", name="Estudios portuarios").first.is_visible()
    me = focal.request.get(site.url + "/api/v1/me").json()
    assert sorted((w["name"], w["role"]) for w in me["workspaces"]) == [
        ("Comité de tarifas", "member"), ("Estudios portuarios", "member"),
    ]  # fmt: skip
    assert me["is_focal_point"]

    # Signs out, forgets the password, resets it from the mail, signs in with the new one.
    focal.locator("header details.account summary").click()
    focal.get_by_role("button", name="Cerrar sesión").click()
    focal.goto(site.url + "/login")
    focal.locator('main a[href="/forgot-password"]').click()
    focal.locator("#email").fill(ADDRESS)
    focal.locator("main form button[type=submit]").click()
    focal.wait_for_url(site.url + "/forgot-password")
    reset = mail_to(site, ADDRESS, containing="/reset-password/")
    path = re.search(r"/reset-password/[\w-]+", reset.get_body(("plain",)).get_content())[0]
    focal.goto(site.url + path)
    focal.locator("#password").fill(NEW_PASSWORD)
    focal.locator("#password_again").fill(NEW_PASSWORD)
    focal.locator("main form button[type=submit]").click()
    focal.wait_for_url(site.url + "/login")
    focal.locator("#email").fill(ADDRESS)
    focal.locator("#password").fill(NEW_PASSWORD)
    focal.locator("main form button[type=submit]").click()
    focal.wait_for_url(site.url + "/work")
    assert focal.get_by_role("link", name="Estudios portuarios").first.is_visible()
    context.close()


def test_nobody_but_the_secretariat_finds_the_console_pages(signed_in, site):
    page = signed_in("coordinator", "/console/onboarding", language="en")

    for path in ("/console/onboarding", "/console/communities", "/console/invitations"):
        answer = page.goto(site.url + path)
        assert answer.status == 404
    assert page.locator("nav.console").count() == 0
