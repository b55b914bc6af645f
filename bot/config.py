"""Settings: TOML plus the environment, turned into typed settings and checked at start.

Every problem is a `ConfigError` naming the key and what is wrong, shown as one line.
A secret is written "env:NAME" and read from the environment variable NAME. Each platform's
section is read by its own adapter (a `PlatformPlugin`), so this module names no platform.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from bot.domain.practices import DEFAULT_THEMES
from bot.ports import PlatformPlugin
from bot.settings_reader import ConfigError, Section, parse_duration
from bot.texts.catalog import locale_of

__all__ = ["ConfigError", "Settings", "CommunitySettings", "FacilitatorSettings", "DeliveryConfig", "load", "parse",
           "parse_duration"]

LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
CORE_SECTIONS = ("community", "storage", "facilitators", "delivery", "limits", "logging", "practices", "programme")


@dataclass(frozen=True)
class CommunitySettings:
    name: str
    languages: tuple[str, ...] = ("en",)
    default_language: str = "en"
    reply_window: float = 21 * 86400
    reminder_before: float = 2 * 86400  # 0 turns reminders off


@dataclass(frozen=True)
class FacilitatorSettings:
    # platform -> the facilitators' user ids on it, as that platform's adapter normalised them
    by_platform: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # A question no facilitator of its language has acted on goes to every facilitator after this.
    unclaimed_after: float = 4 * 3600
    # Whether the facilitator who approved a question also gets its broadcast copy (their chat
    # already holds its card; by default it gets cards and drafts, not the network's questions).
    broadcast_to_approver: bool = False

    def lists(self, platform: str, user_id: str) -> bool:
        return user_id in self.by_platform.get(platform, frozenset())

    def has_list_for(self, platform: str) -> bool:
        return platform in self.by_platform


@dataclass(frozen=True)
class DeliveryConfig:
    # Overrides of each platform's documented ceilings: platform -> messages per second.
    messages_per_second: Mapping[str, float] = field(default_factory=dict)
    per_chat_interval: Mapping[str, float] = field(default_factory=dict)
    max_attempts: int = 8


@dataclass(frozen=True)
class PracticeSettings:
    # The themes good practices are tagged with (the child-rights themes unless configured).
    themes: tuple[str, ...] = DEFAULT_THEMES


@dataclass(frozen=True)
class ProgrammeSettings:
    # How often the bot proposes a member to feature ("Know Your Community").
    feature_every: float = 14 * 86400.0


@dataclass(frozen=True)
class LimitSettings:
    """What one person may send: a burst, then a steady rate (more is refused at the door,
    with one polite notice); and how many of their questions may wait for the facilitators."""

    messages_per_second: float = 5.0
    burst: int = 20
    waiting_questions: int = 3


@dataclass(frozen=True)
class Settings:
    community: CommunitySettings
    storage_path: Path
    facilitators: FacilitatorSettings
    # The enabled platforms, each with its adapter's own settings.
    platforms: Mapping[str, Any] = field(default_factory=dict)
    delivery: DeliveryConfig = DeliveryConfig()
    limits: LimitSettings = LimitSettings()
    practices: PracticeSettings = PracticeSettings()
    programme: ProgrammeSettings = ProgrammeSettings()
    log_level: str = "INFO"
    # How long the inbound log keeps what members sent word for word (then only what the
    # rest of the database needs: that it was handled, and when).
    inbound_retention: float = 90 * 86400.0
    # A PostgreSQL server's address ("postgresql://user:password@host/database"): every worker
    # that names the same one shares the community. Empty: the SQLite file at storage_path.
    storage_url: str = ""

    def platform(self, name: str) -> Any:
        """The settings of an enabled platform, or None."""
        return self.platforms.get(name)


def load(path: str | Path, plugins: Mapping[str, PlatformPlugin],
         environ: Mapping[str, str] | None = None) -> Settings:
    environ = os.environ if environ is None else environ
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("--config", f"no file at {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("--config", f"{path} is not valid TOML ({error})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError("--config", f"cannot read {path} ({error})") from None
    return parse(raw, base=path.parent, environ=environ, plugins=plugins)


def postgresql_address(url: str, key: str, required: bool = False) -> str:
    """A PostgreSQL server's address as given (or nothing, unless `required`), refused when it
    is not one."""
    if (url or required) and not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(key, "must be a PostgreSQL server's address: postgresql://user:password@host/database")
    return url


def parse(raw: Mapping[str, Any], base: Path, environ: Mapping[str, str],
          plugins: Mapping[str, PlatformPlugin]) -> Settings:
    known = (*CORE_SECTIONS, *plugins)
    for name in raw:
        if name not in known:
            raise ConfigError(name, f"unknown section (known: {', '.join(sorted(known))})")

    def section(name: str, required: bool = False) -> Section:
        if name not in raw:
            if required:
                raise ConfigError(name, "missing section")
            return Section(name, {}, environ)
        value = raw[name]
        if not isinstance(value, dict):
            raise ConfigError(name, "must be a section ([" + name + "])")
        return Section(name, value, environ)

    community = _community(section("community", required=True))

    storage = section("storage", required=True)
    storage_url = postgresql_address(storage.secret("url"), storage.key("url"))  # "env:DATABASE_URL"
    storage_path = Path(storage.string("path", default="facilitator.db", required=not storage_url))
    if not storage_path.is_absolute():
        storage_path = base / storage_path
    inbound_retention = storage.duration("inbound_retention", default="90d")
    storage.finish()

    listed = section("facilitators")
    by_platform: dict[str, frozenset[str]] = {}
    for platform in plugins:
        if platform in listed:
            normalise = plugins[platform].normalise_user_id
            by_platform[platform] = frozenset(normalise(raw_id) for raw_id in listed.id_list(platform))
    unclaimed_after = listed.duration("unclaimed_after", default="4h")
    broadcast_to_approver = listed.boolean("broadcast_to_approver", default=False)
    listed.finish()

    platforms: dict[str, Any] = {}
    for name in plugins:
        platform_section = section(name)
        if not platform_section.boolean("enabled", default=bool(platform_section)):
            continue
        platforms[name] = plugins[name].read_settings(platform_section)
        platform_section.finish()
    if not platforms:
        present = next((name for name in plugins if name in raw), next(iter(plugins), "platforms"))
        enable = ", ".join(f"[{name}]" for name in plugins)
        raise ConfigError(f"{present}.enabled", f"no platform is enabled: enable one of {enable}")

    delivery_section = section("delivery")
    delivery = DeliveryConfig(
        messages_per_second=delivery_section.rate_table("messages_per_second"),
        per_chat_interval=delivery_section.rate_table("per_chat_interval"),
        max_attempts=delivery_section.positive_int("max_attempts", default=8),
    )
    delivery_section.finish()

    limits_section = section("limits")
    limits = LimitSettings(
        messages_per_second=limits_section.positive_number("messages_per_second", default=5.0),
        burst=limits_section.positive_int("burst", default=20),
        waiting_questions=limits_section.positive_int("waiting_questions", default=3),
    )
    limits_section.finish()

    practices = _practices(section("practices"))

    programme_section = section("programme")
    programme = ProgrammeSettings(feature_every=programme_section.duration("feature_every", default="14d"))
    programme_section.finish()

    logging_section = section("logging")
    log_level = logging_section.string("level", default="INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("logging.level", f"{log_level!r} is not one of DEBUG, INFO, WARNING, ERROR")
    logging_section.finish()

    return Settings(
        community=community,
        storage_path=storage_path,
        storage_url=storage_url,
        facilitators=FacilitatorSettings(by_platform=by_platform, unclaimed_after=unclaimed_after,
                                         broadcast_to_approver=broadcast_to_approver),
        platforms=platforms,
        delivery=delivery,
        limits=limits,
        practices=practices,
        programme=programme,
        log_level=log_level,
        inbound_retention=inbound_retention,
    )


def _community(section: Section) -> CommunitySettings:
    languages = tuple(section.string_list("languages", default=["en"]))
    if not languages:
        raise ConfigError("community.languages", "list at least one language, e.g. [\"en\"]")
    for code in languages:
        if not LANGUAGE_CODE.match(code):
            raise ConfigError("community.languages", f"{code!r} is not a language code like \"en\" or \"fr\"")
        if locale_of(code) is None:
            raise ConfigError("community.languages", f"{code!r} is no language Babel knows (see the CLDR codes)")
    default_language = section.string("default_language", default=languages[0])
    if default_language not in languages:
        raise ConfigError("community.default_language", f"{default_language!r} is not in community.languages")
    community = CommunitySettings(
        name=section.string("name", required=True),
        languages=languages,
        default_language=default_language,
        reply_window=section.duration("reply_window", default="21d"),
        reminder_before=section.duration("reminder_before", default="2d", allow_zero=True),
    )
    section.finish()
    return community


def _practices(section: Section) -> PracticeSettings:
    themes = tuple(" ".join(theme.split()) for theme in section.string_list("themes", default=list(DEFAULT_THEMES)))
    section.finish()
    if not themes:
        raise ConfigError("practices.themes", "list at least one theme, e.g. [\"education\", \"health\"]")
    for theme in themes:
        if not theme or len(theme) > 60:
            raise ConfigError("practices.themes", f"{theme!r}: each theme is 1 to 60 characters")
    folded = [theme.casefold() for theme in themes]
    repeated = sorted({theme for theme in folded if folded.count(theme) > 1})
    if repeated:
        raise ConfigError("practices.themes", f"{repeated[0]!r} is listed twice")
    return PracticeSettings(themes=themes)
