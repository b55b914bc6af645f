"""Settings: TOML plus the environment, turned into typed settings and checked at start.

Every problem is a `ConfigError` naming the key and what is wrong, shown as one line.
A secret is written "env:NAME" and read from the environment variable NAME.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")


class ConfigError(Exception):
    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class CommunitySettings:
    name: str
    languages: tuple[str, ...] = ("en",)
    default_language: str = "en"
    reply_window: float = 21 * 86400
    reminder_before: float = 2 * 86400  # 0 turns reminders off


@dataclass(frozen=True)
class FacilitatorSettings:
    # platform -> the facilitators' user ids (phone numbers for WhatsApp) on it
    by_platform: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def lists(self, platform: str, user_id: str) -> bool:
        return user_id in self.by_platform.get(platform, frozenset())

    def has_list_for(self, platform: str) -> bool:
        return platform in self.by_platform


@dataclass(frozen=True)
class TelegramConfig:
    token: str
    base_url: str = "https://api.telegram.org/bot"
    mode: str = "polling"
    webhook_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8443
    secret_token: str = ""
    facilitator_chat_id: str = ""


@dataclass(frozen=True)
class WebChatConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    secret: str = ""
    demo: bool = False


@dataclass(frozen=True)
class DeliveryConfig:
    # Overrides of each platform's documented ceilings: platform -> messages per second.
    messages_per_second: Mapping[str, float] = field(default_factory=dict)
    per_chat_interval: Mapping[str, float] = field(default_factory=dict)
    max_attempts: int = 8


@dataclass(frozen=True)
class Settings:
    community: CommunitySettings
    storage_path: Path
    facilitators: FacilitatorSettings
    telegram: TelegramConfig | None = None
    webchat: WebChatConfig | None = None
    delivery: DeliveryConfig = DeliveryConfig()
    log_level: str = "INFO"

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(name for name in ("telegram", "webchat") if getattr(self, name) is not None)


def load(path: str | Path, environ: Mapping[str, str] | None = None) -> Settings:
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
    return parse(raw, base=path.parent, environ=environ)


def parse(raw: Mapping[str, Any], base: Path, environ: Mapping[str, str]) -> Settings:
    reader = _Reader(environ)
    known = {"community", "storage", "facilitators", "telegram", "slack", "whatsapp", "webchat", "delivery", "logging"}
    for section in raw:
        if section not in known:
            raise ConfigError(section, f"unknown section (known: {', '.join(sorted(known))})")

    community_raw = reader.section(raw, "community", required=True)
    languages = tuple(reader.string_list(community_raw, "community.languages", default=["en"]))
    if not languages:
        raise ConfigError("community.languages", "list at least one language, e.g. [\"en\"]")
    for code in languages:
        if not LANGUAGE_CODE.match(code):
            raise ConfigError("community.languages", f"{code!r} is not a language code like \"en\" or \"fr\"")
    default_language = reader.string(community_raw, "community.default_language", default=languages[0])
    if default_language not in languages:
        raise ConfigError("community.default_language", f"{default_language!r} is not in community.languages")
    community = CommunitySettings(
        name=reader.string(community_raw, "community.name", required=True),
        languages=languages,
        default_language=default_language,
        reply_window=reader.duration(community_raw, "community.reply_window", default="21d"),
        reminder_before=reader.duration(community_raw, "community.reminder_before", default="2d", allow_zero=True),
    )
    reader.no_unknown_keys(community_raw, "community", {"name", "languages", "default_language", "reply_window", "reminder_before"})

    storage_raw = reader.section(raw, "storage", required=True)
    storage_path = Path(reader.string(storage_raw, "storage.path", required=True))
    if not storage_path.is_absolute():
        storage_path = base / storage_path
    reader.no_unknown_keys(storage_raw, "storage", {"path"})

    facilitators_raw = reader.section(raw, "facilitators")
    by_platform: dict[str, frozenset[str]] = {}
    for platform in ("telegram", "slack", "whatsapp", "webchat"):
        if platform in facilitators_raw:
            ids = reader.id_list(facilitators_raw, f"facilitators.{platform}")
            by_platform[platform] = frozenset(ids)
    reader.no_unknown_keys(facilitators_raw, "facilitators", {"telegram", "slack", "whatsapp", "webchat"})

    telegram = None
    telegram_raw = reader.section(raw, "telegram")
    if reader.boolean(telegram_raw, "telegram.enabled", default=bool(telegram_raw)):
        mode = reader.string(telegram_raw, "telegram.mode", default="polling")
        if mode not in ("polling", "webhook"):
            raise ConfigError("telegram.mode", f"{mode!r} is neither \"polling\" nor \"webhook\"")
        telegram = TelegramConfig(
            token=reader.secret(telegram_raw, "telegram.token", required=True),
            base_url=reader.url(telegram_raw, "telegram.base_url", default="https://api.telegram.org/bot"),
            mode=mode,
            webhook_url=reader.url(telegram_raw, "telegram.webhook_url", required=mode == "webhook"),
            host=reader.string(telegram_raw, "telegram.host", default="0.0.0.0" if mode == "webhook" else "127.0.0.1"),
            port=reader.port(telegram_raw, "telegram.port", default=8443),
            secret_token=reader.secret(telegram_raw, "telegram.secret_token", required=mode == "webhook"),
            facilitator_chat_id=reader.identifier(telegram_raw, "telegram.facilitator_chat_id"),
        )
        if telegram.secret_token and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", telegram.secret_token):
            raise ConfigError("telegram.secret_token", "use 1 to 256 characters of A-Z, a-z, 0-9, _ and -")
    reader.no_unknown_keys(
        telegram_raw, "telegram",
        {"enabled", "token", "base_url", "mode", "webhook_url", "host", "port", "secret_token", "facilitator_chat_id"},
    )

    webchat = None
    webchat_raw = reader.section(raw, "webchat")
    if reader.boolean(webchat_raw, "webchat.enabled", default=bool(webchat_raw)):
        webchat = WebChatConfig(
            host=reader.string(webchat_raw, "webchat.host", default="127.0.0.1"),
            port=reader.port(webchat_raw, "webchat.port", default=8080, allow_zero=True),
            secret=reader.secret(webchat_raw, "webchat.secret", required=True),
            demo=reader.boolean(webchat_raw, "webchat.demo", default=False),
        )
        if len(webchat.secret) < 16:
            raise ConfigError("webchat.secret", "use at least 16 characters: it signs the visitors' cookies")
    reader.no_unknown_keys(webchat_raw, "webchat", {"enabled", "host", "port", "secret", "demo"})

    for platform in ("slack", "whatsapp"):
        section = reader.section(raw, platform)
        if reader.boolean(section, f"{platform}.enabled", default=False):
            raise ConfigError(f"{platform}.enabled", f"the {platform} adapter is not available in this version yet")

    delivery_raw = reader.section(raw, "delivery")
    delivery = DeliveryConfig(
        messages_per_second=reader.rate_table(delivery_raw, "delivery.messages_per_second"),
        per_chat_interval=reader.rate_table(delivery_raw, "delivery.per_chat_interval"),
        max_attempts=reader.positive_int(delivery_raw, "delivery.max_attempts", default=8),
    )
    reader.no_unknown_keys(delivery_raw, "delivery", {"messages_per_second", "per_chat_interval", "max_attempts"})

    logging_raw = reader.section(raw, "logging")
    log_level = reader.string(logging_raw, "logging.level", default="INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("logging.level", f"{log_level!r} is not one of DEBUG, INFO, WARNING, ERROR")

    if telegram is None and webchat is None:
        raise ConfigError("telegram.enabled", "no platform is enabled: enable [telegram] or [webchat]")

    return Settings(
        community=community,
        storage_path=storage_path,
        facilitators=FacilitatorSettings(by_platform=by_platform),
        telegram=telegram,
        webchat=webchat,
        delivery=delivery,
        log_level=log_level,
    )


def parse_duration(text: str) -> float | None:
    """"21d" -> seconds; None when the text is not a duration."""
    match = DURATION.match(text)
    if not match:
        return None
    return float(match.group(1)) * DURATION_UNITS[match.group(2)]


class _Reader:
    """Reads one value at a time, each failure a ConfigError naming the key."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def section(self, raw: Mapping[str, Any], name: str, required: bool = False) -> Mapping[str, Any]:
        if name not in raw:
            if required:
                raise ConfigError(name, "missing section")
            return {}
        value = raw[name]
        if not isinstance(value, dict):
            raise ConfigError(name, "must be a section ([" + name + "])")
        return value

    def no_unknown_keys(self, raw: Mapping[str, Any], section: str, known: set[str]) -> None:
        for key in raw:
            if key not in known:
                raise ConfigError(f"{section}.{key}", f"unknown setting (known: {', '.join(sorted(known))})")

    def string(self, raw: Mapping[str, Any], key: str, default: str = "", required: bool = False) -> str:
        name = key.rsplit(".", 1)[1]
        if name not in raw:
            if required:
                raise ConfigError(key, "missing")
            return default
        value = raw[name]
        if not isinstance(value, str):
            raise ConfigError(key, f"must be text in quotes, not {value!r}")
        if required and not value.strip():
            raise ConfigError(key, "must not be empty")
        return value.strip()

    def secret(self, raw: Mapping[str, Any], key: str, required: bool = False) -> str:
        value = self.string(raw, key, required=required)
        if value.startswith("env:"):
            variable = value[4:]
            if not variable:
                raise ConfigError(key, "write \"env:NAME\" with the environment variable's name")
            if variable not in self.environ or not self.environ[variable].strip():
                raise ConfigError(key, f"environment variable {variable} is not set")
            return self.environ[variable].strip()
        return value

    def url(self, raw: Mapping[str, Any], key: str, default: str = "", required: bool = False) -> str:
        value = self.string(raw, key, default=default, required=required)
        if value and not re.match(r"^https?://[^\s/]+", value):
            raise ConfigError(key, f"{value!r} is not an http(s) address")
        return value

    def boolean(self, raw: Mapping[str, Any], key: str, default: bool) -> bool:
        name = key.rsplit(".", 1)[1]
        value = raw.get(name, default)
        if not isinstance(value, bool):
            raise ConfigError(key, f"must be true or false, not {value!r}")
        return value

    def port(self, raw: Mapping[str, Any], key: str, default: int, allow_zero: bool = False) -> int:
        name = key.rsplit(".", 1)[1]
        value = raw.get(name, default)
        lowest = 0 if allow_zero else 1
        if not isinstance(value, int) or isinstance(value, bool) or not lowest <= value <= 65535:
            raise ConfigError(key, f"must be a port number from {lowest} to 65535, not {value!r}")
        return value

    def positive_int(self, raw: Mapping[str, Any], key: str, default: int) -> int:
        name = key.rsplit(".", 1)[1]
        value = raw.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(key, f"must be a whole number of at least 1, not {value!r}")
        return value

    def duration(self, raw: Mapping[str, Any], key: str, default: str, allow_zero: bool = False) -> float:
        text = self.string(raw, key, default=default)
        if allow_zero and text in ("0", "off"):
            return 0.0
        seconds = parse_duration(text)
        if seconds is None or (seconds <= 0 and not allow_zero):
            raise ConfigError(key, f"{text!r} is not a duration like \"21d\", \"12h\", \"30m\" or \"90s\"")
        return seconds

    def string_list(self, raw: Mapping[str, Any], key: str, default: list[str]) -> list[str]:
        name = key.rsplit(".", 1)[1]
        value = raw.get(name, default)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(key, "must be a list of texts, like [\"en\", \"fr\"]")
        return [item.strip() for item in value]

    def id_list(self, raw: Mapping[str, Any], key: str) -> list[str]:
        name = key.rsplit(".", 1)[1]
        value = raw[name]
        if not isinstance(value, list):
            raise ConfigError(key, "must be a list of ids, like [123456789]")
        ids = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, (int, str)) or not str(item).strip():
                raise ConfigError(key, f"{item!r} is not a user id")
            ids.append(str(item).strip().lstrip("+") if name == "whatsapp" else str(item).strip())
        return ids

    def identifier(self, raw: Mapping[str, Any], key: str) -> str:
        name = key.rsplit(".", 1)[1]
        value = raw.get(name, "")
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ConfigError(key, f"{value!r} is not a chat id")
        return str(value).strip()

    def rate_table(self, raw: Mapping[str, Any], key: str) -> dict[str, float]:
        name = key.rsplit(".", 1)[1]
        value = raw.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(key, "must be a table like { telegram = 30 }")
        table = {}
        for platform, number in value.items():
            if isinstance(number, bool) or not isinstance(number, (int, float)) or number < 0:
                raise ConfigError(f"{key}.{platform}", f"must be a number of at least 0, not {number!r}")
            table[platform] = float(number)
        return table
