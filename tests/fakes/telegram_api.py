"""A small Telegram Bot API server for tests: the real python-telegram-bot talks to it over
HTTP on 127.0.0.1. It records what the bot sends, feeds people's updates through getUpdates
(or posts them to the bot's webhook), and refuses what Telegram refuses: texts over 4,096
characters, malformed HTML, callback_data outside 1-64 bytes, more than 30 sends a second,
bursts to one chat, and users who blocked the bot."""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, web

TOKEN = "123456:TEST-TOKEN"
BOT_USER = {"id": 1000, "is_bot": True, "first_name": "Facilitator", "username": "facilitator_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
MAX_TEXT = 4096
_TAG = re.compile(r"<(/?)(b|strong|i|em|u|ins|s|strike|del|code|pre|a|blockquote|tg-spoiler|span)(\s[^<>]*)?>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


class Refused(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


@dataclass
class Fault:
    status: int
    until: float  # time.monotonic()
    retry_after: int | None = None
    carried_out: int = 0

    @property
    def description(self) -> str:
        if self.status == 429:
            return f"Too Many Requests: retry after {self.retry_after or 1}"
        return {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}.get(
            self.status, f"Error {self.status}")


@dataclass
class SentMessage:
    message_id: int
    chat_id: int
    text: str  # visible text, entities decoded
    html: str
    buttons: list[list[dict[str, str]]]
    reply_to: int | None = None
    edits: int = 0
    # A file sent with sendDocument: its name, type and bytes.
    document: dict[str, Any] | None = None

    def labels(self) -> list[str]:
        return [button["text"] for row in self.buttons for button in row]

    def as_json(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self.message_id, "date": int(time.time()), "text": self.text,
            "chat": {"id": self.chat_id, "type": "private" if self.chat_id > 0 else "supergroup"},
            "from": BOT_USER,
        }
        if self.buttons:
            message["reply_markup"] = {"inline_keyboard": self.buttons}
        return message


@dataclass
class Request:
    method: str
    params: dict[str, Any]
    at: float
    refused: str | None = None


class FakeTelegram:
    def __init__(self, per_second: int = 30, chat_burst: int = 3, chat_rate: float = 1.0) -> None:
        self.token = TOKEN
        self.per_second = per_second
        self.chat_burst = chat_burst
        self.chat_rate = chat_rate
        self.requests: list[Request] = []
        self.chats: dict[int, list[SentMessage]] = {}
        self.commands: dict[str, list[tuple[str, str]]] = {}
        self.answers: list[dict[str, Any]] = []  # answerCallbackQuery calls
        self.pressed_at: dict[str, float] = {}  # callback query id -> when the person pressed
        self.blocked: set[int] = set()
        # Inline mode, as @BotFather's /setinline turns it on: buttons may then fill the message box.
        self.inline_mode = False
        self.webhook: dict[str, Any] | None = None
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._new_update = asyncio.Event()
        self._changed = asyncio.Condition()
        self._recent_sends: deque[float] = deque()
        self._chat_tokens: dict[int, tuple[float, float]] = {}
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._fault: Fault | None = None
        self.carried_out: list[int] = []  # chats a message reached although the bot was answered an error
        self.conflicts = 0  # getUpdates refused because another was waiting (two bots polling)
        self._polling = False
        self.port = 0

    # --- life ------------------------------------------------------------------------------

    async def __aenter__(self) -> "FakeTelegram":
        await self._serve(0)
        self._session = ClientSession()
        return self

    async def _serve(self, port: int) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._api)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def __aexit__(self, *exc: object) -> None:
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    # --- faults ----------------------------------------------------------------------------

    def fail_with(self, status: int, for_seconds: float, retry_after: int | None = None, carried_out: int = 0) -> None:
        """Answer every call with `status` for the next `for_seconds`, as in an outage (500,
        502) or a flood wait (429, with `retry_after`). The first `carried_out` messages sent
        in it reach their chat all the same, as when a gateway fails after Telegram took one."""
        if status == 429 and retry_after is None:
            retry_after = 1
        self._fault = Fault(status, time.monotonic() + for_seconds, retry_after, carried_out)

    def recover(self) -> None:
        self._fault = None

    async def go_down(self) -> None:
        """Stop listening: the bot's connections are refused until `come_back`."""
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    async def come_back(self) -> None:
        await self._serve(self.port)

    @property
    def refused(self) -> list[Request]:
        return [request for request in self.requests if request.refused]

    # --- the API ----------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await _params(request)
        record = Request(method, params, time.monotonic())
        self.requests.append(record)
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            record.refused = f"unknown method {method}"
            return _error(404, "Not Found: method not found")
        fault = self._fault
        if fault is not None and time.monotonic() < fault.until:
            if fault.carried_out > 0 and method == "sendMessage":
                fault.carried_out -= 1
                try:
                    await handler(params)
                    self.carried_out.append(int(params["chat_id"]))
                except Refused:
                    pass
            record.refused = fault.description
            return _error(fault.status, fault.description, fault.retry_after)
        try:
            result = await handler(params)
        except Refused as refusal:
            record.refused = refusal.description
            return _error(refusal.code, refusal.description, refusal.retry_after)
        return web.json_response({"ok": True, "result": result})

    async def _getMe(self, params: dict) -> dict:
        return {**BOT_USER, "supports_inline_queries": self.inline_mode}

    async def _getUpdates(self, params: dict) -> list:
        # As Telegram: one getUpdates at a time per bot; a second while one waits is a conflict.
        if self._polling:
            self.conflicts += 1
            raise Refused(409, "Conflict: terminated by other getUpdates request; make sure that only one bot "
                               "instance is running")
        self._polling = True
        try:
            offset = int(params.get("offset") or 0)
            timeout = float(params.get("timeout") or 0)
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if not self._updates and timeout:
                self._new_update.clear()
                try:
                    await asyncio.wait_for(self._new_update.wait(), timeout=min(timeout, 1.0))
                except TimeoutError:
                    pass
            return list(self._updates)
        finally:
            self._polling = False

    async def _setWebhook(self, params: dict) -> bool:
        self.webhook = {"url": params["url"], "secret_token": params.get("secret_token")}
        return True

    async def _deleteWebhook(self, params: dict) -> bool:
        self.webhook = None
        return True

    async def _getWebhookInfo(self, params: dict) -> dict:
        return {"url": self.webhook["url"] if self.webhook else "", "has_custom_certificate": False,
                "pending_update_count": 0}

    async def _setMyCommands(self, params: dict) -> bool:
        commands = params["commands"]
        self.commands[params.get("language_code") or ""] = [(c["command"], c["description"]) for c in commands]
        return True

    async def _answerCallbackQuery(self, params: dict) -> bool:
        self.answers.append({**params, "at": time.monotonic()})
        return True

    async def _sendMessage(self, params: dict) -> dict:
        chat_id = int(params["chat_id"])
        self._check_pace(chat_id)
        if chat_id in self.blocked:
            raise Refused(403, "Forbidden: bot was blocked by the user")
        text, markup = self._check_message(params)
        reply_to = params.get("reply_to_message_id") or (params.get("reply_parameters") or {}).get("message_id")
        message = SentMessage(next(self._message_ids), chat_id, text, params["text"], markup,
                              int(reply_to) if reply_to else None)
        async with self._changed:
            self.chats.setdefault(chat_id, []).append(message)
            self._changed.notify_all()
        return message.as_json()

    async def _sendDocument(self, params: dict) -> dict:
        chat_id = int(params["chat_id"])
        self._check_pace(chat_id)
        if chat_id in self.blocked:
            raise Refused(403, "Forbidden: bot was blocked by the user")
        document = params.get("document")
        if not isinstance(document, dict) or not document["data"]:
            raise Refused(400, "Bad Request: there is no document in the request")
        if len(params.get("caption", "")) > 1024:
            raise Refused(400, "Bad Request: message caption is too long")
        message = SentMessage(next(self._message_ids), chat_id, params.get("caption", ""), params.get("caption", ""),
                              [], document=document)
        async with self._changed:
            self.chats.setdefault(chat_id, []).append(message)
            self._changed.notify_all()
        return {**message.as_json(), "document": {"file_id": f"file-{message.message_id}",
                                                  "file_unique_id": f"u{message.message_id}",
                                                  "file_name": document["filename"]}}

    async def _editMessageText(self, params: dict) -> dict:
        chat_id = int(params["chat_id"])
        self._check_pace(chat_id)
        message = self._find(chat_id, int(params["message_id"]))
        text, markup = self._check_message(params)
        if params["text"] == message.html and markup == message.buttons:
            raise Refused(400, "Bad Request: message is not modified: specified new message content and reply "
                               "markup are exactly the same as a current content and reply markup of the message")
        async with self._changed:
            message.text, message.html, message.buttons = text, params["text"], markup
            message.edits += 1
            self._changed.notify_all()
        return message.as_json()

    async def _editMessageReplyMarkup(self, params: dict) -> dict:
        chat_id = int(params["chat_id"])
        self._check_pace(chat_id)
        message = self._find(chat_id, int(params["message_id"]))
        markup = _buttons(params.get("reply_markup"))
        if markup == message.buttons:
            raise Refused(400, "Bad Request: message is not modified: specified new message content and reply "
                               "markup are exactly the same as a current content and reply markup of the message")
        async with self._changed:
            message.buttons = markup
            self._changed.notify_all()
        return message.as_json()

    # --- refusals ---------------------------------------------------------------------------

    def _check_pace(self, chat_id: int) -> None:
        now = time.monotonic()
        while self._recent_sends and now - self._recent_sends[0] >= 1.0:
            self._recent_sends.popleft()
        if len(self._recent_sends) >= self.per_second:
            raise Refused(429, "Too Many Requests: retry after 1", retry_after=1)
        tokens, updated = self._chat_tokens.get(chat_id, (float(self.chat_burst), now))
        tokens = min(float(self.chat_burst), tokens + (now - updated) * self.chat_rate)
        if tokens < 1.0:
            wait = max(1, round((1.0 - tokens) / self.chat_rate + 0.5))
            self._chat_tokens[chat_id] = (tokens, now)
            raise Refused(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        self._chat_tokens[chat_id] = (tokens - 1.0, now)
        self._recent_sends.append(now)

    def _check_message(self, params: dict) -> tuple[str, list[list[dict[str, str]]]]:
        raw = params.get("text", "")
        text = _visible(raw) if params.get("parse_mode") == "HTML" else raw
        if not text.strip():
            raise Refused(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            raise Refused(400, "Bad Request: message is too long")
        markup = _buttons(params.get("reply_markup"))
        for row in markup:
            for button in row:
                if "switch_inline_query_current_chat" in button:
                    # It fills the message box with "@bot text": the bot must have inline mode.
                    if not self.inline_mode or len(button["switch_inline_query_current_chat"]) > 256:
                        raise Refused(400, "Bad Request: BUTTON_TYPE_INVALID")
                    continue
                data = button.get("callback_data", "")
                if not 1 <= len(data.encode()) <= 64:
                    raise Refused(400, "Bad Request: BUTTON_DATA_INVALID")
        return text, markup

    def _find(self, chat_id: int, message_id: int) -> SentMessage:
        for message in self.chats.get(chat_id, []):
            if message.message_id == message_id:
                return message
        raise Refused(400, "Bad Request: message to edit not found")

    # --- people -----------------------------------------------------------------------------

    def user(self, user_id: int, first_name: str, language_code: str = "en") -> "TelegramUser":
        return TelegramUser(self, user_id, first_name, language_code)

    def group(self, chat_id: int, title: str = "Facilitators") -> "TelegramGroup":
        return TelegramGroup(self, chat_id, title)

    async def feed(self, update: dict[str, Any]) -> None:
        update = {"update_id": next(self._update_ids), **update}
        query = update.get("callback_query")
        if isinstance(query, dict) and isinstance(query.get("id"), str):
            self.pressed_at[query["id"]] = time.monotonic()
        if self.webhook:
            assert self._session is not None
            headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook["secret_token"]} if self.webhook.get(
                "secret_token") else {}
            async with self._session.post(self.webhook["url"], json=update, headers=headers) as response:
                assert response.status == 200, f"webhook answered {response.status}"
            return
        self._updates.append(update)
        self._new_update.set()

    async def wait_until(self, predicate, timeout: float = 10.0):  # type: ignore[no-untyped-def]
        async def satisfied():  # type: ignore[no-untyped-def]
            async with self._changed:
                while not (result := predicate()):
                    await self._changed.wait()
                return result

        return await asyncio.wait_for(satisfied(), timeout)


@dataclass
class TelegramUser:
    api: FakeTelegram
    id: int
    first_name: str
    language_code: str = "en"
    seen: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(100_000))

    @property
    def messages(self) -> list[SentMessage]:
        return self.api.chats.get(self.id, [])

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": False, "first_name": self.first_name, "language_code": self.language_code}

    def _chat(self) -> dict[str, Any]:
        return {"id": self.id, "type": "private", "first_name": self.first_name}

    async def send(self, text: str, chat: dict[str, Any] | None = None, reply_to: SentMessage | None = None) -> None:
        message: dict[str, Any] = {"message_id": next(self._ids), "date": int(time.time()),
                                   "chat": chat or self._chat(), "from": self.as_json(), "text": text}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if reply_to is not None:
            message["reply_to_message"] = reply_to.as_json()
        await self.api.feed({"message": message})

    async def reply_to(self, message: SentMessage, text: str) -> None:
        await self.send(text, reply_to=message)

    async def press(self, label: str, on: SentMessage | None = None) -> str:
        """Press a button by its label; returns the callback query's id."""
        message = on or next((m for m in reversed(self.api.chats.get(self.id, [])) if label in m.labels()), None)
        assert message is not None, f"no message with a {label!r} button: {[m.text for m in self.messages]}"
        data = next(b["callback_data"] for row in message.buttons for b in row if b["text"] == label)
        query_id = str(next(self.api._callback_ids))
        await self.api.feed({"callback_query": {"id": query_id, "from": self.as_json(), "chat_instance": "1",
                                                "data": data, "message": message.as_json()}})
        return query_id

    async def receives(self, containing: str, timeout: float = 10.0) -> SentMessage:
        def found():  # type: ignore[no-untyped-def]
            for index in range(self.seen, len(self.messages)):
                if containing in self.messages[index].text:
                    self.seen = index + 1
                    return self.messages[index]
            return None

        try:
            return await self.api.wait_until(found, timeout)
        except TimeoutError:
            raise AssertionError(f"{self.first_name} never received {containing!r}; got {[m.text for m in self.messages]}"
                                 ) from None

    async def sees(self, predicate, timeout: float = 10.0) -> SentMessage:  # type: ignore[no-untyped-def]
        try:
            return await self.api.wait_until(lambda: next((m for m in self.messages if predicate(m)), None), timeout)
        except TimeoutError:
            raise AssertionError(f"{self.first_name} never saw it; got {[m.text for m in self.messages]}") from None


@dataclass
class TelegramGroup:
    api: FakeTelegram
    id: int
    title: str

    @property
    def messages(self) -> list[SentMessage]:
        return self.api.chats.get(self.id, [])

    async def message_from(self, user: TelegramUser, text: str) -> None:
        await user.send(text, chat={"id": self.id, "type": "supergroup", "title": self.title})

    async def press_as(self, user: TelegramUser, label: str, on: SentMessage) -> str:
        data = next(b["callback_data"] for row in on.buttons for b in row if b["text"] == label)
        query_id = str(next(self.api._callback_ids))
        await self.api.feed({"callback_query": {"id": query_id, "from": user.as_json(), "chat_instance": "2",
                                                "data": data, "message": on.as_json()}})
        return query_id


def _visible(text: str) -> str:
    """Telegram's HTML parse mode: supported, balanced tags and valid entities only."""
    stack: list[str] = []
    out, index = [], 0
    while index < len(text):
        char = text[index]
        if char == "<":
            match = _TAG.match(text, index)
            if not match:
                raise Refused(400, f"Bad Request: can't parse entities: unsupported start tag at byte offset {index}")
            closing, name = match.group(1), match.group(2)
            if closing:
                if not stack or stack.pop() != name:
                    raise Refused(400, f"Bad Request: can't parse entities: unmatched end tag at byte offset {index}")
            else:
                stack.append(name)
            index = match.end()
        elif char == "&":
            match = _ENTITY.match(text, index)
            if not match:
                raise Refused(400, f"Bad Request: can't parse entities: unescaped & at byte offset {index}")
            out.append(html.unescape(match.group(0)))
            index = match.end()
        elif char == ">":
            raise Refused(400, f"Bad Request: can't parse entities: unescaped > at byte offset {index}")
        else:
            out.append(char)
            index += 1
    if stack:
        raise Refused(400, f"Bad Request: can't parse entities: can't find end tag corresponding to start tag {stack[-1]}")
    return "".join(out)


def _buttons(markup: Any) -> list[list[dict[str, str]]]:
    if not markup:
        return []
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [[dict(button) for button in row] for row in markup.get("inline_keyboard", [])]


async def _params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        return await request.json()
    form = await request.post()
    params: dict[str, Any] = {}
    for key, value in form.items():
        if isinstance(value, web.FileField):
            params[key] = {"filename": value.filename, "content_type": value.content_type, "data": value.file.read()}
            continue
        text = str(value)
        if key in ("reply_markup", "commands", "reply_parameters", "allowed_updates", "entities"):
            try:
                params[key] = json.loads(text)
                continue
            except json.JSONDecodeError:
                pass
        params[key] = text
    return params


def _error(code: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=code)
