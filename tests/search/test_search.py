"""Search finds what the caller may read, in four languages, and nothing else."""

from __future__ import annotations

import re
import threading
import time

import pytest

from portal.extensions import db
from portal.workspaces.models import Item

from ..documents import samples


def _ids(response):
    assert response.status_code == 200, response.get_json()
    return [hit["id"] for hit in response.get_json()["items"]]


def _memo(client, workspace_id, title, body):
    response = client.post(f"/workspaces/{workspace_id}/memos", {"title": title, "body": body})
    assert response.status_code == 201
    return response.get_json()["id"]


def test_members_find_their_groups_items_and_others_do_not(as_user, item_world, sync):
    sync()

    assert _ids(as_user(item_world.member).get("/search?q=ventanilla")) == [item_world.memo_id]
    assert _ids(as_user(item_world.viewer).get("/search?q=ventanilla")) == [item_world.memo_id]
    assert _ids(as_user(item_world.secretariat).get("/search?q=ventanilla")) == [item_world.memo_id]
    outsider = as_user(item_world.outsider).get("/search?q=ventanilla").get_json()
    assert outsider["items"] == [] and outsider["total"] == 0
    assert all(entry["count"] == 0 for f in outsider["facets"].values() for entry in f)


def test_revoked_share_vanishes_at_once_from_hits_counts_and_facets(as_user, item_world, sync):
    sync()
    viewer = as_user(item_world.viewer)
    assert viewer.get("/search?q=ventanilla").get_json()["total"] == 1

    as_user(item_world.coordinator).delete(
        f"/items/{item_world.memo_id}/shares/{item_world.view_ws_id}"
    )

    before_indexing = viewer.get("/search?q=ventanilla").get_json()
    sync()
    after_indexing = viewer.get("/search?q=ventanilla").get_json()
    for result in (before_indexing, after_indexing):
        assert result["items"] == [] and result["total"] == 0
        assert result["facets"]["kind"] == []


def test_deleted_item_vanishes_at_once(as_user, item_world, sync):
    sync()
    as_user(item_world.coordinator).delete(f"/memos/{item_world.memo_id}")

    assert as_user(item_world.member).get("/search?q=ventanilla").get_json()["total"] == 0
    sync()
    assert as_user(item_world.secretariat).get("/search?q=ventanilla").get_json()["total"] == 0


def test_public_search_sees_only_published_items(api, item_world, sync, publish):
    sync()
    assert _ids(api.get("/public/search?q=ventanilla")) == []

    publish(item_world, item_world.memo_id)
    sync()
    published = api.get("/public/search?q=ventanilla").get_json()

    assert [h["id"] for h in published["items"]] == [item_world.memo_id]
    assert published["facets"]["kind"] == [{"value": "memo", "count": 1}]
    assert "workspace_id" not in published["items"][0]


def test_highlights_mark_the_words_found(as_user, item_world, sync):
    member = as_user(item_world.member)
    _memo(
        member, item_world.ws_id, "Informe", "La ventanilla única reduce los tiempos de despacho."
    )
    sync()

    hit = member.get("/search?q=despacho").get_json()["items"][0]

    assert any(re.search(r"<mark[^>]*>despacho</mark>", h) for h in hit["highlights"])


def test_markdown_markup_neither_hides_words_nor_shows_in_highlights(as_user, item_world, sync):
    member = as_user(item_world.member)
    _memo(member, item_world.ws_id, "Acta", "## Decisiones\n\n**Acordado**: el _transbordo_.")
    sync()

    hits = member.get("/search?q=acordado").get_json()["items"]

    assert len(hits) == 1
    assert not any("*" in h or "_" in h or "#" in h for h in hits[0]["highlights"])
    assert member.get("/search?q=transbordo").get_json()["total"] == 1


def test_an_index_built_by_an_older_release_answers_503_until_rebuilt(app, as_user, item_world):
    from whoosh import index as whoosh_index
    from whoosh.fields import ID, Schema

    from portal.search.indexer import search_index

    handle = search_index(app)
    older = handle.new_directory()
    whoosh_index.create_in(str(older), Schema(id=ID(stored=True, unique=True)))
    handle.swap_to(older)

    response = as_user(item_world.member).get("/search?q=ventanilla")
    assert response.status_code == 503 and "out of date" in response.get_json()["error"]["message"]
    result = app.test_cli_runner().invoke(args=["portal", "init"])
    assert result.exit_code == 0 and "Built the search index" in result.output
    assert as_user(item_world.member).get("/search?q=ventanilla").status_code == 200


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("conclusiones OR estudio", {"Conclusiones", "Estudio"}),
        ("conclusiones OR estud", {"Conclusiones", "Estudio"}),
        ("cartagena NOT estudio", {"Conclusiones"}),
        ("cartagena AND estud", {"Estudio"}),
        ("cartagena estud", {"Estudio"}),
    ],
)
def test_operators_before_the_word_being_typed_apply_to_it(
    as_user, item_world, sync, query, titles
):
    member = as_user(item_world.member)
    _memo(member, item_world.ws_id, "Conclusiones", "Reunión en Cartagena")
    _memo(member, item_world.ws_id, "Estudio", "Tiempos de despacho en Cartagena")
    sync()

    hits = member.get("/search", query_string={"q": query}).get_json()["items"]

    assert {hit["title"] for hit in hits} == titles


