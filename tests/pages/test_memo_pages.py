"""The memo pages: list, new, memo, edit with preview and the merge of an edit saved
over a newer one, revisions with their differences and restore, as every role.
(The people of the test world read the portal in Spanish: assertions use markup.)"""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import event

from portal.extensions import db

from ..conftest import sign_in_session
from ..workspaces.test_item_queries import count_queries as statements_of


@pytest.fixture
def pages(app, world):
    """`pages(who)` -> a test client signed in as `who` of the world; page forms pass
    Flask-WTF's CSRF check through the header the API client sets."""
    clients = {}

    def client_of(who):
        if who not in clients:
            client = app.test_client()
            user = getattr(world, who)
            if user is not None:
                sign_in_session(client, user)
                token = client.get("/api/v1/auth/csrf").get_json()["csrf_token"]
                client.environ_base["HTTP_X_CSRF_TOKEN"] = token
            clients[who] = client
        return clients[who]

    return client_of


@pytest.fixture
def memo(pages, world):
    """A memo of the group written by its member; returns its id."""
    answer = pages("member").post(
        f"/api/v1/workspaces/{world.ws_id}/memos",
        json={"title": "Hoja de ruta", "body": "Primera línea\n\nSegunda línea"},
    )
    assert answer.status_code == 201
    return answer.get_json()["id"]


def html_of(response, status=200):
    assert response.status_code == status, response.status_code
    return response.get_data(as_text=True)


def field_value(html, name):
    """The value of the form control `name` (an input or a textarea)."""
    found = re.search(rf'<input type="\w+" id="{name}" name="{name}" value="([^"]*)"', html)
    if found is None:
        found = re.search(rf'<textarea id="{name}" name="{name}"[^>]*>(.*?)</textarea>', html, re.S)
    return found.group(1) if found else None


def etag_in(page):
    return unescape(re.search(r'name="etag" value="([^"]*)"', page).group(1))


def edit(pages, who, memo_id, **form):
    return pages(who).post(f"/memos/{memo_id}/edit", data=form)


def api_memo(pages, memo_id):
    return pages("coordinator").get(f"/api/v1/memos/{memo_id}").get_json()


def revisions(pages, memo_id):
    answer = pages("coordinator").get(f"/api/v1/memos/{memo_id}/revisions?per_page=100")
    return [r["body"] for r in reversed(answer.get_json()["items"])]


# --- the list -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status", "may_write"),
    [("coordinator", 200, True), ("member", 200, True), ("observer", 200, False),
     ("secretariat", 200, True), ("outsider", 404, False)],
)  # fmt: skip
def test_the_list_shows_the_group_memos_and_new_only_to_who_may_write(
    pages, world, memo, who, status, may_write
):
    response = pages(who).get(f"/groups/{world.ws_id}/memos")

    html = html_of(response, status)
    if status == 200:
        assert f'href="/memos/{memo}"' in html and "Hoja de ruta" in html
        assert (f'href="/groups/{world.ws_id}/memos/new"' in html) is may_write


def test_a_visitor_is_sent_to_sign_in(pages, world, memo):
    for path in (f"/groups/{world.ws_id}/memos", f"/memos/{memo}", f"/memos/{memo}/edit"):
        response = pages("anonymous").get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def count_queries(app, client, path):
    statements = []

    def count(*_args):
        statements.append(1)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        html_of(client.get(path))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_the_list_is_paginated_in_a_fixed_number_of_queries(app, pages, world):
    client = pages("member")
    path = f"/groups/{world.ws_id}/memos"

    def add(count, start):
        for n in range(start, start + count):
            client.post(f"/api/v1/workspaces/{world.ws_id}/memos", json={"title": f"Memo {n}"})

    add(2, 0)
    few = count_queries(app, client, path)
    add(58, 2)
    many = count_queries(app, client, path)
    second = html_of(client.get(path + "?page=3"))

    assert few == many
    assert second.count('<a href="/memos/') == 10  # 60 memos, 25 a page
    assert f'href="{path}?page=2" rel="prev"' in second
    assert html_of(client.get(path + "?page=abc")).count('<a href="/memos/') == 25


def test_the_list_refreshes_alone_when_htmx_asks_for_it(pages, world, memo):
    headers = {"HX-Request": "true", "HX-Target": "memo_list"}

    html = html_of(pages("member").get(f"/groups/{world.ws_id}/memos", headers=headers))

    assert html.lstrip().startswith('<section id="memo_list"') and "<h1" not in html
    assert "Hoja de ruta" in html


# --- a new memo -----------------------------------------------------------------


