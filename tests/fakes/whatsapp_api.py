"""A small WhatsApp Business Cloud API (Graph API) server for tests: the bot's adapter talks
to it over HTTP on 127.0.0.1. It records what the bot sends and refuses what Meta refuses:
bodies over 4,096 characters (1,024 in an interactive message), more than 3 reply buttons
or titles over 20, lists over 10 rows or row titles over 24, free-form messages to a person
who has not written in 24 hours (131047), templates that do not exist or get the wrong
number of parameters, more than its throughput a second (130429) or bursts to one person
(131056), and numbers that are not on WhatsApp (a failed status with 131026).

It also plays the people: a driver posts webhooks of the real shape, signed with the app
secret (or signed wrongly, or delivered twice), and the fake posts status callbacks (sent,
delivered, read) for what it accepted, signed too.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import ClientSession, web

ACCESS_TOKEN = "EAAtest-access-token"
APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
PHONE_NUMBER_ID = "109876543210"
DISPLAY_NUMBER = "15550001234"
WABA_ID = "102290129340398"
API_VERSION = "v21.0"
WINDOW = 24 * 3600.0

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_DOCUMENT = 100 * 1024 * 1024
MAX_INTERACTIVE_BODY = 1024
MAX_BUTTON_TITLE = 20
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_ROWS = 10


@dataclass(frozen=True)
class Template:
    name: str
    language: str
    body: str  # with {{1}}, {{2}}... for the parameters
    quick_replies: tuple[str, ...] = ()

    @property
    def parameters(self) -> int:
        return len(set(re.findall(r"\{\{(\d+)\}\}", self.body)))


BROADCAST_TEMPLATE = Template("network_update", "en", "New in the network: {{1}}. Tap below to read it.",
                              ("Read it",))


class GraphError(Exception):
    def __init__(self, code: int, message: str, details: str = "", http_status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.details, self.http_status = code, message, details, http_status

    def as_json(self) -> dict[str, Any]:
        return {"error": {"message": f"(#{self.code}) {self.message}", "type": "OAuthException", "code": self.code,
                          "error_data": {"messaging_product": "whatsapp", "details": self.details or self.message},
                          "fbtrace_id": "AbCdEfGh"}}


@dataclass
class SentMessage:
    """A message the bot sent, as the person's phone shows it."""

    id: str
    to: str
    kind: str  # text, button, list, template
    text: str
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (title, id or payload)
    context: str | None = None
    template: str | None = None
    at: float = 0.0
    document: dict[str, Any] | None = None  # the uploaded file a document message carries

    def labels(self) -> list[str]:
        return [title for title, _ in self.buttons]

    @property
    def plain(self) -> str:
        """The text without WhatsApp's marks."""
        return re.sub(r"```|[*_]", "", self.text)


@dataclass
class Request:
    payload: dict[str, Any]
    at: float
    code: int | None = None  # the error code when refused
    refused: str | None = None


