"""A small Slack for tests: a Web API that the real slack_sdk reaches through `base_url`, and
a driver that posts correctly signed Events API, interactivity and slash command requests of
the real shape to the bot's /slack/events (or sends them over Socket Mode).

The Web API refuses what Slack refuses: more than 50 blocks in a message (100 in a view),
section text over 3,000 characters, button text over 75 and values over 2,000, duplicate
action ids, unknown channels (`channel_not_found`), archived ones (`is_archived`), a modal's
title over 24, a trigger older than 3 seconds (`expired_trigger_id`) or used twice, and more
than about one message a second to one channel after a small burst (HTTP 429 with
Retry-After). It is stricter than Slack in one way: a message with blocks must carry a
`text` fallback (Slack only warns).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qsl, urlencode

from aiohttp import ClientSession, WSMsgType, web

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM = "T0TEST"
APP_ID = "A0TEST"
BOT_USER = "UBOT0001"
BOT_ID = "BBOT0001"
TRIGGER_LIFETIME = 3.0
MAX_MESSAGE_BLOCKS, MAX_VIEW_BLOCKS = 50, 100
_CONTROL = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_STYLE = re.compile(r"(?<![\w*_~])([*_~])(?=\S)(.+?)(?<=\S)\1(?![\w*_~])")


class Refused(Exception):
    def __init__(self, error: str, status: int = 200, retry_after: int | None = None, detail: str = "") -> None:
        super().__init__(f"{error} {detail}".strip())
        self.error, self.status, self.retry_after, self.detail = error, status, retry_after, detail


@dataclass
class SlackMessage:
    channel: str
    ts: str
    text: str  # the plain fallback, as sent
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    edits: int = 0
    ephemeral_for: str | None = None  # shown to this person only
    # A file shared with the message: its name, title and bytes.
    file: dict[str, Any] | None = None

    @property
    def mrkdwn(self) -> str:
        """What the bot wrote, Slack's markup and escapes included."""
        return "\n".join(_block_texts(self.blocks)) or self.text

    @property
    def visible(self) -> str:
        """What a person sees: links as their labels, mentions as @names, styles as styles."""
        return visible(self.mrkdwn)

    def buttons(self) -> list[dict[str, Any]]:
        return [element for block in self.blocks if block.get("type") == "actions"
                for element in block.get("elements", []) if element.get("type") == "button"]

    def labels(self) -> list[str]:
        return [button["text"]["text"] for button in self.buttons()]

    def as_json(self) -> dict[str, Any]:
        message = {"type": "message", "user": BOT_USER, "bot_id": BOT_ID, "ts": self.ts, "text": self.text,
                   "team": TEAM, "blocks": self.blocks}
        if self.thread_ts:
            message["thread_ts"] = self.thread_ts
        return message


@dataclass
class View:
    id: str
    user: str
    view: dict[str, Any]
    hash: str
    opened_at: float
    closed: bool = False

    @property
    def kind(self) -> str:
        return self.view["type"]

    @property
    def title(self) -> str:
        return self.view.get("title", {}).get("text", "")

    @property
    def visible(self) -> str:
        return visible("\n".join(_block_texts(self.view.get("blocks", []))))

    def input(self) -> dict[str, Any] | None:
        return next((b for b in self.view.get("blocks", []) if b.get("type") == "input"), None)

    @property
    def prefill(self) -> str:
        block = self.input()
        return (block or {}).get("element", {}).get("initial_value", "")

    def labels(self) -> list[str]:
        return [e["text"]["text"] for b in self.view.get("blocks", []) if b.get("type") == "actions"
                for e in b.get("elements", [])]

    def as_json(self) -> dict[str, Any]:
        return {**self.view, "id": self.id, "hash": self.hash, "team_id": TEAM, "app_id": APP_ID, "bot_id": BOT_ID,
                "state": {"values": {}}}


@dataclass
class Request:
    method: str
    params: dict[str, Any]
    at: float
    refused: str | None = None
    retry_after: int | None = None


@dataclass
class Delivery:
    """One request the driver made to the bot, and how fast it was acknowledged."""

    kind: str
    status: int
    seconds: float
    body: str = ""


