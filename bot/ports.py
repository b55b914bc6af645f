"""Platform-neutral types: what adapters hand to the core and what the core asks them to send.

Adapters (`adapters/*`) translate a platform's updates into these events and render the
core's messages (a plain message, a card, a prompt for text, a short notice) in the
platform's own way; they never decide anything about members or discussions. The core never
sees a platform type. `PlatformPlugin` is how an adapter joins: its settings, its
construction and its online check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, Sequence, runtime_checkable

if TYPE_CHECKING:
    from bot.settings_reader import Section


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
    """Who sent an event. `name` is what the platform calls them, a hint for joining;
    `locale` the language their app is set to, when the platform says."""

    address: Address
    name: str = ""
    # True when the event came from a group or channel rather than a private chat: the core
    # answers there but never takes the group for the person's own address.
    in_group: bool = False
    locale: str = ""
    # The person's time zone (an IANA name such as "Africa/Nairobi"), when the platform says.
    timezone: str = ""


@dataclass(frozen=True)
class IncomingText:
    sender: Sender
    text: str
    # The platform's id of the message this one replies to (Telegram reply-to, a Slack
    # thread's parent, a WhatsApp context id), when the person used the platform's reply.
    reply_to: str | None = None
    event_id: str | None = None  # see Incoming


@dataclass(frozen=True)
class IncomingCommand:
    """A slash command: `/ask how do we...` is command "ask" with args "how do we..."."""

    sender: Sender
    command: str
    args: str = ""
    event_id: str | None = None


@dataclass(frozen=True)
class ButtonPress:
    sender: Sender
    token: str
    # The platform's id of the message that carried the button, when known.
    message_id: str | None = None
    # The platform's handle to answer this press (Telegram's callback query id, Slack's
    # trigger id): a Notice or a Prompt sent with it shows as a toast or opens a form.
    interaction: str | None = None
    event_id: str | None = None


@dataclass(frozen=True)
class FormSubmitted:
    """The person filled in a form the bot opened for a Prompt (a Slack modal)."""

    sender: Sender
    token: str  # the Prompt's token
    text: str
    interaction: str | None = None
    event_id: str | None = None


@dataclass(frozen=True)
class HomeOpened:
    """The person opened the bot's own page in their app (Slack's App Home tab): the core
    answers with their home (purpose HOME), which the adapter shows there."""

    sender: Sender
    event_id: str | None = None


# Every event may carry `event_id`, the platform's own id for it (a WhatsApp message id, a
# Slack event id): a platform that delivers an event twice has it handled once.
Incoming = IncomingText | IncomingCommand | ButtonPress | FormSubmitted | HomeOpened


# --- what the bot sends ------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """A run of text with one style. Member-written text always travels as its own span,
    so every adapter escapes it for its platform and no member can inject markup."""

    text: str
    bold: bool = False
    italic: bool = False
    link: str | None = None
    # Shown as-is, in a block the person can copy (the current text of something to edit).
    code: bool = False


class Style(StrEnum):
    DEFAULT = "default"
    PRIMARY = "primary"
    # Destructive or final (Reject, Discard): drawn apart where the platform can.
    DANGER = "danger"


@dataclass(frozen=True)
class Button:
    label: str
    # The core's short opaque token (at most 64 bytes: Telegram's callback_data limit).
    token: str
    style: Style = Style.DEFAULT
    # A shorter label for platforms whose buttons hold few characters (WhatsApp: 20).
    short: str = ""


Rows = tuple[tuple[Button, ...], ...]


def rows_of(buttons: Sequence[Sequence[Button]]) -> Rows:
    return tuple(tuple(row) for row in buttons if row)


@dataclass(frozen=True)
class Message:
    """A plain message, with buttons under it when it has any."""

    spans: tuple[Span, ...]
    buttons: Rows = ()
    # Platform message id this message answers (shown as a reply where the platform can).
    reply_to: str | None = None
    # A headline, where a platform shows one apart (an email's subject).
    title: str = ""
    # A file that goes with the text (a member's own data), for platforms that can send one.
    document: "Document | None" = None

    @property
    def text(self) -> str:
        return "".join(span.text for span in self.spans)

    @staticmethod
    def plain(text: str, buttons: Sequence[Sequence[Button]] = ()) -> "Message":
        return Message(spans=(Span(text),), buttons=rows_of(buttons))


@dataclass(frozen=True)
class Document:
    """A file for one person: its name as they will save it, its type, and its bytes."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Field:
    label: str
    value: str


