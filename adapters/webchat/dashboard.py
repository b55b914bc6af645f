"""The facilitators' dashboard at /admin, served by the bot's own web server (the web chat's,
on the same host and port). Facilitators sign in with a one-time link the bot sends them
(/dashboard), or in a demo by picking one. Its pages read the core's workspace; its buttons
and forms are the core's own presses, texts and commands, sent as events from the
facilitator's dashboard identity, so they follow the same rules and land in the same audit
log as on a chat. The bot's answers (a confirmation, a question to answer) appear beside the
page, and the page itself follows every change live over a WebSocket."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from importlib import resources
from typing import Any

from aiohttp import WSMsgType, web
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from adapters.webchat import dashboard_html as html
from adapters.webchat.site import WebSite, first_language, from_here
from bot.ports import (
    Address, ButtonPress, Capabilities, DeliveryResult, Envelope, Inbox, IncomingCommand, IncomingText, Message,
    Notice, Outgoing, PlatformContext, Prompt, Sender, Sent, Span, Viewer, Workspace,
)
from bot.settings_reader import ConfigError, Section

log = logging.getLogger(__name__)

PLATFORM = "dashboard"
COOKIE = "facilitator_dashboard"
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css"}
MAX_TEXT = 20_000
# What a facilitator may send as a command from the members page.
MEMBER_COMMANDS = frozenset({"mute", "unmute", "remove"})
REFRESH_AFTER = 0.15  # seconds: changes in a burst make one refresh
MEMBERS_SHOWN = 500  # as many as the workspace lists at once


@dataclass(frozen=True)
class DashboardSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    secret: str = ""
    session_seconds: float = 12 * 3600.0
    demo: bool = False
    allowed_origins: tuple[str, ...] = ()
    sockets_per_facilitator: int = 5


class DashboardAdapter:
    platform = PLATFORM
    capabilities = Capabilities(
        max_text=MAX_TEXT, max_buttons=30, max_button_label=80, can_edit=True, can_reply_to=False, can_toast=True,
        messages_per_second=500.0, per_chat_interval=0.0, display_name="Dashboard", reaches_members=False,
    )

    def __init__(self, settings: DashboardSettings, site: WebSite | None = None) -> None:
        if len(settings.secret) < 16:
            raise ValueError("the dashboard needs a secret of at least 16 characters")
        self.settings = settings
        self._serializer = URLSafeTimedSerializer(settings.secret, salt="dashboard-session")
        self._signed_out: set[str] = set()
        self._inbox: Inbox | None = None
        self._sockets: dict[int, set[web.WebSocketResponse]] = {}
        self._refresh: asyncio.TimerHandle | None = None
        self._site = site or WebSite(settings.host, settings.port)
        app = self._site.app
        app.router.add_get("/admin", self._home)
        app.router.add_get("/admin/", self._home)
        app.router.add_get("/admin/sign-in", self._sign_in_page)
        app.router.add_get("/admin/members.csv", self._members_csv)
        app.router.add_get("/admin/static/{name}", self._static)
        app.router.add_get("/admin/ws", self._websocket)
        app.router.add_post("/admin/api/sign-in", self._sign_in)
        app.router.add_post("/admin/api/pick", self._pick)
        app.router.add_post("/admin/api/sign-out", self._sign_out)
        app.router.add_post("/admin/api/press", self._press)
        app.router.add_post("/admin/api/text", self._text)
        app.router.add_post("/admin/api/command", self._command)
        app.router.add_get("/admin/{page}", self._page)

    @property
    def url(self) -> str:
        return self._site.url

    @property
    def workspace(self) -> Workspace:
        assert self._inbox is not None, "the dashboard is not started"
        return self._inbox.workspace

    async def start(self, inbox: Inbox) -> None:
        self._inbox = inbox
        inbox.workspace.watch(self._changed)
        await self._site.open()

    async def stop(self) -> None:
        for sockets in list(self._sockets.values()):
            for socket in list(sockets):
                await socket.close(code=1001, message=b"server stopping")
        self._sockets.clear()
        if self._refresh is not None:
            self._refresh.cancel()
        await self._site.close()

    # --- the bot's answers, beside the page ---------------------------------------------------

    async def send(self, envelope: Envelope) -> DeliveryResult:
        message, member_id = envelope.message, _member_id(envelope.to.user_id)
        if isinstance(message, Notice):
            if message.text:
                await self._push(member_id, {"type": "notice", "text": message.text, "refused": message.refused})
            return Sent("")
        message_id = uuid.uuid4().hex
        # A page that is closed has no use for an answer later: it is said now or not at all.
        await self._push(member_id, {"type": "message", "id": message_id, **_frame(message)})
        return Sent(message_id)

    async def edit(self, envelope: Envelope, message_id: str) -> DeliveryResult:
        await self._push(_member_id(envelope.to.user_id), {"type": "edit", "id": message_id,
                                                            **_frame(envelope.message)})
        return Sent(message_id)

    async def _push(self, member_id: int | None, frame: dict[str, Any]) -> None:
        for socket in list(self._sockets.get(member_id, ())) if member_id is not None else ():
            try:
                await socket.send_json(frame)
            except (ConnectionError, RuntimeError):
                self._sockets.get(member_id, set()).discard(socket)

    def _changed(self) -> None:
        """Something a page shows changed: every open page refreshes, once per burst."""
        if self._refresh is not None or not self._sockets:
            return
        self._refresh = asyncio.get_running_loop().call_later(REFRESH_AFTER, self._tell_pages)

    def _tell_pages(self) -> None:
        self._refresh = None
        for member_id in list(self._sockets):
            asyncio.ensure_future(self._push(member_id, {"type": "changed"}))

    # --- who is looking ---------------------------------------------------------------------

    async def _viewer(self, request: web.Request) -> Viewer | None:
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=self.settings.session_seconds)
        except SignatureExpired:
            return None
        except BadSignature:
            log.warning("a forged dashboard cookie was presented from %s", request.remote)
            return None
        if not isinstance(data, dict) or not isinstance(data.get("m"), int) or data.get("n") in self._signed_out:
            return None
        # Checked now, every time: one taken off the facilitators sees nothing more.
        return await self.workspace.viewer(data["m"])

    def _signed_in(self, request: web.Request, response: web.Response, viewer: Viewer) -> None:
        secure = request.secure or request.headers.get("Origin", "").startswith("https://")
        token = self._serializer.dumps({"m": viewer.member_id, "n": secrets.token_hex(8)})
        response.set_cookie(COOKIE, token, max_age=int(self.settings.session_seconds), httponly=True,
                            samesite="Strict", secure=secure, path="/admin")

    async def _words(self, language: str) -> tuple[html.Words, str, bool]:
        assert self._inbox is not None
        words = await self._inbox.words(language, html.PAGE_WORDS)
        return html.words_from(dict(zip(html.PAGE_WORDS, words.texts))), words.language, words.right_to_left

    async def _refuse(self, request: web.Request, status: int, text: str) -> web.Response:
        word, _, _ = await self._words(first_language(request.headers.get("Accept-Language", "")))
        return web.json_response({"error": word(text)}, status=status)

    async def _from_here(self, request: web.Request) -> web.Response | None:
        """Refuses what another site sends: a foreign Origin, or a body that is not JSON."""
        if not from_here(request, self.settings.allowed_origins):
            log.warning("refused %s %s from another site (Origin %r)", request.method, request.path,
                        request.headers.get("Origin", "")[:80])
            return await self._refuse(request, 403, html.OTHER_SITE)
        if request.method == "POST" and request.content_type != "application/json":
            return await self._refuse(request, 415, html.JSON_ONLY)
        return None

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return {}
        return body if isinstance(body, dict) else {}

    # --- pages --------------------------------------------------------------------------------

    async def _home(self, request: web.Request) -> web.StreamResponse:
        if await self._viewer(request) is not None:
            raise web.HTTPFound("/admin/queue")
        return await self._sign_in_page(request)

    async def _sign_in_page(self, request: web.Request) -> web.Response:
        token = request.query.get("token", "")
        word, language, rtl = await self._words(first_language(request.headers.get("Accept-Language", "")))
        people = await self.workspace.demo_viewers() if self.settings.demo else []
        main = html.sign_in(word, token[:100], people)
        return _page(html.layout(word, language, rtl, None, "sign-in", main))

    async def _page(self, request: web.Request) -> web.Response:
        page = request.match_info["page"]
        if page not in html.PAGES:
            raise web.HTTPNotFound()
        viewer = await self._viewer(request)
        if viewer is None:
            raise web.HTTPFound("/admin")
        word, language, rtl = await self._words(viewer.language)
        filters = {name: request.query.get(name, "")[:80] for name in ("country", "platform", "language", "topic",
                                                                        "status")}
        query = request.query.get("q", "")[:200]
        workspace = self.workspace
        if page == "queue":
            main = html.queue(word, await workspace.queue(viewer))
        elif page == "discussions":
            main = html.discussions(word, await workspace.discussions(viewer))
        elif page == "drafts":
            main = html.drafts(word, await workspace.drafts(viewer))
        elif page == "archive":
            main = html.archive(word, query, await workspace.archive(viewer, query))
        else:
            main = html.members(word, filters, await workspace.members(viewer, filters), MEMBERS_SHOWN)
        if request.query.get("part"):
            return web.Response(text=main, content_type="text/html", headers={"Cache-Control": "no-store"})
        counts = {"queue": len(await workspace.queue(viewer)), "drafts": len(await workspace.drafts(viewer))}
        return _page(html.layout(word, language, rtl, viewer, page, main, counts))

    async def _members_csv(self, request: web.Request) -> web.Response:
        viewer = await self._viewer(request)
        if viewer is None:
            return await self._refuse(request, 401, html.CHOOSE_FIRST)
        filters = {name: request.query.get(name, "")[:80] for name in ("country", "platform", "language", "topic",
                                                                        "status")}
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["number", "name", "organization", "country", "platforms", "language", "topics", "status",
                         "muted", "joined"])
        for person in await self.workspace.members(viewer, filters):
            writer.writerow([person.number, *(_cell(v) for v in (
                person.name, person.organization, person.country, ";".join(person.platforms), person.language,
                ";".join(person.topics), person.status)), "yes" if person.muted else "", person.joined])
        return web.Response(body=out.getvalue().encode("utf-8"), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": 'attachment; filename="members.csv"',
                                     "Cache-Control": "no-store"})

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        suffix = name[name.rfind("."):] if "." in name else ""
        source = resources.files("adapters.webchat").joinpath("static", name)
        if "/" in name or suffix not in STATIC_TYPES or not name.startswith("admin.") or not source.is_file():
            raise web.HTTPNotFound()
        return web.Response(body=source.read_bytes(), content_type=STATIC_TYPES[suffix], charset="utf-8",
                            headers={"Cache-Control": "no-cache"})

    # --- signing in and out ---------------------------------------------------------------

    async def _sign_in(self, request: web.Request) -> web.Response:
        refused = await self._from_here(request)
        if refused is not None:
            return refused
        token = (await self._body(request)).get("token")
        viewer = await self.workspace.redeem(token, time.time()) if isinstance(token, str) else None
        if viewer is None:
            log.info("a dashboard link was used again, too late, or forged (from %s)", request.remote)
            return await self._refuse(request, 403, html.LINK_GONE)
        response = web.json_response({"ok": True})
        self._signed_in(request, response, viewer)
        log.info("facilitator #%s signed in to the dashboard", viewer.member_id)
        return response

    async def _pick(self, request: web.Request) -> web.Response:
        refused = await self._from_here(request)
        if refused is not None:
            return refused
        if not self.settings.demo:
            return await self._refuse(request, 403, html.NOT_A_DEMO)
        member_id = (await self._body(request)).get("member_id")
        viewer = await self.workspace.viewer(member_id) if isinstance(member_id, int) else None
        if viewer is None:
            return await self._refuse(request, 403, html.NOT_A_FACILITATOR)
        response = web.json_response({"ok": True})
        self._signed_in(request, response, viewer)
        return response

    async def _sign_out(self, request: web.Request) -> web.Response:
        refused = await self._from_here(request)
        if refused is not None:
            return refused
        cookie = request.cookies.get(COOKIE, "")
        try:
            data = self._serializer.loads(cookie, max_age=self.settings.session_seconds) if cookie else None
        except BadSignature:
            data = None
        if isinstance(data, dict) and isinstance(data.get("n"), str):
            self._signed_out.add(data["n"])  # this session ends here, even if its cookie was copied
        response = web.json_response({"ok": True})
        response.del_cookie(COOKIE, path="/admin")
        return response

    # --- acting: the core's own presses, texts and commands -----------------------------------

    async def _acting(self, request: web.Request) -> tuple[Viewer, dict[str, Any]] | web.Response:
        refused = await self._from_here(request)
        if refused is not None:
            return refused
        viewer = await self._viewer(request)
        if viewer is None:
            return await self._refuse(request, 401, html.CHOOSE_FIRST)
        return viewer, await self._body(request)

    def _sender(self, viewer: Viewer) -> Sender:
        user_id = str(viewer.member_id)
        return Sender(Address(PLATFORM, user_id, user_id), viewer.name)

    async def _press(self, request: web.Request) -> web.Response:
        acting = await self._acting(request)
        if isinstance(acting, web.Response):
            return acting
        viewer, body = acting
        token, text = body.get("token"), body.get("text")
        if not isinstance(token, str) or not token or (text is not None and not isinstance(text, str)):
            return await self._refuse(request, 400, html.NOT_UNDERSTOOD)
        assert self._inbox is not None
        sender = self._sender(viewer)
        acknowledged = await self._inbox.handle(ButtonPress(sender, token[:200], None, uuid.uuid4().hex))
        if acknowledged.accepted and text is not None and text.strip():
            # The answer the press asks for (a reason, a new text): handled right after it.
            acknowledged = await self._inbox.handle(IncomingText(sender, text[:MAX_TEXT]))
        return web.json_response({"ok": acknowledged.accepted, "refusal": acknowledged.refusal})

    async def _text(self, request: web.Request) -> web.Response:
        acting = await self._acting(request)
        if isinstance(acting, web.Response):
            return acting
        viewer, body = acting
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return await self._refuse(request, 400, html.NOT_UNDERSTOOD)
        assert self._inbox is not None
        acknowledged = await self._inbox.handle(IncomingText(self._sender(viewer), text[:MAX_TEXT]))
        return web.json_response({"ok": acknowledged.accepted, "refusal": acknowledged.refusal})

    async def _command(self, request: web.Request) -> web.Response:
        acting = await self._acting(request)
        if isinstance(acting, web.Response):
            return acting
        viewer, body = acting
        name, args = body.get("command"), body.get("args", "")
        if name not in MEMBER_COMMANDS or not isinstance(args, str):
            return await self._refuse(request, 400, html.NOT_UNDERSTOOD)
        assert self._inbox is not None
        acknowledged = await self._inbox.handle(IncomingCommand(self._sender(viewer), name, args[:600]))
        return web.json_response({"ok": acknowledged.accepted, "refusal": acknowledged.refusal})

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if not from_here(request, self.settings.allowed_origins):
            log.warning("refused a dashboard socket from another site (Origin %r)", request.headers.get("Origin"))
            return await self._refuse(request, 403, html.OTHER_SITE)
        viewer = await self._viewer(request)
        if viewer is None:
            return await self._refuse(request, 401, html.CHOOSE_FIRST)
        open_ones = self._sockets.setdefault(viewer.member_id, set())
        if len(open_ones) >= self.settings.sockets_per_facilitator:
            return web.json_response({"error": "too many pages"}, status=429)
        socket = web.WebSocketResponse(max_msg_size=4096, heartbeat=30)
        await socket.prepare(request)
        open_ones.add(socket)
        try:
            async for frame in socket:
                if frame.type == WSMsgType.ERROR:
                    break  # the page only listens: anything it sends is ignored
        finally:
            open_ones.discard(socket)
            if not open_ones:
                self._sockets.pop(viewer.member_id, None)
        return socket


def _frame(message: Outgoing) -> dict[str, Any]:
    frame: dict[str, Any] = {
        "kind": type(message).__name__.lower(),
        "html": html.spans(message.spans),
        "buttons": [[{"label": b.label, "token": b.token, "style": b.style.value} for b in row]
                    for row in message.buttons],
    }
    if isinstance(message, Prompt):
        frame["prefill"] = message.prefill
    if isinstance(message, Message) and message.document is not None:
        frame["html"] += html.spans((Span("\n\n"), Span(message.document.data.decode("utf-8", "replace"), code=True)))
    return frame


def _member_id(user_id: str) -> int | None:
    return int(user_id) if user_id.isdigit() else None


def _cell(value: str) -> str:
    """A spreadsheet never runs a cell a member wrote as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _page(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/html", headers={"Cache-Control": "no-store"})


class DashboardPlugin:
    name = PLATFORM

    def read_settings(self, section: Section) -> DashboardSettings:
        origins = tuple(origin.rstrip("/") for origin in section.string_list("allowed_origins", default=[]))
        settings = DashboardSettings(
            host=section.string("host", default="127.0.0.1"),
            port=section.port("port", default=8080, allow_zero=True),
            secret=section.secret("secret", required=True),
            session_seconds=section.duration("session", default="12h"),
            demo=section.boolean("demo", default=False),
            allowed_origins=origins,
            sockets_per_facilitator=section.positive_int("sockets_per_facilitator", default=5),
        )
        if len(settings.secret) < 16:
            raise ConfigError("dashboard.secret", "use at least 16 characters: it signs the facilitators' sessions")
        return settings

    def build(self, settings: DashboardSettings, context: PlatformContext) -> DashboardAdapter:
        return DashboardAdapter(settings, WebSite.shared(context.shared, settings.host, settings.port))

    async def check_online(self, settings: DashboardSettings) -> str | None:
        return None

    def normalise_user_id(self, raw: str) -> str:
        return raw.strip()

    def facilitators_room(self, settings: DashboardSettings) -> Address | None:
        return None


PLUGIN = DashboardPlugin()