class FakeSlack:
    def __init__(self, channel_burst: int = 3, channel_rate: float = 1.0,
                 signing_secret: str = SIGNING_SECRET) -> None:
        self.token = BOT_TOKEN
        self.app_token = APP_TOKEN
        self.signing_secret = signing_secret
        self.channel_burst, self.channel_rate = channel_burst, channel_rate
        self.users: dict[str, dict[str, Any]] = {}
        self.dms: dict[str, str] = {}  # user id -> the bot's DM channel with them
        self.channels: dict[str, dict[str, Any]] = {}  # public and private channels by id
        self.archived: set[str] = set()
        self.messages: dict[str, list[SlackMessage]] = {}
        self.views: dict[str, View] = {}
        self.homes: dict[str, View] = {}  # user id -> their published App Home
        self.requests: list[Request] = []
        self.uploads: dict[str, dict[str, Any]] = {}  # file id -> what was announced and posted
        self.deliveries: list[Delivery] = []
        self.events_url = ""  # the bot's /slack/events, in HTTP mode
        self.storm = 0  # the next this-many chat.postMessage calls are refused with 429
        self.storm_retry_after = 1
        self.trigger_lifetime = TRIGGER_LIFETIME
        self._triggers: dict[str, tuple[str, float, bool]] = {}  # id -> (user, issued at, used)
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.port = 0

    # --- life ------------------------------------------------------------------------------

    async def __aenter__(self) -> "FakeSlack":
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/socket", self._socket)
        app.router.add_post("/upload/{file_id}", self._upload)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._session = ClientSession()
        self.user(BOT_USER, "Facilitator bot", is_bot=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for socket in list(self._sockets):
            await socket.close()
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def refused(self) -> list[Request]:
        return [request for request in self.requests if request.refused]

    def calls(self, method: str) -> list[Request]:
        return [request for request in self.requests if request.method == method]

    # --- the Web API ---------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        record = Request(method, params, time.monotonic())
        self.requests.append(record)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip() or params.get("token", "")
        wanted = self.app_token if method == "apps.connections.open" else self.token
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        try:
            if token != wanted:
                raise Refused("invalid_auth" if token else "not_authed")
            if handler is None:
                raise Refused("unknown_method", status=404)
            result = await handler(params)
        except Refused as refusal:
            record.refused, record.retry_after = refusal.error, refusal.retry_after
            body: dict[str, Any] = {"ok": False, "error": refusal.error}
            if refusal.detail:
                body["response_metadata"] = {"messages": [f"[ERROR] {refusal.detail}"]}
            headers = {"Retry-After": str(refusal.retry_after)} if refusal.retry_after is not None else {}
            return web.json_response(body, status=refusal.status, headers=headers)
        return web.json_response({"ok": True, **result})

    async def _auth_test(self, params: dict) -> dict:
        return {"url": "https://test.slack.com/", "team": "Test Workspace", "user": "facilitator_bot",
                "team_id": TEAM, "user_id": BOT_USER, "bot_id": BOT_ID, "is_enterprise_install": False}

    async def _apps_connections_open(self, params: dict) -> dict:
        return {"url": f"ws://127.0.0.1:{self.port}/socket"}

    async def _users_info(self, params: dict) -> dict:
        user = self.users.get(str(params.get("user", "")))
        if user is None:
            raise Refused("user_not_found")
        return {"user": user}

    async def _conversations_open(self, params: dict) -> dict:
        users = str(params.get("users", ""))
        if users not in self.users:
            raise Refused("user_not_found")
        return {"channel": {"id": self.dms[users]}}

    async def _chat_postMessage(self, params: dict) -> dict:
        channel = self._channel(str(params.get("channel", "")))
        text, blocks = self._check_message(params)
        self._check_pace(channel)
        thread = params.get("thread_ts") or None
        if thread and not self._find(channel, str(thread), missing="thread_not_found"):
            raise Refused("thread_not_found")
        message = SlackMessage(channel, self._next_ts(), text, blocks, str(thread) if thread else None)
        async with self._changed:
            self.messages.setdefault(channel, []).append(message)
            self._changed.notify_all()
        return {"channel": channel, "ts": message.ts, "message": message.as_json()}

    # Files: an upload address, the bytes posted there, then the share in a conversation.

    async def _files_getUploadURLExternal(self, params: dict) -> dict:
        filename, length = str(params.get("filename", "")), int(params.get("length", 0) or 0)
        if not filename or length <= 0:
            raise Refused("invalid_arguments")
        file_id = f"F{len(self.uploads) + 1:08d}"
        self.uploads[file_id] = {"id": file_id, "name": filename, "length": length, "data": None}
        return {"upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}", "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        upload = self.uploads.get(request.match_info["file_id"])
        if upload is None:
            return web.Response(status=404, text="not found")
        data = await request.read()
        if len(data) != upload["length"]:
            return web.Response(status=400, text="length mismatch")
        upload["data"] = data
        return web.Response(text=f"OK - {len(data)}")

    async def _files_completeUploadExternal(self, params: dict) -> dict:
        files = _json(params.get("files", "[]"))
        channel = self._channel(str(params.get("channel_id", "")))
        shared = []
        for item in files:
            upload = self.uploads.get(str(item.get("id")))
            if upload is None or upload["data"] is None:
                raise Refused("file_not_found")
            shared.append({"id": upload["id"], "name": upload["name"], "title": item.get("title") or upload["name"]})
            message = SlackMessage(channel, self._next_ts(), str(params.get("initial_comment", "")), [],
                                   file={**upload, "title": item.get("title")})
            async with self._changed:
                self.messages.setdefault(channel, []).append(message)
                self._changed.notify_all()
        return {"files": shared}

    async def _chat_postEphemeral(self, params: dict) -> dict:
        channel = self._channel(str(params.get("channel", "")))
        user = str(params.get("user", ""))
        if user not in self.users:
            raise Refused("user_not_found")
        text, blocks = self._check_message(params)
        message = SlackMessage(channel, self._next_ts(), text, blocks, ephemeral_for=user)
        async with self._changed:
            self.messages.setdefault(channel, []).append(message)
            self._changed.notify_all()
        return {"message_ts": message.ts}

    async def _chat_update(self, params: dict) -> dict:
        channel = str(params.get("channel", ""))
        if channel not in self.messages and channel not in self.channels and channel not in self.dms.values():
            raise Refused("channel_not_found")  # a user id is no channel here
        message = self._find(channel, str(params.get("ts", "")))
        text, blocks = self._check_message(params)
        async with self._changed:
            message.text, message.blocks = text, blocks
            message.edits += 1
            self._changed.notify_all()
        return {"channel": channel, "ts": message.ts, "text": text, "message": message.as_json()}

    async def _views_open(self, params: dict) -> dict:
        trigger = str(params.get("trigger_id", ""))
        known = self._triggers.get(trigger)
        if known is None:
            raise Refused("invalid_trigger_id")
        user, issued, used = known
        if used:
            raise Refused("exchanged_trigger_id")
        if time.monotonic() - issued > self.trigger_lifetime:
            raise Refused("expired_trigger_id")
        view = _json(params.get("view"))
        _check_view(view, "modal")
        self._triggers[trigger] = (user, issued, True)
        opened = View(f"V{next(self._ids):08d}", user, view, uuid.uuid4().hex[:12], time.monotonic() - issued)
        async with self._changed:
            self.views[opened.id] = opened
            self._changed.notify_all()
        return {"view": opened.as_json()}

    async def _views_update(self, params: dict) -> dict:
        view_id = str(params.get("view_id", ""))
        current = self.views.get(view_id)
        if current is None or current.closed:
            raise Refused("not_found")
        if params.get("hash") and params["hash"] != current.hash:
            raise Refused("hash_conflict")
        view = _json(params.get("view"))
        _check_view(view, "modal")
        async with self._changed:
            current.view, current.hash = view, uuid.uuid4().hex[:12]
            self._changed.notify_all()
        return {"view": current.as_json()}

    async def _views_publish(self, params: dict) -> dict:
        user = str(params.get("user_id", ""))
        if user not in self.users:
            raise Refused("user_not_found")
        view = _json(params.get("view"))
        _check_view(view, "home")
        published = View(f"V{next(self._ids):08d}", user, view, uuid.uuid4().hex[:12], 0.0)
        async with self._changed:
            self.homes[user] = published
            self.views[published.id] = published
            self._changed.notify_all()
        return {"view": published.as_json()}

    # --- what Slack checks ---------------------------------------------------------------------

    def _channel(self, wanted: str) -> str:
        if wanted in self.users:  # a user id: the bot's DM with them
            if self.users[wanted].get("deleted"):
                raise Refused("user_disabled")
            return self.dms[wanted]
        if wanted in self.archived:
            raise Refused("is_archived")
        if wanted in self.dms.values():
            return wanted
        channel = self.channels.get(wanted)
        if channel is None:
            raise Refused("channel_not_found")
        if BOT_USER not in channel["members"]:
            raise Refused("not_in_channel")
        return wanted

    def _check_pace(self, channel: str) -> None:
        if self.storm > 0:
            self.storm -= 1
            raise Refused("ratelimited", status=429, retry_after=self.storm_retry_after)
        now = time.monotonic()
        tokens, updated = self._buckets.get(channel, (float(self.channel_burst), now))
        tokens = min(float(self.channel_burst), tokens + (now - updated) * self.channel_rate)
        if tokens < 1.0:
            self._buckets[channel] = (tokens, now)
            raise Refused("ratelimited", status=429, retry_after=max(1, round((1.0 - tokens) / self.channel_rate)))
        self._buckets[channel] = (tokens - 1.0, now)

    def _check_message(self, params: dict) -> tuple[str, list[dict[str, Any]]]:
        text = str(params.get("text") or "")
        blocks = _json(params.get("blocks")) or []
        if not text.strip():
            raise Refused("no_text", detail="a message needs a text (the fallback of its blocks)")
        if len(text) > 40000:
            raise Refused("msg_too_long")
        _check_blocks(blocks, MAX_MESSAGE_BLOCKS, in_view=False)
        return text, blocks

    def _find(self, channel: str, ts: str, missing: str = "message_not_found") -> SlackMessage:
        for message in self.messages.get(channel, []):
            if message.ts == ts and message.ephemeral_for is None:  # an ephemeral message is not kept
                return message
        raise Refused(missing)

    def _next_ts(self) -> str:
        number = next(self._ts)
        return f"{1700000000 + number}.{number:06d}"

    # --- people and channels ---------------------------------------------------------------------

    def user(self, user_id: str, real_name: str, tz: str = "Africa/Nairobi", locale: str = "en-US",
             is_bot: bool = False) -> "SlackUser":
        self.users[user_id] = {
            "id": user_id, "team_id": TEAM, "name": real_name.split()[0].lower(), "real_name": real_name,
            "deleted": False, "is_bot": is_bot, "tz": tz, "tz_label": tz, "tz_offset": 10800, "locale": locale,
            "profile": {"real_name": real_name, "display_name": real_name.split()[0], "team": TEAM},
        }
        self.dms[user_id] = "D" + user_id[1:]
        return SlackUser(self, user_id, real_name)

    def channel(self, channel_id: str, name: str = "facilitators", bot_is_member: bool = True) -> "SlackChannel":
        self.channels[channel_id] = {"id": channel_id, "name": name,
                                     "members": {BOT_USER} if bot_is_member else set()}
        return SlackChannel(self, channel_id, name)

    def trigger(self, user: str) -> str:
        trigger = f"{next(self._ids)}.{int(time.time())}.{uuid.uuid4().hex[:16]}"
        self._triggers[trigger] = (user, time.monotonic(), False)
        return trigger

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        async def satisfied() -> Any:
            async with self._changed:
                while not (result := predicate()):
                    try:  # woken by every change, and now and then for changes made elsewhere
                        await asyncio.wait_for(self._changed.wait(), timeout=0.2)
                    except TimeoutError:
                        pass
                return result

        return await asyncio.wait_for(satisfied(), timeout)

    # --- the driver: requests from Slack to the bot ----------------------------------------------

    def sign(self, body: str | bytes, timestamp: int, secret: str | None = None) -> str:
        base = f"v0:{timestamp}:".encode() + (body if isinstance(body, bytes) else body.encode())
        return "v0=" + hmac.new((secret or self.signing_secret).encode(), base, hashlib.sha256).hexdigest()

    async def post(self, kind: str, body: str | bytes, content_type: str, secret: str | None = None,
                   timestamp: int | None = None, retry: int | None = None) -> Delivery:
        """POST a request to the bot as Slack does: signed with the signing secret (or `secret`)
        at `timestamp` (now by default). Bytes go as they are, valid UTF-8 or not."""
        assert self._session is not None and self.events_url, "the bot's events_url is not set"
        stamp = int(time.time()) if timestamp is None else timestamp
        headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(stamp),
                   "X-Slack-Signature": self.sign(body, stamp, secret)}
        if retry is not None:
            headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
        started = time.monotonic()
        raw = body if isinstance(body, bytes) else body.encode()
        async with self._session.post(self.events_url, data=raw, headers=headers) as response:
            text = await response.text()
            delivery = Delivery(kind, response.status, time.monotonic() - started, text)
        self.deliveries.append(delivery)
        return delivery

    async def deliver(self, kind: str, payload: dict[str, Any], retry: int | None = None) -> Delivery:
        """Send a request the way the app is connected: over Socket Mode when a socket is open,
        else signed to the bot's /slack/events."""
        if self._sockets:
            return await self._over_socket(kind, payload)
        if kind == "events_api":
            return await self.post(kind, json.dumps(payload), "application/json", retry=retry)
        if kind == "interactive":
            return await self.post(kind, urlencode({"payload": json.dumps(payload)}),
                                   "application/x-www-form-urlencoded")
        return await self.post(kind, urlencode(payload), "application/x-www-form-urlencoded")

    def event_callback(self, event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
        return {
            "token": "verification-token", "team_id": TEAM, "context_team_id": TEAM, "api_app_id": APP_ID,
            "event": event, "type": "event_callback", "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()), "is_ext_shared_channel": False, "event_context": "4-" + uuid.uuid4().hex,
            "authorizations": [{"enterprise_id": None, "team_id": TEAM, "user_id": BOT_USER, "is_bot": True,
                                "is_enterprise_install": False}],
        }

    # --- Socket Mode ------------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_json({"type": "hello", "num_connections": 1,
                                "debug_info": {"host": "fake", "approximate_connection_time": 3600},
                                "connection_info": {"app_id": APP_ID}})
        try:
            async for frame in socket:
                if frame.type == WSMsgType.TEXT:
                    answer = json.loads(frame.data)
                    waiting = self._acks.pop(str(answer.get("envelope_id")), None)
                    if waiting is not None and not waiting.done():
                        waiting.set_result(answer)
        finally:
            self._sockets.remove(socket)
        return socket

    @property
    def socket_connected(self) -> bool:
        return bool(self._sockets)

    async def _over_socket(self, kind: str, payload: dict[str, Any]) -> Delivery:
        envelope_id = uuid.uuid4().hex
        answered: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = answered
        started = time.monotonic()
        await self._sockets[-1].send_json({"envelope_id": envelope_id, "type": kind, "payload": payload,
                                           "accepts_response_payload": kind != "events_api", "retry_attempt": 0,
                                           "retry_reason": ""})
        try:
            answer = await asyncio.wait_for(answered, timeout=3.0)
            delivery = Delivery(kind, 200, time.monotonic() - started, json.dumps(answer.get("payload") or {}))
        except TimeoutError:
            delivery = Delivery(kind, 0, time.monotonic() - started)
        self.deliveries.append(delivery)
        return delivery