def test_a_member_writes_a_memo(pages, world):
    response = pages("member").post(
        f"/groups/{world.ws_id}/memos/new", data={"title": "Acta", "body": "**Acordado**"}
    )

    assert response.status_code == 303
    memo_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert api_memo(pages, memo_id)["body"] == "**Acordado**"
    assert "<strong>Acordado</strong>" in html_of(pages("member").get(f"/memos/{memo_id}"))


def test_a_new_memo_without_a_title_shows_the_error_beside_it_and_keeps_the_text(pages, world):
    path = f"/groups/{world.ws_id}/memos/new"

    html = html_of(pages("member").post(path, data={"title": "", "body": "Mi texto"}), 400)

    assert 'id="title-error"' in html and 'aria-describedby="title-error"' in html
    assert field_value(html, "body") == "Mi texto"
    assert 'role="alert"' in html
    assert "Mi texto" not in str(pages("member").get(f"/api/v1/workspaces/{world.ws_id}/memos"))


def test_preview_without_javascript_renders_the_text_and_saves_nothing(pages, world):
    path = f"/groups/{world.ws_id}/memos/new"

    html = html_of(pages("member").post(path, data={"body": "# Título\n\n*hola*", "preview": "1"}))

    preview = html.split('id="memo_preview"')[1].split("</section>")[0]
    assert "<h1>Título</h1>" in preview and "<em>hola</em>" in preview
    assert field_value(html, "body") == "# Título\n\n*hola*"
    listing = pages("member").get(f"/api/v1/workspaces/{world.ws_id}/memos").get_json()
    assert listing["total"] == 0


@pytest.mark.parametrize(("who", "status"), [("observer", 403), ("outsider", 404)])
def test_who_may_not_write_gets_no_form_and_a_refusal_when_posting(pages, world, who, status):
    path = f"/groups/{world.ws_id}/memos/new"

    assert pages(who).get(path).status_code == status
    assert pages(who).post(path, data={"title": "Intruso"}).status_code == status
    assert pages("member").get(f"/api/v1/workspaces/{world.ws_id}/memos").get_json()["total"] == 0


def test_a_form_without_the_csrf_token_is_refused(app, world):
    client = app.test_client()
    sign_in_session(client, world.member)

    response = client.post(f"/groups/{world.ws_id}/memos/new", data={"title": "Sin token"})

    assert response.status_code == 400


# --- a memo ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status", "may_edit"),
    [("coordinator", 200, True), ("member", 200, True), ("observer", 200, False),
     ("secretariat", 200, True), ("outsider", 404, False)],
)  # fmt: skip
def test_the_memo_page_shows_the_rendered_body_and_edit_to_editors(
    pages, memo, who, status, may_edit
):
    html = html_of(pages(who).get(f"/memos/{memo}"), status)

    if status == 200:
        assert "<p>Primera línea</p>" in html and "<p>Segunda línea</p>" in html
        assert (f'href="/memos/{memo}/edit"' in html) is may_edit
        assert f'href="/memos/{memo}/revisions"' in html
        assert 'id="memo_body"' in html and f"live:item-{memo} from:body" in html


def test_the_rendered_body_is_sanitized(pages, world):
    body = "<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>"
    answer = pages("member").post(
        f"/api/v1/workspaces/{world.ws_id}/memos", json={"title": "XSS", "body": body}
    )

    html = html_of(pages("member").get(f"/memos/{answer.get_json()['id']}"))

    main = html.split('id="memo_body"')[1].split("</div>")[0]
    assert "<script>" not in main and 'href="javascript' not in main and "<img" not in main
    assert "&lt;script&gt;" in main  # shown as text


def test_the_body_refreshes_alone_for_a_live_event(pages, memo):
    headers = {"HX-Request": "true", "HX-Target": "memo_body"}

    html = html_of(pages("observer").get(f"/memos/{memo}", headers=headers))

    assert html.lstrip().startswith('<div id="memo_body"') and "<h1" not in html


def test_the_header_of_the_item_frame_refreshes_alone_too(pages, memo):
    headers = {"HX-Request": "true", "HX-Target": "item_header"}

    html = html_of(pages("member").get(f"/memos/{memo}", headers=headers))

    assert html.lstrip().startswith('<header id="item_header"') and "<html" not in html
    assert "<h1>Hoja de ruta</h1>" in html and f'href="/memos/{memo}/edit"' in html


# --- editing --------------------------------------------------------------------


@pytest.mark.parametrize(("who", "status"), [("observer", 403), ("outsider", 404)])
def test_who_may_not_edit_is_refused(pages, memo, who, status):
    assert pages(who).get(f"/memos/{memo}/edit").status_code == status
    response = edit(pages, who, memo, title="Otro", body="Borrado", etag="*")

    assert response.status_code == status
    assert api_memo(pages, memo)["body"] == "Primera línea\n\nSegunda línea"


