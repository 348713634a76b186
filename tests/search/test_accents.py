"""A word finds the same items typed with or without its accents, in the four languages."""

from __future__ import annotations

import re

import pytest
from whoosh.support.charset import accent_map

from .words import FUNCTION_WORDS, WORDS

WORDS_PER_ITEM = 8


def _fold(word: str) -> str:
    return word.lower().translate(accent_map)


def _memo(client, workspace_id, title, body):
    response = client.post(f"/workspaces/{workspace_id}/memos", {"title": title, "body": body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _hits(client, path, text):
    response = client.get(path, query_string={"q": text, "per_page": 50})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


@pytest.fixture
def unlimited_public_search(app, monkeypatch):
    monkeypatch.setitem(app.config["PORTAL"], "PUBLIC_RATE_LIMIT", "100000/minute")


@pytest.mark.parametrize("language", list(WORDS))
def test_a_word_finds_the_same_items_with_and_without_its_accents(
    api, as_user, item_world, sync, publish, unlimited_public_search, language
):
    coordinator = as_user(item_world.coordinator)
    words = WORDS[language]
    glue = FUNCTION_WORDS[language].split()
    item_of: dict[str, int] = {}
    for start in range(0, len(words), WORDS_PER_ITEM):
        chunk = words[start : start + WORDS_PER_ITEM]
        body = " ".join(f"{word} {glue[n % len(glue)]}" for n, word in enumerate(chunk))
        memo_id = _memo(coordinator, item_world.ws_id, f"{language} {start}", f"{glue[0]} {body}")
        publish(item_world, memo_id)
        item_of |= dict.fromkeys(chunk, memo_id)
    sync()
    scopes = {"staff": (as_user(item_world.member), "/search"), "public": (api, "/public/search")}

    differences = []
    for word, memo_id in item_of.items():
        for scope, (client, path) in scopes.items():
            found = {}
            for spelling in (word, _fold(word)):
                hits = _hits(client, path, spelling)
                assert {h["language"] for h in hits if h["id"] == memo_id} <= {language}
                found[spelling] = {h["id"] for h in hits}
            if memo_id not in found[word] or len(set(map(frozenset, found.values()))) > 1:
                differences.append((scope, word, found))

    assert differences == []


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("es", "facilitación facilitacion facilitaciones"),
        ("es", "distribución distribucion distribuciones"),
        ("es", "tecnología tecnologia tecnologías tecnologico"),
        ("es", "almacén almacen almacenes"),
        ("es", "régimen regimen regímenes regimenes"),
        ("pt", "exportação exportacao exportações exportacoes"),
        ("pt", "responsável responsavel responsáveis responsaveis"),
        ("pt", "eficiência eficiencia eficiências"),
        ("fr", "sécurité securite sécurités securites"),
        ("fr", "déclaré declare déclarée declaree déclarées"),
        ("fr", "première premiere premier premières"),
        ("en", "résumé resume résumés"),
        ("en", "rôle role rôles"),
    ],
)
def test_a_word_its_plural_and_its_unaccented_spelling_meet(language, words):
    from portal.search.schema import build_schema

    analyzer = build_schema()[f"content_{language}"].analyzer

    assert len({token.text for token in analyzer(words)}) == 1


def test_a_word_typed_without_accents_is_marked_where_the_text_has_them(as_user, item_world, sync):
    member = as_user(item_world.member)
    _memo(member, item_world.ws_id, "Nota", "La facilitación del comercio y las facilitaciones.")
    sync()

    hit = _hits(member, "/search", "facilitacion")[0]

    marked = re.findall(r"<mark[^>]*>([^<]+)</mark>", " ".join(hit["highlights"]))
    assert marked == ["facilitación", "facilitaciones"]


def test_an_index_analysed_by_an_older_release_answers_503_until_rebuilt(app, as_user, item_world):
    from whoosh import index as whoosh_index
    from whoosh.analysis import CharsetFilter, LanguageAnalyzer
    from whoosh.fields import TEXT, Schema

    from portal.search.indexer import search_index
    from portal.search.schema import build_schema

    current = build_schema()
    fields = {}
    for name in current.names():
        language = name.rsplit("_", 1)[-1]
        if isinstance(current[name], TEXT):  # the same fields, the previous analysis
            language = language if language in WORDS else "es"
            fields[name] = TEXT(analyzer=LanguageAnalyzer(language) | CharsetFilter(accent_map))
        else:
            fields[name] = current[name]
    handle = search_index(app)
    older = handle.new_directory()
    whoosh_index.create_in(str(older), Schema(**fields))
    handle.swap_to(older)

    response = as_user(item_world.member).get("/search?q=ventanilla")
    assert response.status_code == 503 and "out of date" in response.get_json()["error"]["message"]
    result = app.test_cli_runner().invoke(args=["portal", "init"])
    assert result.exit_code == 0 and "Built the search index" in result.output
    assert as_user(item_world.member).get("/search?q=ventanilla").status_code == 200


def test_an_index_whose_schema_cannot_be_read_is_rebuilt_by_init(app, as_user, item_world):
    from portal.search.indexer import search_index

    handle = search_index(app)
    unreadable = handle.new_directory()
    for toc in unreadable.glob("_MAIN_*.toc"):  # as if it named analysis code now gone
        toc.write_bytes(toc.read_bytes().replace(b"FoldedStemmer", b"GoneStemmer__"))
    handle.swap_to(unreadable)

    response = as_user(item_world.member).get("/search?q=ventanilla")
    assert response.status_code == 503 and "damaged" in response.get_json()["error"]["message"]
    result = app.test_cli_runner().invoke(args=["portal", "init"])
    assert result.exit_code == 0 and "Built the search index" in result.output, result.output
    assert as_user(item_world.member).get("/search?q=ventanilla").status_code == 200
