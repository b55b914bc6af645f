"""What the bot says, per language: gettext catalogs (`bot/texts/<lang>.po`, managed with
Babel: `make catalogs`), and dates, numbers and language names in the reader's language.

English is the source language (the msgids). Babel reads each .po file at start and gettext
looks messages up, so plural forms and fallbacks follow the standard rules. In a language
written right to left, every value put into a sentence (a name, a number, a Latin word) is
isolated, so it keeps its own direction and does not scramble the sentence around it.
"""

from __future__ import annotations

import gettext
import io
import logging
from datetime import datetime, timezone
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton, format_time, get_datetime_format
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

log = logging.getLogger(__name__)

FIRST_STRONG_ISOLATE, POP_DIRECTIONAL_ISOLATE = "\u2068", "\u2069"
DAY = 86400.0


def N_(message: str) -> str:
    """Marks a message for the catalogs where it is written; it is translated where it is said."""
    return message


def locale_of(code: str) -> Locale | None:
    """Babel's locale for a language code such as "fr" or "pt-BR", or None if Babel knows none."""
    try:
        return Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return None


def native_name(code: str) -> str:
    """The language's name in itself: "Français", "العربية"."""
    locale = locale_of(code)
    name = locale.get_display_name(locale) if locale else None
    return (name[:1].upper() + name[1:]) if name else code


class Translator:
    def __init__(self, language: str, translations: gettext.NullTranslations) -> None:
        self.language = language
        self.locale = locale_of(language) or Locale("en")
        self.right_to_left = self.locale.character_order == "right-to-left"
        self._translations = translations

    def __call__(self, message: str, **params: Any) -> str:
        translated = self._translations.gettext(message)
        return translated.format(**self._isolated(params)) if params else translated

    def plural(self, singular: str, plural: str, count: int, **params: Any) -> str:
        translated = self._translations.ngettext(singular, plural, count)
        return translated.format(**self._isolated({"count": self.number(count), **params}))

    def _isolated(self, params: dict[str, Any]) -> dict[str, Any]:
        if not self.right_to_left:
            return params
        return {key: f"{FIRST_STRONG_ISOLATE}{value}{POP_DIRECTIONAL_ISOLATE}" for key, value in params.items()}

    def number(self, value: int | float) -> str:
        return format_decimal(value, locale=self.locale)

    def percent(self, share: float) -> str:
        """"93%" in English, "93 %" in French."""
        return format_percent(share, locale=self.locale)

    def date(self, timestamp: float, zone: str = "UTC") -> str:
        """"13 déc. 2026" in French, "13 Dec 2026" in English."""
        return format_skeleton("yMMMd", _moment(timestamp, zone), locale=self.locale)

    def moment(self, timestamp: float, zone: str = "UTC") -> str:
        """"13 déc. 2026, 18:00": a day and a time in the reader's time zone."""
        moment = _moment(timestamp, zone)
        return get_datetime_format("medium", locale=self.locale).format(
            format_time(moment, "short", locale=self.locale), self.date(timestamp, zone))

    def until(self, timestamp: float, now: float, zone: str = "UTC") -> str:
        """When something ends, as said after "until": its time when less than a day away
        ("18:00 UTC today", "tomorrow at 09:00 UTC"), else its date."""
        if not 0 < timestamp - now < DAY:
            return self.date(timestamp, zone)
        end = _moment(timestamp, zone)
        time_of_day = format_time(end, "short", locale=self.locale)
        if zone == "UTC":  # broadcasts go to readers in every time zone: say which one
            time_of_day = f"{time_of_day} UTC"
        if end.date() == _moment(now, zone).date():
            return self(N_("{time} today"), time=time_of_day)
        return self(N_("tomorrow at {time}"), time=time_of_day)

    def month(self, timestamp: float) -> str:
        """"décembre 2026"."""
        return format_skeleton("yMMMM", _moment(timestamp, "UTC"), locale=self.locale)

    def language_name(self, code: str) -> str:
        """A language's name in the reader's language, as written inside a sentence: "French"
        for an English reader, "français" for a French one."""
        return self.locale.languages.get(code) or self.locale.languages.get(code.split("-")[0]) or code


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


def has_catalog(language: str) -> bool:
    return language == "en" or resources.files("bot.texts").joinpath(f"{language}.po").is_file()


def language_from_text(text: str, offered: tuple[str, ...], reader: Translator) -> str | None:
    """The offered language a person named: by its code, its own name or its name in the
    reader's language."""
    wanted = text.strip().casefold()
    for code in offered:
        if wanted in (code.casefold(), native_name(code).casefold(), reader.language_name(code).casefold()):
            return code
    return None


def _moment(timestamp: float, zone: str) -> datetime:
    try:
        tz = ZoneInfo(zone)
    except (KeyError, ValueError):
        tz = ZoneInfo("UTC")
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).astimezone(tz)


def _load(language: str) -> gettext.NullTranslations:
    if language == "en":
        return gettext.NullTranslations()
    source = resources.files("bot.texts").joinpath(f"{language}.po")
    if not source.is_file():
        log.warning("no translation for %r yet: the bot will speak English to those members", language)
        return gettext.NullTranslations()
    with source.open("rb") as po_file:
        catalog = read_po(po_file, locale=language.replace("-", "_"))
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)
