"""Slack, on slack-bolt's async app and slack_sdk's AsyncWebClient: turns Events API and
interactivity requests into the core's events and the core's messages into Block Kit. It
decides nothing about members or discussions.

Members talk to the bot in its direct messages; a thread reply under one of the bot's messages
is a reply to it; `/facilitator WORDS` works from anywhere in the workspace. Every request is
acknowledged at once (Slack wants an answer within 3 seconds): a listener acks, then hands the
event to the core, which only keeps it; everything the core says comes back through `send`.

An answer to one person in the facilitators' channel is ephemeral: only they see it.
A prompt sent in answer to a button press opens a modal with that press's trigger (valid for
3 seconds); when it cannot, the question is posted in the person's direct messages, where their
next message answers it. The person's home (purpose HOME) is published as their App Home.

Message ids are Slack's `ts`; the channel comes from the address: a person written to by their
user id (imported members, facilitators before they write) has the DM channel Slack answered
with remembered, or asked for again with conversations.open after a restart.

Pacing is the delivery engine's (one message a second per channel, with short bursts): a 429
comes back as RetryLater with Slack's Retry-After, so no limiter is stacked here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any, Mapping

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from adapters.received import well_formed_all
from adapters.slack_blocks import (
    ANSWER_ACTION, ANSWER_BLOCK, PRESS, PROMPT_CALLBACK, Part, fits_a_form, home_view, message_parts, modal, plain_text,
)
from bot.ports import (
    Address, ButtonPress, Capabilities, DeliveryResult, Envelope, FormSubmitted, HomeOpened, Inbox, IncomingCommand,
    IncomingText, Message, Notice, PlatformContext, Prompt, Purpose, RetryLater, Sender, Sent, Undeliverable,
)
from bot.settings_reader import ConfigError, Section

log = logging.getLogger(__name__)

PLATFORM = "slack"
EVENTS_PATH = "/slack/events"
COMMAND = "/facilitator"
DEFAULT_BASE_URL = "https://slack.com/api/"
SIGNATURE_WINDOW = 300  # seconds: Slack's requests older than this are refused
# Errors that say this address will never take a message.
UNREACHABLE = frozenset({"channel_not_found", "is_archived", "account_inactive", "user_not_found", "cannot_dm_bot",
                         "user_disabled", "not_in_channel_and_cannot_join"})
REFUSED_TOKEN = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
                           "not_allowed_token_type"})
# views.open answers these for a trigger that is too old or already used: ask in the chat instead.
GONE_TRIGGER = frozenset({"expired_trigger_id", "invalid_trigger_id", "exchanged_trigger_id"})
EDITED_AWAY = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})
SEND_TIMEOUT = 15  # seconds for one Web API call
# Slack's user ids are short and upper-case; anything else is not worth a call to users.info.
_SLACK_USER_ID = re.compile(r"[UWB][A-Z0-9]{1,31}")
LOOKUP_TIMEOUT = 3.0  # seconds to learn a newcomer's name and time zone before going on without them
MAX_PART_WAITS = 5  # "ratelimited" waited out between the parts of one long message
REMEMBERED = 10_000  # people, DM channels and modal triggers kept in memory
MAX_REQUEST_BYTES = 1024 * 1024


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str
    signing_secret: str = ""
    base_url: str = DEFAULT_BASE_URL
    app_token: str = ""  # Socket Mode when set; else HTTP on host:port
    host: str = "0.0.0.0"
    port: int = 3000
    facilitator_channel: str = ""

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token)


@dataclass(frozen=True)
class _Person:
    name: str
    timezone: str
    locale: str


class _Recent(OrderedDict[str, Any]):
    """A mapping that forgets its oldest entries beyond a bound."""

    def __init__(self, bound: int = REMEMBERED) -> None:
        super().__init__()
        self.bound = bound

    def remember(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.bound:
            self.popitem(last=False)


class SlackAdapter:
    platform = PLATFORM
    capabilities = Capabilities(
        # Longer texts are split into sections of 3,000 characters and messages of 50 blocks.
        max_text=12000, max_buttons=20, max_button_label=75, can_edit=True, can_reply_to=True, can_toast=False,
        can_open_forms=True, can_send_documents=True, max_document_bytes=1_000_000_000,
        messages_per_second=20.0, per_chat_interval=1.0, group_interval=1.0,
    )

    def __init__(self, settings: SlackSettings, context: PlatformContext = PlatformContext()) -> None:
        self.settings = settings
        self._inbox: Inbox | None = None
        self._session: aiohttp.ClientSession | None = None
        self._client: AsyncWebClient | None = None
        self._app: AsyncApp | None = None
        self._runner: web.AppRunner | None = None
        self._socket: Any = None  # AsyncSocketModeHandler, imported only in Socket Mode
        self._people = _Recent()  # user id -> _Person (users.info)
        self._dm_channels = _Recent()  # user id -> the bot's DM channel with them
        self._modal_presses = _Recent(500)  # trigger id -> (view id, hash) of a press inside a modal
        self._turns = _Recent()  # user id -> lock: one person's events reach the core in Slack's order
        self._port = settings.port

    @property
    def events_url(self) -> str | None:
        """Where Slack posts events and interactivity, in HTTP mode."""
        if self.settings.socket_mode:
            return None
        return f"http://{self.settings.host}:{self._port}{EVENTS_PATH}"

    @property
    def client(self) -> AsyncWebClient:
        assert self._client is not None, "the Slack adapter is not started"
        return self._client

    # --- life ------------------------------------------------------------------------------

    async def start(self, inbox: Inbox) -> None:
        self._inbox = inbox
        settings = self.settings
        self._session = aiohttp.ClientSession()
        self._client = AsyncWebClient(token=settings.bot_token, base_url=settings.base_url, timeout=SEND_TIMEOUT,
                                      session=self._session)
        app = _bolt_app(self._client, settings.signing_secret)
        app.event("message")(self._on_message)
        app.event("app_home_opened")(self._on_home_opened)
        app.action(re.compile("^" + re.escape(PRESS)))(self._on_press)
        app.view(PROMPT_CALLBACK)(self._on_form)
        app.command(COMMAND)(self._on_command)
        self._app = app
        try:
            if settings.socket_mode:
                await self._connect_socket(app)
            else:
                await self._serve_http(app)
        except BaseException:
            await self._session.close()
            raise

    async def _serve_http(self, app: AsyncApp) -> None:
        web_app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        web_app.router.add_post(EVENTS_PATH, self._http_request)
        self._runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        sockets = getattr(site._server, "sockets", None)  # the real port when 0 was asked for
        if sockets:
            self._port = sockets[0].getsockname()[1]
        log.info("Slack events and interactivity are received at %s", self.events_url)

    async def _connect_socket(self, app: AsyncApp) -> None:
        from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

        # The handler would retry a refused app token forever: ask once first, and say why not.
        try:
            await self.client.apps_connections_open(app_token=self.settings.app_token)
        except SlackApiError as error:
            raise ConnectionRefusedError(f"Slack refused the app-level token ({_code(error)})") from None
        except (aiohttp.ClientError, asyncio.TimeoutError, SlackClientError) as error:
            raise ConnectionError(f"cannot reach the Slack API at {self.settings.base_url} ({error})") from None
        self._socket = AsyncSocketModeHandler(app, self.settings.app_token)
        await self._socket.connect_async()
        log.info("Slack is connected in Socket Mode")

    async def stop(self) -> None:
        if self._socket is not None:
            socket, self._socket = self._socket, None
            await socket.close_async()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def _http_request(self, request: web.Request) -> web.Response:
        """Events API and interactivity, both at /slack/events."""
        response = await self.dispatch(await request.read(), request.headers, request.query_string,
                                       str(request.remote))
        return await to_aiohttp_response(response)

    async def dispatch(self, raw: bytes, headers: Mapping[str, str], query: str = "", remote: str = "?"
                       ) -> BoltResponse:
        """One request to /slack/events: its signature checked on the raw body (401 when it is
        not Slack's), then bolt acks and runs the listener. A signed body bolt cannot read (not
        UTF-8, JSON that does not parse or is not of Slack's shape) is refused with 400. Either
        refusal is logged on one line."""
        assert self._app is not None
        secret = self.settings.signing_secret
        if secret and not _signed(raw, headers, secret):
            log.warning("refused a request to %s from %s with %s (401)", EVENTS_PATH, remote, _why_unsigned(headers))
            return BoltResponse(status=401, body="")
        try:
            request = AsyncBoltRequest(body=raw.decode("utf-8"), query=query, headers=dict(headers))
            problem = _misshapen(request.body)
        except Exception as error:  # whatever bolt fails on, the body is unreadable
            problem = f"{type(error).__name__}: {str(error)[:120]}"
        if problem is not None:
            log.warning("refused a request to %s from %s that could not be read (%s) with 400", EVENTS_PATH, remote,
                        problem)
            return BoltResponse(status=400, body="the request could not be read")
        return await self._app.async_dispatch(request)

    # --- receiving: each listener translates and hands over; the core answers later ------------

    async def _on_message(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        # Only what a person typed in the bot's DM: not edits, joins or the bot's own messages.
        user, channel = _string(event.get("user")), _string(event.get("channel"))
        if event.get("channel_type") != "im" or event.get("bot_id") or not user:
            return
        if event.get("subtype") not in (None, "file_share", "thread_broadcast"):
            return
        self._dm_channels.remember(user, channel)
        thread = _string(event.get("thread_ts"))
        reply_to = thread if thread and thread != event.get("ts") else None
        async with self._turn(user):
            sender = await self._sender(user, channel, look_up=True)
            await self._hand_over(IncomingText(sender, plain_text(_string(event.get("text"))), reply_to,
                                               event_id=_string(body.get("event_id")) or None))

    async def _on_home_opened(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        user, channel = _string(event.get("user")), _string(event.get("channel"))
        if event.get("tab") != "home" or not user:
            return
        if channel:
            self._dm_channels.remember(user, channel)
        async with self._turn(user):
            sender = await self._sender(user, channel, look_up=True)
            await self._hand_over(HomeOpened(sender, event_id=_string(body.get("event_id")) or None))

    async def _on_press(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user = _string(_object(body.get("user")).get("id"))
        token = _string(action.get("value"))
        if not user or not token:
            log.info("a Slack button press without a person or a value was ignored")
            return
        container, view = _object(body.get("container")), _object(body.get("view"))
        trigger = _string(body.get("trigger_id")) or None
        if container.get("type") == "view" and view.get("type") == "modal" and trigger:
            # A prompt answering this press replaces the open modal rather than opening another.
            self._modal_presses.remember(trigger, (_string(view.get("id")), _string(view.get("hash"))))
        # A press on the App Home or in a modal has no channel: the person's DM stands for it.
        channel = (_string(_object(body.get("channel")).get("id")) or _string(container.get("channel_id"))
                   or str(self._dm_channels.get(user, "")))
        message_ts = _string(_object(body.get("message")).get("ts")) or _string(container.get("message_ts"))
        async with self._turn(user):
            sender = await self._sender(user, channel, look_up=False)
            await self._hand_over(ButtonPress(sender, token, message_ts or None, interaction=trigger,
                                              event_id=_interaction_id(body, action)))

    async def _on_form(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack()  # closes the modal
        user = _string(_object(body.get("user")).get("id"))
        try:
            metadata = json.loads(_string(view.get("private_metadata")) or "{}")
            token, chat = metadata["token"], _string(metadata.get("chat"))
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            token = None
        if not isinstance(token, str) or not token:
            log.warning("a Slack form came back without the metadata it was opened with")
            return
        values = _object(_object(view.get("state")).get("values"))
        text = _string(_object(_object(values.get(ANSWER_BLOCK)).get(ANSWER_ACTION)).get("value"))
        if not user:
            return
        if not chat.startswith(("C", "G", "D")):
            chat = str(self._dm_channels.get(user, ""))
        async with self._turn(user):
            sender = await self._sender(user, chat, look_up=False)
            await self._hand_over(FormSubmitted(sender, token, text, interaction=None,
                                                event_id=f"form:{view.get('id')}:{view.get('hash')}"))

    async def _on_command(self, ack: Any, command: dict[str, Any]) -> None:
        await ack()
        user = _string(command.get("user_id"))
        if not user:
            return
        word, _, rest = _string(command.get("text")).strip().partition(" ")
        word = word.lstrip("/").casefold() or "help"  # "/facilitator" alone shows what it can do
        # Typed anywhere in the workspace: the answer goes to the person's DM with the bot.
        async with self._turn(user):
            sender = await self._sender(user, str(self._dm_channels.get(user, "")), look_up=True)
            await self._hand_over(IncomingCommand(sender, word, plain_text(rest.strip()),
                                                  event_id=f"command:{command.get('trigger_id')}"))

    def _turn(self, user: str) -> asyncio.Lock:
        """Listeners run side by side after their acks, and a newcomer's first event waits for
        users.info: the lock (first come, first served) keeps one person's events in order."""
        lock = self._turns.get(user)
        if lock is None:
            lock = asyncio.Lock()
            self._turns.remember(user, lock)
        return lock

    async def _hand_over(self, event: Any) -> None:
        assert self._inbox is not None
        await self._inbox.handle(well_formed_all(event))

    async def _sender(self, user: str, channel: str, look_up: bool) -> Sender:
        """Who wrote. In a channel (the facilitators') the event is a group's; in the DM or
        from a form or command, the person's own."""
        in_group = channel[:1] in ("C", "G")
        person = await self._person(user) if look_up else self._people.get(user)
        address = Address(PLATFORM, user, channel)
        if person is None:
            return Sender(address, in_group=in_group)
        return Sender(address, person.name, in_group=in_group, locale=person.locale, timezone=person.timezone)

    async def _person(self, user: str) -> _Person | None:
        """Name and time zone from users.info, once per person; without them when Slack is slow."""
        known = self._people.get(user)
        if known is not None:
            return known
        if not _SLACK_USER_ID.fullmatch(user):
            log.info("not looking up %r: not a Slack user id", user[:40])
            return None
        try:
            response = await asyncio.wait_for(self.client.users_info(user=user, include_locale=True),
                                              LOOKUP_TIMEOUT)
        except SlackApiError as error:
            log.info("users.info for %s: %s", user, _code(error))
            return None
        except (aiohttp.ClientError, asyncio.TimeoutError, SlackClientError) as error:
            log.info("users.info for %s did not answer: %s", user, error)
            return None
        info = response.get("user") or {}
        profile = info.get("profile") or {}
        person = _Person(
            name=str(profile.get("real_name") or info.get("real_name") or profile.get("display_name")
                     or info.get("name") or ""),
            timezone=str(info.get("tz") or ""),
            locale=str(info.get("locale") or ""),
        )
        self._people.remember(user, person)
        return person

    # --- sending -----------------------------------------------------------------------------

    async def send(self, envelope: Envelope) -> DeliveryResult:
        message, to = envelope.message, envelope.to
        if isinstance(message, Notice):
            return Sent("")  # Slack has no toast (can_toast is False): nothing to show
        if envelope.purpose is Purpose.HOME:
            return await self._publish_home(to, message)
        if isinstance(message, Prompt) and message.interaction:
            opened = await self._open_form(to, message)
            if opened is not None:
                return opened
            # The trigger is gone: ask in the person's own DM, where their next message answers.
            to = Address(PLATFORM, to.user_id, to.chat_id if to.chat_id.startswith("D") else "") if to.user_id else to
        reply_to = message.reply_to if isinstance(message, Message) else None
        if isinstance(message, Message) and message.document is not None:
            return await self._share_file(to, message)
        return await self._post(to, message_parts(message), reply_to)

    async def _share_file(self, to: Address, message: Message) -> DeliveryResult:
        """A file in the person's DM, the message's text as its comment (a file cannot carry
        buttons: a message that has any follows it)."""
        assert message.document is not None
        channel = await self._channel(Address(PLATFORM, to.user_id, "") if to.user_id else to)
        if isinstance(channel, (RetryLater, Undeliverable)):
            return channel
        document = message.document
        try:
            response = await self.client.files_upload_v2(
                channel=channel, content=document.data, filename=document.filename, title=document.filename,
                initial_comment=message.text)
        except SlackApiError as error:
            return _failure("files.upload", error)
        except (aiohttp.ClientError, asyncio.TimeoutError, SlackClientError) as error:
            return RetryLater(f"network: files.upload: {error}")
        file_id = str((response.get("file") or {}).get("id") or "")
        if message.buttons:
            posted = await self._post(to, message_parts(replace(message, document=None)), None)
            if isinstance(posted, Sent):
                return Sent(posted.message_id, (file_id, *posted.other_ids))
            log.warning("the file reached %s but the message under it did not: %s", channel, posted)
        return Sent(file_id)

    async def edit(self, envelope: Envelope, message_id: str) -> DeliveryResult:
        message = envelope.message
        if isinstance(message, Notice):
            return Sent("")
        parts = message_parts(message)
        if len(parts) > 1:
            # One message cannot hold it: send it whole as new messages rather than cut it.
            return await self.send(envelope)
        channel = await self._channel(envelope.to)
        if isinstance(channel, (RetryLater, Undeliverable)):
            return channel
        try:
            await self.client.chat_update(channel=channel, ts=message_id, text=parts[0].text, blocks=parts[0].blocks)
        except SlackApiError as error:
            if _code(error) in EDITED_AWAY:
                log.info("message %s in %s can no longer be edited (%s): sent anew", message_id, channel, _code(error))
                return await self.send(envelope)
            return _failure("chat.update", error)
        except (aiohttp.ClientError, asyncio.TimeoutError, SlackClientError) as error:
            return RetryLater(f"network: chat.update: {error}")
        return Sent(message_id)

    async def _post(self, to: Address, parts: list[Part], reply_to: str | None) -> DeliveryResult:
        if to.user_id and to.chat_id.startswith(("C", "G")):
            return await self._post_privately(to, parts)
        channel = to.destination
        ids: list[str] = []
        for index, part in enumerate(parts):
            try:
                response = await self._post_part(channel, part, reply_to if index == 0 else None,
                                                 waits_allowed=MAX_PART_WAITS if ids else 0)
            except SlackApiError as error:
                if ids:
                    # Part of a long text went out: record it as sent rather than send it twice.
                    log.warning("only %s of %s parts reached %s: %s", len(ids), len(parts), channel, _code(error))
                    return Sent(ids[-1], tuple(ids[:-1]))
                return _failure("chat.postMessage", error)
            except (aiohttp.ClientError, asyncio.TimeoutError, SlackClientError) as error:
                if ids:
                    return Sent(ids[-1], tuple(ids[:-1]))
                return RetryLater(f"network: chat.postMessage: {error}")
            ids.append(str(response["ts"]))
            answered = str(response.get("channel") or "")
            if to.user_id and answered.startswith("D"):
                self._dm_channels.remember(to.user_id, answered)
            channel = answered or channel  # the next parts go where the first went
        return Sent(ids[-1], tuple(ids[:-1]))

    async def _post_privately(self, to: Address, parts: list[Part]) -> DeliveryResult:
        """An answer to one person in a channel (the facilitators'): shown to them alone, as
        a toast would be, not to everyone in the channel."""
        ids: list[str] = []
        for part in parts:
            try:
                response = await self.client.chat_postEphemeral(channel=to.chat_id, user=to.user_id, text=part.text,
                                                                blocks=part.blocks)
            except SlackApiError as error:
                if ids:
                    return Sent(ids[-1], tuple(ids[:-1]))
                return _failure("chat.postEphemeral", error)
            except (aiohttp.ClientError, asyncio.TimeoutError, SlackClientError) as error:
                if ids:
                    return Sent(ids[-1], tuple(ids[:-1]))
                return RetryLater(f"network: chat.postEphemeral: {error}")
            ids.append(str(response.get("message_ts") or ""))
        return Sent(ids[-1], tuple(ids[:-1]))

    async def _post_part(self, channel: str, part: Part, thread: str | None, waits_allowed: int) -> Any:
        """One part of a message. Once a first part is out, the rest must follow: a 429
        between parts is waited out here instead of failing the whole message."""
        for attempt in range(waits_allowed + 1):
            try:
                return await self.client.chat_postMessage(channel=channel, text=part.text, blocks=part.blocks,
                                                          thread_ts=thread, unfurl_links=False, unfurl_media=False)
            except SlackApiError as error:
                if attempt == waits_allowed or not _rate_limited(error):
                    raise
                await asyncio.sleep(_retry_after(error))
        raise AssertionError("unreachable")

    async def _channel(self, to: Address) -> str | RetryLater | Undeliverable:
        """The channel a message to this address went to: a person's DM when it was sent to
        their user id (chat.update needs the channel, not the person)."""
        destination = to.destination
        if not destination.startswith(("U", "W")):
            return destination
        known = self._dm_channels.get(destination)
        if known:
            return str(known)
        try:
            response = await self.client.conversations_open(users=destination)
        except SlackApiError as error:
            return _failure("conversations.open", error)
        except (aiohttp.ClientError, asyncio.TimeoutError, SlackClientError) as error:
            return RetryLater(f"network: conversations.open: {error}")
        channel = str((response.get("channel") or {}).get("id") or destination)
        self._dm_channels.remember(destination, channel)
        return channel

    async def _open_form(self, to: Address, prompt: Prompt) -> DeliveryResult | None:
        """The prompt as a modal, opened with the press's trigger; None when it cannot be
        (the trigger expired, or the text to edit is longer than a text box holds)."""
        if not fits_a_form(prompt) or not prompt.interaction:
            return None
        metadata = json.dumps({"token": prompt.token, "chat": to.chat_id}, separators=(",", ":"))
        view = modal(prompt, metadata)
        in_modal = self._modal_presses.pop(prompt.interaction, None)
        try:
            if in_modal is not None:
                view_id, view_hash = in_modal
                response = await self.client.views_update(view_id=view_id, hash=view_hash, view=view)
            else:
                response = await self.client.views_open(trigger_id=prompt.interaction, view=view)
        except SlackApiError as error:
            level = logging.INFO if _code(error) in GONE_TRIGGER else logging.WARNING
            log.log(level, "could not open a form for %s (%s): asking in the chat", to.user_id, _code(error))
            return None
        except (aiohttp.ClientError, asyncio.TimeoutError, SlackClientError) as error:
            log.warning("could not open a form for %s (%s): asking in the chat", to.user_id, error)
            return None
        return Sent(str((response.get("view") or {}).get("id") or ""))

    async def _publish_home(self, to: Address, message: Any) -> DeliveryResult:
        try:
            response = await self.client.views_publish(user_id=to.user_id, view=home_view(message))
        except SlackApiError as error:
            return _failure("views.publish", error)
        except (aiohttp.ClientError, asyncio.TimeoutError, SlackClientError) as error:
            return RetryLater(f"network: views.publish: {error}")
        return Sent(str((response.get("view") or {}).get("id") or ""))


def _bolt_app(client: AsyncWebClient, signing_secret: str) -> AsyncApp:
    """bolt, with its request verification on. It reads SLACK_BOT_TOKEN from the environment
    and warns that the client's token wins over it: the same token, so that warning is muted."""
    bolt_log = logging.getLogger("slack_bolt.facilitator")
    level = bolt_log.level
    bolt_log.setLevel(logging.ERROR)
    try:
        return AsyncApp(client=client, signing_secret=signing_secret or None, logger=bolt_log,
                        request_verification_enabled=True)
    finally:
        bolt_log.setLevel(level)


# --- Slack's errors as delivery results ----------------------------------------------------------


def _code(error: SlackApiError) -> str:
    response = error.response
    try:
        return str(response.get("error") or f"HTTP {response.status_code}")
    except AttributeError:
        return str(error)


def _rate_limited(error: SlackApiError) -> bool:
    return getattr(error.response, "status_code", 0) == 429 or _code(error) == "ratelimited"


def _retry_after(error: SlackApiError) -> float:
    headers: Mapping[str, Any] = getattr(error.response, "headers", None) or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value[0] if isinstance(value, list) else value))
            except (TypeError, ValueError):
                break
    return 1.0


