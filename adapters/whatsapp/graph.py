"""The Graph API, as much of it as the bot uses: send one message, and look up the phone
number (the online check). Every outcome is a value: an accepted message's id, or a refusal
with Meta's error code; a network failure is a refusal with code 0."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, FormData

from adapters.whatsapp.settings import WhatsAppSettings

log = logging.getLogger(__name__)

TIMEOUT = ClientTimeout(total=20, connect=5)
STOP_WAIT = 3.0  # seconds a stop waits for sends in flight, so that none is cut (and sent again)
NETWORK = 0
INVALID_TOKEN = 190
UNKNOWN_OBJECT = 100


@dataclass(frozen=True)
class Accepted:
    message_id: str


@dataclass(frozen=True)
class Refusal:
    code: int
    message: str
    http_status: int = 0

    @property
    def reason(self) -> str:
        return f"{self.code}: {self.message}"[:300] if self.code else self.message[:300]


Answer = Accepted | Refusal


class GraphClient:
    def __init__(self, settings: WhatsAppSettings) -> None:
        self.settings = settings
        self._session: ClientSession | None = None
        self._closing = False
        self._in_flight = 0

    @property
    def open_for_sending(self) -> bool:
        return not self._closing

    async def open(self) -> None:
        self._closing = False
        if self._session is None:
            self._session = ClientSession(timeout=TIMEOUT, headers=_authorisation(self.settings))

    async def close(self) -> None:
        """Refuse new sends, let those in flight finish (a little while), then close."""
        self._closing = True
        deadline = asyncio.get_running_loop().time() + STOP_WAIT
        while self._in_flight and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def send(self, payload: dict[str, Any]) -> Answer:
        posted = await self._post(self.settings.messages_url, json=payload)
        if isinstance(posted, Refusal):
            return posted
        status, body = posted
        if status == 200:
            messages = body.get("messages") if isinstance(body, dict) else None
            if isinstance(messages, list) and messages and isinstance(messages[0], dict) and messages[0].get("id"):
                return Accepted(str(messages[0]["id"]))
            return Refusal(NETWORK, f"the API answered 200 without a message id: {str(body)[:200]}", status)
        return _refusal(body, status)


    async def upload(self, filename: str, content_type: str, data: bytes) -> Answer:
        """A file for a later document message; Accepted carries its media id."""
        form = FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", content_type)
        form.add_field("file", data, filename=filename, content_type=content_type)
        posted = await self._post(self.settings.media_url, data=form)
        if isinstance(posted, Refusal):
            return posted
        status, body = posted
        if status == 200 and isinstance(body, dict) and body.get("id"):
            return Accepted(str(body["id"]))
        return _refusal(body, status)

    async def _post(self, url: str, **request: Any) -> tuple[int, Any] | Refusal:
        if self._session is None and not self._closing:
            await self.open()
        if self._session is None or self._closing:
            return Refusal(NETWORK, "the WhatsApp adapter is stopping")
        self._in_flight += 1
        try:
            async with self._session.post(url, **request) as response:
                return response.status, await _json(response)
        except (ClientError, asyncio.TimeoutError, OSError) as error:
            return Refusal(NETWORK, f"network: {type(error).__name__}: {error}"[:300])
        finally:
            self._in_flight -= 1


def _refusal(body: Any, status: int) -> Refusal:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return Refusal(NETWORK, f"HTTP {status}: {str(body)[:200]}", status)
    details = error.get("error_data", {}).get("details") if isinstance(error.get("error_data"), dict) else None
    try:
        code = int(error.get("code") or 0)
    except (TypeError, ValueError):
        code = 0
    return Refusal(code, str(details or error.get("message") or "refused"), status)


async def _json(response: Any) -> Any:
    try:
        return await response.json(content_type=None)
    except ValueError:
        return {"text": (await response.text())[:200]}


def _authorisation(settings: WhatsAppSettings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.access_token}"}


async def check_online(settings: WhatsAppSettings) -> str | None:
    """None when the Graph API knows this phone number id with this token; else one line."""
    try:
        async with ClientSession(timeout=ClientTimeout(total=10)) as session:
            async with session.get(settings.phone_number_url, headers=_authorisation(settings)) as response:
                body = await _json(response)
                status = response.status
    except (ClientError, asyncio.TimeoutError, OSError) as error:
        return f"cannot reach the Graph API at {settings.api_base_url} ({type(error).__name__}: {error})"
    if status == 200:
        shown = body.get("display_phone_number") if isinstance(body, dict) else None
        log.info("WhatsApp: the token sends for %s", shown or settings.phone_number_id)
        return None
    refusal = _refusal(body, status)
    if status == 401 or refusal.code == INVALID_TOKEN:
        return "the access token was refused by the Graph API: make a new one (a system user's token) and set it again"
    if status == 404 or refusal.code == UNKNOWN_OBJECT:
        return (f"the phone number id {settings.phone_number_id} is not known with this token: "
                "copy it again from WhatsApp > API Setup")
    return f"the Graph API at {settings.api_base_url} answered {status}: {refusal.message[:200]}"
