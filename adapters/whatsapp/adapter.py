"""WhatsApp through the Cloud API format: the webhook turns what people send into the core's
events, and `send` turns the core's messages into Graph API requests. It decides nothing
about members or discussions.

The 24-hour rule is WhatsApp's: the bot may write freely to a person within 24 hours of their
last message, and otherwise only with an approved template. The adapter remembers when each
person last wrote (in memory: after a restart everyone counts as outside until they write,
which at worst sends a template where a free-form message would have done). Outside the
window a message with a template hint goes as the configured template; one without waits,
with the rest of the person's queue, until they write (the core parks it).

Pacing is the delivery engine's, from `capabilities`; rate refusals come back as RetryLater.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from dataclasses import replace
from typing import Any, Callable

from aiohttp import web

from adapters.received import well_formed_all
from adapters.whatsapp import render
from adapters.whatsapp.graph import NETWORK, Accepted, GraphClient, Refusal
from adapters.whatsapp.settings import WEBHOOK_PATH, WhatsAppSettings
from adapters.whatsapp.webhook import PLATFORM, UNREACHABLE_CODES, WINDOW_CLOSED, read, signature_matches
from bot.ports import (
    Capabilities, DeliveryResult, Envelope, Inbox, Message, Notice, OutsideWindow, PlatformContext, RetryLater, Sent,
    Undeliverable,
)

log = logging.getLogger(__name__)

SERVICE_WINDOW = 24 * 3600.0
WINDOW_MARGIN = 120.0  # a message sent at 23:59:59 may reach Meta after the window closed
CAPABILITIES = Capabilities(
    max_text=render.MAX_TEXT, max_buttons=render.MAX_LIST_ROWS, max_button_label=render.MAX_BUTTON_TITLE,
    max_text_with_buttons=render.MAX_INTERACTIVE_BODY, can_edit=False, can_reply_to=True, can_toast=False,
    can_open_forms=False, service_window=SERVICE_WINDOW, messages_per_second=80.0, display_name="WhatsApp",
    can_send_documents=True, max_document_bytes=100_000_000,
    per_chat_interval=6.0,  # Meta's pair rate: about one message every 6 seconds to one person
)
# Meta's "slow down" codes and how long to wait before the next try.
RATE_LIMITS = {
    130429: 2.0,  # throughput of the business number
    131056: 6.0,  # too many messages to one person (pair rate)
    131048: 60.0,  # spam rate limit
    80007: 60.0,  # the business account's rate limit
    4: 60.0,  # the app's call limit
}
TEMPLATE_PROBLEMS = frozenset({132000, 132001, 132005, 132007, 132012, 132015, 132016, 132018, 132068, 132069})
MAX_PART_WAITS = 3  # rate refusals waited out between the parts of one long message
MAX_WAIT_BETWEEN_PARTS = 10.0


class ServiceWindows:
    """When each person last wrote to the bot, by phone number."""

    def __init__(self, clock: Callable[[], float], seconds: float = SERVICE_WINDOW, margin: float = WINDOW_MARGIN):
        self.clock = clock
        self.seconds = seconds
        self.margin = margin
        self._last: dict[str, float] = {}

    def wrote(self, phone: str, at: float) -> None:
        self._last[phone] = max(self._last.get(phone, 0.0), min(at, self.clock()))

    def is_open(self, phone: str) -> bool:
        last = self._last.get(phone)
        return last is not None and self.clock() - last < self.seconds - self.margin

    def close(self, phone: str) -> None:
        self._last.pop(phone, None)


class WhatsAppAdapter:
    platform = PLATFORM

    def __init__(self, settings: WhatsAppSettings, context: PlatformContext = PlatformContext(),
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.capabilities = replace(CAPABILITIES, messages_per_second=float(settings.messages_per_second))
        self.windows = ServiceWindows(clock)
        self.clock = clock
        self._list_label = render.LIST_LABELS.get(context.default_language, render.LIST_LABELS["en"])
        self._graph = GraphClient(settings)
        self._inbox: Inbox | None = None
        self._runner: web.AppRunner | None = None
        self._port = settings.port

    @property
    def webhook_url(self) -> str:
        return f"http://{self.settings.host}:{self._port}{WEBHOOK_PATH}"

    # --- life ------------------------------------------------------------------------------

    async def start(self, inbox: Inbox) -> None:
        self._inbox = inbox
        await self._graph.open()
        app = web.Application()
        app.router.add_get(WEBHOOK_PATH, self._verify)
        app.router.add_post(WEBHOOK_PATH, self._receive)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None)  # the real port when 0 was asked for
        if sockets:
            self._port = sockets[0].getsockname()[1]
        log.info("WhatsApp webhook listening at %s", self.webhook_url)

    async def stop(self) -> None:
        """Stop receiving first; then let the sends in flight finish before closing."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self._graph.close()

    # --- receiving ---------------------------------------------------------------------------

    async def _verify(self, request: web.Request) -> web.Response:
        """Meta's subscription check: echo the challenge when the verify token matches."""
        query = request.query
        if query.get("hub.mode") == "subscribe" and _same(query.get("hub.verify_token", ""), self.settings.verify_token):
            return web.Response(text=query.get("hub.challenge", ""))
        log.warning("refused a webhook verification with a wrong verify token from %s", request.remote)
        return web.Response(status=403, text="wrong verify token")

    async def _receive(self, request: web.Request) -> web.Response:
        status, text = await self.take(await request.read(), request.headers.get("X-Hub-Signature-256"),
                                       str(request.remote))
        return web.Response(status=status, text=text)

    async def take(self, raw: bytes, signature: str | None, remote: str = "?") -> tuple[int, str]:
        """One webhook POST, its raw body and X-Hub-Signature-256: the signature is checked on
        the raw body before anything in it is read; each message is handed to the core, which
        keeps it and answers at once. The HTTP status and text to answer with."""
        if not signature_matches(raw, signature, self.settings.app_secret):
            log.warning("refused a webhook POST with a missing or wrong X-Hub-Signature-256 from %s", remote)
            return 401, "bad signature"
        try:
            payload = json.loads(raw)
        except (ValueError, RecursionError) as error:  # not UTF-8, not JSON, or nested beyond reading
            log.warning("a signed webhook POST was not JSON (%s); ignored", type(error).__name__)
            return 400, "not JSON"
        assert self._inbox is not None
        delivery = read(payload, self.settings.phone_number_id, self.clock())
        for phone, at in delivery.wrote:
            self.windows.wrote(phone, at)
        for phone in delivery.closed:
            self.windows.close(phone)
        for event in delivery.events:
            await self._inbox.handle(well_formed_all(event))
        for address in delivery.woke:
            await self._inbox.wake(well_formed_all(address))
        for report in delivery.reports:
            await self._inbox.report(well_formed_all(report))
        return 200, "ok"

    # --- sending -----------------------------------------------------------------------------

    async def send(self, envelope: Envelope) -> DeliveryResult:
        message = envelope.message
        if isinstance(message, Notice):
            return Sent("")  # no toasts on WhatsApp: the core says what matters as a message
        if not self._graph.open_for_sending:
            return RetryLater("the WhatsApp adapter is stopping", attempt_counts=False)
        to = envelope.to.destination
        if envelope.last_seen_at is not None:
            self.windows.wrote(to, envelope.last_seen_at)  # the bot's own record survives a restart
        if not self.windows.is_open(to):
            return await self._outside_window(envelope, "the person has not written in the last 24 hours")
        if isinstance(message, Message) and message.document is not None:
            return await self._send_document(envelope, message)
        return await self._send_parts(envelope, render.draw(message, to, self._list_label))

    async def _send_document(self, envelope: Envelope, message: Message) -> DeliveryResult:
        """The file is uploaded, then sent with the text as its caption when the text fits
        one and has no buttons; else the text goes first, as it would alone."""
        assert message.document is not None
        document, to = message.document, envelope.to.destination
        uploaded = await self._graph.upload(document.filename, document.content_type, document.data)
        if not isinstance(uploaded, Accepted):
            return _failure(uploaded)
        text = render.render(message.spans)
        if not message.buttons and len(text) <= render.MAX_CAPTION:
            return await self._send_parts(envelope, [render.document_request(to, uploaded.message_id, document.filename,
                                                                             text)])
        requests = render.draw(replace(message, document=None), to, self._list_label)
        return await self._send_parts(envelope, [*requests, render.document_request(to, uploaded.message_id,
                                                                                    document.filename)])

    async def edit(self, envelope: Envelope, message_id: str) -> DeliveryResult:
        """WhatsApp cannot change a sent message: the new version goes as a new message."""
        return await self.send(envelope)

    async def _send_parts(self, envelope: Envelope, requests: list[dict[str, Any]]) -> DeliveryResult:
        ids: list[str] = []
        for request in requests:
            answer = await self._send_part(request, waits_allowed=MAX_PART_WAITS if ids else 0)
            if isinstance(answer, Accepted):
                ids.append(answer.message_id)
                continue
            if ids:
                # Part of a long message went out: record it as sent rather than send it twice.
                log.warning("only %s of %s parts reached %s: %s", len(ids), len(requests), envelope.to.destination,
                            answer.reason)
                break
            if answer.code == WINDOW_CLOSED:
                self.windows.close(envelope.to.destination)
                return await self._outside_window(envelope, answer.reason)
            return _failure(answer)
        return Sent(ids[-1], tuple(ids[:-1]))

    async def _send_part(self, request: dict[str, Any], waits_allowed: int) -> Accepted | Refusal:
        """One request. Once a first part is out the rest must follow: a rate refusal between
        parts is waited out here instead of failing the whole message."""
        for attempt in range(waits_allowed + 1):
            answer = await self._graph.send(request)
            wait = RATE_LIMITS.get(answer.code) if isinstance(answer, Refusal) else None
            if wait is None or attempt == waits_allowed:
                return answer
            await asyncio.sleep(min(wait, MAX_WAIT_BETWEEN_PARTS))
        raise AssertionError("unreachable")

    async def _outside_window(self, envelope: Envelope, reason: str) -> DeliveryResult:
        hint, name = envelope.template, self.settings.broadcast_template
        if hint is None or not name:
            return OutsideWindow(reason)
        request = render.template_request(envelope.to.destination, name, self.settings.template_language,
                                          hint.preview, hint.button.token)
        answer = await self._graph.send(request)
        if isinstance(answer, Accepted):
            return Sent(answer.message_id)
        if answer.code in TEMPLATE_PROBLEMS:
            log.error("WhatsApp refused the template %r (%s): check its name, language and its one parameter; "
                      "the message waits for the person to write", name, answer.reason)
            return OutsideWindow(f"template refused: {answer.reason}")
        return _failure(answer)


def _failure(refusal: Refusal) -> DeliveryResult:
    if refusal.code in RATE_LIMITS:
        return RetryLater(f"WhatsApp asked to slow down ({refusal.reason})", after_seconds=RATE_LIMITS[refusal.code])
    if refusal.code in UNREACHABLE_CODES:
        return Undeliverable(refusal.reason)
    if refusal.code == WINDOW_CLOSED:
        return OutsideWindow(refusal.reason)
    if refusal.http_status == 401 or refusal.code == 190:
        log.error("WhatsApp refused the access token: messages wait; set a valid token (%s)", refusal.reason)
        return RetryLater(f"access token refused ({refusal.reason})", after_seconds=60.0)
    if refusal.code == NETWORK or refusal.http_status >= 500:
        return RetryLater(refusal.reason)
    log.warning("WhatsApp refused a message: %s", refusal.reason)
    return RetryLater(f"WhatsApp refused: {refusal.reason}")


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