def _failure(method: str, error: SlackApiError) -> RetryLater | Undeliverable:
    code = _code(error)
    if _rate_limited(error):
        return RetryLater(f"Slack asked to slow down ({method})", after_seconds=_retry_after(error))
    if code in UNREACHABLE:
        return Undeliverable(f"{method}: {code}")
    log.warning("Slack refused %s: %s", method, code)
    return RetryLater(f"Slack refused {method}: {code}")


# What Slack sends as an object (or an id), a list of objects, or a name, wherever it appears:
# bolt reads into these without checking, so a body that has them of another kind is refused
# before it reaches bolt.
_OBJECTS = frozenset({"event", "view", "container", "message", "previous_message", "item", "state", "function_data",
                      "assistant_thread", "values"})
_OBJECTS_OR_IDS = frozenset({"user", "team", "enterprise", "channel"})
_LISTS_OF_OBJECTS = frozenset({"actions", "authorizations", "response_urls"})
_NAMES = frozenset({"type", "subtype", "action_id", "callback_id", "command"})
# What bolt looks up, without checking, in a body of each type.
_NEEDED = {"block_actions": ("actions",), "view_submission": ("view",), "view_closed": ("view",),
           "workflow_step_edit": ("workflow_step",)}


def _misshapen(body: Any) -> str | None:
    """Why a request body is not of the shape Slack sends, or None."""
    if not isinstance(body, dict):
        return f"the body is a JSON {type(body).__name__}, not an object"
    kind = str(body.get("type"))
    for needed in _NEEDED.get(kind, ()):
        if not body.get(needed):
            return f"a {kind} without its {needed}"
    if kind == "block_actions" and not all(isinstance(a, dict) and "action_id" in a for a in _list(body["actions"])):
        return "a press without an action_id"
    view = _object(body.get("view"))
    if kind in ("view_submission", "view_closed") and not ("callback_id" in view and "type" in view):
        return "a view without its callback_id or type"
    if view.get("type") == "workflow_step" and "workflow_step" not in body:
        return "a workflow step's view without its workflow_step"
    return _misshapen_fields(body, 0)


