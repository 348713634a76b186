"""The console's first page, and its gate: to anyone but the secretariat it does not exist."""

from __future__ import annotations

import pytest

EN = {"Accept-Language": "en"}


@pytest.mark.parametrize(
    ("role", "status"),
    [("outsider", 404), ("observer", 404), ("member", 404), ("coordinator", 404),
     ("secretariat", 200)],
)  # fmt: skip
def test_only_the_secretariat_reaches_the_console(as_user, world, role, status):
    client = as_user(getattr(world, role)).client
    client.set_cookie("portal_lang", "en")

    response = client.get("/console")

    assert response.status_code == status
    html = response.get_data(as_text=True)
    if status == 200:
        assert "s console</h1>" in html and 'href="/review"' in html
    else:
        assert "Console" not in html  # neither the menu nor the header link


def test_a_visitor_is_sent_to_sign_in(app):
    response = app.test_client().get("/console", headers=EN)

    assert response.status_code == 302 and "/login" in response.headers["Location"]
