"""Which language a question or a reply is written in: langdetect, with its own seeded
factory so the same text always gives the same answer, limited to the community's languages.
A short text, or one langdetect is unsure of, is taken to be in its author's language: a
short Portuguese question must not become Spanish."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

log = logging.getLogger(__name__)

SURE = 0.9  # langdetect's probability for a guess to be trusted over the author's language
LETTERS = 25  # fewer letters than this is too short to tell
# The profiles loaded besides the community's own: languages widely written in the network's
# countries, so that a text in one the community does not offer is seen as such (and taken to
# be in its author's language) rather than forced into an offered one. All 55 of langdetect's
# would take 60 MB; these take a third of that.
WIDELY_WRITTEN = ("af", "ar", "bn", "ca", "de", "en", "es", "fa", "fr", "hi", "id", "it", "ja", "ko", "nl", "pl",
                  "pt", "ro", "ru", "so", "sw", "th", "tl", "tr", "uk", "ur", "vi", "zh-cn")


class LanguageDetection(Protocol):
    def detect(self, text: str, offered: tuple[str, ...], fallback: str) -> str: ...


class LanguageDetector:
    def __init__(self, languages: tuple[str, ...] = ()) -> None:
        self._factory: DetectorFactory | None = None
        self._profiles = tuple(dict.fromkeys((*WIDELY_WRITTEN, *languages)))

    def detect(self, text: str, offered: tuple[str, ...], fallback: str) -> str:
        """An offered language code such as "fr"; `fallback` (the author's language) when the
        text is too short or the guess unsure."""
        if sum(character.isalpha() for character in text) < LETTERS:
            return fallback
        guesses = self._guesses(text)
        best = max(((code, p) for code, p in guesses.items() if code in offered), key=lambda g: g[1], default=None)
        if best is None or best[1] < SURE:
            return fallback
        return best[0]

    def prepare(self) -> None:
        """Load the language profiles now (a fifth of a second), not on the first question."""
        if self._factory is None:
            factory = DetectorFactory()
            directory = Path(PROFILES_DIRECTORY)
            factory.load_json_profile([(directory / code).read_text(encoding="utf-8") for code in self._profiles
                                       if (directory / code).is_file()])
            factory.set_seed(0)
            self._factory = factory

    def _guesses(self, text: str) -> dict[str, float]:
        self.prepare()
        assert self._factory is not None
        detector = self._factory.create()
        detector.append(text)
        try:
            found = detector.get_probabilities()
        except LangDetectException:
            return {}
        guesses: dict[str, float] = {}
        for language in found:
            code = language.lang.split("-")[0]  # "zh-cn" -> "zh"
            guesses[code] = guesses.get(code, 0.0) + language.prob
        return guesses
