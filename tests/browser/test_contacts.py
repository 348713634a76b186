"""The network's contacts in a real browser: a member keeps their contact details and
finds them, as the others see them, on the contacts page; the public directory shows
only what the community publishes."""

from __future__ import annotations

from .conftest import check_accessibility, shoot


def test_a_member_edits_their_details_and_finds_them_on_the_contacts_page(site, signed_in, visit):
    api, data = site.server.api, site.data
    # The secretariat makes the Cartagena coordinator its focal point and publishes it;
    # she shows her e-mail and position to the members.
    cartagena = next(
        c for c in api("GET", "/communities", data.tokens.secretariat).json()["items"]
        if c["slug"] == data.cartagena
    )  # fmt: skip
    for method, path, token, body in (
        ("PATCH", f"/users/{data.people.coordinator.id}", data.tokens.secretariat,
         {"is_focal_point": True}),
        ("PATCH", f"/communities/{cartagena['id']}", data.tokens.secretariat,
         {"publish_focal_points": True, "contact_email": "contacto@cartagena.example.org"}),
        ("PATCH", "/me", data.tokens.coordinator,
         {"position": "Directora de operaciones", "show_email": True, "show_position": True}),
    ):  # fmt: skip
        answer = api(method, path, token, json=body)
        assert answer.status_code == 200, answer.text

    page = signed_in("member", "/account/contact", language="en")
    check_accessibility(page)
    page.locator("#position").fill("Analista de comercio exterior")
    page.locator("#phone").fill("+57 605 555 0101")
    page.get_by_label("My phone").check()
    page.get_by_label("My position").check()
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(site.url + "/account/contact")
    assert "saved" in page.locator("main .notice[role=status]").inner_text()
    assert page.get_by_label("My phone").is_checked()
    assert not page.get_by_label("My e-mail address", exact=False).is_checked()
    shoot(page, "account-contact")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()
    page.wait_for_url(site.url + "/contacts")
    check_accessibility(page)
    cartagena_card = page.locator(
        "li.card", has=page.get_by_role("heading", name=cartagena["name"])
    )
    people = cartagena_card.locator("li.contact")
    assert people.nth(0).locator(".name strong").inner_text() == "Ana Coordinadora"
    assert "Focal point" in people.nth(0).inner_text()
    mine = cartagena_card.locator("li.contact", has_text="Marta Miembro")
    assert "Analista de comercio exterior" in mine.inner_text()
    assert mine.get_by_role("link", name="+57 605 555 0101").get_attribute("href") == (
        "tel:+576055550101"
    )
    assert data.people.member.email not in page.content()
    assert "Estudios portuarios" in mine.inner_text()
    shoot(page, "contacts")

    # Find her by name: one person left.
    page.locator("#q").fill("marta")
    page.locator("main form[role=search] button[type=submit]").click()
    page.wait_for_url("**/contacts?q=marta*")
    assert page.locator("li.contact").count() == 1
    assert page.get_by_role("status").inner_text() == "1 person"

    # A visitor reads only what Cartagena publishes: its focal point's name and its address.
    public = visit("/directory", language="en")
    card = public.locator("li.card", has=public.get_by_role("heading", name=cartagena["name"]))
    assert "Focal point: Ana Coordinadora" in card.inner_text()
    assert "contacto@cartagena.example.org" in card.inner_text()
    assert "Marta Miembro" not in public.content() and "555 0101" not in public.content()
    assert "Directora de operaciones" not in public.content()
    check_accessibility(public)
