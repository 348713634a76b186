"""The publishing workflow: submit, approve, reject, unpublish; what the public sees."""

from __future__ import annotations

from xml.etree import ElementTree

from ..documents import samples
from ..documents.conftest import upload
from .conftest import PDF_WORD

ATOM = "{http://www.w3.org/2005/Atom}"


def _publication(client, item_id, action, note=""):
    body = {"action": action, **({"note": note} if note else {})}
    return client.post(f"/items/{item_id}/publication", body)


def _notified(client, verb):
    items = client.get("/me/notifications").get_json()["items"]
    return [n for n in items if n["event"]["verb"] == verb]


def test_submit_approve_notifies_and_publishes_a_copy(as_user, api, item_world):
    coordinator = as_user(item_world.coordinator)
    secretariat = as_user(item_world.secretariat)
    memo_id = item_world.memo_id

    submitted = _publication(coordinator, memo_id, "submit", "Para el boletín")
    assert submitted.status_code == 200
    assert submitted.get_json()["publication"] == "submitted"
    assert _notified(secretariat, "publication.submitted")
    assert api.get(f"/public/items/{memo_id}").status_code == 404
    queue = secretariat.get("/publication-requests").get_json()
    assert [(r["item"]["id"], r["note"]) for r in queue["items"]] == [(memo_id, "Para el boletín")]
    assert _publication(coordinator, memo_id, "submit").status_code == 409  # already pending

    approved = _publication(secretariat, memo_id, "approve")
    assert approved.status_code == 200
    state = approved.get_json()
    assert state["publication"] == "published" and state["published_at"]
    assert state["requests"][0]["status"] == "approved"
    assert _notified(coordinator, "publication.approved")
    public = api.get(f"/public/items/{memo_id}").get_json()
    assert public["title"] == "Hoja de ruta de la Ventanilla Única"
    assert public["body_html"] == "<p>Primera versión</p>\n"
    assert public["url"] == f"/publications/{memo_id}/hoja-de-ruta-de-la-ventanilla-unica"
    assert not {"workspace_id", "created_by", "shared_with"} & public.keys()
    assert secretariat.get("/publication-requests").get_json()["total"] == 0


def test_rejection_needs_a_reason_and_the_item_can_be_submitted_again(as_user, api, item_world):
    coordinator = as_user(item_world.coordinator)
    secretariat = as_user(item_world.secretariat)
    memo_id = item_world.memo_id
    _publication(coordinator, memo_id, "submit")

    no_reason = _publication(secretariat, memo_id, "reject")
    assert no_reason.status_code == 400 and no_reason.get_json()["error"]["code"] == "invalid"
    assert "note" in no_reason.get_json()["error"]["fields"]

    rejected = _publication(secretariat, memo_id, "reject", "Falta el resumen ejecutivo")
    assert rejected.get_json()["publication"] == "rejected"
    assert rejected.get_json()["requests"][0]["reason"] == "Falta el resumen ejecutivo"
    assert _notified(coordinator, "publication.rejected")
    assert api.get(f"/public/items/{memo_id}").status_code == 404
    assert _publication(secretariat, memo_id, "approve").status_code == 409  # nothing pending

    again = _publication(coordinator, memo_id, "submit")
    assert again.get_json()["publication"] == "submitted"
    assert [r["status"] for r in again.get_json()["requests"]] == ["pending", "rejected"]


