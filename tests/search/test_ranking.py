"""The order of search results: relevance, newest first, phrases in order, pages."""

from __future__ import annotations


def _memo(client, workspace_id, title, body):
    response = client.post(f"/workspaces/{workspace_id}/memos", {"title": title, "body": body})
    assert response.status_code == 201
    return response.get_json()["id"]


def _search(client, **query):
    response = client.get("/search", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_word_in_the_title_ranks_above_the_same_word_in_the_text(as_user, item_world, sync):
    member = as_user(item_world.member)
    in_text = _memo(member, item_world.ws_id, "Nota", "El balizamiento del canal norte")
    in_title = _memo(member, item_world.ws_id, "Balizamiento", "Texto sin más")
    sync()

    found = _search(member, q="balizamiento")

    assert [hit["id"] for hit in found["items"]] == [in_title, in_text]
    assert found["items"][0]["score"] > found["items"][1]["score"] > 0


def test_newest_first_orders_by_creation(as_user, item_world, sync):
    member = as_user(item_world.member)
    created = [_memo(member, item_world.ws_id, f"Calado {n}", "Dragado") for n in range(3)]
    sync()

    found = _search(member, q="dragado", sort="newest")

    assert [hit["id"] for hit in found["items"]] == created[::-1]
    assert found["total"] == 3


def test_a_phrase_matches_its_words_next_to_each_other_and_in_order(as_user, item_world, sync):
    member = as_user(item_world.member)
    in_order = _memo(member, item_world.ws_id, "Uno", "Obras en el muelle norte del puerto")
    _memo(member, item_world.ws_id, "Dos", "El norte del muelle sigue abierto")
    _memo(member, item_world.ws_id, "Tres", "Muelle seco y zona norte")
    sync()

    found = _search(member, q='"muelle norte"')

    assert [hit["id"] for hit in found["items"]] == [in_order]
    assert found["total"] == 1


def test_pages_split_the_ranking_and_keep_the_total_and_facets(as_user, item_world, sync):
    member = as_user(item_world.member)
    for n in range(5):
        _memo(member, item_world.ws_id, f"Boya {n}", "Boya " * (n + 1))
    sync()

    everything = _search(member, q="boya", per_page=5)
    first, second = (_search(member, q="boya", per_page=3, page=page) for page in (1, 2))

    ranked = [hit["id"] for hit in everything["items"]]
    assert [hit["id"] for hit in first["items"] + second["items"]] == ranked
    assert first["total"] == second["total"] == 5
    assert first["facets"] == second["facets"] == everything["facets"]
    assert everything["facets"]["kind"] == [{"value": "memo", "count": 5}]
    scores = [hit["score"] for hit in everything["items"]]
    assert scores == sorted(scores, reverse=True)