class FakeWhatsApp:
    def __init__(self, per_second: int = 80, pair_burst: int = 45, pair_interval: float = 6.0,
                 clock: Callable[[], float] = time.time, window_errors: str = "sync", status_delay: float = 0.05,
                 statuses: tuple[str, ...] = ("sent", "delivered"),
                 templates: tuple[Template, ...] = (BROADCAST_TEMPLATE,)) -> None:
        self.access_token = ACCESS_TOKEN
        self.app_secret = APP_SECRET
        self.phone_number_id = PHONE_NUMBER_ID
        self.per_second = per_second
        self.pair_burst = pair_burst
        self.pair_interval = pair_interval
        self.clock = clock
        # "sync": a free-form message outside the window is refused at once with 131047;
        # "status": it is accepted and a failed status with 131047 follows, as Meta also does.
        self.window_errors = window_errors
        self.status_delay = status_delay
        self.statuses = set(statuses)  # which status callbacks to send for accepted messages
        self.templates = {(t.name, t.language): t for t in templates}
        self.requests: list[Request] = []
        self.chats: dict[str, list[SentMessage]] = {}
        self.media: dict[str, dict[str, Any]] = {}  # uploaded files by media id
        self.last_inbound: dict[str, float] = {}
        self.not_on_whatsapp: set[str] = set()
        self.refuse_next: deque[GraphError] = deque()  # errors to answer the next sends with
        self._failing: tuple[int, float] | None = None  # (HTTP status, until time.monotonic()): an outage
        self.webhook_url: str | None = None
        self.webhook_answers: list[int] = []  # the bot's answers to status callbacks
        self._ids = itertools.count(1)
        self._recent: deque[float] = deque()
        self._pairs: dict[str, tuple[float, float]] = {}
        self._changed = asyncio.Condition()
        self._callbacks: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()
        self._callback_task: asyncio.Task | None = None
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self.last_message_webhook: dict[str, Any] | None = None
        self._pending_callbacks = 0
        self.port = 0

    # --- life ------------------------------------------------------------------------------

    async def __aenter__(self) -> "FakeWhatsApp":
        app = web.Application()
        app.router.add_post("/{version}/{phone_number_id}/messages", self._messages)
        app.router.add_post("/{version}/{phone_number_id}/media", self._upload)
        app.router.add_get("/{version}/{phone_number_id}", self._phone_number)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._session = ClientSession()
        self._callback_task = asyncio.create_task(self._post_callbacks())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._callback_task:
            self._callback_task.cancel()
            await asyncio.gather(self._callback_task, return_exceptions=True)
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def refused(self) -> list[Request]:
        return [request for request in self.requests if request.refused]

    def accepted(self, kind: str | None = None) -> list[SentMessage]:
        return [m for messages in self.chats.values() for m in messages if kind is None or m.kind == kind]

    # --- the API ----------------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.access_token}"

    async def _phone_number(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _error(GraphError(190, "Invalid OAuth access token - Cannot parse access token", http_status=401))
        if request.match_info["phone_number_id"] != self.phone_number_id:
            return _error(GraphError(100, "Unsupported get request. Object with ID does not exist", http_status=400))
        return web.json_response({"id": self.phone_number_id, "display_phone_number": "+1 555-000-1234",
                                  "verified_name": "Test Network", "quality_rating": "GREEN"})

    async def _messages(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _error(GraphError(190, "Invalid OAuth access token - Cannot parse access token", http_status=401))
        if request.match_info["phone_number_id"] != self.phone_number_id:
            return _error(GraphError(100, "Object with ID does not exist"))
        try:
            payload = await request.json()
        except ValueError:
            return _error(GraphError(100, "Invalid parameter", "the body is not JSON"))
        record = Request(payload, time.monotonic())
        self.requests.append(record)
        try:
            message = self._accept(payload)
        except GraphError as error:
            record.code, record.refused = error.code, f"{error.code}: {error.details or error.message}"
            return _error(error)
        async with self._changed:
            self.chats.setdefault(message.to, []).append(message)
            self._changed.notify_all()
        self._after_accepting(message)
        return web.json_response({"messaging_product": "whatsapp", "contacts": [{"input": message.to, "wa_id": message.to}],
                                  "messages": [{"id": message.id}]})

    async def _upload(self, request: web.Request) -> web.Response:
        """Media for later messages: a multipart form with the file, its type, and the product."""
        if not self._authorised(request):
            return _error(GraphError(190, "Invalid OAuth access token - Cannot parse access token", http_status=401))
        form = await request.post()
        upload = form.get("file")
        if form.get("messaging_product") != "whatsapp" or not isinstance(upload, web.FileField):
            return _error(GraphError(100, "Invalid parameter", "messaging_product and file are required"))
        data = upload.file.read()
        if len(data) > MAX_DOCUMENT:
            return _error(GraphError(131052, "Media upload error", "the file is larger than 100 MB"))
        media_id = f"{len(self.media) + 1:016d}"
        self.media[media_id] = {"filename": upload.filename, "mime_type": str(form.get("type", "")), "data": data}
        return web.json_response({"id": media_id})

    def _document(self, to: str, payload: dict[str, Any]) -> SentMessage:
        document = _dict(payload.get("document"))
        media = self.media.get(str(document.get("id", "")))
        if media is None:
            raise GraphError(131053, "Media upload error", "document.id is not an uploaded media id")
        caption = document.get("caption", "")
        if not isinstance(caption, str) or len(caption) > MAX_CAPTION:
            raise GraphError(131009, "Parameter value is not valid", f"caption longer than {MAX_CAPTION} characters")
        return SentMessage(self._new_id(), to, "document", caption, at=self.clock(),
                           document={**media, "filename": document.get("filename") or media["filename"]})

    def fail_with(self, status: int, for_seconds: float = float("inf")) -> None:
        """Answer every send with a server error (500, or 503 "temporarily unavailable") for
        the next `for_seconds`, or until `recover`: the Cloud API in an outage."""
        self._failing = (status, time.monotonic() + for_seconds)

    def recover(self) -> None:
        self._failing = None

    def _accept(self, payload: Any) -> SentMessage:
        if self._failing is not None and time.monotonic() < self._failing[1]:
            status = self._failing[0]
            if status == 503:
                raise GraphError(2, "Service temporarily unavailable", http_status=503)
            raise GraphError(1, "An unknown error occurred", http_status=status)
        if self.refuse_next:
            raise self.refuse_next.popleft()
        if not isinstance(payload, dict) or payload.get("messaging_product") != "whatsapp":
            raise GraphError(100, "Invalid parameter", "messaging_product must be \"whatsapp\"")
        to = str(payload.get("to") or "")
        if not re.fullmatch(r"\d{7,15}", to):
            raise GraphError(100, "Invalid parameter", f"'to' is not a phone number in E.164 digits: {to!r}")
        kind = payload.get("type", "text")
        if kind == "text":
            message = self._text(to, payload)
        elif kind == "interactive":
            message = self._interactive(to, payload)
        elif kind == "template":
            message = self._template(to, payload)
        elif kind == "document":
            message = self._document(to, payload)
        else:
            raise GraphError(131051, "Unsupported message type", f"type {kind!r} is not supported here")
        context = payload.get("context")
        if context is not None:
            if not isinstance(context, dict) or not str(context.get("message_id", "")).startswith("wamid."):
                raise GraphError(131009, "Parameter value is not valid", "context.message_id must be a message id")
            message.context = context["message_id"]
        if kind != "template":
            self._check_window(to)
        self._check_pace(to)
        return message

    def _text(self, to: str, payload: dict[str, Any]) -> SentMessage:
        body = _dict(payload.get("text")).get("body")
        if not isinstance(body, str) or not body.strip():
            raise GraphError(131008, "Required parameter is missing", "text.body is required")
        if len(body) > MAX_TEXT:
            raise GraphError(131009, "Parameter value is not valid", f"text.body is longer than {MAX_TEXT} characters")
        return SentMessage(self._new_id(), to, "text", body, at=self.clock())

    def _interactive(self, to: str, payload: dict[str, Any]) -> SentMessage:
        interactive = _dict(payload.get("interactive"))
        body = _dict(interactive.get("body")).get("text")
        if not isinstance(body, str) or not body.strip():
            raise GraphError(131008, "Required parameter is missing", "interactive.body.text is required")
        if len(body) > MAX_INTERACTIVE_BODY:
            raise GraphError(131009, "Parameter value is not valid",
                             f"Body text length invalid. Min length: 1, Max length: {MAX_INTERACTIVE_BODY}")
        action = _dict(interactive.get("action"))
        if interactive.get("type") == "button":
            buttons = _list(action.get("buttons"))
            if not 1 <= len(buttons) <= 3:
                raise GraphError(131009, "Parameter value is not valid", "Buttons count invalid. Min: 1, Max: 3")
            shown = []
            for button in buttons:
                reply = _dict(_dict(button).get("reply"))
                title, reply_id = str(reply.get("title", "")), str(reply.get("id", ""))
                if not 1 <= len(title) <= MAX_BUTTON_TITLE:
                    raise GraphError(131009, "Parameter value is not valid",
                                     f"Button title length invalid. Min length: 1, Max length: {MAX_BUTTON_TITLE}")
                if not 1 <= len(reply_id) <= 256:
                    raise GraphError(131009, "Parameter value is not valid", "Button id length invalid")
                shown.append((title, reply_id))
            _unique(shown, "Button title")
            return SentMessage(self._new_id(), to, "button", body, shown, at=self.clock())
        if interactive.get("type") == "list":
            label = str(action.get("button", ""))
            if not 1 <= len(label) <= MAX_BUTTON_TITLE:
                raise GraphError(131009, "Parameter value is not valid", "List button label length invalid (1-20)")
            sections = _list(action.get("sections"))
            rows = [_dict(row) for section in sections for row in _list(_dict(section).get("rows"))]
            if len(sections) > 1 and not all(_dict(s).get("title") for s in sections):
                raise GraphError(131009, "Parameter value is not valid", "Sections need titles when there are several")
            if not 1 <= len(rows) <= MAX_ROWS:
                raise GraphError(131009, "Parameter value is not valid", f"Rows count invalid. Min: 1, Max: {MAX_ROWS}")
            shown = []
            for row in rows:
                title, row_id = str(row.get("title", "")), str(row.get("id", ""))
                if not 1 <= len(title) <= MAX_ROW_TITLE:
                    raise GraphError(131009, "Parameter value is not valid",
                                     f"Row title length invalid. Min length: 1, Max length: {MAX_ROW_TITLE}")
                if len(str(row.get("description", ""))) > MAX_ROW_DESCRIPTION:
                    raise GraphError(131009, "Parameter value is not valid",
                                     f"Row description length invalid. Max length: {MAX_ROW_DESCRIPTION}")
                if not 1 <= len(row_id) <= 200:
                    raise GraphError(131009, "Parameter value is not valid", "Row id length invalid")
                shown.append((title, row_id))
            _unique(shown, "Row title")
            return SentMessage(self._new_id(), to, "list", body, shown, at=self.clock())
        raise GraphError(131009, "Parameter value is not valid", f"interactive type {interactive.get('type')!r}")

    def _template(self, to: str, payload: dict[str, Any]) -> SentMessage:
        data = _dict(payload.get("template"))
        name, language = str(data.get("name", "")), str(_dict(data.get("language")).get("code", ""))
        template = self.templates.get((name, language))
        if template is None:
            raise GraphError(132001, "Template name does not exist in the translation",
                             f"template name ({name}) does not exist in {language}")
        components = [_dict(c) for c in _list(data.get("components"))]
        body = next((c for c in components if c.get("type") == "body"), {})
        values = [_dict(p) for p in _list(body.get("parameters"))]
        if len(values) != template.parameters:
            raise GraphError(132000, "Number of parameters does not match the expected number of params",
                             f"body: number of localizable_params ({len(values)}) does not match the expected "
                             f"number of params ({template.parameters})")
        text = template.body
        for number, value in enumerate(values, start=1):
            words = str(value.get("text", ""))
            if not words.strip() or re.search(r"[\n\t]| {5,}", words):
                raise GraphError(132018, "There was an issue with the parameters in your template",
                                 "Param text cannot have new-line/tab characters or more than 4 consecutive spaces")
            text = text.replace("{{%d}}" % number, words)
        buttons = []
        for index, label in enumerate(template.quick_replies):
            component = next((c for c in components if c.get("type") == "button"
                              and str(c.get("index")) == str(index)), None)
            payloads = [_dict(p).get("payload") for p in _list(_dict(component).get("parameters"))]
            if component is None or component.get("sub_type") != "quick_reply" or not payloads or not payloads[0]:
                raise GraphError(131008, "Required parameter is missing", f"button at index {index} needs a payload")
            buttons.append((label, str(payloads[0])))
        return SentMessage(self._new_id(), to, "template", text, buttons, template=name, at=self.clock())

    # --- refusals ---------------------------------------------------------------------------

    def _check_window(self, to: str) -> None:
        last = self.last_inbound.get(to)
        if last is not None and self.clock() - last < WINDOW:
            return
        if self.window_errors == "sync":
            raise GraphError(131047, "Re-engagement message",
                             "Message failed to send because more than 24 hours have passed since the customer "
                             "last replied to this number.")

    def outside_window(self, to: str) -> bool:
        last = self.last_inbound.get(to)
        return last is None or self.clock() - last >= WINDOW

    def _check_pace(self, to: str) -> None:
        now = time.monotonic()
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.per_second:
            raise GraphError(130429, "Rate limit hit", "Cloud API message throughput has been reached.",
                             http_status=400)
        tokens, updated = self._pairs.get(to, (float(self.pair_burst), now))
        tokens = min(float(self.pair_burst), tokens + (now - updated) / self.pair_interval)
        if tokens < 1.0:
            self._pairs[to] = (tokens, now)
            raise GraphError(131056, "(Business Account, Consumer Account) pair rate limit hit",
                             "Too many messages sent from the sender phone number to the same recipient phone "
                             "number in a short period of time.")
        self._pairs[to] = (tokens - 1.0, now)
        self._recent.append(now)

    def _new_id(self) -> str:
        return f"wamid.OUT{next(self._ids):08d}"

    # --- status callbacks -------------------------------------------------------------------

    def _after_accepting(self, message: SentMessage) -> None:
        failure = None
        if message.to in self.not_on_whatsapp:
            failure = (131026, "Message undeliverable", "Unable to deliver message: the recipient is not on WhatsApp")
        elif message.kind != "template" and self.window_errors == "status" and self.outside_window(message.to):
            failure = (131047, "Re-engagement message", "More than 24 hours have passed since the customer last replied")
        if failure:
            self.callback(message.id, message.to, "failed", error=failure)
            return
        for status in ("sent", "delivered"):
            if status in self.statuses:
                self.callback(message.id, message.to, status)
        if "read" in self.statuses:
            self.callback(message.id, message.to, "read")

    def callback(self, message_id: str, to: str, status: str, error: tuple[int, str, str] | None = None) -> None:
        entry: dict[str, Any] = {"id": message_id, "status": status, "timestamp": str(int(self.clock())),
                                 "recipient_id": to}
        if status in ("sent", "delivered"):
            entry["conversation"] = {"id": "CONVERSATION_ID", "origin": {"type": "service"}}
            entry["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "service"}
        if error:
            code, title, details = error
            entry["errors"] = [{"code": code, "title": title, "message": title, "error_data": {"details": details}}]
        body = self.envelope({"statuses": [entry]})
        self._pending_callbacks += 1
        self._callbacks.put_nowait((time.monotonic() + self.status_delay, body))

    async def _post_callbacks(self) -> None:
        """Status callbacks in order, each a little after the send it reports."""
        while True:
            due, body = await self._callbacks.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                if self.webhook_url is not None:
                    self.webhook_answers.append(await self.post(body))
            except OSError:
                self.webhook_answers.append(0)
            finally:
                self._pending_callbacks -= 1

    async def callbacks_done(self, timeout: float = 10.0) -> None:
        """Wait until every status callback so far has been posted and answered."""
        async with asyncio.timeout(timeout):
            while self._pending_callbacks:
                await asyncio.sleep(0.02)

    # --- webhooks to the bot ----------------------------------------------------------------

    def envelope(self, value: dict[str, Any]) -> dict[str, Any]:
        return {"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": self.phone_number_id},
            **value}}]}]}

    async def post(self, body: dict[str, Any] | bytes, secret: str | None = None, signature: str | None = None) -> int:
        """Post a webhook to the bot, signed with the app secret (or `secret`, or `signature`
        as given); returns the HTTP status it answered."""
        assert self._session is not None and self.webhook_url, "set webhook_url to the bot's webhook first"
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        header = signature if signature is not None else "sha256=" + hmac.new(
            (secret or self.app_secret).encode(), raw, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json"}
        if header:
            headers["X-Hub-Signature-256"] = header
        async with self._session.post(self.webhook_url, data=raw, headers=headers) as response:
            return response.status

    async def redeliver(self) -> int:
        """Post the last message webhook again, as Meta does when it missed the answer."""
        assert self.last_message_webhook is not None, "no message was posted yet"
        return await self.post(self.last_message_webhook)

    def person(self, phone: str, name: str) -> "WhatsAppPerson":
        return WhatsAppPerson(self, phone, name)

    async def wait_until(self, predicate, timeout: float = 10.0):  # type: ignore[no-untyped-def]
        async def satisfied():  # type: ignore[no-untyped-def]
            async with self._changed:
                while not (result := predicate()):
                    await self._changed.wait()
                return result

        return await asyncio.wait_for(satisfied(), timeout)


@dataclass
class WhatsAppPerson:
    """Someone on WhatsApp: writes, taps buttons and list rows, replies with WhatsApp's own
    reply, and reads what the bot sent."""

    api: FakeWhatsApp
    phone: str
    name: str
    seen: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    @property
    def messages(self) -> list[SentMessage]:
        return self.api.chats.get(self.phone, [])

    def texts(self) -> list[str]:
        return [m.text for m in self.messages]

    def _message(self, kind: str, content: dict[str, Any], context: SentMessage | None, at: float | None) -> dict:
        at = self.api.clock() if at is None else at
        message: dict[str, Any] = {"from": self.phone, "id": f"wamid.IN{self.phone}{next(self._ids):05d}",
                                   "timestamp": str(int(at)), "type": kind, **content}
        if context is not None:
            message["context"] = {"from": DISPLAY_NUMBER, "id": context.id}
        self.api.last_inbound[self.phone] = max(self.api.last_inbound.get(self.phone, 0.0), at)
        return self.api.envelope({"contacts": [{"profile": {"name": self.name}, "wa_id": self.phone}],
                                  "messages": [message]})

    async def _post(self, body: dict[str, Any]) -> str:
        self.api.last_message_webhook = body
        status = await self.api.post(body)
        assert status == 200, f"the bot's webhook answered {status}"
        return body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]

    async def says(self, text: str, reply_to: SentMessage | None = None, at: float | None = None) -> str:
        """Write a text (with WhatsApp's reply to a message when `reply_to`); its wamid."""
        return await self._post(self._message("text", {"text": {"body": text}}, reply_to, at))

    async def taps(self, label: str, on: SentMessage | None = None) -> str:
        """Tap a reply button, a list row or a template's quick reply by its title."""
        message = on or next((m for m in reversed(self.messages) if label in m.labels()), None)
        assert message is not None, f"{self.name} has no message with a {label!r} button: {self.texts()}"
        reply_id = next(reply_id for title, reply_id in message.buttons if title == label)
        if message.kind == "template":
            content = {"button": {"payload": reply_id, "text": label}}
            return await self._post(self._message("button", content, message, None))
        if message.kind == "list":
            content = {"interactive": {"type": "list_reply", "list_reply": {"id": reply_id, "title": label}}}
        else:
            content = {"interactive": {"type": "button_reply", "button_reply": {"id": reply_id, "title": label}}}
        return await self._post(self._message("interactive", content, message, None))

    async def receives(self, containing: str, timeout: float = 10.0) -> SentMessage:
        """The next new message (after those already seen) that contains the text."""
        def found():  # type: ignore[no-untyped-def]
            for index in range(self.seen, len(self.messages)):
                message = self.messages[index]
                if containing in message.text or containing in message.plain:
                    self.seen = index + 1
                    return message
            return None

        try:
            return await self.api.wait_until(found, timeout)
        except TimeoutError:
            raise AssertionError(f"{self.name} never received {containing!r}; got {self.texts()}") from None

    async def sees(self, predicate, timeout: float = 10.0) -> SentMessage:  # type: ignore[no-untyped-def]
        try:
            return await self.api.wait_until(lambda: next((m for m in self.messages if predicate(m)), None), timeout)
        except TimeoutError:
            raise AssertionError(f"{self.name} never saw it; got {self.texts()}") from None


def _unique(shown: list[tuple[str, str]], what: str) -> None:
    titles = [title for title, _ in shown]
    ids = [reply_id for _, reply_id in shown]
    if len(set(titles)) != len(titles):
        raise GraphError(131009, "Parameter value is not valid", f"{what}s must be unique")
    if len(set(ids)) != len(ids):
        raise GraphError(131009, "Parameter value is not valid", "ids must be unique")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _error(error: GraphError) -> web.Response:
    return web.json_response(error.as_json(), status=error.http_status)
