"""The parts every item's page has, in the browser: comment, share and stop sharing,
submit for publication, move to the trash and restore (the trash without JavaScript).

The items are memos made through the API by each test; controls are found by their ids
and the forms' addresses, which do not change with the interface language."""

from __future__ import annotations

from typing import Any

from .conftest import check_accessibility, shoot


def _memo(site: Any, title: str) -> int:
    answer = site.server.api(
        "POST",
        f"/workspaces/{site.data.workspace_id}/memos",
        site.data.tokens.coordinator,
        json={"title": title, "body": "Texto del memorando."},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def _submit(page: Any, panel: str) -> None:
    """Press the submit button of the panel's (last) form and wait for the page after it."""
    with page.expect_navigation():
        page.locator(f"#{panel} form button[type=submit]").last.click()


def test_comment_share_stop_sharing_and_submit_for_publication(signed_in, site):
    memo = _memo(site, "Memorando de paneles")
    page = signed_in("coordinator", f"/memos/{memo}")

    page.fill("#comment-body", "Propongo **revisar** las cifras.")
    _submit(page, "item_comments")
    assert page.url.endswith(f"/memos/{memo}#item_comments")
    comments = page.locator("#item_comments")
    assert comments.locator("strong", has_text="revisar").is_visible()
    assert comments.get_by_text("Ana Coordinadora").is_visible()

    page.select_option("#share-workspace", label="Comité de tarifas")
    page.select_option("#share-permission", "edit")
    _submit(page, "item_sharing")
    sharing = page.locator("#item_sharing")
    assert sharing.locator("li", has_text="Comité de tarifas").is_visible()
    outsider = site.server.api("GET", f"/memos/{memo}", site.data.tokens.outsider)
    assert outsider.status_code == 200

    page.fill("#publication-note", "Lista para la red.")
    _submit(page, "item_publication")
    publication = page.locator("#item_publication")
    assert publication.locator(".badge.state-submitted").is_visible()
    assert publication.get_by_text("Lista para la red.").is_visible()

    check_accessibility(page)
    shoot(page, "item-panels")

    with page.expect_navigation():
        sharing.locator("li", has_text="Comité de tarifas").locator("button").click()
    assert page.locator("#item_sharing li", has_text="Comité de tarifas").count() == 0
    outsider = site.server.api("GET", f"/memos/{memo}", site.data.tokens.outsider)
    assert outsider.status_code == 404


def test_a_member_comments_but_sees_no_sharing_publication_or_trash_controls(signed_in, site):
    memo = _memo(site, "Memorando para miembros")
    page = signed_in("member", f"/memos/{memo}")

    assert page.locator("#comment-body").is_visible()
    assert page.locator("#share-workspace").count() == 0
    assert page.locator("#publication-note").count() == 0
    assert page.locator("#item_trash").count() == 0
    forced = page.request.post(f"{site.url}/items/{memo}/trash", form={"confirm": "yes"})
    assert forced.status in (400, 403)  # without the CSRF token, or as a member: a page
    assert "text/html" in forced.headers["content-type"]


def test_move_to_the_trash_undo_and_restore_from_the_trash_page_without_javascript(signed_in, site):
    memo = _memo(site, "Memorando para la papelera")
    page = signed_in("coordinator", f"/memos/{memo}", javascript=False)

    _submit(page, "item_trash")
    assert page.locator("input[name=confirm][value=yes]").count() == 1
    with page.expect_navigation():
        page.locator("form:has(input[name=confirm]) button[type=submit]").click()
    assert page.url.endswith(f"/groups/{site.data.workspace_id}")
    notice = page.locator("main .notice", has_text="Memorando para la papelera")
    with page.expect_navigation():
        notice.locator("button").click()
    assert page.url.endswith(f"/memos/{memo}")

    _submit(page, "item_trash")
    with page.expect_navigation():
        page.locator("form:has(input[name=confirm]) button[type=submit]").click()
    # axe and the screenshots need JavaScript: the trash page in another browser.
    page = signed_in("coordinator", "/trash")
    row = page.locator("ul.trash-rows li", has_text="Memorando para la papelera")
    assert row.get_by_text("Ana Coordinadora").is_visible()
    check_accessibility(page)
    shoot(page, "trash")
    with page.expect_navigation():
        row.locator("button").click()
    assert page.url.endswith("/trash")
    assert page.locator("ul.trash-rows li", has_text="Memorando para la papelera").count() == 0
    member = site.server.api("GET", f"/memos/{memo}", site.data.tokens.member)
    assert member.status_code == 200