@dataclass
class SlackUser:
    api: FakeSlack
    id: str
    name: str
    seen: int = 0

    @property
    def dm(self) -> str:
        return self.api.dms[self.id]

    @property
    def messages(self) -> list[SlackMessage]:
        return self.api.messages.get(self.dm, [])

    @property
    def home(self) -> View | None:
        return self.api.homes.get(self.id)

    def _who(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.name.split()[0].lower(), "name": self.name.split()[0].lower(),
                "team_id": TEAM}

    async def says(self, text: str, thread: SlackMessage | None = None, event_id: str | None = None,
                   retry: int | None = None) -> Delivery:
        """A message in the bot's DM (in the thread under `thread` when given). Slack escapes
        &, < and > in what people type."""
        ts = self.api._next_ts()
        event: dict[str, Any] = {"client_msg_id": str(uuid.uuid4()), "type": "message", "text": _escape(text),
                                 "user": self.id, "ts": ts, "team": TEAM, "channel": self.dm, "event_ts": ts,
                                 "channel_type": "im"}
        if thread is not None:
            event.update(thread_ts=thread.ts, parent_user_id=BOT_USER)
        delivery = await self.api.deliver("events_api", self.api.event_callback(event, event_id), retry=retry)
        assert delivery.status == 200, f"the bot answered {delivery.status} to a message"
        return delivery

    async def opens_home(self) -> Delivery:
        ts = f"{time.time():.6f}"
        event = {"type": "app_home_opened", "user": self.id, "channel": self.dm, "tab": "home", "event_ts": ts}
        delivery = await self.api.deliver("events_api", self.api.event_callback(event))
        assert delivery.status == 200, f"the bot answered {delivery.status} to app_home_opened"
        return delivery

    async def command(self, text: str, in_channel: str = "C0GENERAL") -> Delivery:
        """`/facilitator TEXT` typed in some channel of the workspace."""
        fields = {"token": "verification-token", "team_id": TEAM, "team_domain": "test", "channel_id": in_channel,
                  "channel_name": "general", "user_id": self.id, "user_name": self._who()["name"],
                  "command": "/facilitator", "text": text, "api_app_id": APP_ID, "is_enterprise_install": "false",
                  "response_url": "https://hooks.slack.com/commands/T0TEST/1/x",
                  "trigger_id": self.api.trigger(self.id)}
        delivery = await self.api.deliver("slash_commands", fields)
        assert delivery.status == 200, f"the bot answered {delivery.status} to a slash command"
        return delivery

    async def presses(self, label: str, on: SlackMessage | None = None) -> Delivery:
        """Press a button by its label on a message of the bot's (the newest that has it)."""
        message = on or next((m for m in reversed(self.messages) if label in m.labels()), None)
        assert message is not None, f"{self.name} has no message with a {label!r} button: {self.texts()}"
        return await press(self.api, self._who(), label, message)

    async def presses_on_home(self, label: str) -> Delivery:
        home = self.home
        assert home is not None and label in home.labels(), f"no {label!r} on {self.name}'s home"
        return await press_in_view(self.api, self._who(), label, home)

    async def modal(self, titled: str = "", timeout: float = 5.0) -> View:
        """The modal open for this person now (waiting for it to open, or to show `titled`)."""
        try:
            return await self.api.wait_until(lambda: next(
                (v for v in reversed(list(self.api.views.values()))
                 if v.user == self.id and v.kind == "modal" and not v.closed and titled in v.title), None), timeout)
        except TimeoutError:
            raise AssertionError(f"no modal {titled!r} opened for {self.name}; got {self.texts()}") from None

    async def submits(self, text: str, view: View | None = None, titled: str = "") -> Delivery:
        view = view or await self.modal(titled)
        block = view.input()
        assert block is not None, "the modal has no text box"
        values = {block["block_id"]: {block["element"]["action_id"]: {"type": "plain_text_input", "value": text}}}
        payload = {"type": "view_submission", "team": {"id": TEAM, "domain": "test"}, "user": self._who(),
                   "api_app_id": APP_ID, "token": "verification-token", "trigger_id": self.api.trigger(self.id),
                   "view": {**view.as_json(), "state": {"values": values}}, "response_urls": [],
                   "is_enterprise_install": False, "enterprise": None}
        delivery = await self.api.deliver("interactive", payload)
        assert delivery.status == 200, f"the bot answered {delivery.status} to a form"
        if not delivery.body.strip() or '"response_action"' not in delivery.body:
            view.closed = True  # an empty answer closes the modal
        return delivery

    async def presses_in_modal(self, label: str, view: View | None = None, titled: str = "") -> Delivery:
        view = view or await self.modal(titled)
        return await press_in_view(self.api, self._who(), label, view)

    async def receives(self, containing: str, timeout: float = 10.0) -> SlackMessage:
        def found() -> SlackMessage | None:
            for index in range(self.seen, len(self.messages)):
                if containing in self.messages[index].visible:
                    self.seen = index + 1
                    return self.messages[index]
            return None

        try:
            return await self.api.wait_until(found, timeout)
        except TimeoutError:
            raise AssertionError(f"{self.name} never received {containing!r}; got {self.texts()}") from None

    async def sees(self, predicate: Callable[[SlackMessage], bool], timeout: float = 10.0) -> SlackMessage:
        try:
            return await self.api.wait_until(lambda: next((m for m in self.messages if predicate(m)), None), timeout)
        except TimeoutError:
            raise AssertionError(f"{self.name} never saw it; got {self.texts()}") from None

    def texts(self) -> list[str]:
        return [m.visible[:120] for m in self.messages]


