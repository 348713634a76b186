"""What every item's page has, whatever its kind: comments, sharing, publication and the
trash, each control for the roles that may use it, and refusals as pages.

The data is `item_world`: a memo of `ws` shared with a group for view (`viewer`) and one
for edit (`editor`), and a memo in the trash. Pages are read in English (the language
cookie), so the assertions read as the interface's source strings."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from portal import pages, permissions
from portal.extensions import db
from portal.workspaces import kinds
from portal.workspaces.views import TRASH_PER_PAGE, item_context

from ..workspaces.test_item_queries import count_queries

ROLES = ["outsider", "observer", "member", "coordinator", "secretariat", "viewer", "editor"]


@pytest.fixture
def item_page(app, monkeypatch):
    """`item_page(id)`: the address of a memo's page. The memos' own page once they have
    pages; until then a stand-in that renders the frame every kind's page extends
    (workspaces/item.html, with the panels) at the address of the public item page."""
    if kinds.pages_of("memo") is None:

        def stand_in(item_id: int, slug: str = "") -> str:
            item, access = permissions.load_item_access(item_id)
            return pages.render("workspaces/item.html", **item_context(item, access))

        stand_in_pages = kinds.Pages(
            item="public.item_page", listing="work.group_page", new="work.group_page"
        )
        monkeypatch.setitem(kinds._pages, "memo", stand_in_pages)
        wrapped = pages.page(access=permissions.signed_in)(stand_in)
        monkeypatch.setitem(app.view_functions, "public.item_page", wrapped)

    def address(item_id: int) -> str:
        with app.test_request_context():
            return kinds.page_url(SimpleNamespace(kind="memo", id=item_id))

    return address


@pytest.fixture
def browse(app, item_world):
    """`browse(role)`: a test client signed in as the role's person, reading English,
    sending the CSRF token with every form."""
    from ..conftest import ApiClient, sign_in_session

    def make(role: str):
        client = ApiClient(app.test_client())
        sign_in_session(client.client, getattr(item_world, role))
        client.fetch_csrf()
        client.client.set_cookie("portal_lang", "en")
        return client.client

    return make


def _html(response) -> str:
    return response.get_data(as_text=True)


# --- what each role sees -------------------------------------------------------------

# The form of each panel, by its action, and who sees it.
FORMS = {
    "comments": {"member", "coordinator", "secretariat", "viewer", "editor"},
    "shares": {"coordinator", "secretariat"},
    "publication": {"coordinator", "secretariat"},
    "trash": {"coordinator", "secretariat"},
}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_the_controls_it_may_use_and_no_other(item_world, item_page, browse, role):
    response = browse(role).get(item_page(item_world.memo_id))

    if role == "outsider":
        assert response.status_code == 404 and "Page not found" in _html(response)
        return
    html = _html(response)
    assert response.status_code == 200
    for action, roles in FORMS.items():
        shown = f'action="/items/{item_world.memo_id}/{action}"' in html
        assert shown == (role in roles), (action, role)
    unshare = f'action="/items/{item_world.memo_id}/shares/{item_world.view_ws_id}/delete"'
    assert (unshare in html) == (role in FORMS["shares"])
    assert 'id="item_comments"' in html and f"live:item-{item_world.memo_id} from:body" in html


def test_the_sharing_list_shows_a_sharing_group_only_its_own_share(item_world, item_page, browse):
    coordinator = _html(browse("coordinator").get(item_page(item_world.memo_id)))
    viewer = _html(browse("viewer").get(item_page(item_world.memo_id)))

    assert "Grupo viewer" in coordinator and "Grupo editor" in coordinator
    assert "Grupo viewer" in viewer and "Grupo editor" not in viewer
    assert "may read and comment" in viewer


# --- every route, by every role --------------------------------------------------------

# (method, path, form, expected status by role in ROLES order)
ROUTES = [
    ("POST", "/items/{memo}/comments", {"body": "De acuerdo"}, "404 403 303 303 303 303 303"),
    (
        "POST",
        "/items/{memo}/shares",
        {"workspace_id": "{other_ws}", "permission": "view"},
        "404 403 403 303 303 403 403",
    ),
    ("POST", "/items/{memo}/shares/{view_ws}/delete", {}, "404 403 403 303 303 403 403"),
    ("POST", "/items/{memo}/publication", {"note": "Lista"}, "404 403 403 303 303 403 403"),
    ("POST", "/items/{memo}/trash", {}, "404 403 403 200 200 403 403"),
    ("POST", "/items/{memo}/trash", {"confirm": "yes"}, "404 403 403 303 303 403 403"),
    ("POST", "/items/{trashed}/restore", {}, "404 404 404 303 303 404 404"),
    ("GET", "/trash", None, "200 200 200 200 200 200 200"),
]


@pytest.mark.parametrize(
    "case", ROUTES, ids=[f"{m} {p} {sorted(f or {})}" for m, p, f, _ in ROUTES]
)
@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_role_with_a_page(item_world, item_page, browse, role, case):
    method, path, form, expected = case
    ids = {
        "memo": item_world.memo_id,
        "trashed": item_world.trashed_id,
        "other_ws": item_world.other_ws_id,
        "view_ws": item_world.view_ws_id,
    }
    path = path.format(**ids)
    data = {k: str(ids[v[1:-1]]) if v.startswith("{") else v for k, v in (form or {}).items()}

    response = browse(role).open(path, method=method, data=data)

    assert response.status_code == int(expected.split()[ROLES.index(role)])
    if response.status_code >= 400:
        assert response.mimetype == "text/html" and "Traceback" not in _html(response)
    if response.status_code == 403:
        assert "You may not do this" in _html(response)
        assert "does not let you change it" in _html(response)


# --- comments --------------------------------------------------------------------------


def test_a_comment_is_added_shown_as_sanitized_markdown_and_the_page_returns_to_it(
    item_world, item_page, browse
):
    client = browse("viewer")
    body = "Estoy **de acuerdo** <script>alert(1)</script>"

    response = client.post(f"/items/{item_world.memo_id}/comments", data={"body": body})

    assert response.status_code == 303
    assert response.headers["Location"] == item_page(item_world.memo_id) + "#item_comments"
    html = _html(client.get(item_page(item_world.memo_id)))
    assert "<strong>de acuerdo</strong>" in html and "<script>alert" not in html
    assert "Viewer Person" in html and "Your comment was added." in html


def test_a_refused_comment_shows_the_error_beside_the_field_and_keeps_the_text(
    item_world, item_page, browse
):
    client = browse("member")
    too_long = "palabra " * 2600

    empty = client.post(f"/items/{item_world.memo_id}/comments", data={"body": ""})
    long = client.post(f"/items/{item_world.memo_id}/comments", data={"body": too_long})

    assert empty.status_code == 400 and 'id="body-error"' in _html(empty)
    assert 'aria-invalid="true"' in _html(empty)
    assert long.status_code == 400 and "Keep it to 20000 characters." in _html(long)
    assert too_long.strip() in _html(long)
    assert "Hoja de ruta de la Ventanilla Única" in _html(long)  # the item's own page


def test_the_comments_panel_refreshes_alone_when_htmx_asks(item_world, item_page, browse):
    client = browse("member")
    client.post(f"/items/{item_world.memo_id}/comments", data={"body": "Primera nota"})

    response = client.get(
        item_page(item_world.memo_id), headers={"HX-Request": "true", "HX-Target": "item_comments"}
    )

    html = _html(response)
    assert html.lstrip().startswith('<section id="item_comments"')
    assert "Primera nota" in html and "<html" not in html


def test_the_items_header_refreshes_alone_too(item_world, item_page, browse):
    response = browse("member").get(
        item_page(item_world.memo_id), headers={"HX-Request": "true", "HX-Target": "item_header"}
    )

    assert _html(response).lstrip().startswith('<header id="item_header"')


def test_the_page_costs_the_same_queries_with_1_or_many_comments_and_shares(
    app, item_world, item_page, browse
):
    client = browse("coordinator")
    path = item_page(item_world.memo_id)
    client.post(f"/items/{item_world.memo_id}/comments", data={"body": "Una"})
    client.get(path)
    with count_queries(app) as few:
        client.get(path)
    for role in ("member", "viewer", "editor", "secretariat"):
        browse(role).post(f"/items/{item_world.memo_id}/comments", data={"body": role})
    client.post(
        f"/items/{item_world.memo_id}/shares",
        data={"workspace_id": item_world.other_ws_id, "permission": "edit"},
    )
    with count_queries(app) as many:
        client.get(path)

    assert len(many) == len(few)


# --- sharing ---------------------------------------------------------------------------


def test_a_coordinator_shares_with_another_group_and_stops_sharing(item_world, item_page, browse):
    client = browse("coordinator")
    memo = item_world.memo_id

    shared = client.post(
        f"/items/{memo}/shares",
        data={"workspace_id": item_world.other_ws_id, "permission": "edit"},
    )
    assert shared.status_code == 303 and shared.headers["Location"].endswith("#item_sharing")
    html = _html(client.get(item_page(memo)))
    assert "Shared with Grupo Reservado de Aduanas." in html
    assert browse("outsider").get(item_page(memo)).status_code == 200

    stopped = client.post(f"/items/{memo}/shares/{item_world.other_ws_id}/delete")

    assert stopped.status_code == 303
    assert "No longer shared with Grupo Reservado de Aduanas." in _html(client.get(item_page(memo)))
    assert browse("outsider").get(item_page(memo)).status_code == 404


def test_sharing_with_the_owner_group_is_refused_beside_the_field(item_world, item_page, browse):
    response = browse("coordinator").post(
        f"/items/{item_world.memo_id}/shares",
        data={"workspace_id": item_world.ws_id, "permission": "view"},
    )

    assert response.status_code == 400
    assert 'id="workspace_id-error"' in _html(response)


# --- publication -----------------------------------------------------------------------


def test_submitting_for_publication_shows_the_state_and_a_rejection_shows_its_reason(
    item_world, item_page, browse, as_user
):
    client = browse("coordinator")
    memo = item_world.memo_id

    response = client.post(f"/items/{memo}/publication", data={"note": "Lista para publicar"})

    assert response.status_code == 303 and response.headers["Location"].endswith(
        "#item_publication"
    )
    html = _html(client.get(item_page(memo)))
    assert "Submitted for publication" in html and "Lista para publicar" in html
    assert '<details class="resubmit">' in html  # submitting again is for after a change
    review = f'href="/review/{memo}"'
    assert review in _html(browse("secretariat").get(item_page(memo))) and review not in html
    rejected = as_user(item_world.secretariat).post(
        f"/items/{memo}/publication", {"action": "reject", "note": "Falta la fuente de datos"}
    )
    assert rejected.status_code == 200
    for role in ("coordinator", "observer"):
        html = _html(browse(role).get(item_page(memo)))
        assert "Publication rejected" in html and "Falta la fuente de datos" in html


def test_a_note_too_long_is_refused_beside_the_field_and_kept(item_world, item_page, browse):
    note = "n" * 2001

    response = browse("coordinator").post(
        f"/items/{item_world.memo_id}/publication", data={"note": note}
    )

    assert response.status_code == 400
    assert 'id="note-error"' in _html(response) and note in _html(response)


def test_submitting_twice_unchanged_answers_a_page_that_says_why(item_world, item_page, browse):
    client = browse("coordinator")
    client.post(f"/items/{item_world.memo_id}/publication", data={"note": ""})

    again = client.post(f"/items/{item_world.memo_id}/publication", data={"note": ""})

    assert again.status_code == 409
    assert "already waiting for the secretariat's review" in _html(again)


# --- the trash -------------------------------------------------------------------------


def test_moving_to_the_trash_asks_first_then_offers_to_undo(item_world, item_page, browse):
    client = browse("coordinator")
    memo = item_world.memo_id

    asked = client.post(f"/items/{memo}/trash")
    assert asked.status_code == 200 and 'name="confirm" value="yes"' in _html(asked)
    assert client.get(item_page(memo)).status_code == 200  # nothing happened yet

    done = client.post(f"/items/{memo}/trash", data={"confirm": "yes"})

    assert done.status_code == 303
    assert done.headers["Location"] == f"/groups/{item_world.ws_id}"
    group = _html(client.get(done.headers["Location"]))
    assert "was moved to the trash" in group
    assert f'action="/items/{memo}/restore"' in group
    assert browse("member").get(item_page(memo)).status_code == 404
    undone = client.post(f"/items/{memo}/restore")
    assert undone.status_code == 303 and undone.headers["Location"] == item_page(memo)
    assert browse("member").get(item_page(memo)).status_code == 200


def test_the_trash_page_lists_who_deleted_what_with_a_restore_button(item_world, item_page, browse):
    client = browse("coordinator")

    html = _html(client.get("/trash"))

    assert "Borrador descartado" in html and "Deleted by Coordinator Person" in html
    assert "deleted for good on" in html
    assert f'action="/items/{item_world.trashed_id}/restore"' in html
    restored = client.post(f"/items/{item_world.trashed_id}/restore", data={"back": "trash"})
    assert restored.status_code == 303 and restored.headers["Location"] == "/trash"
    after = _html(client.get("/trash"))
    assert "“Borrador descartado” is back in its working group." in after
    assert f'action="/items/{item_world.trashed_id}/restore"' not in after


def test_the_trash_page_says_who_may_see_a_trash_to_those_without_one(item_world, browse):
    html = _html(browse("member").get("/trash"))

    assert "Borrador descartado" not in html
    assert "Only the coordinators of a working group see its trash" in html


def test_the_trash_is_paginated_in_a_fixed_number_of_queries(app, item_world, browse):
    from portal.accounts.models import User
    from portal.memos import service as memos_service
    from portal.workspaces import items_service
    from portal.workspaces.models import Workspace

    with app.app_context():
        coordinator = db.session.get(User, item_world.coordinator.id)
        ws = db.session.get(Workspace, item_world.ws_id)
        for n in range(TRASH_PER_PAGE + 4):
            memo = memos_service.create_memo(coordinator, ws, title=f"Nota {n:02d}", body="x")
            items_service.move_to_trash(coordinator, memo)
        db.session.remove()
    client = browse("coordinator")
    client.get("/trash")

    with count_queries(app) as first:
        page_one = _html(client.get("/trash"))
    with count_queries(app) as second:
        page_two = _html(client.get("/trash?page=2"))

    assert page_one.count('name="back" value="trash"') == TRASH_PER_PAGE
    assert page_two.count('name="back" value="trash"') == 5  # 4 + the world's trashed memo
    assert 'rel="next"' in page_one and 'rel="prev"' in page_two
    assert len(first) == len(second)


# --- refusals as pages -----------------------------------------------------------------


def test_changing_an_item_in_the_trash_answers_a_page_that_says_so(item_world, browse):
    response = browse("coordinator").post(
        f"/items/{item_world.trashed_id}/comments", data={"body": "Hola"}
    )

    assert response.status_code == 409
    assert "This cannot be changed now" in _html(response)
    assert "This item is in the trash: restore it before changing it." in _html(response)


def test_changing_an_item_of_an_archived_group_answers_a_page_that_says_so(
    item_world, browse, as_user
):
    archived = as_user(item_world.secretariat).patch(
        f"/workspaces/{item_world.ws_id}", {"archived": True}
    )
    assert archived.status_code == 200

    response = browse("member").post(f"/items/{item_world.memo_id}/comments", data={"body": "Hola"})

    assert response.status_code == 409
    assert "This working group is archived" in _html(response)


def test_a_refusal_is_a_page_in_the_viewers_language(item_world, browse):
    client = browse("observer")
    client.set_cookie("portal_lang", "es")

    response = client.post(f"/items/{item_world.memo_id}/comments", data={"body": "Hola"})

    assert response.status_code == 403 and response.mimetype == "text/html"
    assert '<html lang="es"' in _html(response)
