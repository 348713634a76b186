"""A working group's page in the browser, as each role sees it."""

from __future__ import annotations

import pytest

from .conftest import check_accessibility, shoot


def test_my_work_links_to_the_group_page(signed_in, site):
    page = signed_in("member")
    page.get_by_role("link", name="Estudios portuarios", exact=True).click()
    page.wait_for_url(f"**/groups/{site.data.workspace_id}")
    assert page.get_by_role("heading", level=1).inner_text() == "Estudios portuarios"
    members = page.locator("#group_members")
    for name in ("Ana Coordinadora", "Marta Miembro", "Óscar Observador"):
        assert members.get_by_text(name).is_visible()
    check_accessibility(page)
    shoot(page, "group")


@pytest.mark.parametrize("who", ["coordinator", "member"])
def test_the_new_menu_is_there_for_those_who_may_add_items(signed_in, site, who):
    page = signed_in(who, f"/groups/{site.data.workspace_id}")
    assert page.locator("details.new-menu").count() == 1


def test_an_observer_sees_no_new_menu(signed_in, site):
    page = signed_in("observer", f"/groups/{site.data.workspace_id}")
    assert page.locator("details.new-menu").count() == 0


def test_someone_outside_the_group_gets_the_not_found_page(signed_in, site):
    page = signed_in("outsider", f"/groups/{site.data.workspace_id}")
    assert page.locator(".error-page").count() == 1
    response = page.request.get(f"{site.url}/groups/{site.data.workspace_id}")
    assert response.status == 404
