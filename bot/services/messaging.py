"""Saying things: each message composed once per language and platform, fitted to what the
platform can show, and written to the outbox with what it is for."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

from bot.ports import (
    Address, Button, Capabilities, Envelope, Message, Notice, Outgoing, Priority, Purpose, Span, TemplateHint, rows_of,
)
from bot.services.fitting import fit
from bot.services.members import Recipient
from bot.services.outbox import BroadcastPlan, Outbox
from bot.texts.catalog import Texts, Translator

Compose = Callable[[Translator], Outgoing]
ComposeTemplate = Callable[[Translator], TemplateHint]

PRIORITY = {
    Purpose.ANSWER: Priority.ANSWER, Purpose.NOTICE: Priority.ANSWER, Purpose.HOME: Priority.ANSWER,
    Purpose.CARD: Priority.CARD, Purpose.REPLY: Priority.CARD, Purpose.STATUS: Priority.CARD,
    Purpose.THANKS: Priority.CARD, Purpose.ALERT: Priority.CARD,
    Purpose.BROADCAST: Priority.BROADCAST, Purpose.REMINDER: Priority.BROADCAST, Purpose.DIGEST: Priority.BROADCAST,
    Purpose.CONSOLIDATED: Priority.BROADCAST,
}

assert set(PRIORITY) == set(Purpose), "every purpose needs a priority"

# For a platform that is no longer enabled but still has rows or cards.
UNKNOWN_PLATFORM = Capabilities(max_text=4096, max_buttons=20, max_button_label=64, can_edit=False,
                                can_reply_to=False)


class Messenger:
    def __init__(self, outbox: Outbox, texts: Texts) -> None:
        self.outbox = outbox
        self.texts = texts
        self._capabilities: dict[str, Capabilities] = {}

    def add_platform(self, platform: str, capabilities: Capabilities) -> None:
        self._capabilities[platform] = capabilities

    def capabilities(self, platform: str) -> Capabilities:
        return self._capabilities.get(platform, UNKNOWN_PLATFORM)

    def translator(self, language: str) -> Translator:
        return self.texts.for_language(language)

    async def send(self, recipients: Sequence[Recipient], compose: Compose, purpose: Purpose,
                   discussion_id: int | None = None,
                   template: ComposeTemplate | None = None) -> list[tuple[Recipient, int]]:
        """One message to each recipient, in their own language, fitted to their platform.
        `template` is what platforms with a service window send when it is closed."""
        composed: dict[tuple[str, str], tuple[Outgoing, TemplateHint | None]] = {}
        envelopes = []
        for recipient in recipients:
            language, platform = recipient.language, recipient.address.platform
            key = (language, platform)
            if key not in composed:
                t = self.translator(language)
                capabilities = self.capabilities(platform)
                hint = replace(template(t), language=t.language) if template and capabilities.service_window else None
                composed[key] = (fit(compose(t), capabilities), hint)
            message, hint = composed[key]
            envelopes.append(Envelope(
                to=recipient.address, message=message, purpose=purpose, priority=PRIORITY[purpose],
                member_id=recipient.member_id, discussion_id=discussion_id, template=hint,
            ))
        ids = await self.outbox.enqueue(envelopes)
        return list(zip(recipients, ids))

    async def send_to_everyone(self, compose: Compose, purpose: Purpose, discussion_id: int | None = None,
                               template: ComposeTemplate | None = None, exclude: Sequence[int] = (),
                               platforms: Sequence[str] = ()) -> int:
        """One message to every member who receives messages at once (but those excluded),
        each in their language: composed here once per language and platform, planned in the
        caller's transaction, its rows written after it in short batches (a network of
        100,000 must not wait on one long write). Returns how many members it is for."""
        messages: dict[tuple[str, str], tuple[Outgoing, TemplateHint | None]] = {}
        default = self.translator("").language
        keys = await self.outbox.audience_keys()
        keys |= {(default, platform) for _, platform in keys}
        for language, platform in sorted(keys):
            t = self.translator(language)
            capabilities = self.capabilities(platform)
            hint = replace(template(t), language=t.language) if template and capabilities.service_window else None
            messages[(language, platform)] = (fit(compose(t), capabilities), hint)
        served = tuple(platforms) or tuple(sorted(name for name, can in self._capabilities.items()
                                                 if can.reaches_members))
        return await self.outbox.plan_broadcast(BroadcastPlan(
            purpose, PRIORITY[purpose], discussion_id, messages, default, tuple(exclude), served))

    async def say(self, to: Address, member_id: int | None, message: Outgoing,
                  purpose: Purpose = Purpose.ANSWER, discussion_id: int | None = None) -> int:
        """One message, already composed, to one person or group."""
        [row] = await self.outbox.enqueue([Envelope(
            to=to, message=fit(message, self.capabilities(to.platform)), purpose=purpose,
            priority=PRIORITY[purpose], member_id=member_id, discussion_id=discussion_id,
        )])
        return row

    async def edit(self, row: int, platform: str, message: Outgoing) -> int:
        return await self.outbox.enqueue_edit(row, fit(message, self.capabilities(platform)))

    async def take_buttons_off(self, to: Address, message_id: str | None,
                               stale: Callable[[Button], bool] = lambda button: True) -> None:
        """The message a person pressed on loses the buttons that can no longer do anything,
        so that none is pressed again; left as it is where the platform cannot edit."""
        if message_id is None or not self.capabilities(to.platform).can_edit:
            return
        sent = await self.outbox.find_sent(to, message_id)
        changed = without_buttons(sent.message, stale) if sent is not None else None
        if sent is not None and changed is not None:
            await self.outbox.enqueue_edit(sent.outbox_id, changed, keeps_text=True)

    async def take_buttons_off_copies(self, discussion_id: int, purposes: Sequence[Purpose],
                                      stale: Callable[[Button], bool]) -> int:
        """Every copy of a discussion's messages of these purposes (a question's broadcast)
        loses its stale buttons, where the platform can edit; returns how many will change.
        Nothing new is sent where it cannot: an old button pressed there is refused politely."""
        changed: dict[int, Outgoing | None] = {}
        edits = []
        for copy in await self.outbox.copies(discussion_id, [purpose.value for purpose in purposes]):
            if not self.capabilities(copy.to.platform).can_edit:
                continue
            key = id(copy.message)  # copies that read alike share one message: worked out once
            if key not in changed:
                changed[key] = without_buttons(copy.message, stale)
            if changed[key] is not None:
                edits.append((copy.row, changed[key]))
        await self.outbox.enqueue_edits(edits, keeps_text=True)
        return len(edits)


Part = str | Span


def without_buttons(message: Outgoing, stale: Callable[[Button], bool]) -> Outgoing | None:
    """The message without its stale buttons, or None when it has none to lose."""
    if isinstance(message, Notice):
        return None
    rows = tuple(tuple(button for button in row if not stale(button)) for row in message.buttons)
    rows = tuple(row for row in rows if row)
    if rows == message.buttons:
        return None
    return replace(message, buttons=rows)


def compose(*parts: Part, buttons: Sequence[Sequence[Button]] = (), reply_to: str | None = None,
            title: str = "") -> Message:
    """A message from plain strings (the bot's words, already translated) and spans."""
    spans = tuple(part if isinstance(part, Span) else Span(part) for part in parts if part)
    return Message(spans=spans, buttons=rows_of(buttons), reply_to=reply_to, title=title)


def bold(text: str) -> Span:
    return Span(text, bold=True)


def italic(text: str) -> Span:
    return Span(text, italic=True)
