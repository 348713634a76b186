"""The secretariat's review pages: the queue, the preview, approve and reject by form.
(The people of the test world have Spanish as their language.)"""

from __future__ import annotations

import pytest

from ..documents import samples
from ..documents.conftest import upload
from ..public.conftest import published_world  # noqa: F401  # the fixture
from ..workspaces.test_item_access import ITEM_ROLES, by_every_role

EN = {"Accept-Language": "en"}


def _page(as_user, user, path):
    return as_user(user).client.get(path, headers=EN)


def _csrf(html: str) -> str:
    return html.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]


@pytest.mark.parametrize(
    ("role", "status"),
    [("outsider", 404), ("observer", 404), ("member", 404), ("coordinator", 404),
     ("secretariat", 200)],
)  # fmt: skip
def test_only_the_secretariat_sees_the_queue(as_user, published_world, role, status):  # noqa: F811
    queue = _page(as_user, getattr(published_world, role), "/review")
    item = _page(as_user, getattr(published_world, role), f"/review/{published_world.pending_id}")

    assert queue.status_code == status and item.status_code == status
    if status == 200:
        assert "Propuesta en revisión" in queue.get_data(as_text=True)
        assert "Hoja de ruta" not in queue.get_data(as_text=True)  # not submitted


def test_a_visitor_is_sent_to_sign_in(app):
    response = app.test_client().get("/review", headers=EN)

    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_preview_shows_what_approval_publishes_and_approving_publishes_it(
    as_user,
    api,
    published_world,  # noqa: F811
):
    secretariat = as_user(published_world.secretariat)
    path = f"/review/{published_world.pending_id}"
    html = secretariat.client.get(path, headers=EN).get_data(as_text=True)
    assert "Lo que publica la aprobación" in html and "<p>Texto</p>" in html

    response = secretariat.client.post(
        path, data={"action": "approve", "csrf_token": _csrf(html)}, headers=EN
    )

    assert response.status_code == 303 and response.headers["Location"].endswith("/review")
    assert api.get(f"/public/items/{published_world.pending_id}").status_code == 200
    queue = secretariat.client.get("/review", headers=EN).get_data(as_text=True)
    assert "Publicado: Propuesta en revisión" in queue and "Nada espera revisión." in queue


def test_rejecting_needs_a_reason_and_the_csrf_token(as_user, api, published_world):  # noqa: F811
    secretariat = as_user(published_world.secretariat)
    path = f"/review/{published_world.pending_id}"
    csrf = _csrf(secretariat.client.get(path, headers=EN).get_data(as_text=True))

    no_reason = secretariat.client.post(
        path, data={"action": "reject", "csrf_token": csrf}, headers=EN
    )
    no_token = secretariat.client.post(
        path, data={"action": "reject", "reason": "Incompleto"}, headers=EN
    )
    assert no_reason.status_code == 400 and "Indique por qué se rechaza." in no_reason.get_data(
        as_text=True
    )
    assert no_token.status_code == 400
    state = secretariat.get(f"/items/{published_world.pending_id}/publication").get_json()
    assert state["publication"] == "submitted"

    rejected = secretariat.client.post(
        path, data={"action": "reject", "reason": "Incompleto", "csrf_token": csrf}, headers=EN
    )
    assert rejected.status_code == 303
    state = secretariat.get(f"/items/{published_world.pending_id}/publication").get_json()
    assert state["publication"] == "rejected" and state["requests"][0]["reason"] == "Incompleto"


def test_an_unknown_item_answers_the_friendly_404(as_user, published_world):  # noqa: F811
    response = _page(as_user, published_world.secretariat, "/review/999999")

    assert response.status_code == 404 and "text/html" in response.content_type


# --- what approval publishes is what was submitted and reviewed -------------------------------


def _version(html: str) -> str:
    return html.split('name="version" type="hidden" value="')[1].split('"')[0]


def _edit_memo(as_user, user, memo_id, body):
    client = as_user(user)
    etag = client.get(f"/memos/{memo_id}").headers["ETag"]
    edited = client.patch(f"/memos/{memo_id}", {"body": body}, headers={"If-Match": etag})
    assert edited.status_code == 200, edited.get_json()