@dataclass(frozen=True)
class Card:
    """Something to act on (a question waiting for approval, a draft to publish): a title,
    a status line, labelled fields, a body, and actions."""

    title: str
    fields: tuple[Field, ...] = ()
    body: tuple[Span, ...] = ()
    buttons: Rows = ()
    status: str = ""
    # Said in place of what a platform cannot show when the body had to be shortened.
    more: str = ""

    @property
    def spans(self) -> tuple[Span, ...]:
        """The card as plain styled text, for platforms that draw it as a message."""
        spans = [Span(self.title, bold=True)]
        if self.status:
            spans.append(Span("\n" + self.status))
        for field in self.fields:
            spans.append(Span(f"\n{field.label}: {field.value}"))
        if self.body:
            spans.append(Span("\n\n"))
            spans.extend(self.body)
        return tuple(spans)

    @property
    def text(self) -> str:
        return "".join(span.text for span in self.spans)


@dataclass(frozen=True)
class Prompt:
    """Ask the person for a text. Where the platform has forms (Slack's modals) it opens one
    with `label` and `prefill`; elsewhere the question is asked in the chat and the person's
    next message is the answer, with `prefill` shown so it can be copied and changed."""

    question: tuple[Span, ...]
    label: str
    token: str  # signed; comes back in FormSubmitted
    prefill: str = ""
    submit: str = "Send"
    buttons: Rows = ()  # other answers (Skip, Reject without a reason)
    multiline: bool = True
    interaction: str | None = None  # a form opens in answer to this press
    # The label of a button that puts `prefill` into the person's own message box, where the
    # platform can and the text fits (Telegram's inline mode); else the text is shown to copy.
    insert_label: str = ""

    @property
    def spans(self) -> tuple[Span, ...]:
        if not self.prefill:
            return self.question
        return (*self.question, Span("\n\n"), Span(self.prefill, code=True))

    @property
    def text(self) -> str:
        return "".join(span.text for span in self.spans)


@dataclass(frozen=True)
class Notice:
    """A short answer to a button press: a toast on platforms that have them."""

    text: str
    interaction: str
    refused: bool = False

    @property
    def spans(self) -> tuple[Span, ...]:
        return (Span(self.text),)

    @property
    def buttons(self) -> Rows:
        return ()


Outgoing = Message | Card | Prompt | Notice

MAX_TOKEN_BYTES = 64


class Purpose(StrEnum):
    """What a message is for: the delivery engine orders by it, platforms with a service
    window pick a template by it, and replies are recognised by it."""

    ANSWER = "answer"  # to a person who is waiting
    NOTICE = "notice"  # the toast of a button press
    CARD = "card"  # a facilitator's card
    REPLY = "reply"  # a member's reply, forwarded to the asker
    STATUS = "status"  # a discussion's progress, to facilitators
    THANKS = "thanks"
    BROADCAST = "broadcast"  # an approved question, to the network
    REMINDER = "reminder"
    DIGEST = "digest"
    CONSOLIDATED = "consolidated"  # a published consolidated reply, to the network
    ALERT = "alert"  # urgent, to the network or part of it: ahead of broadcasts, even to digest readers
    HOME = "home"  # the person's home: their app's own page where it has one (Slack's App Home)


class Priority(IntEnum):
    """Lower goes first: a person waiting for an answer never waits behind a broadcast."""

    ANSWER = 0
    CARD = 1
    BROADCAST = 2


@dataclass(frozen=True)
class TemplateHint:
    """What a platform with a service window sends instead when the window is closed: an
    approved template with the opening words of what is shared and a button that brings the
    whole of it once the person taps it."""

    preview: str
    button: Button
    language: str = ""  # the reader's, for platforms with a template per language


@dataclass(frozen=True)
class Envelope:
    """One message for one recipient, and what it is for."""

    to: Address
    message: Outgoing
    purpose: Purpose = Purpose.ANSWER
    priority: Priority = Priority.ANSWER
    member_id: int | None = None
    discussion_id: int | None = None
    template: TemplateHint | None = None
    # The outbox row carrying it: the same on every try, before and after a restart.
    row: int | None = None
    # When the person last wrote on this platform (Unix time), as the bot knows it.
    last_seen_at: float | None = None
    # An edit that changes only the buttons under a message already sent (its text stays as
    # it was): a platform that can change just those does so (Telegram's editMessageReplyMarkup).
    keeps_text: bool = False


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