def test_the_public_sees_the_approved_copy_until_changes_are_approved(
    as_user, api, item_world, sync
):
    coordinator = as_user(item_world.coordinator)
    secretariat = as_user(item_world.secretariat)
    memo_id = item_world.memo_id
    _publication(coordinator, memo_id, "submit")
    _publication(secretariat, memo_id, "approve")
    sync()
    first_published = api.get(f"/public/items/{memo_id}").get_json()["published_at"]

    current = as_user(item_world.member).get(f"/memos/{memo_id}")
    edited = as_user(item_world.member).patch(
        f"/memos/{memo_id}",
        {"body": "Borrador con cifras confidenciales"},
        headers={"If-Match": current.headers["ETag"]},
    )
    assert edited.status_code == 200
    sync()
    assert api.get(f"/public/items/{memo_id}").get_json()["body_html"] == "<p>Primera versión</p>\n"
    assert api.get("/public/search?q=confidenciales").get_json()["total"] == 0
    assert as_user(item_world.member).get("/search?q=confidenciales").get_json()["total"] == 1

    resubmitted = _publication(coordinator, memo_id, "submit", "Cifras actualizadas")
    assert resubmitted.get_json()["publication"] == "published"  # the old copy stays public
    _publication(secretariat, memo_id, "approve")
    sync()

    public = api.get(f"/public/items/{memo_id}").get_json()
    assert "confidenciales" in public["body_html"]
    assert public["published_at"] == first_published
    assert [h["id"] for h in api.get("/public/search?q=confidenciales").get_json()["items"]] == [
        memo_id
    ]


def test_unpublish_removes_it_from_every_public_route_at_once(as_user, api, published_world, sync):
    sync()
    memo_id = published_world.published_memo_id
    assert api.get(f"/public/items/{memo_id}").status_code == 200
    assert _entry_ids(api) == {published_world.document_id, memo_id}
    assert [h["id"] for h in api.get("/public/search?q=acordado").get_json()["items"]] == [memo_id]

    response = _publication(as_user(published_world.secretariat), memo_id, "unpublish", "Error")
    assert response.get_json()["publication"] == "private"

    # Before the index follows: the database re-check hides it.
    assert api.get(f"/public/items/{memo_id}").status_code == 404
    assert _entry_ids(api) == {published_world.document_id}
    answer = api.get("/public/search?q=acordado").get_json()
    assert answer["items"] == []
    sync()
    answer = api.get("/public/search?q=acordado").get_json()
    assert answer["total"] == 0 and answer["facets"]["kind"] == []
    assert as_user(published_world.member).get(f"/memos/{memo_id}").status_code == 200
    assert _notified(as_user(published_world.coordinator), "publication.unpublished")


def test_a_trashed_published_item_is_not_public(as_user, api, published_world):
    memo_id = published_world.published_memo_id
    as_user(published_world.coordinator).delete(f"/memos/{memo_id}")

    assert api.get(f"/public/items/{memo_id}").status_code == 404
    assert memo_id not in _entry_ids(api)
    as_user(published_world.coordinator).post(f"/items/{memo_id}/restore")
    assert api.get(f"/public/items/{memo_id}").status_code == 200


def test_public_document_serves_the_approved_version_only(as_user, api, published_world, sync):
    document_id = published_world.document_id
    approved = api.get(f"/public/documents/{document_id}/download")
    assert approved.status_code == 200
    assert approved.data.startswith(b"%PDF")
    assert "attachment" in approved.headers["Content-Disposition"]
    assert approved.headers["X-Content-Type-Options"] == "nosniff"

    newer = upload(
        as_user(published_world.member),
        published_world.ws_id,
        samples.pdf("Versión preliminar secreta"),
        "Estudio_v2.pdf",
        path=f"/documents/{document_id}/versions",
    )
    assert newer.status_code == 201
    assert api.get(f"/public/documents/{document_id}/download").data == approved.data
    item = api.get(f"/public/items/{document_id}").get_json()
    assert item["document"]["filename"] == "Estudio_Cartagena.pdf"
    assert item["summary"] == f"Estudio de {PDF_WORD} en el puerto de Cartagena"  # the PDF's text

    partial = api.get(f"/public/documents/{document_id}/download", headers={"Range": "bytes=0-3"})
    assert partial.status_code == 206 and partial.data == b"%PDF"
    etag = approved.headers["ETag"]
    revalidated = api.get(
        f"/public/documents/{document_id}/download", headers={"If-None-Match": etag}
    )
    assert revalidated.status_code == 304

    sync()
    hits = api.get(f"/public/search?q={PDF_WORD}").get_json()
    assert [h["id"] for h in hits["items"]] == [document_id]
    assert hits["facets"]["kind"] == [{"value": "document", "count": 1}]
    assert any("<mark" in h for h in hits["items"][0]["highlights"])
    assert api.get("/public/search?q=preliminar").get_json()["total"] == 0


