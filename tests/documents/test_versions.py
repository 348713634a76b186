"""Versions, restore, check-out and the events every change records."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.accounts.models import User
from portal.events import Event, utcnow
from portal.extensions import db
from portal.workspaces.models import Item

from .conftest import upload


def _new_document(client, world, data=b"v1", name="acta.txt"):
    response = upload(client, world.ws_id, data, name)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _verbs(app, document_id):
    with app.app_context():
        return list(
            db.session.scalars(
                select(Event.verb).where(Event.item_id == document_id).order_by(Event.id)
            )
        )


def test_versions_are_numbered_listed_and_downloadable(app, world, as_user, store):
    member = as_user(world.member)
    document = _new_document(member, world)

    second = upload(
        member, world.ws_id, b"v2", "acta-2.txt", path=f"/documents/{document['id']}/versions"
    )

    assert second.status_code == 201
    assert second.get_json()["current_version"] == 2
    assert second.get_json()["file"]["filename"] == "acta-2.txt"
    listing = member.get(f"/documents/{document['id']}/versions").get_json()
    assert [v["number"] for v in listing["items"]] == [2, 1]
    assert listing["items"][0]["current"] is True
    assert listing["items"][1]["uploaded_by"]["name"] == world.member.name
    assert member.get(f"/documents/{document['id']}/download").data == b"v2"
    assert member.get(f"/documents/{document['id']}/download?version=1").data == b"v1"
    assert member.get(f"/documents/{document['id']}/download?version=9").status_code == 404
    assert _verbs(app, document["id"]) == ["item.created", "document.version_added"]


def test_restore_makes_an_old_version_current_as_a_new_one(app, world, as_user, store):
    member = as_user(world.member)
    document = _new_document(member, world)
    upload(member, world.ws_id, b"v2", "acta.txt", path=f"/documents/{document['id']}/versions")

    restored = member.post(f"/documents/{document['id']}/versions/1/restore")

    assert restored.status_code == 201
    assert restored.get_json()["current_version"] == 3
    assert restored.get_json()["file"]["restored_from"] == 1
    assert member.get(f"/documents/{document['id']}/download").data == b"v1"
    assert member.post(f"/documents/{document['id']}/versions/7/restore").status_code == 404
    assert _verbs(app, document["id"])[-1] == "document.version_restored"


def test_check_out_blocks_other_members_until_check_in(app, world, as_user):
    member, coordinator = as_user(world.member), as_user(world.coordinator)
    document = _new_document(member, world)
    path = f"/documents/{document['id']}"

    locked = member.post(f"{path}/checkout", json={"hours": 2})
    assert locked.status_code == 200
    assert locked.get_json()["checked_out"]["user"]["name"] == world.member.name
    # Shown to everyone.
    assert (
        as_user(world.observer).get(path).get_json()["checked_out"]["user"]["id"] == world.member.id
    )

    refused = upload(coordinator, world.ws_id, b"theirs", "acta.txt", path=f"{path}/versions")
    assert refused.status_code == 409
    assert world.member.name in refused.get_json()["error"]["message"]
    assert coordinator.post(f"{path}/checkout").status_code == 409
    assert coordinator.post(f"{path}/versions/1/restore").status_code == 409

    checked_in = upload(member, world.ws_id, b"mine", "acta.txt", path=f"{path}/versions")
    assert checked_in.status_code == 201
    assert checked_in.get_json()["checked_out"] is None
    assert _verbs(app, document["id"])[-2:] == ["document.checked_out", "document.version_added"]


def test_only_the_holder_or_a_coordinator_releases(app, world, as_user):
    member, coordinator = as_user(world.member), as_user(world.coordinator)
    document = _new_document(member, world)
    path = f"/documents/{document['id']}/checkout"
    assert coordinator.post(path).status_code == 200

    assert member.delete(path).status_code == 403
    broken = coordinator.delete(path)

    assert broken.status_code == 200
    assert broken.get_json()["checked_out"] is None
    member.post(path)
    assert member.delete(path).get_json()["checked_out"] is None
    assert _verbs(app, document["id"])[-4:] == [
        "document.checked_out",
        "document.released",
        "document.checked_out",
        "document.released",
    ]


def test_coordinator_breaks_a_members_lock(app, world, as_user):
    member, coordinator = as_user(world.member), as_user(world.coordinator)
    document = _new_document(member, world)
    path = f"/documents/{document['id']}/checkout"
    member.post(path)

    assert coordinator.delete(path).status_code == 200
    assert _verbs(app, document["id"])[-1] == "document.lock_broken"


def test_patch_with_stale_if_match_is_a_conflict_with_the_current_item(world, as_user):
    member = as_user(world.member)
    document = _new_document(member, world)
    path = f"/documents/{document['id']}"
    etag = member.get(path).headers["ETag"]

    first = member.patch(path, json={"title": "Acta final"}, headers={"If-Match": etag})
    stale = member.patch(path, json={"title": "Otra"}, headers={"If-Match": etag})

    assert first.status_code == 200
    assert first.headers["ETag"] != etag
    assert stale.status_code == 409
    assert stale.get_json()["error"]["code"] == "conflict"
    assert stale.get_json()["error"]["current"]["title"] == "Acta final"


def test_patch_validates_and_records_changed_fields(app, world, as_user):
    member = as_user(world.member)
    document = _new_document(member, world)
    path = f"/documents/{document['id']}"

    bad = member.patch(path, json={"title": "", "tags": "x"})
    good = member.patch(
        path, json={"description": "Actas", "tags": ["a", "a", "b"], "language": "es"}
    )

    assert bad.status_code == 400
    assert set(bad.get_json()["error"]["fields"]) == {"title", "tags"}
    assert good.status_code == 200
    assert good.get_json()["tags"] == ["a", "b"]
    with app.app_context():
        event = db.session.scalar(select(Event).where(Event.verb == "item.updated"))
        assert event.data["fields"] == ["description", "language", "tags"]


def test_delete_moves_to_trash_and_purge_removes_blobs(app, world, as_user, store):
    from portal.documents import service
    from portal.documents.models import Blob, Document
    from portal.documents.storage import store_named

    member, coordinator = as_user(world.member), as_user(world.coordinator)
    document = _new_document(member, world)
    path = f"/documents/{document['id']}"
    member.post(f"{path}/versions/1/restore")  # shares the blob of version 1

    assert coordinator.delete(path).status_code == 200
    assert member.get(path).status_code == 404
    assert member.get(f"/workspaces/{world.ws_id}/documents").get_json()["total"] == 0
    assert _verbs(app, document["id"])[-1] == "item.deleted"
    with app.app_context():
        trashed = db.session.get(Document, document["id"])
        key = db.session.scalar(select(Blob.key))
        assert store_named(store).stat(key) == 2
        assert service.purge_document(None, trashed) == 1
        assert store_named(store).stat(key) is None
        assert db.session.scalar(select(Blob.id)) is None
        assert db.session.scalar(select(Event.verb).order_by(Event.id.desc())) == "item.purged"


def test_trash_restore(app, world, as_user):
    from portal.accounts.models import User
    from portal.documents import service
    from portal.documents.models import Document

    member, coordinator = as_user(world.member), as_user(world.coordinator)
    document = _new_document(member, world)
    coordinator.delete(f"/documents/{document['id']}")
    with app.app_context():
        service.restore_document(
            db.session.get(User, world.coordinator.id), db.session.get(Document, document["id"])
        )
    assert member.get(f"/documents/{document['id']}").status_code == 200


def test_list_has_no_n_plus_one(app, world, as_user):
    from sqlalchemy import event

    member = as_user(world.member)
    with app.app_context():
        engine = db.engine

    def statements_for_listing() -> int:
        statements = []

        def count(*args):
            statements.append(args[2])

        event.listen(engine, "before_cursor_execute", count)
        try:
            member.get(f"/workspaces/{world.ws_id}/documents?per_page=50")
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    _new_document(member, world, name="doc-0.txt")
    one = statements_for_listing()
    for n in range(1, 6):
        _new_document(member, world, name=f"doc-{n}.txt")
    six = statements_for_listing()

    assert member.get(f"/workspaces/{world.ws_id}/documents").get_json()["total"] == 6
    assert six == one


def test_the_purge_command_removes_a_trashed_documents_versions_and_blobs(
    app, world, as_user, store
):
    from portal.documents.models import Blob, DocumentVersion
    from portal.documents.storage import store_named

    member, coordinator = as_user(world.member), as_user(world.coordinator)
    document = _new_document(member, world)
    with app.app_context():
        key = db.session.scalar(select(Blob.key))
    assert coordinator.delete(f"/documents/{document['id']}").status_code == 200
    with app.app_context():
        db.session.get(Item, document["id"]).deleted_at = utcnow() - timedelta(days=31)
        db.session.commit()

    result = app.test_cli_runner().invoke(args=["portal", "purge"])

    assert "Purged 1 item" in result.output, result.output
    with app.app_context():
        assert db.session.scalar(select(DocumentVersion.id)) is None
        assert db.session.scalar(select(Blob.id)) is None
        assert store_named(store).stat(key) is None
        assert db.session.scalar(select(Event.verb).order_by(Event.id.desc())) == "item.purged"


def test_trashing_releases_the_check_out_whatever_the_way(app, world, as_user):
    from portal.documents.models import Document
    from portal.workspaces import items_service

    member = as_user(world.member)
    document = _new_document(member, world)
    assert member.post(f"/documents/{document['id']}/checkout", {"hours": 4}).status_code == 200
    with app.app_context():
        held = db.session.get(Document, document["id"])
        assert held.checked_out_by_id == world.member.id
        # The item page's trash button goes through the shared service, not the kind's.
        items_service.move_to_trash(db.session.get(User, world.coordinator.id), held)
        assert db.session.get(Document, document["id"]).checked_out_by_id is None