@dataclass(frozen=True)
class OutsideWindow:
    """The platform only lets the bot write first within a time after the person's last
    message (WhatsApp: 24 hours) and had no template for this: the message waits, with the
    rest of the person's queue, until they write again."""

    reason: str


DeliveryResult = Sent | RetryLater | Undeliverable | OutsideWindow


class DeliveryStatus(StrEnum):
    """What a platform reports later about a message it had accepted (WhatsApp's status
    callbacks)."""

    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"  # not delivered this time
    UNDELIVERABLE = "undeliverable"  # never deliverable to this person (not on the platform)
    OUTSIDE_WINDOW = "outside_window"  # refused after all for the service window: it waits


@dataclass(frozen=True)
class DeliveryReport:
    platform: str
    message_id: str  # the platform's id, as returned in Sent
    status: DeliveryStatus
    reason: str = ""


@dataclass(frozen=True)
class Capabilities:
    """What a platform can show. The core reads these when it composes, so nothing it sends
    is cut or refused later."""

    max_text: int
    max_buttons: int
    max_button_label: int
    can_edit: bool
    can_reply_to: bool
    # A toast for a button press's Notice (else the core says it as a message, if needed).
    can_toast: bool = False
    # Forms (modals) for a Prompt (else the question is asked in the chat).
    can_open_forms: bool = False
    # The longest text of a message that carries buttons, when shorter than max_text.
    max_text_with_buttons: int | None = None
    # Seconds after a person's last message during which the bot may write freely.
    service_window: float | None = None
    # Sends per second the platform allows for the whole bot; seconds between two messages
    # to one person's chat, and to a group (an Address without a user_id).
    messages_per_second: float = 30.0
    per_chat_interval: float = 1.0
    group_interval: float = 1.0
    # How people call the platform ("WhatsApp"), when not its name capitalised.
    display_name: str = ""
    # Files (a Message's document) can be sent; else the core puts what it holds in the text.
    can_send_documents: bool = False
    # The longest document the platform accepts, in bytes.
    max_document_bytes: int = 20_000_000
    # False for a workspace that answers the person using it but is no way to reach members
    # (the facilitators' dashboard): cards and broadcasts never go there.
    reaches_members: bool = True

    @property
    def text_with_buttons(self) -> int:
        return self.max_text_with_buttons or self.max_text


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
    """The core's immediate answer to an event: kept (and to be handled in a moment), or
    refused at the door with a reason the adapter may show (a flood)."""

    accepted: bool = True
    refusal: str | None = None


@dataclass(frozen=True)
class TranscriptEntry:
    """One message of a person's conversation with the bot, for pages that show history."""

    from_bot: bool
    message_id: str
    message: Outgoing
    at: float  # Unix time


@dataclass(frozen=True)
class Words:
    """An adapter's own words (a page's labels) in a reader's language, from the core's
    catalogs; `language` is the one used (the community's default when the reader's is not
    offered)."""

    language: str
    right_to_left: bool
    texts: tuple[str, ...]


@runtime_checkable
class Inbox(Protocol):
    """The core's entry point, as an adapter sees it."""

    async def handle(self, event: Incoming) -> Acknowledgement:
        """Keep the event and return at once; the core handles it right after, in order
        with the same person's other events."""
        ...

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

    async def report(self, report: DeliveryReport) -> None:
        """What became of a message the platform had accepted."""
        ...

    async def words(self, language: str, messages: Sequence[str]) -> Words:
        """The adapter's own words (English msgids, marked for the catalogs) in a language."""
        ...

    @property
    def workspace(self) -> "Workspace":
        """What the facilitators' dashboard reads."""
        ...


@runtime_checkable
class Adapter(Protocol):
    platform: str
    capabilities: Capabilities

    async def start(self, inbox: Inbox) -> None:
        """Begin receiving events and handing them to `inbox`. Returns once running."""
        ...

    async def stop(self) -> None: ...

    async def send(self, envelope: Envelope) -> DeliveryResult: ...

    async def edit(self, envelope: Envelope, message_id: str) -> DeliveryResult: ...


