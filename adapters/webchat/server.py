"""The web chat's server: the page, the identity cookie, and one WebSocket per open page.

Identity is a signed cookie (itsdangerous) holding the visitor's web-chat user id. With
`demo = true` a visitor may pick one of the people the core lists for this platform; with
`demo = false` a visitor can only start as a new member, so an open page on a public
address never lets anyone act as someone else.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass
from importlib import resources
from typing import Any

from aiohttp import WSMsgType, web
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from adapters.received import well_formed_all
from bot.ports import (
    Address, ButtonPress, Capabilities, DeliveryResult, Document, Envelope, Inbox, IncomingCommand, IncomingText, Message,
    Notice, Outgoing, PlatformContext, Prompt, RetryLater, Sender, Sent, Span,
)
from adapters.webchat.site import WebSite, first_language, from_here
from bot.settings_reader import ConfigError, Section

log = logging.getLogger(__name__)


def ui(text: str) -> str:
    """Marks the page's own words for the core's catalogs (`make catalogs` extracts them)."""
    return text


# Every word of the page (index.html's data-text, data-placeholder and data-label, and the
# _("...") of chat.js) and of the server's own refusals: a test keeps this list complete.
PAGE_WORDS = (
    ui("Community chat"), ui("connecting…"), ui("Change who I am"), ui("Who are you?"),
    ui("Pick a person to try the network as them. Open a private window or another browser to be someone else "
       "at the same time."),
    ui("Demo members"), ui("Demo facilitators"), ui("Someone new"), ui("New member"), ui("join through /start"),
    ui("Cancel reply"), ui("Message"), ui("Send"), ui("choose who you are"), ui("Join the network as a new member."),
    ui("online as {name}"), ui("online"), ui("That message was too large to send."), ui("reconnecting…"),
    ui("Reply to this"), ui("Replying to: {text}"), ui("Not connected yet: try again in a moment."),
    ui("The server answered {status}"),
)
NOT_UNDERSTOOD = ui("I did not understand that message.")
NOT_A_BUTTON = ui("I did not understand that button.")
TOO_LONG = ui("That message is too long: at most {limit} characters, please.")
CHOOSE_FIRST = ui("Choose who you are first.")
NOT_A_DEMO = ui("This chat is not a demo: you can only join as a new member.")
NO_SUCH_PERSON = ui("There is no such demo person.")
CHOOSE = ui("Choose who you are.")
OTHER_SITE = ui("This page may only be used from its own address.")
JSON_ONLY = ui("Send JSON, please.")
TOO_MANY_PAGES = ui("You have too many pages open: close one and try again.")
TOO_MANY_NEWCOMERS = ui("Too many new members from your address in a minute: please wait a moment.")
DOWNLOAD_GONE = ui("This file is no longer here: ask for it again.")

PLATFORM = "webchat"
COOKIE = "facilitator_webchat"
MAX_FRAME_BYTES = 64 * 1024
DOWNLOAD_FOR = 3600.0  # seconds a file the bot sent can be downloaded
MAX_DOWNLOADS = 200  # files kept for download at once, the oldest dropped first
STATIC_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@dataclass(frozen=True)
class WebChatSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    secret: str = ""
    demo: bool = False
    session_max_age_seconds: int = 30 * 86400
    max_message_chars: int = 20000
    # Other addresses this page is served from (a public https address behind a proxy).
    allowed_origins: tuple[str, ...] = ()
    sockets_per_identity: int = 5
    new_identities_per_minute: int = 10


class _Window:
    """How many times each key did something in the last minute."""

    def __init__(self) -> None:
        self._times: dict[str, deque[float]] = {}

    def count(self, key: str, now: float) -> int:
        times = self._times.setdefault(key, deque())
        while times and now - times[0] > 60:
            times.popleft()
        if not times:
            self._times.pop(key, None)
        return len(times)

    def add(self, key: str, now: float) -> None:
        self._times.setdefault(key, deque()).append(now)
        if len(self._times) > 10_000:
            for stale in [k for k, t in self._times.items() if not t or now - t[-1] > 60]:
                del self._times[stale]


class WebChatAdapter:
    platform = PLATFORM
    capabilities = Capabilities(
        max_text=20000, max_buttons=20, max_button_label=60, can_edit=True, can_reply_to=True, can_toast=True,
        messages_per_second=200.0, per_chat_interval=0.0, display_name="Web chat",
        can_send_documents=True, max_document_bytes=20_000_000,
    )

    def __init__(self, settings: WebChatSettings, site: WebSite | None = None) -> None:
        if len(settings.secret) < 16:
            raise ValueError("the web chat needs a secret of at least 16 characters")
        self.settings = settings
        self._serializer = URLSafeTimedSerializer(settings.secret, salt="webchat-identity")
        self._inbox: Inbox | None = None
        self._sockets: dict[str, set[web.WebSocketResponse]] = {}
        self._newcomers = _Window()
        self._downloads = _Downloads()
        self._site = site or WebSite(settings.host, settings.port)
        self._routes(self._site.app)

    @property
    def url(self) -> str:
        return self._site.url

    # --- life ------------------------------------------------------------------------------

    async def start(self, inbox: Inbox) -> None:
        self._inbox = inbox
        await self._site.open()

    def _routes(self, app: web.Application) -> None:
        app.router.add_get("/", self._page)
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/api/session", self._session)
        app.router.add_get("/api/texts", self._texts)
        app.router.add_post("/api/identity", self._pick_identity)
        app.router.add_post("/api/forget", self._forget_identity)
        app.router.add_get("/api/transcript", self._transcript)
        app.router.add_get("/api/download/{token}", self._download)
        app.router.add_get("/ws", self._websocket)

    async def stop(self) -> None:
        for sockets in list(self._sockets.values()):
            for socket in list(sockets):
                await socket.close(code=1001, message=b"server stopping")
        self._sockets.clear()
        await self._site.close()

    # --- sending -----------------------------------------------------------------------------

    async def send(self, envelope: Envelope) -> DeliveryResult:
        to, message = envelope.to, envelope.message
        if isinstance(message, Notice):
            if message.text:
                await self._push(to.user_id, {"type": "notice", "text": message.text, "refused": message.refused})
            return Sent("")  # a toast for a page that is closed is moot
        message_id = uuid.uuid4().hex
        if not await self._push(to.user_id, {"type": "message", "id": message_id, "at": time.time(),
                                             **self._message_json(message, to.user_id)}):
            return RetryLater("page closed", after_seconds=30, attempt_counts=False)
        return Sent(message_id)

    async def edit(self, envelope: Envelope, message_id: str) -> DeliveryResult:
        if not await self._push(envelope.to.user_id, {"type": "edit", "id": message_id,
                                                      **self._message_json(envelope.message, envelope.to.user_id)}):
            return RetryLater("page closed", after_seconds=30, attempt_counts=False)
        return Sent(message_id)

    async def _push(self, user_id: str, frame: dict[str, Any]) -> bool:
        delivered = False
        for socket in list(self._sockets.get(user_id, ())):
            try:
                await socket.send_json(frame)
                delivered = True
            except (ConnectionError, RuntimeError):
                self._sockets.get(user_id, set()).discard(socket)
        return delivered

    # --- identity ------------------------------------------------------------------------------

    def _identity(self, request: web.Request) -> str | None:
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=self.settings.session_max_age_seconds)
        except SignatureExpired:
            log.info("an expired web chat cookie was presented")
            return None
        except BadSignature:
            log.warning("a forged web chat cookie was presented from %s", request.remote)
            return None
        user_id = data.get("u") if isinstance(data, dict) else None
        return user_id if isinstance(user_id, str) and user_id else None

    async def _say(self, request: web.Request, text: str, **params: object) -> str:
        """One of the server's own sentences in the visitor's language."""
        assert self._inbox is not None
        words = await self._inbox.words(first_language(request.headers.get("Accept-Language", "")), [text])
        return words.texts[0].format(**params)

    async def _texts(self, request: web.Request) -> web.Response:
        assert self._inbox is not None
        words = await self._inbox.words(first_language(request.headers.get("Accept-Language", "")), PAGE_WORDS)
        return web.json_response({"language": words.language, "dir": "rtl" if words.right_to_left else "ltr",
                                  "words": dict(zip(PAGE_WORDS, words.texts))})

    async def _session(self, request: web.Request) -> web.Response:
        assert self._inbox is not None
        people = await self._inbox.people_on(PLATFORM) if self.settings.demo else []
        user_id = self._identity(request)
        me = next((person for person in people if person.address.user_id == user_id), None)
        return web.json_response({
            "demo": self.settings.demo,
            "me": None if user_id is None else {"user_id": user_id, "name": me.name if me else ""},
            "people": [{"user_id": p.address.user_id, "name": p.name, "description": p.description,
                        "facilitator": p.is_facilitator} for p in people],
        })

    # --- the web surface refuses other sites ---------------------------------------------------

    def _from_here(self, request: web.Request) -> bool:
        return from_here(request, self.settings.allowed_origins)

    async def _refuse_other_sites(self, request: web.Request, state_changing: bool) -> web.Response | None:
        if not self._from_here(request):
            log.warning("refused %s %s from another site (Origin %r, from %s)", request.method, request.path,
                        request.headers.get("Origin", "")[:80], request.remote)
            return _refuse(403, await self._say(request, OTHER_SITE))
        if state_changing and request.content_type != "application/json":
            log.warning("refused %s %s with Content-Type %r from %s", request.method, request.path,
                        request.content_type, request.remote)
            return _refuse(415, await self._say(request, JSON_ONLY))
        return None

    def _set_identity(self, request: web.Request, response: web.Response, user_id: str) -> None:
        # Strict: another site's links and forms never carry it; the page's own requests do.
        secure = request.secure or request.headers.get("Origin", "").startswith("https://")
        response.set_cookie(COOKIE, self._serializer.dumps({"u": user_id}),
                            max_age=self.settings.session_max_age_seconds, httponly=True, samesite="Strict",
                            secure=secure, path="/")

    async def _pick_identity(self, request: web.Request) -> web.Response:
        assert self._inbox is not None
        refused = await self._refuse_other_sites(request, state_changing=True)
        if refused is not None:
            return refused
        try:
            body = await request.json()
            wanted = body.get("user_id") if isinstance(body, dict) else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            wanted = None
        if not isinstance(wanted, str) or not wanted:
            return _refuse(400, await self._say(request, CHOOSE))
        new = wanted == "new"
        if not new:
            if not self.settings.demo:
                log.warning("refused picking identity %r: this web chat is not a demo", wanted[:40])
                return _refuse(403, await self._say(request, NOT_A_DEMO))
            known = {p.address.user_id: p.name for p in await self._inbox.people_on(PLATFORM)}
            if wanted not in known:
                log.warning("refused picking unknown identity %r", wanted[:40])
                return _refuse(403, await self._say(request, NO_SUCH_PERSON))
        if new:
            now, client = time.monotonic(), request.remote or "?"
            if self._newcomers.count(client, now) >= self.settings.new_identities_per_minute:
                log.warning("refused a new web chat member from %s: %s in the last minute", client,
                            self.settings.new_identities_per_minute)
                return _refuse(429, await self._say(request, TOO_MANY_NEWCOMERS))
            self._newcomers.add(client, now)
        user_id = f"web-{secrets.token_hex(8)}" if new else wanted
        # The name comes back at once, so the page's header says who the visitor now is.
        response = web.json_response({"user_id": user_id, "new": new, "name": "" if new else known[wanted]})
        self._set_identity(request, response, user_id)
        return response

    async def _forget_identity(self, request: web.Request) -> web.Response:
        refused = await self._refuse_other_sites(request, state_changing=True)
        if refused is not None:
            return refused
        response = web.json_response({"ok": True})
        response.del_cookie(COOKIE, path="/")
        return response

    async def _transcript(self, request: web.Request) -> web.Response:
        assert self._inbox is not None
        user_id = self._identity(request)
        if user_id is None:
            return _refuse(401, await self._say(request, CHOOSE_FIRST))
        entries = await self._inbox.transcript(Address(PLATFORM, user_id, user_id))
        return web.json_response([
            {"from_bot": e.from_bot, "id": e.message_id, "at": e.at, **self._message_json(e.message, user_id)}
            for e in entries
        ])

    def _message_json(self, message: Outgoing, user_id: str) -> dict[str, Any]:
        frame = _message_json(message)
        if isinstance(message, Message) and message.document is not None:
            token = self._downloads.offer(user_id, message.document, time.monotonic())
            frame["document"] = {"name": message.document.filename, "url": f"/api/download/{token}"}
        return frame

    async def _download(self, request: web.Request) -> web.Response:
        """A file the bot sent: only to the person it was sent to (their cookie), for a while."""
        user_id = self._identity(request)
        if user_id is None:
            return _refuse(401, await self._say(request, CHOOSE_FIRST))
        document = self._downloads.take(request.match_info["token"], user_id, time.monotonic())
        if document is None:
            log.info("a download was asked for by someone it was not sent to, or too late")
            return _refuse(404, await self._say(request, DOWNLOAD_GONE))
        return web.Response(body=document.data, content_type=document.content_type, headers={
            "Content-Disposition": f"attachment; filename=\"{_safe_filename(document.filename)}\"",
            "Cache-Control": "no-store",
        })

    # --- the page ------------------------------------------------------------------------------

    async def _page(self, request: web.Request) -> web.Response:
        return _static_file("index.html")

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if "/" in name or name.startswith(".") or name == "index.html":
            raise web.HTTPNotFound()
        return _static_file(name)

    # --- the socket ----------------------------------------------------------------------------

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        refused = await self._refuse_other_sites(request, state_changing=False)
        if refused is not None:
            return refused  # before upgrading: another site's page never gets a socket
        user_id = self._identity(request)
        if user_id is None:
            return _refuse(401, await self._say(request, CHOOSE_FIRST))
        if len(self._sockets.get(user_id, ())) >= self.settings.sockets_per_identity:
            log.warning("refused a socket for %s: %s open already", _short(user_id), self.settings.sockets_per_identity)
            return _refuse(429, await self._say(request, TOO_MANY_PAGES))
        socket = web.WebSocketResponse(max_msg_size=MAX_FRAME_BYTES, heartbeat=30)
        await socket.prepare(request)
        self._sockets.setdefault(user_id, set()).add(socket)
        address = Address(PLATFORM, user_id, user_id)
        locale = first_language(request.headers.get("Accept-Language", ""))
        assert self._inbox is not None
        try:
            await self._inbox.wake(address)
            async for frame in socket:
                if frame.type == WSMsgType.TEXT:
                    await self._receive(socket, Sender(address, locale=locale), frame.data)
                elif frame.type == WSMsgType.ERROR:
                    log.warning("web chat socket of %s closed with an error: %s", user_id, socket.exception())
            if socket.close_code == 1009:
                log.warning("refused a frame over %s bytes from %s", MAX_FRAME_BYTES, user_id)
        finally:
            self._sockets.get(user_id, set()).discard(socket)
            if not self._sockets.get(user_id):
                self._sockets.pop(user_id, None)
        return socket

    async def _receive(self, socket: web.WebSocketResponse, sender: Sender, data: str) -> None:
        assert self._inbox is not None
        event = self._event(sender, data)
        if isinstance(event, tuple):
            problem, params = event
            log.info("web chat %s sent a frame I do not understand: %s", sender.address.user_id, problem)
            assert self._inbox is not None
            words = await self._inbox.words(sender.locale, [problem])
            await socket.send_json({"type": "error", "text": words.texts[0].format(**params)})
            return
        acknowledgement = await self._inbox.handle(well_formed_all(event))
        if not acknowledgement.accepted:
            await socket.send_json({"type": "error", "text": acknowledgement.refusal or ""})

    def _event(self, sender: Sender, data: str) -> ButtonPress | IncomingCommand | IncomingText | tuple[str, dict]:
        """The page's frame as an event, or what is wrong with it (a sentence and its values)."""
        try:
            frame = json.loads(data)
        except (json.JSONDecodeError, RecursionError):  # not JSON, or nested beyond reading
            return NOT_UNDERSTOOD, {}
        if not isinstance(frame, dict):
            return NOT_UNDERSTOOD, {}
        kind = frame.get("type")
        if kind == "press":
            token, message_id = frame.get("token"), frame.get("message_id")
            if not isinstance(token, str) or not token or len(token) > 256:
                return NOT_A_BUTTON, {}
            return ButtonPress(sender, token, message_id if isinstance(message_id, str) else None,
                               interaction=uuid.uuid4().hex)
        if kind == "text":
            text, reply_to = frame.get("text"), frame.get("reply_to")
            if not isinstance(text, str):
                return NOT_UNDERSTOOD, {}
            if len(text) > self.settings.max_message_chars:
                return TOO_LONG, {"limit": f"{self.settings.max_message_chars:,}"}
            if text.startswith("/") and len(text) > 1:
                head, _, args = text[1:].partition(" ")
                return IncomingCommand(sender, head, args.strip())
            return IncomingText(sender, text, reply_to if isinstance(reply_to, str) and reply_to else None)
        return NOT_UNDERSTOOD, {}


