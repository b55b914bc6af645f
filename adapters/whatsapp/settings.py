"""The [whatsapp] section of the configuration, and phone numbers in the one form WhatsApp
uses everywhere: E.164 digits without a plus ("221771234567")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.settings_reader import ConfigError, Section

GRAPH_URL = "https://graph.facebook.com"
API_VERSION = "v21.0"
WEBHOOK_PATH = "/whatsapp/webhook"
DEFAULT_RATE = 80  # messages a second per business number, Meta's standard throughput
_SEPARATORS = re.compile(r"[\s\-.()/]")


@dataclass(frozen=True)
class WhatsAppSettings:
    phone_number_id: str
    access_token: str
    app_secret: str
    verify_token: str
    api_base_url: str = GRAPH_URL
    api_version: str = API_VERSION
    host: str = "127.0.0.1"
    port: int = 8090
    # The approved template sent outside the 24-hour window: one body parameter (the opening
    # words of what is shared) and one quick-reply button. Empty: such messages wait.
    broadcast_template: str = ""
    template_language: str = "en"
    messages_per_second: int = DEFAULT_RATE

    @property
    def messages_url(self) -> str:
        return f"{self.api_base_url.rstrip('/')}/{self.api_version}/{self.phone_number_id}/messages"

    @property
    def media_url(self) -> str:
        return f"{self.api_base_url.rstrip('/')}/{self.api_version}/{self.phone_number_id}/media"

    @property
    def phone_number_url(self) -> str:
        return f"{self.api_base_url.rstrip('/')}/{self.api_version}/{self.phone_number_id}"


def phone_digits(raw: str) -> str | None:
    """A phone number as E.164 digits, or None when it is not one. Spaces, dashes, dots,
    brackets and a leading "+" or "00" are accepted: people write numbers in many ways."""
    text = _SEPARATORS.sub("", str(raw).strip())
    if text.startswith("+"):
        text = text[1:]
    elif text.startswith("00"):
        text = text[2:]
    if not text.isdigit() or not 7 <= len(text) <= 15 or text.startswith("0"):
        return None
    return text


def normalise_phone(raw: str, key: str = "facilitators.whatsapp") -> str:
    digits = phone_digits(raw)
    if digits is None:
        raise ConfigError(key, f"{raw!r} is not a phone number with its country code, like \"+221 77 123 45 67\"")
    return digits


def read_settings(section: Section) -> WhatsAppSettings:
    phone_number_id = section.identifier("phone_number_id")
    if not phone_number_id:
        raise ConfigError(section.key("phone_number_id"), "missing: copy it from the WhatsApp > API Setup page")
    if not phone_number_id.isdigit():
        raise ConfigError(section.key("phone_number_id"), f"{phone_number_id!r} is not a phone number id (digits)")
    api_version = section.string("api_version", default=API_VERSION)
    if not re.fullmatch(r"v\d+\.\d+", api_version):
        raise ConfigError(section.key("api_version"), f"{api_version!r} is not a Graph API version like \"v21.0\"")
    template = section.string("broadcast_template")
    if template and not re.fullmatch(r"[a-z0-9_]{1,512}", template):
        raise ConfigError(section.key("broadcast_template"),
                          f"{template!r} is not a template name (lowercase letters, digits and _)")
    language = section.string("template_language", default="en")
    if not re.fullmatch(r"[a-z]{2,3}(_[A-Z]{2})?", language):
        raise ConfigError(section.key("template_language"), f"{language!r} is not a template language like \"en\" "
                                                            "or \"pt_BR\"")
    return WhatsAppSettings(
        phone_number_id=phone_number_id,
        access_token=section.secret("access_token", required=True),
        app_secret=section.secret("app_secret", required=True),
        verify_token=section.secret("verify_token", required=True),
        api_base_url=section.url("api_base_url", default=GRAPH_URL),
        api_version=api_version,
        host=section.string("host", default="127.0.0.1"),
        port=section.port("port", default=8090, allow_zero=True),
        broadcast_template=template,
        template_language=language,
        messages_per_second=section.positive_int("messages_per_second", default=DEFAULT_RATE),
    )
