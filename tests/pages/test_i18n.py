"""The interface languages: catalogs complete and compiling, the locale of a request."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from portal.i18n import COOKIE, LANGUAGES, TRANSLATIONS

from ..conftest import sign_in_session

ROOT = Path(__file__).resolve().parents[2]
METHODS = [
    ("portal/**.py", "python"),
    ("portal/templates/**.html", "jinja2"),
    ("portal/templates/**.txt", "jinja2"),  # the text part of e-mails
]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None}


def _source_messages() -> set[str]:
    """Every msgid written in the code and templates, extracted afresh."""
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _catalog(language: str):
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_of_the_interface_is_translated(language):
    catalog = _catalog(language)
    translated = {
        (m.id[0] if isinstance(m.id, tuple) else m.id)
        for m in catalog
        if m.id and not m.fuzzy and all(m.string if isinstance(m.string, tuple) else [m.string])
    }

    missing = sorted(_source_messages() - translated)

    assert missing == [], f"{language}: translate {missing}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogs_compile_with_matching_placeholders(language):
    catalog = _catalog(language)

    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    write_mo(io.BytesIO(), catalog)

    assert problems == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("pt-BR,pt;q=0.9,en;q=0.5", "pt"),
        ("fr-CA", "fr"),
        ("en-GB,en;q=0.8", "en"),
        ("de-DE,de;q=0.9", "es"),
        (None, "es"),
    ],
)
def test_the_browser_language_chooses_the_page_language(app, header, expected):
    headers = {"Accept-Language": header} if header else {}

    html = app.test_client().get("/", headers=headers).get_data(as_text=True)

    assert f'<html lang="{expected}">' in html


def test_pages_are_translated(app):
    client = app.test_client()

    spanish = client.get("/login", headers={"Accept-Language": "es"}).get_data(as_text=True)
    english = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    french = client.get("/directory", headers={"Accept-Language": "fr"}).get_data(as_text=True)

    assert "Iniciar sesión" in spanish and "Contraseña" in spanish
    assert "Sign in" in english and "Password" in english
    assert "Annuaire du réseau" in french


def test_the_switcher_remembers_the_choice_and_returns_to_the_page(app):
    client = app.test_client()

    response = client.get("/search?q=puerto&lang=fr", headers={"Accept-Language": "en"})

    assert response.status_code == 303
    assert response.headers["Location"] == "/search?q=puerto"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=fr;") and "HttpOnly" in cookie
    html = client.get("/search?q=puerto", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="fr">' in html


def test_the_switcher_links_work_without_javascript(app):
    html = app.test_client().get("/directory?x=1").get_data(as_text=True)

    links = re.findall(r'<a href="([^"]+)" lang="(\w\w)" hreflang="\w\w"', html)

    assert [lang for _href, lang in links] == list(LANGUAGES)
    assert ("/directory?x=1&amp;lang=pt", "pt") in links


def test_an_unknown_language_is_ignored(app):
    client = app.test_client()

    response = client.get("/?lang=de")

    assert response.status_code == 303 and "Set-Cookie" not in response.headers
    assert '<html lang="es">' in client.get("/").get_data(as_text=True)


def test_a_signed_in_users_language_comes_before_the_browsers(app, world):
    from portal.accounts.models import User
    from portal.extensions import db

    with app.app_context():  # left before the requests: each has its own context
        db.session.get(User, world.member.id).locale = "pt"
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    sign_in_session(client, world.member)

    assert '<html lang="pt">' in client.get("/", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    client.get("/?lang=en")
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


def test_the_api_is_not_redirected_by_the_switcher(app):
    response = app.test_client().get("/api/v1/member-states?lang=fr")

    assert response.status_code == 200 and response.is_json


# What a file's size reads in each language: bytes spelled out and pluralised by the
# language's CLDR rules (French and Brazilian Portuguese count 0 as singular), larger
# sizes abbreviated. Spaces are CLDR's: no-break in French.
FILE_SIZES = {
    "en": ["0 bytes", "1 byte", "413 bytes", "1.5 kB", "2.3 MB", "1 MB"],
    "es": ["0 bytes", "1 byte", "413 bytes", "1,5 kB", "2,3 MB", "1 MB"],
    "pt": ["0 byte", "1 byte", "413 bytes", "1,5 kB", "2,3 MB", "1 MB"],
    "fr": ["0\xa0octet", "1\xa0octet", "413\xa0octets", "1,5\u202fko", "2,3\u202fMo", "1\u202fMo"],
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_file_sizes_read_naturally_in_every_language(app, language):
    from portal.public.views import file_size

    with app.test_request_context(headers={"Accept-Language": language}):
        sizes = [file_size(size) for size in (0, 1, 413, 1_500, 2_300_000, 999_999)]

    assert sizes == FILE_SIZES[language]
