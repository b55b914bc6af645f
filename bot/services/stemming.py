"""Words reduced to their stems, per language, so that a search for "transfers" finds
"transfer" and "registering births" finds "birth registration".

Both sides go through the same steps: lower case, accents and Arabic short vowels taken off
(a member types "educacion" as often as "educación"), stopwords dropped, then the Snowball
stemmer of the text's language. A document is stemmed in its own language; a search, whose
language nobody knows, in each community language at once (a word's forms)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Sequence

import snowballstemmer

from bot.services.stopwords import STOPWORDS

_WORD = re.compile(r"\w+", re.UNICODE)
_SNOWBALL = {"en": "english", "fr": "french", "es": "spanish", "pt": "portuguese", "ar": "arabic",
             "de": "german", "it": "italian", "nl": "dutch", "ru": "russian", "sw": "swahili", "tr": "turkish",
             "id": "indonesian", "hi": "hindi", "ne": "nepali"}
# Plurals no suffix rule can undo, which the network writes every day.
_IRREGULAR = {"en": {"children": "child", "women": "woman", "men": "man", "people": "person", "lives": "life"}}
# Stems are remembered: text is Zipfian, so a few thousand words make most of any archive.
_CACHE_LIMIT = 200_000
COMMUNITY_LANGUAGES = ("en", "fr", "es", "pt", "ar")


def fold(text: str) -> str:
    """Lower case without accents or Arabic vowel marks ("Éducación" -> "educacion")."""
    folded = text.casefold()
    if folded.isascii():  # most text: nothing to take off, and this is the index's hot path
        return folded
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(character for character in decomposed if not unicodedata.combining(character))


def words_of(text: str) -> list[str]:
    """The folded words of a text, in order: letters and digits only, so nothing a member
    types can reach a search engine's own syntax."""
    return [word for word in (match.strip("_") for match in _WORD.findall(fold(text))) if word]


_FOLDED_STOPWORDS = {language: frozenset(fold(word) for word in words) for language, words in STOPWORDS.items()}
_ANY_STOPWORD = frozenset().union(*_FOLDED_STOPWORDS.values())


@dataclass(frozen=True)
class Word:
    """One word of a search: as typed (folded), and its stems in each community language."""
    text: str
    forms: tuple[str, ...]


class Stemming:
    def __init__(self, languages: Sequence[str] = COMMUNITY_LANGUAGES, default_language: str = "") -> None:
        known = [language for language in languages if language in _SNOWBALL] or ["en"]
        self.languages = tuple(dict.fromkeys(known))
        self.default_language = default_language if default_language in _SNOWBALL else self.languages[0]
        self._stemmers: dict[str, object] = {}
        self._cache: dict[str, dict[str, str]] = {}

    def stems(self, text: str, language: str) -> list[str]:
        """A document's words as stems in its language, stopwords left out, in order."""
        language = language if language in _SNOWBALL else self.default_language
        stopwords = _FOLDED_STOPWORDS.get(language, frozenset())
        return [self.stem(word, language) for word in words_of(text) if word not in stopwords]

    def search_words(self, text: str) -> list[Word]:
        """A search's meaningful words with their forms; a word that is a stopword in any
        community language says nothing about the subject, so it is left out."""
        found: list[Word] = []
        for text_word in words_of(text):
            if text_word in _ANY_STOPWORD or any(word.text == text_word for word in found):
                continue
            found.append(self.word(text_word))
        return found

    def word(self, text_word: str) -> Word:
        forms = dict.fromkeys(self.stem(text_word, language) for language in self.languages)
        return Word(text_word, tuple(forms))

    def stem(self, word: str, language: str) -> str:
        cache = self._cache.setdefault(language, {})
        stem = cache.get(word)
        if stem is None:
            if len(cache) > _CACHE_LIMIT:
                cache.clear()
            stem = _IRREGULAR.get(language, {}).get(word) or self._stemmer(language).stemWord(word)  # type: ignore[attr-defined]
            cache[word] = stem
        return stem

    def _stemmer(self, language: str) -> object:
        if language not in self._stemmers:
            self._stemmers[language] = snowballstemmer.stemmer(_SNOWBALL[language])
        return self._stemmers[language]
