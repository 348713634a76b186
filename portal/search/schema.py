"""The index schema: one document per live item, its text in the field of its language,
and one more per published item: its public copy, in the `public_` fields.

Each language field stems with Whoosh's analyzer for that language and then
folds accents, so `reunion`, `reunión` and `reuniones` meet. Queries run over
the fields of all four languages, each analysing the query its own way, so a
word is found whatever language the item is in. Public search reads only the
`public_` fields, so it scans the postings of published copies alone.
"""

from __future__ import annotations

import re

from whoosh.analysis import CharsetFilter, LanguageAnalyzer
from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.lang import stopwords_for_language
from whoosh.support.charset import accent_map

LANGUAGES = ("es", "en", "pt", "fr")

# An index whose fields differ from these answers 503 until rebuilt (`portal init`
# rebuilds it); a change of analysis alone needs `portal reindex` after the upgrade.

# The two scopes of the index: the items staff work on, the copies the public reads.
WORKSPACE_PREFIX = ""
PUBLIC_PREFIX = "public_"


def analyzer(language: str) -> object:
    return LanguageAnalyzer(language) | CharsetFilter(accent_map)


def build_schema() -> Schema:
    fields: dict[str, object] = {
        # "<item id>" for a workspace document, "public:<item id>" for a public copy.
        "id": ID(stored=True, unique=True),
        "item_id": ID(stored=True),
        "kind": ID(stored=True),
        # public, ws:<id> of the owner and of every group it is shared with
        "labels": KEYWORD(commas=True, scorable=False),
        "workspace_id": ID(stored=True),
        "community": ID(stored=True),
        "country": ID(stored=True),
        "language": ID(stored=True),
        "year": ID(stored=True),
        "tags": KEYWORD(commas=True, lowercase=True, stored=True),
        "created_at": DATETIME(sortable=True, stored=True),
        # The version indexed, for `portal reindex --check`.
        "version": NUMERIC(stored=True),
        # The text itself, kept for highlighting.
        "title_text": STORED(),
        "body_text": STORED(),
    }
    for prefix in (WORKSPACE_PREFIX, PUBLIC_PREFIX):
        for language in LANGUAGES:
            fields[f"{prefix}title_{language}"] = TEXT(analyzer=analyzer(language), field_boost=3.0)
            fields[f"{prefix}content_{language}"] = TEXT(analyzer=analyzer(language))
    return Schema(**fields)


_STOPWORDS = {language: frozenset(stopwords_for_language(language)) for language in LANGUAGES}
_WORD = re.compile(r"\w+", re.UNICODE)


def detect_language(text: str, default: str = "es") -> str:
    """The network's language whose common words the text uses most."""
    words = [w.lower() for w in _WORD.findall(text[:5000])]
    if not words:
        return default
    scores = {lang: sum(w in stop for w in words) for lang, stop in _STOPWORDS.items()}
    best = max(scores, key=lambda lang: scores[lang])
    return best if scores[best] > 0 else default
