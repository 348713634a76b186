"""Sharing, comments, the activity feed and the trash, as members live them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.events import utcnow
from portal.extensions import db
from portal.workspaces.models import Item


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