@dataclass
class SlackChannel:
    api: FakeSlack
    id: str
    name: str

    @property
    def messages(self) -> list[SlackMessage]:
        """What everyone in the channel sees."""
        return [m for m in self.api.messages.get(self.id, []) if m.ephemeral_for is None]

    def shown_only_to(self, user: SlackUser) -> list[SlackMessage]:
        return [m for m in self.api.messages.get(self.id, []) if m.ephemeral_for == user.id]

    async def press_as(self, user: SlackUser, label: str, on: SlackMessage) -> Delivery:
        return await press(self.api, user._who(), label, on, channel_name=self.name)

    async def receives(self, containing: str, timeout: float = 10.0) -> SlackMessage:
        try:
            return await self.api.wait_until(
                lambda: next((m for m in self.messages if containing in m.visible), None), timeout)
        except TimeoutError:
            raise AssertionError(f"#{self.name} never received {containing!r}") from None


async def press(api: FakeSlack, who: dict[str, Any], label: str, message: SlackMessage,
                channel_name: str = "directmessage") -> Delivery:
    button = next((b for b in message.buttons() if b["text"]["text"] == label), None)
    assert button is not None, f"no {label!r} button on {message.visible[:80]!r}: {message.labels()}"
    block = next(b for b in message.blocks if b.get("type") == "actions" and button in b.get("elements", []))
    payload = {
        "type": "block_actions", "user": who, "api_app_id": APP_ID, "token": "verification-token",
        "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel,
                      "is_ephemeral": False},
        "trigger_id": api.trigger(who["id"]), "team": {"id": TEAM, "domain": "test"}, "enterprise": None,
        "is_enterprise_install": False, "channel": {"id": message.channel, "name": channel_name},
        "message": message.as_json(), "state": {"values": {}},
        "response_url": f"https://hooks.slack.com/actions/{TEAM}/1/x",
        "actions": [_action(button, block)],
    }
    delivery = await api.deliver("interactive", payload)
    assert delivery.status == 200, f"the bot answered {delivery.status} to a press"
    return delivery