@pytest.mark.parametrize(
    ("language", "body", "queries"),
    [
        ("es", "Las reuniones de la comunidad portuaria de Cartagena", ["reunión", "reunion",
                                                                        "reuniones", "portuarias"]),
        ("en", "The port community meetings were held in Kingston", ["meeting", "held", "ports"]),
        ("pt", "As canções e as reuniões da comunidade portuária de Santos", ["cancoes", "canções",
                                                                               "reuniões"]),
        ("fr", "Les réunions des communautés portuaires des Caraïbes", ["réunion", "reunions",
                                                                         "communauté"]),
    ],
)  # fmt: skip
def test_stemming_and_accents_in_each_language(as_user, item_world, sync, language, body, queries):
    member = as_user(item_world.member)
    memo_id = _memo(member, item_world.ws_id, f"Nota {language}", body)
    sync()

    for query in queries:
        assert memo_id in _ids(member.get(f"/search?q={query}")), query


def test_last_word_matches_as_a_prefix(as_user, item_world, sync):
    member = as_user(item_world.member)
    sync()

    assert _ids(member.get("/search?q=ventan")) == [item_world.memo_id]
    assert _ids(member.get("/search?q=hoja de rut")) == [item_world.memo_id]


@pytest.mark.parametrize("query", ['"unclosed', "AND OR", "*", "(((", "NOT", "labels:public", ""])
def test_malformed_queries_are_searched_as_words(as_user, item_world, sync, query):
    sync()

    response = as_user(item_world.outsider).get("/search", query_string={"q": query})

    assert response.status_code == 200
    assert response.get_json()["total"] == 0


def test_workspace_filter_needs_a_readable_workspace(as_user, item_world, sync):
    sync()
    member = as_user(item_world.member)

    assert _ids(member.get(f"/search?q=ventanilla&workspace_id={item_world.ws_id}")) == [
        item_world.memo_id
    ]
    assert member.get(f"/search?q=x&workspace_id={item_world.other_ws_id}").status_code == 404


def test_comments_are_searchable(as_user, item_world, sync):
    as_user(item_world.editor).post(
        f"/items/{item_world.memo_id}/comments", {"body": "Falta el anexo de tarifas"}
    )
    sync()

    assert _ids(as_user(item_world.viewer).get("/search?q=tarifas")) == [item_world.memo_id]


def test_missing_index_answers_503_naming_reindex(as_user, item_world, no_index):
    response = as_user(item_world.member).get("/search?q=ventanilla")

    assert response.status_code == 503
    assert "portal reindex" in response.get_json()["error"]["message"]


def test_public_search_is_rate_limited(app, api, index, monkeypatch):
    app.config["PORTAL"]["PUBLIC_RATE_LIMIT"] = "3/minute"
    try:
        statuses = [api.get("/public/search?q=puerto").status_code for _ in range(4)]
    finally:
        app.config["PORTAL"]["PUBLIC_RATE_LIMIT"] = "60/minute;1000/hour"

    assert statuses == [200, 200, 200, 429]


def test_change_is_searchable_within_two_seconds_with_the_indexer_thread(
    app, as_user, item_world, index
):
    from portal.search.indexer import IndexerThread

    thread = IndexerThread(app)
    thread.start()
    try:
        member = as_user(item_world.member)
        started = time.monotonic()
        memo_id = _memo(member, item_world.ws_id, "Calado", "Dragado del canal de acceso")
        found_after = None
        while time.monotonic() - started < 5:
            if memo_id in _ids(member.get("/search?q=dragado")):
                found_after = time.monotonic() - started
                break
            time.sleep(0.05)
    finally:
        thread.stop.set()
        thread.wake.set()
        thread.thread.join(5)

    assert found_after is not None and found_after <= 2.0


