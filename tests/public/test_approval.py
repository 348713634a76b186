"""Approval publishes what was submitted and reviewed: a change to the item after its
submission (an edit, a new file version) or a reviewer's stale view is refused with 409,
and nothing goes public until the coordinator submits the item again."""

from __future__ import annotations

import pytest

from ..documents import samples
from ..documents.conftest import upload


def _publication(client, item_id, action, **fields):
    return client.post(f"/items/{item_id}/publication", {"action": action, **fields})


def _edit_memo(client, memo_id, body):
    current = client.get(f"/memos/{memo_id}")
    edited = client.patch(
        f"/memos/{memo_id}", {"body": body}, headers={"If-Match": current.headers["ETag"]}
    )
    assert edited.status_code == 200, edited.get_json()


def _pending(secretariat, item_id):
    """The pending request of the item, as the secretariat's queue lists it."""
    queue = secretariat.get("/publication-requests").get_json()["items"]
    return next(r for r in queue if r["item_id"] == item_id)


def _refused(response):
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["error"]["code"] == "conflict"


@pytest.mark.parametrize("editor", ["member", "editor"])  # its group's member; a sharing group's
def test_an_edit_after_submission_is_refused_until_the_item_is_submitted_again(
    as_user, api, item_world, editor
):
    coordinator = as_user(item_world.coordinator)
    secretariat = as_user(item_world.secretariat)
    memo_id = item_world.memo_id
    assert _publication(coordinator, memo_id, "submit").status_code == 200
    _edit_memo(as_user(getattr(item_world, editor)), memo_id, "Cifras confidenciales")

    _refused(_publication(secretariat, memo_id, "approve"))

    assert api.get(f"/public/items/{memo_id}").status_code == 404
    state = secretariat.get(f"/items/{memo_id}/publication").get_json()
    assert state["publication"] == "submitted"
    assert [r["status"] for r in state["requests"]] == ["pending"]
    items = as_user(item_world.coordinator).get("/me/notifications").get_json()["items"]
    assert not [n for n in items if n["event"]["verb"] == "publication.approved"]

    again = _publication(coordinator, memo_id, "submit", note="Con las cifras")
    assert again.status_code == 200, again.get_json()
    assert [r["status"] for r in again.get_json()["requests"]] == ["pending", "withdrawn"]
    assert _publication(secretariat, memo_id, "approve").status_code == 200
    assert api.get(f"/public/items/{memo_id}").get_json()["body_html"] == (
        "<p>Cifras confidenciales</p>\n"
    )


def test_an_unchanged_submission_cannot_be_submitted_twice(as_user, item_world):
    coordinator = as_user(item_world.coordinator)
    _publication(coordinator, item_world.memo_id, "submit")

    _refused(_publication(coordinator, item_world.memo_id, "submit"))


def test_a_file_version_uploaded_after_submission_is_not_published(as_user, api, published_world):
    """A published document submitted again: a newer file uploaded meanwhile is refused,
    the public keeps the approved file, and the new submission publishes the new file."""
    world = published_world
    coordinator = as_user(world.coordinator)
    secretariat = as_user(world.secretariat)
    document_id = world.document_id
    approved_file = api.get(f"/public/documents/{document_id}/download").data
    assert _publication(coordinator, document_id, "submit").status_code == 200
    assert _pending(secretariat, document_id)["document_version"] == 1
    newer = upload(
        as_user(world.member),
        world.ws_id,
        samples.pdf("Versión preliminar secreta"),
        "Estudio_v2.pdf",
        path=f"/documents/{document_id}/versions",
    )
    assert newer.status_code == 201

    _refused(_publication(secretariat, document_id, "approve"))

    assert api.get(f"/public/documents/{document_id}/download").data == approved_file
    assert api.get(f"/public/items/{document_id}").get_json()["document"]["filename"] == (
        "Estudio_Cartagena.pdf"
    )
    assert _publication(coordinator, document_id, "submit").status_code == 200
    assert _pending(secretariat, document_id)["document_version"] == 2
    assert _publication(secretariat, document_id, "approve").status_code == 200
    assert api.get(f"/public/items/{document_id}").get_json()["document"]["filename"] == (
        "Estudio_v2.pdf"
    )


def test_a_checkout_after_submission_changes_nothing_published(as_user, api, published_world):
    """What counts is what approval would publish, not every write to the item's row."""
    world = published_world
    document_id = world.document_id
    _publication(as_user(world.coordinator), document_id, "submit")
    locked = as_user(world.member).post(f"/documents/{document_id}/checkout")
    assert locked.status_code in (200, 201), locked.get_json()

    assert _publication(as_user(world.secretariat), document_id, "approve").status_code == 200


def test_approval_refuses_a_version_other_than_the_one_reviewed(as_user, api, item_world):
    coordinator = as_user(item_world.coordinator)
    secretariat = as_user(item_world.secretariat)
    memo_id = item_world.memo_id
    _publication(coordinator, memo_id, "submit")
    reviewed = _pending(secretariat, memo_id)["item_version"]
    # The version submitted is the item's version (its ETag) as submitted.
    assert secretariat.get(f"/memos/{memo_id}").headers["ETag"] == f'"{memo_id}.{reviewed}"'
    _edit_memo(as_user(item_world.member), memo_id, "Texto cambiado tras la revisión")
    _publication(coordinator, memo_id, "submit")  # submitted again, not yet reviewed

    _refused(_publication(secretariat, memo_id, "approve", version=reviewed))

    assert api.get(f"/public/items/{memo_id}").status_code == 404
    bad = _publication(secretariat, memo_id, "approve", version="2")
    assert bad.status_code == 400 and "version" in bad.get_json()["error"]["fields"]
    current = _pending(secretariat, memo_id)["item_version"]
    assert current != reviewed
    assert _publication(secretariat, memo_id, "approve", version=current).status_code == 200
    assert "cambiado" in api.get(f"/public/items/{memo_id}").get_json()["body_html"]


def test_a_request_pending_from_before_copies_were_recorded_must_be_submitted_again(
    app, as_user, api, published_world
):
    """The migration leaves such requests without a copy: nothing says what was reviewed."""
    from sqlalchemy import update

    from portal.extensions import db
    from portal.public.models import PublicationRequest

    world = published_world
    with app.app_context():
        db.session.execute(
            update(PublicationRequest)
            .where(PublicationRequest.item_id == world.pending_id)
            .values(public_copy=None)
        )
        db.session.commit()
    secretariat = as_user(world.secretariat)

    _refused(_publication(secretariat, world.pending_id, "approve"))
    assert api.get(f"/public/items/{world.pending_id}").status_code == 404
    assert _publication(as_user(world.coordinator), world.pending_id, "submit").status_code == 200
    assert _publication(secretariat, world.pending_id, "approve").status_code == 200