async def press_in_view(api: FakeSlack, who: dict[str, Any], label: str, view: View) -> Delivery:
    block = next(b for b in view.view.get("blocks", []) if b.get("type") == "actions"
                 and any(e["text"]["text"] == label for e in b.get("elements", [])))
    button = next(e for e in block["elements"] if e["text"]["text"] == label)
    payload = {
        "type": "block_actions", "user": who, "api_app_id": APP_ID, "token": "verification-token",
        "container": {"type": "view", "view_id": view.id}, "trigger_id": api.trigger(who["id"]),
        "team": {"id": TEAM, "domain": "test"}, "enterprise": None, "is_enterprise_install": False,
        "view": view.as_json(), "actions": [_action(button, block)],
    }
    delivery = await api.deliver("interactive", payload)
    assert delivery.status == 200, f"the bot answered {delivery.status} to a press"
    return delivery


def _action(button: dict[str, Any], block: dict[str, Any]) -> dict[str, Any]:
    action = {"action_id": button["action_id"], "block_id": block.get("block_id", "b" + uuid.uuid4().hex[:5]),
              "text": button["text"], "value": button.get("value", ""), "type": "button",
              "action_ts": f"{time.time():.6f}"}
    if "style" in button:
        action["style"] = button["style"]
    return action


# --- Block Kit's rules -----------------------------------------------------------------------------