def _misshapen_fields(body: dict[str, Any], depth: int) -> str | None:
    for key, value in body.items():
        if key in _OBJECTS and not isinstance(value, dict):
            return f"{key} is no object"
        if key in _OBJECTS_OR_IDS and value is not None and not isinstance(value, (dict, str)):
            return f"{key} is neither an object nor an id"
        if key in _LISTS_OF_OBJECTS and not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
            return f"{key} is no list of objects"
        if key in _NAMES and not isinstance(value, str):
            return f"{key} is no string"
        if depth < 8:
            for inner in [value] if isinstance(value, dict) else value if isinstance(value, list) else []:
                problem = _misshapen_fields(inner, depth + 1) if isinstance(inner, dict) else None
                if problem is not None:
                    return problem
    return None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _string(value: Any) -> str:
    """A field Slack sends as a string, or "" when it is missing or of another kind."""
    return value if isinstance(value, str) else ""


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _interaction_id(body: Mapping[str, Any], action: Mapping[str, Any]) -> str:
    """A press is one trigger; its id makes a request Slack sends twice count once."""
    return f"press:{body.get('trigger_id') or ''}:{action.get('action_ts') or ''}"


def _signed(raw: bytes, headers: Mapping[str, str], secret: str) -> bool:
    """Slack's v0 signature of the raw body, within its 5-minute window (bolt checks it again;
    but bolt fails with a 500 on a timestamp that is no number)."""
    try:
        return SignatureVerifier(secret).is_valid_request(raw, dict(headers))
    except ValueError:
        return False