def test_reindex_check_finds_removed_and_stale_documents(app, as_user, item_world, sync, publish):
    from portal.search.indexer import check, search_index

    member = as_user(item_world.member)
    other = _memo(member, item_world.ws_id, "Segundo", "texto")
    publish(item_world, other)
    sync()
    with app.app_context():
        index = search_index(app)
        with index.writer() as writer:
            writer.delete_by_term("id", str(other))
            writer.delete_by_term("id", f"public:{other}")
        item = db.session.get(Item, item_world.memo_id)
        item.title = "Cambiado sin evento"
        db.session.commit()

        report = check(index)

    assert report["missing"] == [str(other), f"public:{other}"]
    assert report["stale"] == [str(item_world.memo_id)]
    assert report["orphaned"] == []
    result = app.test_cli_runner().invoke(args=["portal", "reindex", "--check"])
    assert result.exit_code == 1 and "missing: 2" in result.output


def test_reindex_swaps_in_a_new_index_while_searches_go_on(app, as_user, item_world, sync):
    member = as_user(item_world.member)
    for n in range(30):
        _memo(member, item_world.ws_id, f"Memo {n}", "puerto seco y zona franca")
    sync()
    errors: list[int] = []
    done = threading.Event()

    def keep_searching():
        client = as_user(item_world.member)
        while not done.is_set():
            response = client.get("/search?q=franca")
            if response.status_code != 200 or response.get_json()["total"] != 30:
                errors.append((response.status_code, response.get_data(as_text=True)[:200]))

    searcher = threading.Thread(target=keep_searching)
    searcher.start()
    try:
        result = app.test_cli_runner().invoke(args=["portal", "reindex"])
    finally:
        done.set()
        searcher.join(10)

    assert result.exit_code == 0, result.output
    assert "Indexed 31 items" in result.output
    assert errors == []
    assert member.get("/search?q=franca").get_json()["total"] == 30


@pytest.mark.parametrize(
    ("filename", "make", "word"),
    [
        ("agenda.pdf", lambda: samples.pdf("Comité de facilitación aduanera"), "aduanera"),
        ("pautas.docx", lambda: samples.docx("Pautas para la sesión de transbordo"), "transbordo"),
        ("t.xlsx", lambda: samples.xlsx([["Puerto", "TEU"], ["Buenaventura", 9]]), "buenaventura"),
    ],
)  # fmt: skip
def test_text_inside_uploaded_files_is_found(as_user, item_world, sync, filename, make, word):
    from ..documents.conftest import upload

    member = as_user(item_world.member)
    response = upload(member, item_world.ws_id, make(), filename, language="es")
    assert response.status_code == 201, response.get_json()
    sync()

    hits = member.get(f"/search?q={word}").get_json()["items"]

    assert [h["id"] for h in hits] == [response.get_json()["id"]]
    assert hits[0]["kind"] == "document"
    assert as_user(item_world.outsider).get(f"/search?q={word}").get_json()["total"] == 0


def test_cached_public_answer_follows_publish_and_unpublish(
    api, as_user, item_world, sync, publish
):
    publish(item_world, item_world.memo_id)
    sync()
    assert _ids(api.get("/public/search?q=ventanilla")) == [item_world.memo_id]
    assert _ids(api.get("/public/search?q=ventanilla")) == [item_world.memo_id]  # cached

    unpublish = {"action": "unpublish", "note": "Superseded"}
    response = as_user(item_world.secretariat).post(
        f"/items/{item_world.memo_id}/publication", unpublish
    )
    assert response.status_code == 200  # gone at once, before the index follows
    assert _ids(api.get("/public/search?q=ventanilla")) == []
    sync()
    answer = api.get("/public/search?q=ventanilla").get_json()
    assert answer["items"] == [] and answer["total"] == 0 and answer["facets"]["kind"] == []


def test_highlights_escape_the_text_and_mark_stemmed_and_folded_words():
    from portal.search.query import highlight

    text = "Reuniones <b>del</b> comité: la reunión de puertos & muelles."
    marked = highlight(text, "content_es", frozenset({"reunion"}), top=2)

    assert "<b>" not in marked and "&lt;b&gt;" in marked
    assert re.findall(r"<mark[^>]*>([^<]+)</mark>", marked) == ["Reuniones", "reunión"]
    assert highlight(text, "content_es", frozenset({"ausente"}), top=2) == ""


def test_facets_out_of_time_give_the_hits_and_say_partial(as_user, item_world, sync, monkeypatch):
    """Under load the time budget can run out while counting facets: the hits stand."""
    from portal.search.postings import Engine, OutOfTime

    sync()

    def out_of_time(self, fieldname, docs):
        raise OutOfTime

    monkeypatch.setattr(Engine, "facet_counts", out_of_time)
    answer = as_user(item_world.member).get("/search?q=ventanilla").get_json()
    assert [hit["id"] for hit in answer["items"]] == [item_world.memo_id]
    assert answer["partial"] is True
    assert all(counts == [] for counts in answer["facets"].values())
