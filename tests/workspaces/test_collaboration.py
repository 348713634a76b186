"""Memos, sharing, comments, the activity feed and the trash, as members live them."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from portal.events import utcnow
from portal.extensions import db
from portal.workspaces.models import Item


def test_memo_body_is_rendered_sanitized(as_user, item_world):
    member = as_user(item_world.member)

    memo = member.post(
        f"/workspaces/{item_world.ws_id}/memos",
        {"title": "Notas", "body": "**Acuerdo** sobre la [ventanilla](https://vuce.example)"},
    ).get_json()

    assert memo["kind"] == "memo" and memo["workspace_id"] == item_world.ws_id
    assert memo["created_by"] == {"id": item_world.member.id, "name": "Member Person"}
    assert "<strong>Acuerdo</strong>" in memo["body_html"]
    assert 'href="https://vuce.example"' in memo["body_html"]


XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src="x" onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<svg onload="alert(1)"><circle r="1"/></svg>',
    '<a href="javascript:alert(1)">x</a>',
    '<iframe src="https://evil.example"></iframe>',
    "![x](javascript:alert(1))",
    '<p style="background:url(javascript:alert(1))">x</p>',
]


class _Inspector(HTMLParser):
    """Collects what a browser would act on: tags, event handlers, URL schemes, styles."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "svg", "iframe", "object", "embed", "style", "img", "math"}:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            scheme = (value or "").strip().lower().split(":", 1)[0]
            if name.startswith("on") or name == "style":
                self.found.append(f"{tag}[{name}]")
            elif name in {"href", "src"} and scheme in {"javascript", "data", "vbscript"}:
                self.found.append(f"{tag}[{name}={scheme}:]")


def _dangerous_markup(html: str) -> list[str]:
    inspector = _Inspector()
    inspector.feed(html)
    return inspector.found


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_no_script_survives_the_sanitizer(as_user, item_world, payload):
    memo = (
        as_user(item_world.member)
        .post(f"/workspaces/{item_world.ws_id}/memos", {"title": "XSS", "body": payload})
        .get_json()
    )

    assert _dangerous_markup(memo["body_html"]) == []
    assert memo["body"] == payload  # the source is kept as written


def test_memo_revisions_are_kept_and_restorable(as_user, item_world):
    member = as_user(item_world.member)
    url = f"/memos/{item_world.memo_id}"
    member.patch(url, {"body": "Segunda versión"})
    member.patch(url, {"title": "Solo el título"})  # no new body revision

    revisions = member.get(f"{url}/revisions").get_json()
    restored = member.post(f"{url}/revisions/1/restore").get_json()

    assert [r["number"] for r in revisions["items"]] == [2, 1]
    assert revisions["items"][1]["body"] == "Primera versión"
    assert restored["body"] == "Primera versión"
    assert member.get(f"{url}/revisions").get_json()["total"] == 3


def test_stale_if_match_gets_409_with_the_current_memo(as_user, item_world):
    first, second = as_user(item_world.member), as_user(item_world.coordinator)
    url = f"/memos/{item_world.memo_id}"
    etag = first.get(url).headers["ETag"]

    saved = second.patch(url, {"body": "Versión de la coordinación"}, headers={"If-Match": etag})
    stale = first.patch(url, {"body": "Versión del miembro"}, headers={"If-Match": etag})

    assert saved.status_code == 200 and saved.headers["ETag"] != etag
    assert stale.status_code == 409
    error = stale.get_json()["error"]
    assert error["code"] == "conflict"
    assert error["current"]["body"] == "Versión de la coordinación"
    assert first.get(url).get_json()["body"] == "Versión de la coordinación"


def test_shared_item_appears_marked_in_the_other_groups_list(as_user, item_world):
    viewer = as_user(item_world.viewer)

    listed = viewer.get(f"/workspaces/{item_world.view_ws_id}/items").get_json()

    assert [i["id"] for i in listed["items"]] == [item_world.memo_id]
    # A member of the view group learns of its own group's share only.
    assert listed["items"][0]["shared_with"] == [
        {"workspace_id": item_world.view_ws_id, "permission": "view"}
    ]
    owner_view = as_user(item_world.member).get(f"/memos/{item_world.memo_id}").get_json()
    assert {s["workspace_id"] for s in owner_view["shared_with"]} == {
        item_world.view_ws_id,
        item_world.edit_ws_id,
    }