def _why_unsigned(headers: Mapping[str, str]) -> str:
    stamp = headers.get("X-Slack-Request-Timestamp", "")
    if not headers.get("X-Slack-Signature"):
        return "no signature"
    try:
        age = time.time() - float(stamp)
    except ValueError:
        return "no valid timestamp"
    if abs(age) > SIGNATURE_WINDOW:
        return f"a timestamp {age:.0f} s old (at most {SIGNATURE_WINDOW} s)"
    return "a signature that does not match the signing secret"


# --- the plugin ---------------------------------------------------------------------------------


async def check_online(settings: SlackSettings) -> str | None:
    """None when auth.test accepts the bot token (and, in Socket Mode, Slack the app token)."""
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(token=settings.bot_token, base_url=settings.base_url, timeout=10, session=session)
        try:
            me = await client.auth_test()
            if settings.socket_mode:
                try:
                    await client.apps_connections_open(app_token=settings.app_token)
                except SlackApiError as error:
                    return (f"the app-level token was refused by Slack ({_code(error)}): copy it again from "
                            "Basic Information > App-Level Tokens")
        except SlackApiError as error:
            if _code(error) in REFUSED_TOKEN:
                return (f"the bot token was refused by Slack ({_code(error)}): copy the Bot User OAuth Token again "
                        "from OAuth & Permissions")
            return f"the Slack API at {settings.base_url} answered: {_code(error)}"
        except (aiohttp.ClientError, asyncio.TimeoutError, SlackClientError, OSError) as error:
            return f"cannot reach the Slack API at {settings.base_url} ({error or type(error).__name__})"
    log.info("Slack: the bot token belongs to %s in %s", me.get("user"), me.get("team"))
    return None