def _entry_ids(api) -> set[int]:
    response = api.get("/public/feed.atom")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    feed = ElementTree.fromstring(response.data)  # noqa: S314 - our own response
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert feed.find(f"{ATOM}{required}").text
    ids = set()
    for entry in feed.findall(f"{ATOM}entry"):
        for required in ("id", "title", "updated", "summary"):
            assert entry.find(f"{ATOM}{required}").text
        link = entry.find(f"{ATOM}link[@rel='alternate']").get("href")
        ids.add(int(link.split("/publications/")[1].split("/")[0]))
    return ids


def test_a_summary_is_the_first_words_of_the_text_without_markup_or_headings():
    from portal.public.service import SUMMARY_CHARS, _summary

    assert _summary("## Acta\n\n1. Se **acordó** el alcance.\n2. Piloto.") == (
        "Se acordó el alcance. Piloto."
    )
    long = _summary("palabra " * 200)
    assert len(long) <= SUMMARY_CHARS and long.endswith("palabra…")


def test_feed_of_an_empty_network_is_valid_atom(api):
    assert _entry_ids(api) == set()


def test_documents_without_a_file_and_items_in_archived_groups_cannot_be_submitted(
    as_user, item_world
):
    coordinator = as_user(item_world.coordinator)
    secretariat = as_user(item_world.secretariat)
    secretariat.patch(f"/workspaces/{item_world.ws_id}", {"archived": True})
    response = _publication(coordinator, item_world.memo_id, "submit")
    assert response.status_code == 409
    assert secretariat.get("/publication-requests").get_json()["total"] == 0


def test_unknown_actions_and_fields_are_refused(as_user, item_world):
    coordinator = as_user(item_world.coordinator)
    for body in ({"action": "publish"}, {"action": "submit", "extra": 1}, {"note": "x"}):
        response = coordinator.post(f"/items/{item_world.memo_id}/publication", body)
        assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid"
    assert coordinator.get(f"/items/{item_world.memo_id}/publication").get_json()["requests"] == []


def test_without_words_public_search_lists_the_publications_newest_first(
    api, published_world, sync
):
    sync()
    everything = api.get("/public/search").get_json()
    ids = [hit["id"] for hit in everything["items"]]
    assert ids == [published_world.published_memo_id, published_world.document_id]
    assert everything["total"] == 2
    assert {e["value"] for e in everything["facets"]["kind"]} == {"memo", "document"}

    documents = api.get("/public/search?kind=document").get_json()
    assert [hit["id"] for hit in documents["items"]] == [published_world.document_id]
    assert api.get("/public/search?country=PE").get_json()["total"] == 0


def test_an_empty_index_answers_every_kind_of_search(api, index, as_user, world):
    for path in ("/public/search", "/public/search?q=puerto&sort=newest", "/public/search?q=pue"):
        answer = api.get(path)
        assert answer.status_code == 200 and answer.get_json()["total"] == 0
    staff = as_user(world.member).get("/search?q=puerto&sort=newest")
    assert staff.status_code == 200 and staff.get_json()["items"] == []


def test_a_request_whose_submitter_is_gone_can_still_be_decided(app, as_user, item_world):
    from portal.extensions import db
    from portal.public.models import PublicationRequest

    _publication(as_user(item_world.coordinator), item_world.memo_id, "submit")
    with app.app_context():  # what ON DELETE SET NULL leaves when an account is removed
        db.session.execute(db.update(PublicationRequest).values(submitted_by_id=None))
        db.session.commit()

    approved = _publication(as_user(item_world.secretariat), item_world.memo_id, "approve")

    assert approved.status_code == 200 and approved.get_json()["publication"] == "published"
