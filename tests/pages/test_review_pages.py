"""The secretariat's review pages: the queue, the preview, approve and reject by form.
(The people of the test world have Spanish as their language.)"""

from __future__ import annotations

import pytest

from ..public.conftest import published_world  # noqa: F401  # the fixture

EN = {"Accept-Language": "en"}


def _page(as_user, user, path):
    return as_user(user).client.get(path, headers=EN)


def _csrf(html: str) -> str:
    return html.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]


@pytest.mark.parametrize(
    ("role", "status"),
    [("outsider", 403), ("observer", 403), ("member", 403), ("coordinator", 403),
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