class _Downloads:
    """Files offered to one person each, fetched with an unguessable token and their own
    cookie; forgotten after a while, and the oldest first when too many wait."""

    def __init__(self) -> None:
        self._offered: OrderedDict[str, tuple[str, Document, float]] = OrderedDict()

    def offer(self, user_id: str, document: Document, now: float) -> str:
        token = secrets.token_urlsafe(24)
        self._offered[token] = (user_id, document, now + DOWNLOAD_FOR)
        while len(self._offered) > MAX_DOWNLOADS:
            self._offered.popitem(last=False)
        return token

    def take(self, token: str, user_id: str, now: float) -> Document | None:
        offered = self._offered.get(token)
        if offered is None or offered[2] < now:
            self._offered.pop(token, None)
            return None
        owner, document, _ = offered
        return document if hmac.compare_digest(owner, user_id) else None


def _safe_filename(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:100] or "download"


def _message_json(message: Outgoing) -> dict[str, Any]:
    frame: dict[str, Any] = {
        "kind": type(message).__name__.lower(),
        "spans": [_span_json(span) for span in message.spans],
        "buttons": [[{"label": b.label, "token": b.token, "style": b.style.value} for b in row]
                    for row in message.buttons],
        "reply_to": message.reply_to if isinstance(message, Message) else None,
    }
    if isinstance(message, Prompt):
        frame["prefill"] = message.prefill
    return frame


