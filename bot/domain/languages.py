"""The languages the bot knows by name: each in English (on facilitators' cards, in the
English catalog, which translates it) and in itself (on the buttons a member picks from)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str
    english: str
    native: str


LANGUAGES = {language.code: language for language in (
    Language("en", "English", "English"),
    Language("fr", "French", "Français"),
    Language("es", "Spanish", "Español"),
    Language("pt", "Portuguese", "Português"),
    Language("ar", "Arabic", "العربية"),
    Language("ru", "Russian", "Русский"),
    Language("zh", "Chinese", "中文"),
    Language("sw", "Swahili", "Kiswahili"),
    Language("de", "German", "Deutsch"),
    Language("it", "Italian", "Italiano"),
    Language("hi", "Hindi", "हिन्दी"),
    Language("bn", "Bengali", "বাংলা"),
    Language("id", "Indonesian", "Bahasa Indonesia"),
    Language("tr", "Turkish", "Türkçe"),
    Language("uk", "Ukrainian", "Українська"),
    Language("nl", "Dutch", "Nederlands"),
)}


def english_name(code: str) -> str:
    """"French" for "fr" (and "zh-cn"); the code itself for a language we have no name for."""
    language = LANGUAGES.get(code) or LANGUAGES.get(code.split("-")[0])
    return language.english if language else code


def native_name(code: str) -> str:
    language = LANGUAGES.get(code) or LANGUAGES.get(code.split("-")[0])
    return language.native if language else code


def language_from_text(text: str, offered: tuple[str, ...]) -> str | None:
    """The offered language a person named by its code or either of its names."""
    wanted = text.strip().casefold()
    for code in offered:
        if wanted in (code.casefold(), native_name(code).casefold(), english_name(code).casefold()):
            return code
    return None