class SlackPlugin:
    name = PLATFORM

    def read_settings(self, section: Section) -> SlackSettings:
        bot_token = section.secret("bot_token", required=True)
        if not bot_token.startswith("xoxb-"):
            raise ConfigError("slack.bot_token", "a bot token starts with xoxb-: copy the Bot User OAuth Token "
                                                 "from OAuth & Permissions")
        app_token = section.secret("app_token")
        if app_token and not app_token.startswith("xapp-"):
            raise ConfigError("slack.app_token", "an app-level token starts with xapp-: create one with the "
                                                 "connections:write scope under Basic Information")
        signing_secret = section.secret("signing_secret", required=not app_token)
        base_url = section.url("base_url", default=DEFAULT_BASE_URL)
        if not base_url.endswith("/api/"):
            raise ConfigError("slack.base_url", f"{base_url!r} must end with /api/, like {DEFAULT_BASE_URL!r}")
        host = section.string("host", default="0.0.0.0")
        port = section.port("port", default=3000, allow_zero=True)
        channel = section.identifier("facilitator_channel")
        if channel and not re.fullmatch(r"[CG][A-Z0-9]{2,}", channel):
            raise ConfigError("slack.facilitator_channel", f"{channel!r} is not a channel id: use the id that ends "
                                                           "the channel's details (C0123ABCD), not its name")
        return SlackSettings(bot_token=bot_token, signing_secret=signing_secret, base_url=base_url,
                             app_token=app_token, host=host, port=port, facilitator_channel=channel)

    def build(self, settings: SlackSettings, context: PlatformContext) -> SlackAdapter:
        return SlackAdapter(settings, context)

    async def check_online(self, settings: SlackSettings) -> str | None:
        return await check_online(settings)

    def normalise_user_id(self, raw: str) -> str:
        return raw.strip().upper()

    def facilitators_room(self, settings: SlackSettings) -> Address | None:
        return Address(PLATFORM, "", settings.facilitator_channel) if settings.facilitator_channel else None


PLUGIN = SlackPlugin()