def _check_blocks(blocks: Any, most: int, in_view: bool) -> None:
    if not isinstance(blocks, list):
        raise Refused("invalid_blocks_format")
    if len(blocks) > most:
        raise Refused("invalid_blocks", detail=f"no more than {most} items allowed [json-pointer:/blocks]")
    action_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"[json-pointer:/blocks/{index}]"
        kind = block.get("type")
        if kind == "section":
            text = block.get("text")
            fields = block.get("fields")
            if text is None and not fields:
                raise Refused("invalid_blocks", detail=f"a section needs a text or fields {where}")
            if text is not None:
                _check_text(text, 3000, where)
            if fields is not None:
                if len(fields) > 10:
                    raise Refused("invalid_blocks", detail=f"no more than 10 fields {where}")
                for item in fields:
                    _check_text(item, 2000, where)
        elif kind == "context":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 10:
                raise Refused("invalid_blocks", detail=f"a context holds 1 to 10 elements {where}")
            for item in elements:
                _check_text(item, 3000, where)
        elif kind == "actions":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 25:
                raise Refused("invalid_blocks", detail=f"an actions block holds 1 to 25 elements {where}")
            for element in elements:
                if element.get("type") != "button":
                    raise Refused("invalid_blocks", detail=f"unsupported element {where}")
                _check_text(element.get("text"), 75, where, plain=True)
                if len(str(element.get("value", ""))) > 2000:
                    raise Refused("invalid_blocks", detail=f"must be less than 2001 characters {where}/value")
                action_id = str(element.get("action_id", ""))
                if not action_id or len(action_id) > 255 or action_id in action_ids:
                    raise Refused("invalid_blocks", detail=f"action_id must be unique and 1-255 characters {where}")
                action_ids.add(action_id)
                if element.get("style") not in (None, "primary", "danger"):
                    raise Refused("invalid_blocks", detail=f"style must be primary or danger {where}")
        elif kind == "input" and in_view:
            _check_text(block.get("label"), 2000, where, plain=True)
            element = block.get("element", {})
            if element.get("type") != "plain_text_input":
                raise Refused("invalid_blocks", detail=f"unsupported input {where}")
            if len(element.get("initial_value", "")) > 3000 or int(element.get("max_length", 3000)) > 3000:
                raise Refused("invalid_blocks", detail=f"a text input holds at most 3000 characters {where}")
        elif kind in ("divider", "header"):
            continue
        else:
            raise Refused("invalid_blocks", detail=f"unsupported block type {kind!r} {where}")


