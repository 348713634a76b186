"""The interface languages: catalogs complete and compiling, the locale of a request."""

from __future__ import annotations

import io
import random
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


@pytest.mark.parametrize("language", LANGUAGES)
def test_relative_times_read_as_babel_writes_them(language):
    """`time_ago` keeps Babel's text by unit and count: for any number of seconds, ahead
    or ago, at the units' edges too, the kept text is the one Babel writes."""
    from babel import Locale
    from babel.dates import format_timedelta

    from portal.pages import AGO_THRESHOLD, _in_babel_units, _relative_time

    locale = Locale.parse(language)
    edges = [0, 0.3, 0.5, 1, 59.4, 59.6, 65.9, 66, 3959, 3960, 3961, 5399, 5400]
    edges += [1.1 * days * 86400 + nudge for days in (1, 7, 30, 365) for nudge in (-1, 0, 1)]
    spread = random.Random(13)
    samples = [spread.uniform(0, 4e8) for _ in range(3000)] + [
        spread.uniform(0, 2e5) for _ in range(3000)
    ]
    for seconds in [*edges, *samples]:
        for signed in (seconds, -seconds):
            expected = format_timedelta(
                signed, add_direction=True, threshold=AGO_THRESHOLD, locale=locale
            )
            assert _relative_time(*_in_babel_units(signed), locale) == expected, signed


def test_templates_translate_in_the_locale_forced_for_an_email(app):
    """The templates' catalog lookup follows `force_locale`, as an e-mail written during
    a request, in its reader's language, needs."""
    from flask import render_template_string
    from flask_babel import force_locale

    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        assert render_template_string('{{ _("Sign in") }}') == "Iniciar sesión"
        with force_locale("fr"):
            assert render_template_string('{{ _("Sign in") }}') == "Se connecter"
        assert render_template_string('{{ _("Sign in") }}') == "Iniciar sesión"
