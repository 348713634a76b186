"""Memos in the browser: written and edited with the keyboard alone, the preview, the
merge of an edit saved over a newer version, and every page type checked by axe and
seen at 1280 and 390 px."""

from __future__ import annotations

import re
from typing import Any

from .conftest import check_accessibility, shoot

BODY = """## Acuerdos de la reunión

- Publicar el **estudio de tiempos** en marzo.
- Revisar las tarifas con el [comité](https://example.org/comite).

Próxima reunión: *15 de abril*."""


def api(site: Any, who: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    answer = site.server.api(method, path, getattr(site.data.tokens, who), **kwargs)
    assert answer.status_code in {200, 201}, answer.text
    return answer.json()


def new_memo(site: Any, title: str, body: str = BODY) -> dict[str, Any]:
    path = f"/workspaces/{site.data.workspace_id}/memos"
    return api(site, "member", "POST", path, json={"title": title, "body": body})


def tab_to(page: Any, selector: str, presses: int = 80) -> None:
    """Press Tab until the focus is on `selector` (what a keyboard user does)."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def lines_of(page: Any, selector: str) -> list[str]:
    """The lines of a diff's `del` or `ins` elements, without their spoken label."""
    return page.eval_on_selector_all(
        selector, "all => all.map((e) => e.textContent.slice(e.firstChild.textContent.length))"
    )


def test_a_member_writes_and_edits_a_memo_with_the_keyboard_only(signed_in, site):
    page = signed_in("member", f"/groups/{site.data.workspace_id}/memos")

    tab_to(page, "a[href$='/memos/new']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/memos/new")
    tab_to(page, "#title")
    page.keyboard.type("Notas del taller de teclado")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "body"
    page.keyboard.type("Primera idea.")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    page.keyboard.type("Segunda idea, **importante**.")
    tab_to(page, "button[name=preview]")
    page.keyboard.press("Enter")
    preview = page.locator("#memo_preview")
    preview.locator("strong", has_text="importante").wait_for()
    assert page.locator("button[name=preview]").get_attribute("aria-pressed") == "true"
    assert page.evaluate("document.activeElement.name") == "preview"  # focus stays
    tab_to(page, "form button.primary")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/memos/\d+$"))
    body = page.locator("#memo_body")
    assert body.locator("strong").inner_text() == "importante"

    tab_to(page, "a[href$='/edit']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/edit")
    tab_to(page, "#body")
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    page.keyboard.type("Tercera idea, añadida.")
    tab_to(page, "form button.primary")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/memos/\d+$"))
    texts = body.locator("p").all_inner_texts()
    assert texts == ["Primera idea.", "Segunda idea, importante.", "Tercera idea, añadida."]


def test_every_memo_page_passes_axe_and_fits_a_phone(signed_in, site):
    memo = new_memo(site, "Acta del comité de facilitación")
    api(site, "coordinator", "PATCH", f"/memos/{memo['id']}", json={"body": BODY + "\n\nAnexo."})
    page = signed_in("member", f"/groups/{site.data.workspace_id}/memos")

    assert page.get_by_role("link", name="Acta del comité de facilitación").is_visible()
    check_accessibility(page)
    shoot(page, "memos")

    page.goto(f"{site.url}/groups/{site.data.workspace_id}/memos/new")
    check_accessibility(page)

    page.goto(f"{site.url}/memos/{memo['id']}")
    assert page.locator("#memo_body h2").inner_text() == "Acuerdos de la reunión"
    check_accessibility(page)
    shoot(page, "memo")

    page.goto(f"{site.url}/memos/{memo['id']}/edit")
    page.locator("button[name=preview]").click()
    page.locator("#memo_preview h2", has_text="Acuerdos").wait_for()
    page.locator("#body").press("Control+End")
    page.locator("#body").type(" Con cambios.")
    page.locator("#memo_preview p", has_text="Con cambios.").wait_for()  # follows the typing
    check_accessibility(page)
    shoot(page, "memo-edit")

    page.goto(f"{site.url}/memos/{memo['id']}/revisions")
    diff = page.locator("ol.diff")
    assert diff.locator("ins").last.inner_text().endswith("Anexo.")
    check_accessibility(page)
    shoot(page, "memo-revisions")


def test_the_preview_works_without_javascript(signed_in, site):
    memo = new_memo(site, "Memo sin JavaScript")
    page = signed_in("member", f"/memos/{memo['id']}/edit", javascript=False)

    page.locator("#body").fill("Texto *nuevo*")
    page.locator("button[name=preview]").click()

    assert page.locator("#memo_preview em").inner_text() == "nuevo"
    assert page.locator("#body").input_value() == "Texto *nuevo*"
    assert api(site, "member", "GET", f"/memos/{memo['id']}")["body"] == BODY


def test_an_edit_saved_over_a_newer_version_is_merged_and_nothing_is_lost(signed_in, site):
    memo = new_memo(site, "Plan de trabajo", "Uno.\n\nDos.")
    page = signed_in("member", f"/memos/{memo['id']}/edit")
    page.locator("#body").fill("Uno.\n\nDos.\n\nTres, mío.")
    # Meanwhile, a coordinator saves another text.
    api(site, "coordinator", "PATCH", f"/memos/{memo['id']}", json={"body": "Uno.\n\nDos, suyo."})
    # live.js raises this when the server says so; the editor shows the notice.
    page.evaluate(
        """id => document.body.dispatchEvent(new CustomEvent(`live:item-${id}`,
             {detail: {verb: "item.updated", item: {id}}}))""",
        memo["id"],
    )
    notice = page.locator("#memo-newer .notice")
    notice.wait_for()
    assert notice.get_by_role("link").get_attribute("target") == "_blank"
    assert page.locator("#body").input_value() == "Uno.\n\nDos.\n\nTres, mío."  # untouched

    page.locator("form button.primary").click()

    page.wait_for_selector(".memo-conflict")
    assert page.locator("#theirs").input_value() == "Uno.\n\nDos, suyo."
    assert page.locator("#body").input_value() == "Uno.\n\nDos.\n\nTres, mío."
    assert lines_of(page, "ol.diff del") == ["Dos, suyo."]
    assert lines_of(page, "ol.diff ins") == ["Dos.", "", "Tres, mío."]
    check_accessibility(page)
    shoot(page, "memo-conflict")

    page.locator("#body").fill("Uno.\n\nDos, suyo.\n\nTres, mío.")
    page.locator("form button.primary").click()
    page.wait_for_url(f"**/memos/{memo['id']}")
    texts = page.locator("#memo_body p").all_inner_texts()
    assert texts == ["Uno.", "Dos, suyo.", "Tres, mío."]
    revisions = api(site, "member", "GET", f"/memos/{memo['id']}/revisions")["items"]
    assert [r["body"] for r in revisions][::-1] == [
        "Uno.\n\nDos.",
        "Uno.\n\nDos, suyo.",
        "Uno.\n\nDos, suyo.\n\nTres, mío.",
    ]


def test_an_observer_reads_a_memo_without_edit_or_restore(signed_in, site):
    memo = new_memo(site, "Memo para leer")
    api(site, "member", "PATCH", f"/memos/{memo['id']}", json={"body": "Otro texto."})
    page = signed_in("observer", f"/memos/{memo['id']}")

    assert page.locator("#memo_body p").inner_text() == "Otro texto."
    assert page.locator(f"a[href$='/memos/{memo['id']}/edit']").count() == 0
    page.goto(f"{site.url}/memos/{memo['id']}/revisions")
    assert page.locator("form[action$='/restore']").count() == 0
