"""What reaches the log: never a secret (python-telegram-bot puts the token in the URLs it
logs at DEBUG), and people's phone numbers, email addresses and platform ids only shortened,
whichever library wrote the line. The redaction is applied to each formatted line,
tracebacks included."""

from __future__ import annotations

import logging
import re
from dataclasses import fields, is_dataclass
from typing import Any, Iterable, Mapping, TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
HIDDEN = "[hidden]"
SECRET_WORDS = ("token", "secret", "password", "key")
# Libraries that log every request at INFO: that drowns what matters.
NOISY = ("httpx", "aiohttp.access", "apscheduler", "mail.log")

_PATTERNS = (
    # Telegram's bot token, in its API URLs ("/bot123456:AA.../getUpdates").
    (re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}"), lambda m: HIDDEN),
    # Slack tokens and any bearer token.
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]+|\bxapp-[A-Za-z0-9-]+"), lambda m: HIDDEN),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), lambda m: m.group(1) + HIDDEN),
    # Email addresses: the first letters and the domain.
    (re.compile(r"\b([A-Za-z0-9._%+-]{1,64})@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b"),
     lambda m: f"{m.group(1)[:2]}…@{m.group(2)}"),
    # Slack user ids.
    (re.compile(r"\b([UW][A-Z0-9]{8,})\b"), lambda m: shorten(m.group(1))),
    # Phone numbers and numeric platform ids (seven digits and more).
    (re.compile(r"(?<![\w.:-])(\+?\d{7,15})(?![\w:])"), lambda m: shorten(m.group(1))),
)


def shorten(identifier: str) -> str:
    """Enough of an id to tell two people apart in a log, not enough to reach them."""
    if len(identifier) <= 6:
        return identifier
    return f"{identifier[:3]}…{identifier[-2:]}"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        text = text.replace(secret, HIDDEN)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str] = (), fmt: str = FORMAT) -> None:
        super().__init__(fmt)
        # Longest first, so that a secret containing another is hidden whole.
        self.secrets = sorted({secret for secret in secrets if len(secret) >= 6}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


def secrets_in(settings: Mapping[str, Any]) -> list[str]:
    """Every secret in the platforms' settings: texts in fields named like a token, a secret,
    a password or a key."""
    found: list[str] = []
    for platform in settings.values():
        if not is_dataclass(platform):
            continue
        for field in fields(platform):
            value = getattr(platform, field.name)
            if isinstance(value, str) and value and any(word in field.name.casefold() for word in SECRET_WORDS):
                found.append(value)
    return found


def configure(level: str, secrets: Iterable[str] = (), stream: TextIO | None = None) -> None:
    """The process's logging: one line per event, redacted, at `level`."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level))
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
