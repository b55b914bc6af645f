"""An in-memory platform for end-to-end tests of the core: an Adapter whose "people" are
test code. It keeps what the bot sent to each person (with edits applied) and lets a test
write, press buttons, fill in forms and reply like a person would. It can play a platform
without edits, with forms, or with a service window. Lives in tests/, never in the product."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field, replace

from adapters.received import well_formed_all
from bot.ports import (
    Acknowledgement, Address, ButtonPress, Capabilities, DeliveryResult, Envelope, FormSubmitted, IncomingCommand,
    IncomingText, Inbox, Message, Notice, Outgoing, OutsideWindow, Prompt, Sender, Sent, Span, Undeliverable,
)

CAPABILITIES = Capabilities(
    max_text=4096, max_buttons=20, max_button_label=64, can_edit=True, can_reply_to=True, can_toast=True,
    can_send_documents=True,
    messages_per_second=1000, per_chat_interval=0.0,
)


@dataclass
class Received:
    message_id: str
    message: Outgoing
    edits: int = 0
    envelope: Envelope | None = None

    @property
    def text(self) -> str:
        return self.message.text

    def labels(self) -> list[str]:
        return [button.label for row in self.message.buttons for button in row]


@dataclass(frozen=True)
class PressAnswer:
    """What a person sees right after pressing: the toast, if any."""

    notice: str | None
    refused: bool = False


class MemoryPlatform:
    """Implements bot.ports.Adapter."""

    def __init__(self, platform: str = "memory", capabilities: Capabilities | None = None) -> None:
        self.platform = platform
        self.capabilities = capabilities or CAPABILITIES
        self.inbox: Inbox | None = None
        self.chats: dict[str, list[Received]] = {}
        self.notices: dict[str, Notice] = {}
        self.forms: dict[str, Prompt] = {}  # user -> the form open in front of them
        self.envelopes: list[Envelope] = []  # everything sent, as the core handed it over
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        # People who blocked the bot: sending to them fails for good.
        self.script_undeliverable: set[str] = set()
        # People whose service window is closed until they write.
        self.outside_window: set[str] = set()

    async def start(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def stop(self) -> None:
        self.inbox = None

    async def send(self, envelope: Envelope) -> DeliveryResult:
        to, message = envelope.to, envelope.message
        self.envelopes.append(envelope)
        if to.user_id in self.script_undeliverable:
            return Undeliverable("blocked")
        async with self._changed:
            if isinstance(message, Notice):
                self.notices[message.interaction] = message
                self._changed.notify_all()
                return Sent("")
            if to.user_id in self.outside_window:
                if envelope.template is None:
                    return OutsideWindow("outside the 24-hour window")
                hint = envelope.template
                message = Message((Span(f"[template] {hint.preview}"),), ((hint.button,),))
            elif isinstance(message, Prompt) and message.interaction and self.capabilities.can_open_forms:
                self.forms[to.user_id] = message
            received = Received(str(next(self._ids)), message, envelope=envelope)
            self.chats.setdefault(to.destination, []).append(received)
            self._changed.notify_all()
        return Sent(received.message_id)

    async def edit(self, envelope: Envelope, message_id: str) -> DeliveryResult:
        async with self._changed:
            for received in self.chats.get(envelope.to.destination, []):
                if received.message_id == message_id:
                    received.message = envelope.message
                    received.edits += 1
            self._changed.notify_all()
        return Sent(message_id)

    def person(self, user_id: str, name: str = "", locale: str = "") -> "Person":
        return Person(self, user_id, name, locale)

    async def wait_until(self, predicate, timeout: float = 10.0):  # type: ignore[no-untyped-def]
        async def satisfied():  # type: ignore[no-untyped-def]
            async with self._changed:
                while not (result := predicate()):
                    await self._changed.wait()
                return result

        return await asyncio.wait_for(satisfied(), timeout)


@dataclass
class Person:
    platform: MemoryPlatform
    user_id: str
    name: str = ""
    locale: str = ""  # the language the person's app is set to
    seen: int = 0
    answers: list[PressAnswer] = field(default_factory=list)
    _interactions: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def address(self) -> Address:
        return Address(self.platform.platform, self.user_id, self.user_id)

    @property
    def messages(self) -> list[Received]:
        return self.platform.chats.get(self.user_id, [])

    async def _send(self, event) -> Acknowledgement:  # type: ignore[no-untyped-def]
        assert self.platform.inbox is not None, "the app is not running"
        self.platform.outside_window.discard(self.user_id)
        # As every adapter hands it over (adapters/received.py).
        return await self.platform.inbox.handle(well_formed_all(event))

    def _sender(self) -> Sender:
        return Sender(self.address, self.name, locale=self.locale)

    async def says(self, text: str, reply_to: Received | None = None) -> Acknowledgement:
        if text.startswith("/"):
            command, _, args = text[1:].partition(" ")
            return await self._send(IncomingCommand(self._sender(), command, args))
        return await self._send(IncomingText(self._sender(), text, reply_to.message_id if reply_to else None))

    async def presses(self, label: str, on: Received | None = None) -> PressAnswer:
        """Press the button with this label on the given message, or on the latest one that has
        it; returns once the bot has answered the press."""
        message = on or next((m for m in reversed(self.messages) if label in m.labels()), None)
        assert message is not None, f"{self.user_id} has no message with a {label!r} button: {self.texts()}"
        token = next(b.token for row in message.message.buttons for b in row if b.label == label)
        return await self.press_token(token, message.message_id)

    async def press_token(self, token: str, message_id: str | None = None) -> PressAnswer:
        interaction = f"{self.user_id}-{next(self._interactions)}"
        acknowledgement = await self._send(ButtonPress(self._sender(), token, message_id, interaction))
        if not acknowledgement.accepted:
            # Refused at the door (a flood): nothing more will come for this press.
            answer = PressAnswer(acknowledgement.refusal, True)
            self.answers.append(answer)
            return answer
        if not self.platform.capabilities.can_toast:
            return PressAnswer(None)
        notice = await self.platform.wait_until(lambda: self.platform.notices.get(interaction))
        answer = PressAnswer(notice.text or None, notice.refused)
        self.answers.append(answer)
        return answer

    async def fills_in(self, text: str) -> Acknowledgement:
        """Submit the form open in front of this person with this text."""
        form = self.platform.forms.pop(self.user_id)
        return await self._send(FormSubmitted(self._sender(), form.token, text, "form"))

    async def receives(self, containing: str, timeout: float = 10.0) -> Received:
        """Wait for the next new message (after those already seen) that contains the text."""
        def found():  # type: ignore[no-untyped-def]
            for index in range(self.seen, len(self.messages)):
                if containing in self.messages[index].text:
                    self.seen = index + 1
                    return self.messages[index]
            return None

        try:
            return await self.platform.wait_until(found, timeout)
        except TimeoutError:
            raise AssertionError(f"{self.user_id} never received {containing!r}; got: {self.texts()}") from None

    async def sees(self, predicate, timeout: float = 10.0) -> Received:  # type: ignore[no-untyped-def]
        """Wait until one of the messages (edited ones included) satisfies the predicate."""
        try:
            return await self.platform.wait_until(lambda: next((m for m in self.messages if predicate(m)), None), timeout)
        except TimeoutError:
            seen = [(m.text[:60], m.labels()) for m in self.messages]
            raise AssertionError(f"{self.user_id} never saw it; got (text, buttons): {seen}") from None

    def texts(self) -> list[str]:
        return [m.text for m in self.messages]


def without(capabilities: Capabilities, **changes: object) -> Capabilities:
    return replace(capabilities, **changes)  # type: ignore[arg-type]