@runtime_checkable
class Polled(Protocol):
    """An adapter that may ask its platform for updates, which allows one asker at a time: of
    several workers on one database, only the leader polls."""

    @property
    def polls(self) -> bool:
        """True when it is set to poll (rather than take a webhook's posts)."""
        ...

    async def poll(self, on: bool) -> None:
        """Start or stop polling; before `start`, whether `start` begins to."""
        ...


@dataclass(frozen=True)
class PlatformContext:
    """What an adapter is told about the community when it is built."""

    languages: tuple[str, ...] = ("en",)
    default_language: str = "en"
    community_name: str = ""
    # What the adapters of one process share among themselves (one web server for the web
    # chat and the dashboard); the core never looks inside.
    shared: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


# --- the facilitators' workspace: what the dashboard reads -----------------------------------


@dataclass(frozen=True)
class Viewer:
    """A facilitator using the dashboard, as the core knows them right now."""

    member_id: int
    name: str
    language: str


@dataclass(frozen=True)
class Profile:
    number: int
    name: str
    organization: str
    country: str
    topics: tuple[str, ...]
    language: str  # its name, in the viewer's language
    platforms: tuple[str, ...]
    joined: str
    status: str  # in the viewer's language
    muted: bool
    asked: int = 0


@dataclass(frozen=True)
class Found:
    """A published consolidated reply found in the archive."""

    number: int
    title: str
    snippet: str
    published: str


@dataclass(frozen=True)
class QueueItem:
    """A question waiting for approval: its card (with the actions) and who asked."""

    number: int
    card: Card
    asker: Profile
    waiting: str  # since when, said in the viewer's language
    similar: tuple[Found, ...] = ()
    # The Reject button's token: the dashboard asks for the reason first, from `reasons` or
    # written, and sends it as the answer the core asks for.
    reject: str = ""
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReplySeen:
    author: str
    text: str
    when: str


@dataclass(frozen=True)
class OpenDiscussion:
    number: int
    card: Card
    replies: tuple[ReplySeen, ...]
    deadline: str
    reminder: str


@dataclass(frozen=True)
class DraftDesk:
    """A consolidated reply to publish: its card, the texts to edit, and the tokens of the
    actions that save them (pressed, then the new text sent)."""

    number: int
    card: Card
    key_points: str
    whole_text: str
    preview: Message
    edit_key_points: str
    edit_whole_text: str


class Workspace(Protocol):
    """The core's side of the dashboard. Every call checks the viewer is a facilitator at that
    moment; every action goes through the core's own buttons and commands, as on a chat."""

    async def redeem(self, token: str, now: float) -> Viewer | None:
        """The facilitator a one-time sign-in link was made for, once and while it is valid."""
        ...

    async def viewer(self, member_id: int) -> Viewer | None: ...

    async def demo_viewers(self) -> list[Viewer]: ...

    async def queue(self, viewer: Viewer) -> list[QueueItem]: ...

    async def discussions(self, viewer: Viewer) -> list[OpenDiscussion]: ...

    async def drafts(self, viewer: Viewer) -> list[DraftDesk]: ...

    async def archive(self, viewer: Viewer, query: str) -> list[tuple[Found, Rows]]: ...

    async def members(self, viewer: Viewer, filters: Mapping[str, str]) -> list[Profile]: ...

    def watch(self, changed: Callable[[], None]) -> None:
        """Call `changed` whenever something a page shows may have changed."""
        ...


class PlatformPlugin(Protocol):
    """A platform as the composition root sees it: each adapter module exports one."""

    name: str

    def read_settings(self, section: "Section") -> Any:
        """The adapter's own settings from its section of the configuration file; each
        problem a ConfigError naming the key."""
        ...

    def build(self, settings: Any, context: PlatformContext) -> Adapter: ...

    async def check_online(self, settings: Any) -> str | None:
        """None when the platform's API answers with these settings, else one line."""
        ...

    def normalise_user_id(self, raw: str) -> str:
        """A user id as written in `[facilitators]`, in the form the platform sends."""
        ...

    def facilitators_room(self, settings: Any) -> Address | None:
        """The facilitators' shared group on this platform, when one is set."""
        ...
