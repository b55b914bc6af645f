"""One event being handled: who it is from, what they speak, where they are, and how the core
answers them.

Use cases receive a `Turn`; everything it says goes through the outbox, inside the
transaction that handles the event, so an answer is never sent for a change that did not
happen and a change never happens without its answers.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Sequence

from bot.clock import Clock
from bot.domain.members import Member
from bot.domain.refusal import Refusal
from bot.ports import Address, Button, Capabilities, Notice, Outgoing, Prompt, Purpose, Span, Style, rows_of
from bot.services.buttons import ButtonCodec
from bot.services.conversation import Conversation, ConversationStore
from bot.services.messaging import Messenger, Part, compose
from bot.texts.catalog import Translator


TOAST_CHARS = 120  # a refusal longer than this is said as a message: a toast is read at a glance


class Form(StrEnum):
    """The token of a prompt's form: its subject is the member, its arg the nonce of the
    step it answers, so a form left open after the conversation moved on is refused."""

    ANSWER = "fm"


@dataclass
class Turn:
    member: Member
    origin: Address
    t: Translator
    capabilities: Capabilities
    messenger: Messenger
    conversations: ConversationStore
    codec: ButtonCodec
    clock: Clock
    # The platform's handle to answer a button press (a toast, a form).
    interaction: str | None = None
    # The platform's id of the message whose button was pressed.
    pressed_message: str | None = None
    # True when this event is the first the bot ever got from this person.
    is_new: bool = False
    # True when this event is a button press (answered by a notice: a toast where there are toasts).
    is_press: bool = False
    notice: str | None = None
    refused: bool = False
    said: int = 0

    @property
    def now(self) -> float:
        return self.clock.now()

    async def say(self, *parts: Part, buttons: Sequence[Sequence[Button]] = (), reply_to: str | None = None) -> int:
        """Answer the person where they wrote from."""
        return await self.show(compose(*parts, buttons=buttons, reply_to=reply_to))

    async def show(self, message: Outgoing) -> int:
        self.said += 1
        return await self.messenger.say(self.origin, self.member.id, message)

    async def refuse(self, refusal: Refusal) -> None:
        """Tell the person why not, once: a button press where the platform has toasts hears a
        short refusal as the press's notice alone (a late press on a stale button gets one
        answer, not a toast and a message saying the same); a longer one, or anything else,
        as a message."""
        text = self.t(refusal.reason, **refusal.params)
        self.refused = True
        if self.is_press and self.interaction is not None and self.capabilities.can_toast and len(text) <= TOAST_CHARS:
            self.notice = text
            return
        self.notice = None if self.is_press else text
        await self.say(text)

    async def ask(self, step: StrEnum, question: Sequence[Part], label: str, prefill: str = "",
                  buttons: Sequence[Sequence[Button]] = (), **data: object) -> None:
        """Wait for a text for `step`: a form where the platform has forms and the person
        pressed a button just now, else the question in the chat."""
        nonce = secrets.token_urlsafe(6)
        await self.conversations.set(self.member.id, Conversation(step.value, {**data, "form": nonce}), self.now)
        spans = tuple(part if isinstance(part, Span) else Span(part) for part in question if part)
        opens_form = self.capabilities.can_open_forms and self.interaction is not None
        await self.show(Prompt(
            question=spans, label=label, token=self.codec.encode(Form.ANSWER, self.member.id, nonce),
            prefill=prefill, submit=self.t("Send"), buttons=rows_of(buttons),
            interaction=self.interaction if opens_form else None,
            insert_label=self.t("Edit the text") if prefill else "",
        ))

    async def wait_for(self, step: StrEnum, **data: object) -> None:
        await self.conversations.set(self.member.id, Conversation(step.value, dict(data)), self.now)

    async def stop_waiting(self) -> None:
        await self.conversations.clear(self.member.id)

    async def waiting(self) -> Conversation | None:
        return await self.conversations.get(self.member.id)

    async def take_buttons_off_pressed(self) -> None:
        """The message pressed on has done its work: its buttons go, so none is pressed again."""
        await self.messenger.take_buttons_off(self.origin, self.pressed_message)

    def button(self, label: str, action: StrEnum, subject: int, arg: str = "", style: Style = Style.DEFAULT,
               short: str = "") -> Button:
        return Button(label, self.codec.encode(action, subject, arg), style, short)

    async def finish(self) -> None:
        """Answer a button press: its notice as a toast where the platform has toasts (an empty
        one stops the button's spinner), else as a message when nothing else was said."""
        if self.interaction is not None and self.capabilities.can_toast:
            await self.messenger.say(self.origin, self.member.id, Notice(self.notice or "", self.interaction,
                                                                         self.refused), Purpose.NOTICE)
        elif self.notice and not self.said:
            await self.say(self.notice)