def test_an_edit_saves_a_new_revision(pages, memo):
    form = html_of(pages("member").get(f"/memos/{memo}/edit"))
    assert field_value(form, "body") == "Primera línea\n\nSegunda línea"
    assert field_value(form, "title") == "Hoja de ruta"

    response = edit(
        pages, "member", memo, title="Hoja de ruta 2026", body="Nueva", etag=etag_in(form)
    )

    assert response.status_code == 303 and response.headers["Location"] == f"/memos/{memo}"
    current = api_memo(pages, memo)
    assert (current["title"], current["body"]) == ("Hoja de ruta 2026", "Nueva")
    assert revisions(pages, memo) == ["Primera línea\n\nSegunda línea", "Nueva"]


def test_an_edit_with_errors_keeps_the_text_and_the_version_it_is_based_on(pages, memo):
    etag = etag_in(html_of(pages("member").get(f"/memos/{memo}/edit")))

    html = html_of(edit(pages, "member", memo, title="", body="Mi cambio", etag=etag), 400)

    assert 'id="title-error"' in html and field_value(html, "body") == "Mi cambio"
    assert etag_in(html) == etag


def test_the_preview_answers_its_block_alone_to_the_editor_script(pages, memo):
    headers = {"HX-Request": "true", "HX-Target": "memo_preview"}

    response = pages("member").post(
        f"/memos/{memo}/edit", data={"body": "**sí**", "preview": "1"}, headers=headers
    )

    html = html_of(response)
    assert html.lstrip().startswith('<section id="memo_preview"')
    assert "<strong>sí</strong>" in html and "<form" not in html
    assert api_memo(pages, memo)["body"] == "Primera línea\n\nSegunda línea"


def test_saving_over_a_newer_version_shows_both_texts_and_loses_neither(pages, memo):
    base = etag_in(html_of(pages("member").get(f"/memos/{memo}/edit")))
    assert etag_in(html_of(pages("coordinator").get(f"/memos/{memo}/edit"))) == base
    theirs = "Primera línea\n\nSegunda línea corregida"
    yours = "Primera línea\n\nSegunda línea\n\nTercera línea"
    saved = edit(pages, "coordinator", memo, title="Hoja de ruta", body=theirs, etag=base)
    assert saved.status_code == 303

    conflict = edit(pages, "member", memo, title="Hoja de ruta", body=yours, etag=base)

    html = html_of(conflict, 409)
    assert api_memo(pages, memo)["body"] == theirs  # theirs stays saved
    assert re.search(r'<textarea id="theirs"[^>]*readonly[^>]*>' + re.escape(theirs), html)
    assert field_value(html, "body") == yours  # yours, ready to merge
    diff = html.split('<ol class="diff"')[1].split("</ol>")[0]
    assert "Segunda línea corregida</del>" in diff and "Tercera línea</ins>" in diff
    current = etag_in(html)
    assert current != base and current == api_memo(pages, memo)["etag"]
    assert 'role="alert"' in html

    merged = "Primera línea\n\nSegunda línea corregida\n\nTercera línea"
    form = {"title": "Hoja de ruta", "body": merged, "etag": current, "merging": "1"}
    preview = html_of(edit(pages, "member", memo, preview="1", **form))
    assert "<p>Tercera línea</p>" in preview.split('id="memo_preview"')[1]
    assert 'id="theirs"' in preview and "Tercera línea</ins>" in preview  # both still shown

    response = edit(pages, "member", memo, **form)

    assert response.status_code == 303
    assert revisions(pages, memo) == ["Primera línea\n\nSegunda línea", theirs, merged]


def test_a_stale_save_of_the_same_text_is_no_conflict_and_lines_end_with_lf(pages, memo):
    base = etag_in(html_of(pages("member").get(f"/memos/{memo}/edit")))
    edit(pages, "coordinator", memo, title="Hoja de ruta", body="Igual\r\n\r\nlínea", etag=base)

    # Browsers end a text area's lines with CRLF: the same text, whatever its line ends.
    response = edit(
        pages, "member", memo, title="Hoja de ruta", body="Igual\r\n\r\nlínea", etag=base
    )

    assert response.status_code == 303
    assert revisions(pages, memo) == ["Primera línea\n\nSegunda línea", "Igual\n\nlínea"]


def test_a_save_without_the_version_it_is_based_on_is_treated_as_stale(pages, memo):
    html = html_of(edit(pages, "member", memo, title="Hoja de ruta", body="Sin versión"), 409)

    assert field_value(html, "body") == "Sin versión"
    assert api_memo(pages, memo)["body"] == "Primera línea\n\nSegunda línea"