def test_a_change_after_submission_is_shown_as_a_diff_and_not_offered_for_approval(
    as_user,
    api,
    published_world,  # noqa: F811
):
    world = published_world
    secretariat = as_user(world.secretariat)
    path = f"/review/{world.pending_id}"
    _edit_memo(
        as_user, world.member, world.pending_id, "Texto\n\nAñadido <script>alert(1)</script>"
    )

    html = secretariat.client.get(path, headers=EN).get_data(as_text=True)

    assert "Este elemento cambió después de enviarse" in html
    assert "<p>Texto</p>" in html  # the preview is what was submitted
    assert '<ins><span class="visually-hidden">Ahora: </span>Añadido &lt;script&gt;' in html
    assert "<script>alert(1)" not in html
    assert 'value="approve"' not in html and 'value="reject"' in html


def test_approving_from_a_stale_preview_shows_the_message_instead_of_publishing(
    as_user,
    api,
    published_world,  # noqa: F811
):
    world = published_world
    secretariat = as_user(world.secretariat)
    path = f"/review/{world.pending_id}"
    opened = secretariat.client.get(path, headers=EN).get_data(as_text=True)
    _edit_memo(as_user, world.member, world.pending_id, "Texto revisado")
    submitted = as_user(world.coordinator).post(
        f"/items/{world.pending_id}/publication", {"action": "submit"}
    )
    assert submitted.status_code == 200  # submitted again: the preview opened above is stale
    form = {"action": "approve", "csrf_token": _csrf(opened), "version": _version(opened)}

    response = secretariat.client.post(path, data=form, headers=EN)

    assert response.status_code == 303 and response.headers["Location"].endswith(path)
    assert api.get(f"/public/items/{world.pending_id}").status_code == 404
    again = secretariat.client.get(path, headers=EN).get_data(as_text=True)
    assert "No se publicó: la solicitud cambió desde que la abrió." in again
    assert "<p>Texto revisado</p>" in again and "cambió después de enviarse" not in again
    form = {"action": "approve", "csrf_token": _csrf(again), "version": _version(again)}
    assert secretariat.client.post(path, data=form, headers=EN).status_code == 303
    public = api.get(f"/public/items/{world.pending_id}").get_json()
    assert public["body_html"] == "<p>Texto revisado</p>\n"


@pytest.fixture
def pending_document(as_user, published_world):  # noqa: F811
    """`published_world` with its published document submitted again."""
    submitted = as_user(published_world.coordinator).post(
        f"/items/{published_world.document_id}/publication", {"action": "submit"}
    )
    assert submitted.status_code == 200
    return published_world


def test_the_preview_names_the_community_and_state_and_opens_the_file_submitted(
    as_user, api, pending_document
):
    world = pending_document
    secretariat = as_user(world.secretariat)
    path = f"/review/{world.document_id}"
    community = api.get(f"/communities/{world.community_id}").get_json()["name"]
    submitted = secretariat.get(f"/documents/{world.document_id}/download?version=1").data
    newer = upload(
        as_user(world.member),
        world.ws_id,
        samples.pdf("Versión preliminar secreta"),
        "Estudio_v2.pdf",
        path=f"/documents/{world.document_id}/versions",
    )
    assert newer.status_code == 201

    html = secretariat.client.get(path, headers=EN).get_data(as_text=True)

    assert community in html and "Colombia" in html
    assert f'href="{path}/file"' in html and "Estudio_Cartagena.pdf" in html
    assert "Estudio_v2.pdf" in html.split('id="changes-title"')[1]  # the diff names it
    opened = secretariat.client.get(f"{path}/file")
    assert opened.status_code == 200 and opened.data == submitted
    assert "attachment" in opened.headers["Content-Disposition"]


@by_every_role([("GET", "/review/{document}/file", None, "302 404 404 404 404 200 404 404")])
def test_only_the_secretariat_opens_the_file_submitted(app, as_user, pending_document, role, case):
    _method, path, _body, expected = case
    statuses = dict(zip(ITEM_ROLES, (int(s) for s in expected.split()), strict=True))

    response = as_user(getattr(pending_document, role)).client.get(
        path.format(document=pending_document.document_id), headers=EN
    )

    assert response.status_code == statuses[role]
    if role == "secretariat":
        assert response.data.startswith(b"%PDF")
    else:
        assert b"%PDF" not in response.data


def test_there_is_no_file_to_open_without_a_pending_document(as_user, published_world):  # noqa: F811
    secretariat = as_user(published_world.secretariat)

    memo = secretariat.client.get(f"/review/{published_world.pending_id}/file", headers=EN)
    not_pending = secretariat.client.get(f"/review/{published_world.document_id}/file", headers=EN)

    assert memo.status_code == 404 and not_pending.status_code == 404
    assert "text/html" in not_pending.content_type
