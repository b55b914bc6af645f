"""What the bot says, per language: gettext catalogs read from `bot/texts/<lang>.po`.

English is the source language (the msgids). Babel reads each .po file at start and gettext
looks messages up, so plural forms and fallbacks follow the standard rules.
"""

from __future__ import annotations

import gettext
import io
import logging
from importlib import resources
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

log = logging.getLogger(__name__)


class Translator:
    def __init__(self, language: str, translations: gettext.NullTranslations) -> None:
        self.language = language
        self._translations = translations

    def __call__(self, message: str, **params: Any) -> str:
        translated = self._translations.gettext(message)
        return translated.format(**params) if params else translated

    def plural(self, singular: str, plural: str, count: int, **params: Any) -> str:
        translated = self._translations.ngettext(singular, plural, count)
        return translated.format(count=count, **params)


class Texts:
    """The catalogs of the community's languages, each falling back to English."""

    def __init__(self, languages: tuple[str, ...], default_language: str) -> None:
        self.languages = languages
        self.default_language = default_language
        self._translators = {language: Translator(language, _load(language)) for language in languages}
        self._translators.setdefault("en", Translator("en", gettext.NullTranslations()))

    def for_language(self, language: str) -> Translator:
        return self._translators.get(language) or self._translators.get(
            self.default_language, self._translators["en"]
        )


def _load(language: str) -> gettext.NullTranslations:
    if language == "en":
        return gettext.NullTranslations()
    source = resources.files("bot.texts").joinpath(f"{language}.po")
    if not source.is_file():
        log.warning("no translation for %r yet: the bot will speak English to those members", language)
        return gettext.NullTranslations()
    with source.open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)
