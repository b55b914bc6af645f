"""Platform-neutral types: what adapters hand to the core and what the core asks them to send.

Adapters (`adapters/*`) translate a platform's updates into these events and render
`Outgoing` messages into the platform's form; they never decide anything about members or
discussions. The core never sees a platform type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable


@dataclass(frozen=True)
class Address:
    """Where a person is on one platform.

    `user_id` is the person's id on that platform; `chat_id` is where to write to them
    (a private chat, a Slack DM channel, a phone number, a group). When `chat_id` is empty the
    adapter writes to the person directly; a group, such as the facilitators', has a chat_id
    and no user_id.
    """

    platform: str
    user_id: str
    chat_id: str = ""

    @property
    def destination(self) -> str:
        return self.chat_id or self.user_id

    @property
    def is_group(self) -> bool:
        return not self.user_id


# --- what people send --------------------------------------------------------------------


@dataclass(frozen=True)
class Sender:
    """Who sent an event. `name` is what the platform calls them, a hint for joining."""

    address: Address
    name: str = ""
    # True when the event came from a group or channel rather than a private chat: the core
    # answers there but never takes the group for the person's own address.
    in_group: bool = False


@dataclass(frozen=True)
class IncomingText:
    sender: Sender
    text: str
    # The platform's id of the message this one replies to (Telegram reply-to, a Slack
    # thread's parent, a WhatsApp context id), when the person used the platform's reply.
    reply_to: str | None = None


@dataclass(frozen=True)
class IncomingCommand:
    """A slash command: `/ask how do we...` is command "ask" with args "how do we..."."""

    sender: Sender
    command: str
    args: str = ""


@dataclass(frozen=True)
class ButtonPress:
    sender: Sender
    token: str
    # The platform's id of the message that carried the button, when known.
    message_id: str | None = None


Incoming = IncomingText | IncomingCommand | ButtonPress


# --- what the bot sends ------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """A run of text with one style. Member-written text always travels as its own span,
    so every adapter escapes it for its platform and no member can inject markup."""

    text: str
    bold: bool = False
    italic: bool = False
    link: str | None = None


@dataclass(frozen=True)
class Button:
    label: str
    # The core's short opaque token (at most 64 bytes: Telegram's callback_data limit).
    token: str


@dataclass(frozen=True)
class Outgoing:
    spans: tuple[Span, ...]
    buttons: tuple[tuple[Button, ...], ...] = ()
    # Platform message id this message answers (shown as a reply where the platform can).
    reply_to: str | None = None

    @property
    def text(self) -> str:
        return "".join(span.text for span in self.spans)

    @staticmethod
    def plain(text: str, buttons: Sequence[Sequence[Button]] = ()) -> "Outgoing":
        return Outgoing(spans=(Span(text),), buttons=tuple(tuple(row) for row in buttons))


MAX_TOKEN_BYTES = 64


# --- what an adapter reports back ---------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """Delivered; `message_id` is the platform's id of the (first) message, used for edits
    and to recognise replies made with the platform's reply-to."""

    message_id: str
    # Ids of the other parts when the adapter split a long text into several messages.
    other_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class RetryLater:
    """Not delivered this time (rate limited, timeout, server error, page closed): try again.

    `attempt_counts` is False when nothing failed (a web page that is simply closed): the
    message waits without using up its attempts."""

    reason: str
    after_seconds: float = 0.0
    attempt_counts: bool = True


@dataclass(frozen=True)
class Undeliverable:
    """Never deliverable to this address (blocked the bot, unknown user, chat not found)."""

    reason: str


DeliveryResult = Sent | RetryLater | Undeliverable


@dataclass(frozen=True)
class Capabilities:
    """What a platform can show, so each adapter fits the core's one message to it."""

    max_text: int
    max_buttons: int
    max_button_label: int
    can_edit: bool
    can_reply_to: bool
    # Sends per second the platform allows for the whole bot; seconds between two messages
    # to one person's chat, and to a group (an Address without a user_id).
    messages_per_second: float = 30.0
    per_chat_interval: float = 1.0
    group_interval: float = 1.0


@dataclass(frozen=True)
class PersonCard:
    """A person the core knows on one platform: for pages that let a visitor pick a demo
    identity. The core decides who is listed; the adapter only shows them."""

    address: Address
    name: str
    description: str
    is_facilitator: bool


@dataclass(frozen=True)
class Acknowledgement:
    """The core's immediate answer to an event. For a button press `notice` is a short
    toast (Telegram's answerCallbackQuery); everything else the core says goes through the
    outbox."""

    notice: str | None = None
    refused: bool = False


@dataclass(frozen=True)
class TranscriptEntry:
    """One message of a person's conversation with the bot, for pages that show history."""

    from_bot: bool
    message_id: str
    message: Outgoing
    at: float  # Unix time


@runtime_checkable
class Inbox(Protocol):
    """The core's entry point, as an adapter sees it."""

    async def handle(self, event: Incoming) -> Acknowledgement: ...

    async def people_on(self, platform: str) -> list[PersonCard]: ...

    async def command_list(self, language: str) -> list[tuple[str, str]]:
        """(command, description) pairs for platforms that register a command menu."""
        ...

    async def transcript(self, address: Address, limit: int = 200) -> list[TranscriptEntry]:
        """The conversation so far with this person on this platform, oldest first, each
        bot message in its latest edited form."""
        ...

    async def wake(self, address: Address) -> None:
        """The person is reachable again (a page reconnected): deliver what waits now."""
        ...


@runtime_checkable
class Adapter(Protocol):
    platform: str
    capabilities: Capabilities

    async def start(self, inbox: Inbox) -> None:
        """Begin receiving events and handing them to `inbox`. Returns once running."""
        ...

    async def stop(self) -> None: ...

    async def send(self, to: Address, message: Outgoing) -> DeliveryResult: ...

    async def edit(self, to: Address, message_id: str, message: Outgoing) -> DeliveryResult: ...
