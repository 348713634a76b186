"""The index schema: one document per live item, its text in the field of its language,
and one more per published item: its public copy, in the `public_` fields.

Each language field folds accents and then stems with that language's Snowball
stemmer, so a word meets its plural and its spelling without accents:
`reunión`, `reunion` and `reuniones`; `facilitación`, `facilitacion` and
`facilitaciones`. Queries run over the fields of all four languages, each
analysing the query its own way, so a word is found whatever language the item
is in. The `place` field holds the names of the item's community, port and
member state. Public search reads only the `public_` fields, so it scans the
postings of published copies alone.
"""

from __future__ import annotations

import re
from typing import Any

from whoosh.analysis import (
    CharsetFilter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.lang import stemmer_for_language, stopwords_for_language
from whoosh.support.charset import accent_map

LANGUAGES = ("es", "en", "pt", "fr")

# An index whose fields or analysis differ from these answers 503 "out of date" until
# rebuilt (`portal init` rebuilds it; see index.is_current).

# The two scopes of the index: the items staff work on, the copies the public reads.
WORKSPACE_PREFIX = ""
PUBLIC_PREFIX = "public_"


def fold(text: str) -> str:
    """Lower case without accents: how every indexed word and every query word is compared."""
    return text.lower().translate(accent_map)


# Word endings the Snowball stemmers recognise only with their accents (`-ación` but not
# `-acion`, so `facilitacion` kept its suffix while `facilitación` lost it), as they read
# once folded, and what the stemmer is given instead. Only endings that are always
# accented when spelt correctly: an unaccented ending that is a word of its own (Spanish
# `-io`, French `-e`) is left alone. Spanish `-enes` is the plural of words whose
# singular the accent kept apart from the suffix `-en` (`almacén`, `régimen`): the plural
# is stemmed as the singular. Portuguese `-ável`/`-ível` plurals likewise.
_ENDINGS = {
    "es": {"acion": "ación", "ucion": "ución", "logia": "logía", "logias": "logías", "enes": "en"},
    "pt": {
        "acao": "ação",
        "acoes": "ações",
        "ancia": "ância",
        "encia": "ência",
        "encias": "ências",
        "avel": "ável",
        "aveis": "ável",
        "ivel": "ível",
        "iveis": "ível",
    },
    "fr": {
        "ite": "ité",
        "ites": "ités",
        "ee": "ée",
        "ees": "ées",
        "iere": "ière",
        "ieres": "ières",
    },
    "en": {},
}


# Text whose terms show how a field analyses (index.is_current): accents, stop words,
# stems, and every ending above with and without its accents.
ANALYSIS_PROBE = " ".join(
    [
        "Reuniones reunión facilitacion São está été the Mexique de",
        *(f"port{end}" for table in _ENDINGS.values() for pair in table.items() for end in pair),
    ]
)


class FoldedStemmer:
    """The Snowball stemmer of a language for words already folded: the stem of a word
    depends only on its folded spelling, so the accented and the unaccented spelling of
    a word always meet; an ending of _ENDINGS gets its accents back before stemming, so
    the stems stay those the accented text had.

    Pickled with the index's schema together with its endings, so an index keeps the
    analysis it was built with (index.is_current compares it with this code's).
    """

    def __init__(self, language: str, endings: dict[str, str]) -> None:
        self.language = language
        self.endings = dict(endings)
        self._lengths = sorted({len(ending) for ending in self.endings}, reverse=True)
        self._stem = stemmer_for_language(language)

    def __getstate__(self) -> dict[str, Any]:
        return {"language": self.language, "endings": self.endings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["language"], state["endings"])  # type: ignore[misc]

    def __call__(self, word: str) -> str:
        for length in self._lengths:
            restored = self.endings.get(word[-length:]) if len(word) > length else None
            if restored is not None:
                word = word[:-length] + restored
                break
        return fold(self._stem(word))


def _stopwords(language: str) -> frozenset[str]:
    # What Whoosh's LanguageAnalyzer stops (its English list plus the language's), folded.
    return frozenset(fold(word) for word in StopFilter(lang=language).stops)


def analyzer(language: str) -> Any:
    return (
        RegexTokenizer()
        | LowercaseFilter()
        | CharsetFilter(accent_map)
        | StopFilter(stoplist=_stopwords(language))
        | StemFilter(FoldedStemmer(language, _ENDINGS[language]))
    )


def place_analyzer() -> Any:
    """Names, folded but not stemmed; the stop words of every language dropped (`de`)."""
    stopwords = frozenset().union(*(_stopwords(language) for language in LANGUAGES))
    return RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map) | StopFilter(stopwords)


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
        # The item's community, port and member state (see content.place_names), weighing
        # less than the item's own words: `portuaria` in a text ranks above the same word
        # in the name of the author's "Comunidad Portuaria".
        fields[f"{prefix}place"] = TEXT(analyzer=place_analyzer(), field_boost=0.5)
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
