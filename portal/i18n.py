"""The interface languages: Flask-Babel, the locale of each request and the switcher.

The locale of a page is, in order: the visitor's explicit choice (the
switcher's `?lang=xx` links store it in the `portal_lang` cookie), the
signed-in user's `locale`, the best match of the browser's `Accept-Language`
among the four languages, else Spanish, the language of most of the network.

Catalogs live in `portal/translations/<lang>/LC_MESSAGES/messages.po`; the
build (`make`) compiles them to `.mo` files, which are not committed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel import Locale
from babel.lists import format_list
from babel.support import NullTranslations, Translations
from flask import Flask, current_app, redirect, request
from flask_babel import Babel, get_locale, get_translations
from flask_login import current_user
from werkzeug.wrappers import Response

# Interface languages, in the order the switcher shows them; the first is the default.
LANGUAGES = ("es", "en", "pt", "fr")
DEFAULT_LOCALE = "es"
# Each language's name in itself, for the switcher.
LANGUAGE_NAMES = {"es": "Español", "en": "English", "pt": "Português", "fr": "Français"}
# Open Graph locales (Facebook's list has es_LA for Latin American Spanish).
OG_LOCALES = {"es": "es_LA", "en": "en_US", "pt": "pt_BR", "fr": "fr_FR"}
COOKIE = "portal_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
TRANSLATIONS = Path(__file__).parent / "translations"

babel = Babel()


def select_locale() -> str:
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    if current_user.is_authenticated and current_user.locale in LANGUAGES:
        return str(current_user.locale)
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LOCALE


def current_language() -> str:
    """The language of the page being rendered (an `xx` code of LANGUAGES)."""
    locale = get_locale()
    return locale.language if locale is not None else DEFAULT_LOCALE


def names_list(names: list[str]) -> str:
    """Names joined as the language joins them ("A, B y C", "A, B and C")."""
    return format_list(list(names), locale=str(get_locale() or DEFAULT_LOCALE))


def _is_page_request() -> bool:
    path = request.path
    return not (path.startswith("/api/") or path.startswith("/static/") or path == "/api")


def _switch_language() -> Response | None:
    """`GET ...?lang=xx` remembers the choice and redirects to the page without it."""
    if request.method not in {"GET", "HEAD"} or "lang" not in request.args:
        return None
    if not _is_page_request():
        return None
    chosen = request.args.get("lang", "")
    rest = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    target = request.script_root + request.path + ("?" + urlencode(rest) if rest else "")
    response = redirect(target, code=303)
    if chosen in LANGUAGES:
        remember_language(response, chosen)
    return response


def remember_language(response: Response, code: str) -> None:
    """This browser's explicit choice of language (it wins over the account's)."""
    response.set_cookie(
        COOKIE,
        code,
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
    )


def language_url(code: str) -> str:
    """This page with `?lang=code`: the switcher's link (works without JavaScript)."""
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    return request.script_root + request.path + "?" + urlencode([*args, ("lang", code)])


def _template_globals() -> dict[str, Any]:
    return {
        "current_language": current_language,
        "interface_languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        "language_url": language_url,
        "og_locales": OG_LOCALES,
    }


def _install_template_gettext(app: Flask) -> None:
    """The templates' `_()` and `ngettext()` look up the catalog of the page's locale in
    a dictionary of their own: Flask-Babel's lookup, run for each of a page's hundred
    strings, cost about 5% of the processor time of a page. The locale is read for each
    string, as Flask-Babel reads it, so `force_locale` (e-mails in their reader's
    language) still applies."""
    catalogs: dict[Locale | None, Translations | NullTranslations] = {}

    def catalog() -> Translations | NullTranslations:
        locale = get_locale()
        found = catalogs.get(locale)
        if found is None:
            found = catalogs[locale] = get_translations()
        return found

    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: catalog().ugettext(s),
        ngettext=lambda s, p, n: catalog().ungettext(s, p, n),
        pgettext=lambda c, s: catalog().upgettext(c, s),
        npgettext=lambda c, s, p, n: catalog().unpgettext(c, s, p, n),
        newstyle=True,
    )


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale)
    _install_template_gettext(app)
    app.before_request(_switch_language)
    app.context_processor(_template_globals)


def compile_catalogs(directory: Path = TRANSLATIONS, *, force: bool = False) -> list[Path]:
    """Compile each `messages.po` whose `.mo` is missing or older; the compiled paths.

    `make` runs `pybabel compile`; this is the same for a checkout where only
    the tests run (the test suite calls it at start)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    compiled = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        mo_path = po_path.with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        tmp = mo_path.with_suffix(".mo.tmp")
        with tmp.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        tmp.replace(mo_path)
        compiled.append(mo_path)
    return compiled
