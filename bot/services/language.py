"""Which language a question is written in (langdetect, with its own seeded factory so the
same text always gives the same answer)."""

from __future__ import annotations

import logging

from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

from bot.domain.members import has_words

log = logging.getLogger(__name__)


class LanguageDetector:
    def __init__(self) -> None:
        self._factory: DetectorFactory | None = None

    def detect(self, text: str) -> str:
        """An ISO 639-1 code such as "fr", or "" when the text gives no clue."""
        if not has_words(text):
            return ""
        if self._factory is None:
            factory = DetectorFactory()
            factory.load_profile(PROFILES_DIRECTORY)
            factory.set_seed(0)
            self._factory = factory
        detector = self._factory.create()
        detector.append(text)
        try:
            code = detector.detect()
        except LangDetectException:
            return ""
        return code.split("-")[0]
