"""Button tokens: short, opaque and signed, so a forged or altered token is recognised.

A token is `action.subject.arg.signature` (at most 64 bytes, Telegram's callback_data
limit). The core resolves it and checks, every time, the presser's role and the state of
what it points at; the signature only proves the bot made it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from bot.domain.refusal import Refusal
from bot.ports import MAX_TOKEN_BYTES

_SIGNATURE_CHARS = 11
_ARG = re.compile(r"^[A-Za-z0-9_-]{0,16}$")


@dataclass(frozen=True)
class ButtonAction:
    action: str
    subject: int
    arg: str = ""


class ButtonCodec:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def encode(self, action: str, subject: int, arg: str = "") -> str:
        if not action.isalnum() or not _ARG.match(arg):
            raise ValueError(f"button action {action!r} / arg {arg!r} must be short and alphanumeric")
        payload = f"{action}.{subject:x}.{arg}"
        token = f"{payload}.{self._sign(payload)}"
        if len(token.encode()) > MAX_TOKEN_BYTES:
            raise ValueError(f"button token {token!r} is longer than {MAX_TOKEN_BYTES} bytes")
        return token

    def decode(self, token: str) -> ButtonAction | Refusal:
        invalid = Refusal("This button is not valid. Send /help to see what you can do.")
        if not token.isascii() or len(token) > MAX_TOKEN_BYTES:
            return invalid
        parts = token.split(".")
        if len(parts) != 4:
            return invalid
        action, subject, arg, signature = parts
        payload = f"{action}.{subject}.{arg}"
        if not hmac.compare_digest(signature, self._sign(payload)):
            return invalid
        try:
            return ButtonAction(action, int(subject, 16), arg)
        except ValueError:
            return invalid

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode()[:_SIGNATURE_CHARS]
