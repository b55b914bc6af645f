"""Telegram, on python-telegram-bot 22: turns updates into the core's events and the core's
messages into Telegram messages. It decides nothing about members or discussions.

A card and a prompt are drawn as HTML messages with an inline keyboard (a prompt's current
text as a message of its own, in a block that Telegram copies on a tap, or, where the bot has
inline mode and the text fits, a button that puts it into the message box); a notice answers
the button press as a toast. An edit of the buttons alone changes just the keyboard.
Handlers only hand the update to the core, which keeps it and answers through the outbox: a
button's spinner stops when the core's notice comes back.

Pacing is the delivery engine's: it calls `send` one message at a time at Telegram's pace
and honours `RetryLater.after_seconds`, so no rate limiter is stacked here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from telegram import (
    Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, LinkPreviewOptions, Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters
from telegram.request import HTTPXRequest

from adapters.received import well_formed_all
from adapters.telegram_text import render_parts
from bot.ports import (
    MAX_TOKEN_BYTES, Address, ButtonPress, Capabilities, DeliveryResult, Envelope, Inbox, IncomingCommand,
    IncomingText, Message, Notice, Outgoing, PlatformContext, Prompt, RetryLater, Sender, Sent, Span, Undeliverable,
)
from bot.settings_reader import ConfigError, Section

log = logging.getLogger(__name__)

PERMANENT = ("chat not found", "user not found", "peer_id_invalid", "user is deactivated", "bot was kicked",
             "have no rights to send", "not enough rights", "chat_write_forbidden")
POLL_TIMEOUT = 5  # seconds a getUpdates waits: short, so that a stop never takes long
MAX_PART_WAITS = 5  # "too many requests" waited out between the parts of one long message
MAX_CAPTION = 1024  # the longest caption under a file
MAX_INLINE_QUERY = 256  # the longest text a button can put in the message box


@dataclass(frozen=True)
class TelegramSettings:
    token: str
    base_url: str = "https://api.telegram.org/bot"
    mode: str = "polling"
    webhook_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8443
    secret_token: str = ""
    facilitator_chat_id: str = ""


class TelegramAdapter:
    platform = "telegram"
    capabilities = Capabilities(
        max_text=4096, max_buttons=100, max_button_label=64, can_edit=True, can_reply_to=True, can_toast=True,
        messages_per_second=30.0, per_chat_interval=1.0, group_interval=3.0,  # 20 a minute in a group
        can_send_documents=True, max_document_bytes=50_000_000,
    )

    def __init__(self, settings: TelegramSettings, context: PlatformContext = PlatformContext()) -> None:
        self.settings = settings
        self.languages = list(context.languages)
        self._application: Application | None = None
        self._inbox: Inbox | None = None
        # False when workers share the database: the one that leads polls (see `poll`).
        self._poll_on_start = True

    # --- receiving ---------------------------------------------------------------------------

    async def start(self, inbox: Inbox) -> None:
        self._inbox = inbox
        settings = self.settings
        application = (
            ApplicationBuilder().token(settings.token).base_url(settings.base_url)
            .get_updates_request(_UpdatesRequest(connection_pool_size=1, read_timeout=POLL_TIMEOUT + 5)).build()
        )
        application.add_handler(CallbackQueryHandler(self._on_press))
        application.add_handler(MessageHandler(filters.COMMAND, self._on_command))
        application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, self._on_text))
        application.add_error_handler(self._on_error)
        await application.initialize()
        await application.start()
        assert application.updater is not None
        if settings.mode == "webhook":
            await application.updater.start_webhook(
                listen=settings.host, port=settings.port, url_path=urlparse(settings.webhook_url).path.lstrip("/"),
                webhook_url=settings.webhook_url, secret_token=settings.secret_token or None,
            )
        elif self._poll_on_start:
            await application.updater.start_polling(timeout=POLL_TIMEOUT, poll_interval=0.0)
        self._application = application
        await self._register_commands(inbox)

    @property
    def polls(self) -> bool:
        return self.settings.mode == "polling"

    async def poll(self, on: bool) -> None:
        """Start or stop asking Telegram for updates: of several workers only one may (Telegram
        answers a second getUpdates with 409 Conflict)."""
        application = self._application
        if application is None:
            self._poll_on_start = on  # not started yet: it starts so
            return
        if application.updater is None or not self.polls:
            return
        if on and not application.updater.running:
            await application.updater.start_polling(timeout=POLL_TIMEOUT, poll_interval=0.0)
        elif not on and application.updater.running:
            await application.updater.stop()

    async def take(self, raw: object) -> None:
        """One update as Telegram sends it (the JSON object), read and handled as polling or
        the webhook would: for tests, and for tools that replay updates."""
        assert self._application is not None, "the Telegram adapter is not started"
        update = read_update(raw, self._application.bot)
        if update is not None:
            await self._application.process_update(update)

    async def stop(self) -> None:
        application, self._application = self._application, None
        if application is None:
            return
        if application.updater and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()

    async def _register_commands(self, inbox: Inbox) -> None:
        assert self._application is not None
        bot = self._application.bot
        languages = self.languages or ["en"]
        try:
            for language in languages:
                commands = [BotCommand(c, d[:256]) for c, d in await inbox.command_list(language)]
                await bot.set_my_commands(commands, language_code=language)
            default = [BotCommand(c, d[:256]) for c, d in await inbox.command_list(languages[0])]
            await bot.set_my_commands(default)
        except TelegramError as error:
            log.warning("could not register the command menu with Telegram: %s", error)

    @staticmethod
    def _sender(update: Update) -> Sender | None:
        """Who sent the update, or None: a bot, or an update without a person and a chat
        Telegram would always give (an id that is no integer is logged and ignored)."""
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None or user.is_bot is True:
            return None
        if not _is_id(user.id) or not _is_id(chat.id):
            log.info("a Telegram update without a readable user or chat id was ignored")
            return None
        name = " ".join(part.strip() for part in (user.first_name, user.last_name) if isinstance(part, str))
        locale = user.language_code if isinstance(user.language_code, str) else ""
        return Sender(Address("telegram", str(user.id), str(chat.id)), name.strip(),
                      in_group=chat.type != "private", locale=locale)

    async def _on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        sender, message = self._sender(update), update.effective_message
        if sender is None or message is None or self._inbox is None:
            return
        if not isinstance(message.text, str):
            log.info("a Telegram message whose text is no text was ignored")
            return
        reply_to = message.reply_to_message
        replied = (str(reply_to.message_id) if reply_to and _is_id(reply_to.message_id) and reply_to.from_user
                   and reply_to.from_user.is_bot is True else None)
        text = _without_mention(message.text, context.bot.username) if not sender.in_group else message.text
        await self._inbox.handle(well_formed_all(IncomingText(sender, text, reply_to=replied)))

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        sender, message = self._sender(update), update.effective_message
        if sender is None or message is None or not message.text or self._inbox is None:
            return
        if not isinstance(message.text, str):
            log.info("a Telegram command whose text is no text was ignored")
            return
        head, _, args = message.text.partition(" ")
        command, _, addressee = head[1:].partition("@")
        if addressee and addressee.casefold() != (context.bot.username or "").casefold():
            return  # a command for another bot in a group
        await self._inbox.handle(well_formed_all(IncomingCommand(sender, command, args.strip())))

    async def _on_press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, sender = update.callback_query, self._sender(update)
        if query is None or self._inbox is None:
            return
        if not isinstance(query.id, str) or not query.id:
            log.info("a Telegram button press without a query id was ignored")
            return
        if sender is None or not query.data or not isinstance(query.data, str):
            await self._answer(query.id, None)
            return
        message_id = str(query.message.message_id) if query.message and _is_id(query.message.message_id) else None
        acknowledgement = await self._inbox.handle(
            well_formed_all(ButtonPress(sender, query.data, message_id, interaction=query.id)))
        if not acknowledgement.accepted:
            await self._answer(query.id, acknowledgement.refusal)
        # Otherwise the core answers the press (its Notice) once it has handled it.

    async def _answer(self, query_id: str, text: str | None) -> None:
        try:
            await self._bot.answer_callback_query(query_id, text=(text or "")[:200] or None)
        except TelegramError as error:
            log.info("could not answer a button press: %s", error)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("handling a Telegram update failed", exc_info=context.error)

    # --- sending -----------------------------------------------------------------------------

    @property
    def _bot(self) -> Bot:
        assert self._application is not None, "the Telegram adapter is not started"
        return self._application.bot

    async def send(self, envelope: Envelope) -> DeliveryResult:
        to, message = envelope.to, envelope.message
        if isinstance(message, Notice):
            return await self._toast(message)
        parts = render_parts(_spans(message))
        markup = _keyboard(message)
        pieces = [(text, markup if index == len(parts) - 1 else None) for index, text in enumerate(parts)]
        if isinstance(message, Prompt) and message.prefill:
            pieces = self._prompt(message)
        reply_to = message.reply_to if isinstance(message, Message) else None
        ids: list[str] = []
        if isinstance(message, Message) and message.document is not None:
            # The file goes first: should the text then fail, the person still has what matters.
            caption = parts[0] if len(parts) == 1 and len(parts[0]) <= MAX_CAPTION else None
            try:
                sent = await self._bot.send_document(
                    chat_id=to.destination, document=InputFile(message.document.data, message.document.filename),
                    caption=caption, parse_mode=ParseMode.HTML, reply_markup=markup if caption else None)
            except TelegramError as error:
                return _failure(error)
            if caption is not None:
                return Sent(str(sent.message_id))
            ids.append(str(sent.message_id))
        try:
            for index, (text, part_markup) in enumerate(pieces):
                sent = await self._send_part(
                    to, text, part_markup,
                    int(reply_to) if reply_to and index == 0 else None,
                    waits_allowed=MAX_PART_WAITS if ids else 0,
                )
                ids.append(str(sent.message_id))
        except TelegramError as error:
            if ids:
                # Part of a long text went out: record it as sent rather than send it twice.
                log.warning("only %s of %s parts reached %s: %s", len(ids), len(parts), to.destination, error)
                return Sent(ids[-1], tuple(ids[:-1]))
            return _failure(error)
        return Sent(ids[-1], tuple(ids[:-1]))

    async def _toast(self, notice: Notice) -> DeliveryResult:
        """A notice answers its button press; one answered too late is no failure to retry."""
        try:
            await self._bot.answer_callback_query(notice.interaction, text=notice.text[:200] or None)
        except BadRequest as error:
            log.info("a button press was answered too late: %s", error.message)
        except TelegramError as error:
            return _failure(error)
        return Sent("")

    async def _send_part(self, to: Address, text: str, markup: InlineKeyboardMarkup | None, reply_to: int | None,
                         waits_allowed: int):  # type: ignore[no-untyped-def]
        """One part of a message. Once a first part is out, the rest must follow: a "too many
        requests" between parts is waited out here instead of failing the whole message."""
        for attempt in range(waits_allowed + 1):
            try:
                return await self._bot.send_message(
                    chat_id=to.destination, text=text, parse_mode=ParseMode.HTML, reply_markup=markup,
                    reply_to_message_id=reply_to, link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
            except RetryAfter as error:
                if attempt == waits_allowed:
                    raise
                await asyncio.sleep(_seconds(error.retry_after))
        raise AssertionError("unreachable")

    async def edit(self, envelope: Envelope, message_id: str) -> DeliveryResult:
        to, message = envelope.to, envelope.message
        parts = render_parts(_spans(message))
        if envelope.keeps_text:
            return await self._edit_buttons(envelope, message_id)
        if len(parts) > 1:
            # One message cannot hold it: send it whole as new messages rather than cut it.
            return await self.send(envelope)
        try:
            await self._bot.edit_message_text(
                chat_id=to.destination, message_id=int(message_id), text=parts[-1], parse_mode=ParseMode.HTML,
                reply_markup=_keyboard(message), link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except BadRequest as error:
            if "not modified" in error.message.lower():
                return Sent(message_id)
            return _failure(error)
        except TelegramError as error:
            return _failure(error)
        return Sent(message_id)


    async def _edit_buttons(self, envelope: Envelope, message_id: str) -> DeliveryResult:
        """Only the buttons change (those of a closed question go): the keyboard alone is
        edited, a small call that also works under the last part of a long message."""
        try:
            await self._bot.edit_message_reply_markup(chat_id=envelope.to.destination, message_id=int(message_id),
                                                      reply_markup=_keyboard(envelope.message))
        except BadRequest as error:
            if "not modified" in error.message.lower():
                return Sent(message_id)
            return _failure(error)
        except TelegramError as error:
            return _failure(error)
        return Sent(message_id)

    def _prompt(self, prompt: Prompt) -> list[tuple[str, InlineKeyboardMarkup | None]]:
        """A prompt with a text to change: where the bot has inline mode and the text fits an
        inline query (one line of at most 256 characters), a button puts it into the person's
        message box; else the question, then the text alone as its own message, in a block
        Telegram copies on a tap. The buttons go under the last message."""
        rows = [list(row) for row in (_keyboard(prompt) or InlineKeyboardMarkup([])).inline_keyboard]
        fits = len(prompt.prefill) <= MAX_INLINE_QUERY and "\n" not in prompt.prefill
        if self._inline_mode() and prompt.insert_label and fits:
            insert = InlineKeyboardButton(prompt.insert_label[:64], switch_inline_query_current_chat=prompt.prefill)
            question = render_parts(prompt.question)
            return _with_markup_on_last(question, InlineKeyboardMarkup([[insert], *rows]))
        parts = render_parts(prompt.question) + render_parts((Span(prompt.prefill, code=True),))
        return _with_markup_on_last(parts, InlineKeyboardMarkup(rows) if rows else None)

    def _inline_mode(self) -> bool:
        bot = self._application.bot if self._application is not None else None
        try:
            return bool(bot is not None and bot.supports_inline_queries)
        except RuntimeError:  # not initialised yet: getMe has not answered
            return False


def _with_markup_on_last(parts: list[str], markup: InlineKeyboardMarkup | None
                         ) -> list[tuple[str, InlineKeyboardMarkup | None]]:
    return [(text, markup if index == len(parts) - 1 else None) for index, text in enumerate(parts)]


def _without_mention(text: str, username: str | None) -> str:
    """A text typed after the inline button put "@bot text" in the box: the text alone."""
    mention = f"@{username} " if username else ""
    if mention and text[:len(mention)].casefold() == mention.casefold():
        return text[len(mention):]
    return text


def read_update(raw: object, bot: Bot | None = None) -> Update | None:
    """An update as Telegram sent it, read; None (logged on one line) when it cannot be."""
    update_id = raw.get("update_id") if isinstance(raw, dict) else None
    try:
        if not _is_id(update_id):
            raise ValueError("no integer update_id")
        update = Update.de_json(raw, bot)  # type: ignore[arg-type]
        # python-telegram-bot keeps these ids in sets after handling: one that is no integer
        # (a list cannot be hashed) would stop its fetching of updates for good.
        for found in (update.effective_user, update.effective_chat):
            if found is not None and not _is_id(found.id):
                raise ValueError(f"a {type(found).__name__} id that is no integer")
        return update
    except Exception as error:  # whatever python-telegram-bot fails on, the update is unreadable
        log.warning("Telegram sent update %s that could not be read (%s: %s): ignored", str(update_id)[:20],
                    type(error).__name__, str(error)[:200])
        return None


class _UpdatesRequest(HTTPXRequest):
    """getUpdates, with an update that python-telegram-bot cannot read replaced by an empty
    one of the same id. Otherwise the whole batch fails to parse, the poll's offset never
    moves past it, and that update and every one after it are fetched again for ever."""

    def parse_json_payload(self, payload: bytes) -> dict[str, Any]:
        try:
            answer = json.loads(payload.decode("utf-8", "replace"))
        except (ValueError, RecursionError) as error:
            raise TelegramError(f"Invalid server response ({type(error).__name__})") from None
        if isinstance(answer, dict) and isinstance(answer.get("result"), list):
            readable = []
            for update in answer["result"]:
                if read_update(update) is not None:
                    readable.append(update)
                elif isinstance(update, dict) and _is_id(update.get("update_id")):
                    readable.append({"update_id": update["update_id"]})  # confirmed, so not fetched again
            answer["result"] = readable
        return answer


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _spans(message: Outgoing) -> tuple[Span, ...]:
    """Every kind of message is drawn as styled text: a card's title, fields and body, a
    prompt's question and the text to change."""
    return message.spans


def _keyboard(message: Outgoing) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    rows = []
    for row in message.buttons:
        buttons = []
        for button in row:
            if not 1 <= len(button.token.encode()) <= MAX_TOKEN_BYTES:
                raise ValueError(f"callback data must be 1 to {MAX_TOKEN_BYTES} bytes: {button.token!r}")
            buttons.append(InlineKeyboardButton(button.label[:64], callback_data=button.token))
        rows.append(buttons)
    return InlineKeyboardMarkup(rows)


def _seconds(retry_after: object) -> float:
    """PTB 22 gives retry_after in seconds, later versions as a timedelta."""
    total = getattr(retry_after, "total_seconds", None)
    return float(total()) if callable(total) else float(retry_after)  # type: ignore[arg-type]


def _failure(error: TelegramError) -> DeliveryResult:
    if isinstance(error, RetryAfter):
        return RetryLater("Telegram asked to slow down (429)", after_seconds=_seconds(error.retry_after))
    if isinstance(error, Forbidden):
        return Undeliverable(error.message)
    if isinstance(error, BadRequest) and any(reason in error.message.lower() for reason in PERMANENT):
        return Undeliverable(error.message)
    if isinstance(error, (TimedOut, NetworkError)):
        return RetryLater(f"network: {error.message}")
    return RetryLater(f"Telegram refused: {error.message}")


async def check_online(settings: TelegramSettings) -> str | None:
    """None when getMe answers with this token; else one line saying what is wrong."""
    try:
        async with Bot(settings.token, base_url=settings.base_url) as bot:
            me = await bot.get_me()
    except InvalidToken:
        return "the token was refused by Telegram: copy it again from @BotFather"
    except Forbidden:
        return "the token was refused by Telegram: copy it again from @BotFather"
    except (TimedOut, NetworkError) as error:
        if "not found" in str(error).lower() or "unauthorized" in str(error).lower():
            return "the token was refused by Telegram: copy it again from @BotFather"
        return f"cannot reach the Bot API at {settings.base_url} ({error})"
    except TelegramError as error:
        return f"the Bot API at {settings.base_url} answered: {error}"
    log.info("Telegram: the token belongs to @%s", me.username)
    return None


class TelegramPlugin:
    name = "telegram"

    def read_settings(self, section: Section) -> TelegramSettings:
        mode = section.choice("mode", ("polling", "webhook"), default="polling")
        settings = TelegramSettings(
            token=section.secret("token", required=True),
            base_url=section.url("base_url", default="https://api.telegram.org/bot"),
            mode=mode,
            webhook_url=section.url("webhook_url", required=mode == "webhook"),
            host=section.string("host", default="0.0.0.0" if mode == "webhook" else "127.0.0.1"),
            port=section.port("port", default=8443),
            secret_token=section.secret("secret_token", required=mode == "webhook"),
            facilitator_chat_id=section.identifier("facilitator_chat_id"),
        )
        if settings.secret_token and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", settings.secret_token):
            raise ConfigError("telegram.secret_token", "use 1 to 256 characters of A-Z, a-z, 0-9, _ and -")
        return settings

    def build(self, settings: TelegramSettings, context: PlatformContext) -> TelegramAdapter:
        return TelegramAdapter(settings, context)

    async def check_online(self, settings: TelegramSettings) -> str | None:
        return await check_online(settings)

    def normalise_user_id(self, raw: str) -> str:
        return raw.strip()

    def facilitators_room(self, settings: TelegramSettings) -> Address | None:
        return Address("telegram", "", settings.facilitator_chat_id) if settings.facilitator_chat_id else None


PLUGIN = TelegramPlugin()