def _check_text(text: Any, limit: int, where: str, plain: bool = False) -> None:
    if not isinstance(text, dict) or text.get("type") not in (("plain_text",) if plain else ("plain_text", "mrkdwn")):
        raise Refused("invalid_blocks", detail=f"expected a text object {where}")
    value = str(text.get("text", ""))
    if not value.strip():
        raise Refused("invalid_blocks", detail=f"must be more than 0 characters {where}")
    if len(value) > limit:
        raise Refused("invalid_blocks", detail=f"must be less than {limit + 1} characters {where}")


def _check_view(view: Any, kind: str) -> None:
    if not isinstance(view, dict) or view.get("type") != kind:
        raise Refused("invalid_arguments", detail=f"the view must be of type {kind}")
    if kind == "modal":
        _check_text(view.get("title"), 24, "[json-pointer:/view/title]", plain=True)
        if "submit" in view:
            _check_text(view["submit"], 24, "[json-pointer:/view/submit]", plain=True)
        if len(view.get("private_metadata", "")) > 3000 or len(view.get("callback_id", "")) > 255:
            raise Refused("invalid_arguments", detail="private_metadata or callback_id too long")
    _check_blocks(view.get("blocks", []), MAX_VIEW_BLOCKS, in_view=True)


def _block_texts(blocks: list[dict[str, Any]]) -> list[str]:
    texts = []
    for block in blocks:
        if block.get("type") == "section":
            if block.get("text"):
                texts.append(block["text"]["text"])
            texts += [item["text"] for item in block.get("fields", [])]
        elif block.get("type") == "context":
            texts += [item.get("text", "") for item in block.get("elements", [])]
    return texts


def mentions(mrkdwn: str) -> list[str]:
    """The special sequences Slack would act on: <!channel>, <!here>, <@U...>, <http...>."""
    return [match.group(0) for match in _CONTROL.finditer(mrkdwn)
            if match.group(1).startswith(("!", "@", "#"))]


def visible(mrkdwn: str) -> str:
    def shown(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if label:
            return label
        return "@" + target[1:] if target.startswith(("!", "@")) else target

    text = _CONTROL.sub(shown, mrkdwn).replace("```", "")
    for _ in range(3):
        text = _STYLE.sub(r"\2", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise Refused("invalid_json") from None
    return value


async def _params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(parse_qsl(request.query_string))
    if request.method != "POST":
        return params
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
    else:
        form = await request.post()
        params.update({key: str(value) for key, value in form.items()})
    return params
