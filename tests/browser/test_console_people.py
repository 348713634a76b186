"""The secretariat's console for people and working groups in a real browser: it finds a
new colleague by a search, deactivates and reactivates the account and grants (then
removes) the secretariat's rights; it creates a working group and adds another new
person as its coordinator. Every page passes axe and is photographed at desktop width and 390 px
under tests/artifacts/console/."""

from __future__ import annotations

from .conftest import PASSWORD, check_accessibility, shoot


def _shoot(page, name: str) -> None:
    shoot(page, name, "console")


def _notice(page) -> str:
    return page.locator("main .notice[role=status]").inner_text()


def test_the_secretariat_administers_a_person(browser, site, signed_in):
    created = site.server.api(
        "POST",
        "/users",
        site.data.tokens.secretariat,
        json={"email": "rosa.consola@ports.example", "name": "Rosa Rivas Consola",
              "password": PASSWORD, "locale": "es"},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    page = signed_in("secretariat", "/console/users", language="en")
    check_accessibility(page)
    _shoot(page, "users")

    page.locator("#q").fill("rivas")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/console/users?q=rivas*")
    assert page.locator("main table tbody tr").count() == 1
    page.get_by_role("link", name="Rosa Rivas Consola").click()
    assert page.locator("h1").inner_text() == "Rosa Rivas Consola"
    check_accessibility(page)
    _shoot(page, "user")

    page.get_by_role("button", name="Deactivate the account").click()
    assert "signed out everywhere" in _notice(page)
    assert page.locator(".page-head .badge").inner_text() == "Deactivated"
    check_accessibility(page)
    _shoot(page, "user-deactivated")
    page.get_by_role("button", name="Reactivate the account").click()
    assert "can sign in again" in _notice(page)
    assert page.locator(".page-head .badge").count() == 0

    page.get_by_role("button", name="Grant the secretariat's rights").click()
    assert "now has the secretariat's rights" in _notice(page)
    assert page.locator(".page-head .badge").inner_text() == "Secretariat"
    page.get_by_role("button", name="Remove the secretariat's rights").click()
    assert "no longer has" in _notice(page)

    page.goto(site.url + "/console/users?active=perhaps&q=rivas")
    assert page.locator("#active-error").is_visible()
    assert page.locator("#q").input_value() == "rivas"
    check_accessibility(page)


def test_the_secretariat_creates_a_group_and_adds_a_coordinator(browser, site, signed_in):
    # A person of its own: the site's people keep their groups for the other tests.
    created = site.server.api(
        "POST",
        "/users",
        site.data.tokens.secretariat,
        json={"email": "gael.grupo@ports.example", "name": "Gael Grupo", "locale": "es"},
    )
    assert created.status_code == 201, created.text
    page = signed_in("secretariat", "/console/groups", language="en")
    check_accessibility(page)
    _shoot(page, "groups")

    page.get_by_role("link", name="New working group").click()
    page.locator("#name").fill("   ")  # blank, which the browser's `required` lets through
    page.locator("#description").fill("Descarbonización de las operaciones portuarias.")
    page.get_by_role("button", name="Create the working group").click()
    assert page.locator("#name-error").is_visible()
    assert page.locator("#description").input_value().startswith("Descarbonización")
    check_accessibility(page)
    _shoot(page, "group-form")
    page.locator("#name").fill("Puertos verdes")
    page.get_by_role("button", name="Create the working group").click()
    assert page.locator("h1").inner_text().startswith("Puertos verdes")
    assert "no coordinator" in page.locator("main").inner_text()

    page.locator("#user_id").select_option(label="Gael Grupo · gael.grupo@ports.example")
    page.locator("#role").select_option("coordinator")
    page.get_by_role("button", name="Add to the group").click()
    assert "Added Gael Grupo to the group (role: Coordinator)." in _notice(page)
    row = page.locator("main table.members tbody tr", has_text="Gael Grupo")
    assert row.locator("select").input_value() == "coordinator"
    assert "no coordinator" not in page.locator("main").inner_text()
    check_accessibility(page)
    _shoot(page, "group")

    page.get_by_role("link", name="Open the group's page").click()
    assert page.locator("h1").inner_text().startswith("Puertos verdes")