def test_revoking_a_share_hides_the_item_everywhere_at_once(app, as_user, item_world):
    viewer = as_user(item_world.viewer)
    viewer.post(f"/items/{item_world.memo_id}/comments", {"body": "Visto"})
    assert viewer.get(f"/workspaces/{item_world.view_ws_id}/activity").get_json()["total"] > 0
    assert viewer.get("/me/notifications").get_json()["total"] == 1  # item.shared

    as_user(item_world.coordinator).delete(
        f"/items/{item_world.memo_id}/shares/{item_world.view_ws_id}"
    )

    assert viewer.get(f"/memos/{item_world.memo_id}").status_code == 404
    assert viewer.get(f"/items/{item_world.memo_id}/comments").status_code == 404
    assert viewer.get(f"/workspaces/{item_world.view_ws_id}/items").get_json()["total"] == 0
    feed = viewer.get(f"/workspaces/{item_world.view_ws_id}/activity").get_json()
    assert all(e["item"] is None or e["item"]["id"] != item_world.memo_id for e in feed["items"])
    assert viewer.get("/me/notifications").get_json()["total"] == 0


def test_observer_of_a_sharing_group_only_reads(app, as_user, item_world):
    from portal.accounts.models import User
    from portal.workspaces import service as workspaces
    from portal.workspaces.models import Role, Workspace

    with app.app_context():
        workspaces.set_membership(
            db.session.get(User, item_world.secretariat.id),
            db.session.get(Workspace, item_world.edit_ws_id),
            db.session.get(User, item_world.bystander.id),
            Role.observer,
        )
    bystander = as_user(item_world.bystander)

    assert bystander.get(f"/memos/{item_world.memo_id}").status_code == 200
    assert bystander.patch(f"/memos/{item_world.memo_id}", {"body": "x"}).status_code == 403


def test_comment_notifies_the_author_and_lists_in_order(as_user, item_world):
    as_user(item_world.editor).post(f"/items/{item_world.memo_id}/comments", {"body": "Uno"})
    as_user(item_world.coordinator).post(f"/items/{item_world.memo_id}/comments", {"body": "Dos"})

    comments = as_user(item_world.viewer).get(f"/items/{item_world.memo_id}/comments").get_json()
    notes = as_user(item_world.member).get("/me/notifications").get_json()

    assert [c["body"] for c in comments["items"]] == ["Uno", "Dos"]
    assert comments["items"][0]["author"]["name"] == "Editor Person"
    assert [n["event"]["verb"] for n in notes["items"]] == ["comment.created", "comment.created"]


def test_activity_feed_resumes_after_a_cursor_without_gaps(as_user, item_world):
    member = as_user(item_world.member)
    first = member.get(f"/workspaces/{item_world.ws_id}/activity?per_page=3").get_json()
    cursor = first["next_after"]

    member.patch(f"/memos/{item_world.memo_id}", {"body": "Nueva"})
    rest = member.get(f"/workspaces/{item_world.ws_id}/activity?after={cursor}&per_page=100")

    page = rest.get_json()
    ids = [e["event_id"] for e in first["items"] + page["items"]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert page["items"][-1]["verb"] == "item.updated"
    assert page["items"][-1]["item"] == {
        "id": item_world.memo_id,
        "kind": "memo",
        "title": "Hoja de ruta de la Ventanilla Única",
    }
    assert page["has_more"] is False


def test_activity_of_another_group_stays_private(as_user, item_world):
    outsider_feed = as_user(item_world.outsider).get(
        f"/workspaces/{item_world.other_ws_id}/activity"
    )

    verbs = {e["verb"] for e in outsider_feed.get_json()["items"]}
    assert "item.created" not in verbs


def test_trash_lists_restores_and_purges(app, as_user, item_world):
    coordinator = as_user(item_world.coordinator)
    assert [i["id"] for i in coordinator.get("/trash").get_json()["items"]] == [
        item_world.trashed_id
    ]
    assert as_user(item_world.member).get("/trash").get_json()["total"] == 0
    assert as_user(item_world.member).get(f"/memos/{item_world.trashed_id}").status_code == 404

    restored = coordinator.post(f"/items/{item_world.trashed_id}/restore")
    assert restored.status_code == 200 and "deleted_at" not in restored.get_json()
    assert as_user(item_world.member).get(f"/memos/{item_world.trashed_id}").status_code == 200

    coordinator.delete(f"/memos/{item_world.trashed_id}")
    with app.app_context():
        item = db.session.get(Item, item_world.trashed_id)
        item.deleted_at = utcnow() - timedelta(days=31)
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["portal", "purge"])

    assert "Purged 1 item" in result.output
    with app.app_context():
        assert db.session.scalar(select(Item.id).where(Item.id == item_world.trashed_id)) is None


def test_trashed_item_cannot_be_edited_until_restored(as_user, item_world):
    response = as_user(item_world.coordinator).patch(
        f"/memos/{item_world.trashed_id}", {"body": "x"}
    )

    assert response.status_code == 409


def test_share_target_must_be_another_existing_group(as_user, item_world):
    coordinator = as_user(item_world.coordinator)

    own = coordinator.post(
        f"/items/{item_world.memo_id}/shares", {"workspace_id": item_world.ws_id}
    )
    missing = coordinator.post(f"/items/{item_world.memo_id}/shares", {"workspace_id": 999})

    assert own.status_code == missing.status_code == 400