def _span_json(span: Span) -> dict[str, Any]:
    return {"text": span.text, "bold": span.bold, "italic": span.italic, "link": span.link, "code": span.code}


def _short(identifier: str) -> str:
    """An id as logs show it: enough to tell people apart, not enough to find them."""
    return identifier[:8] + "…" if len(identifier) > 8 else identifier


def _static_file(name: str) -> web.Response:
    source = resources.files("adapters.webchat").joinpath("static", name)
    suffix = name[name.rfind("."):] if "." in name else ""
    if not source.is_file() or suffix not in STATIC_TYPES:
        raise web.HTTPNotFound()
    return web.Response(body=source.read_bytes(), content_type=STATIC_TYPES[suffix], charset="utf-8",
                        headers={"Cache-Control": "no-cache"})


def _refuse(status: int, text: str) -> web.Response:
    return web.json_response({"error": text}, status=status)


class WebChatPlugin:
    name = PLATFORM

    def read_settings(self, section: Section) -> WebChatSettings:
        origins = tuple(origin.rstrip("/") for origin in section.string_list("allowed_origins", default=[]))
        for origin in origins:
            if not origin.startswith(("http://", "https://")) or "/" in origin.split("://", 1)[1]:
                raise ConfigError("webchat.allowed_origins", f"{origin!r} is not an origin like \"https://chat.example.org\"")
        settings = WebChatSettings(
            host=section.string("host", default="127.0.0.1"),
            port=section.port("port", default=8080, allow_zero=True),
            secret=section.secret("secret", required=True),
            demo=section.boolean("demo", default=False),
            allowed_origins=origins,
            sockets_per_identity=section.positive_int("sockets_per_identity", default=5),
            new_identities_per_minute=section.positive_int("new_identities_per_minute", default=10),
        )
        if len(settings.secret) < 16:
            raise ConfigError("webchat.secret", "use at least 16 characters: it signs the visitors' cookies")
        return settings

    def build(self, settings: WebChatSettings, context: PlatformContext) -> "WebChatAdapter":
        return WebChatAdapter(settings, WebSite.shared(context.shared, settings.host, settings.port))

    async def check_online(self, settings: WebChatSettings) -> str | None:
        return None  # served by the bot itself: nothing to reach

    def normalise_user_id(self, raw: str) -> str:
        return raw.strip()

    def facilitators_room(self, settings: WebChatSettings) -> Address | None:
        return None


PLUGIN = WebChatPlugin()