def test_the_editor_offers_the_notice_of_a_newer_version_to_its_script(pages, memo):
    html = html_of(pages("member").get(f"/memos/{memo}/edit"))

    assert f'data-event="live:item-{memo}"' in html and 'id="memo-newer-notice"' in html
    assert f'href="/memos/{memo}/revisions?old=1#compare"' in html
    assert 'src="/static/js/memo-editor.js"' in html


# --- revisions ------------------------------------------------------------------


@pytest.fixture
def three_revisions(pages, memo):
    for body in ("Primera línea\n\nSegunda línea cambiada", "Otra cosa"):
        answer = pages("member").patch(f"/api/v1/memos/{memo}", json={"body": body})
        assert answer.status_code == 200
    return memo


@pytest.mark.parametrize(
    ("who", "status", "may_restore"),
    [("coordinator", 200, True), ("member", 200, True), ("observer", 200, False),
     ("outsider", 404, False)],
)  # fmt: skip
def test_the_revisions_page_compares_the_two_newest_and_restore_is_for_editors(
    pages, three_revisions, who, status, may_restore
):
    memo = three_revisions

    html = html_of(pages(who).get(f"/memos/{memo}/revisions"), status)

    if status == 200:
        assert html.count('class="revision-head"') == 3
        assert f'href="/memos/{memo}/revisions?old=1&amp;new=2#compare"' in html
        diff = html.split('<ol class="diff"')[1].split("</ol>")[0]
        assert "Segunda línea cambiada</del>" in diff and "Otra cosa</ins>" in diff
        assert (f'action="/memos/{memo}/revisions/1/restore"' in html) is may_restore
        assert f'action="/memos/{memo}/revisions/3/restore"' not in html  # the current one


def test_any_two_revisions_compare(pages, three_revisions):
    html = html_of(pages("observer").get(f"/memos/{three_revisions}/revisions?old=1&new=2"))

    diff = html.split('<ol class="diff"')[1].split("</ol>")[0]
    assert "Segunda línea</del>" in diff and "Segunda línea cambiada</ins>" in diff
    assert "Primera línea" in diff  # context
    assert field_value(html, "old") == "1" and field_value(html, "new") == "2"


def test_comparing_a_revision_that_does_not_exist_says_so_beside_the_field(pages, three_revisions):
    path = f"/memos/{three_revisions}/revisions"
    missing = html_of(pages("member").get(path + "?old=9&new=2"), 400)
    unreadable = html_of(pages("member").get(path + "?old=1&new=x"), 400)

    assert 'id="old-error"' in missing and 'id="new-error"' not in missing
    assert 'id="new-error"' in unreadable
    assert field_value(missing, "old") == "9" and field_value(unreadable, "new") == "x"
    assert '<ol class="diff"' not in missing + unreadable


def test_restoring_makes_an_old_text_current_as_a_new_revision(pages, three_revisions):
    memo = three_revisions

    response = pages("member").post(f"/memos/{memo}/revisions/1/restore")

    assert response.status_code == 303 and response.headers["Location"] == f"/memos/{memo}"
    first = "Primera línea\n\nSegunda línea"
    assert api_memo(pages, memo)["body"] == first
    assert revisions(pages, memo)[-1] == first and len(revisions(pages, memo)) == 4


@pytest.mark.parametrize(("who", "status"), [("observer", 403), ("outsider", 404)])
def test_who_may_not_edit_may_not_restore(pages, three_revisions, who, status):
    response = pages(who).post(f"/memos/{three_revisions}/revisions/1/restore")

    assert response.status_code == status
    assert api_memo(pages, three_revisions)["body"] == "Otra cosa"


def test_restoring_a_revision_that_does_not_exist_is_not_found(pages, memo):
    assert pages("member").post(f"/memos/{memo}/revisions/7/restore").status_code == 404


def test_the_page_asks_which_groups_are_the_viewers_only_when_the_item_is_shared(
    app, pages, world, memo
):
    """Those decide which shares a reader sees: with none, there is nothing to decide."""
    mine = "SELECT memberships.workspace_id \nFROM memberships \nWHERE memberships.user_id"
    with statements_of(app) as alone:
        html_of(pages("member").get(f"/memos/{memo}"))
    assert not [s for s in alone if s.startswith(mine)]

    shared = pages("coordinator").post(
        f"/api/v1/items/{memo}/shares", json={"workspace_id": world.other_ws_id}
    )
    assert shared.status_code == 201
    with statements_of(app) as statements:
        html = html_of(pages("member").get(f"/memos/{memo}"))
    assert len([s for s in statements if s.startswith(mine)]) == 1
    assert "Grupo Reservado" in html
