"""One event being handled: who it is from, what they speak, and how the core answers.

Use cases receive a `Turn`; everything they say goes through the outbox, inside the
transaction that handles the event, so an answer is never sent for a change that did not
happen and a change never happens without its answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, Sequence

from bot.clock import Clock
from bot.config import CommunitySettings, FacilitatorSettings
from bot.domain.discussions import Discussion
from bot.domain.members import Member
from bot.domain.refusal import Refusal
from bot.ports import Address, Button, Outgoing, Span
from bot.services.archive import Archive
from bot.services.buttons import ButtonCodec
from bot.services.conversation import Conversation, ConversationStore, InboundLog, UnitOfWork
from bot.services.discussions import DiscussionStore
from bot.services.members import MemberStore, Recipient
from bot.services.outbox import Envelope, Outbox, Priority
from bot.texts.catalog import Texts, Translator

if TYPE_CHECKING:
    from bot.services.consolidation import DraftStore

Part = str | Span


class LanguageDetection(Protocol):
    def detect(self, text: str) -> str: ...


class Schedule(Protocol):
    """Plans each open discussion's deadline and reminder."""

    def schedule(self, discussion: Discussion) -> None: ...

    def cancel(self, discussion_id: int) -> None: ...


class BroadcastWatch(Protocol):
    def watch(self, discussion_id: int) -> None:
        """Report this discussion's broadcast on its cards until it is done."""
        ...


class Waker(Protocol):
    """The delivery engine, as the core sees it."""

    def wake(self, platform: str | None = None) -> None: ...

    async def wake_person(self, address: Address) -> None: ...


@dataclass
class Services:
    """Everything the use cases work with, wired once by bot/app.py."""

    members: MemberStore
    discussions: DiscussionStore
    conversations: ConversationStore
    outbox: Outbox
    inbound: InboundLog
    database: UnitOfWork
    texts: Texts
    community: CommunitySettings
    facilitators: FacilitatorSettings
    codec: ButtonCodec
    clock: Clock
    waker: Waker
    detector: LanguageDetection
    drafts: "DraftStore"
    archive: Archive
    deadlines: Schedule
    # platform -> the facilitators' group there, which gets the cards instead of each facilitator
    rooms: dict[str, Address] = field(default_factory=dict)
    # Set once the progress reporter (which needs these services) exists.
    broadcasts: BroadcastWatch | None = None

    def translator(self, language: str) -> Translator:
        return self.texts.for_language(language or self.community.default_language)

    async def send(
        self,
        recipients: Sequence[Recipient],
        compose: "Compose",
        priority: Priority,
        purpose: str,
        discussion_id: int | None = None,
    ) -> list[tuple[Recipient, int]]:
        """One message to each recipient, each in their own language."""
        by_language: dict[str, Outgoing] = {}
        envelopes = []
        for recipient in recipients:
            language = recipient.language or self.community.default_language
            if language not in by_language:
                by_language[language] = compose(self.translator(language))
            envelopes.append(
                Envelope(
                    to=recipient.address,
                    message=by_language[language],
                    priority=priority,
                    purpose=purpose,
                    member_id=recipient.member_id,
                    discussion_id=discussion_id,
                )
            )
        ids = await self.outbox.enqueue(envelopes)
        return list(zip(recipients, ids))


class Compose(Protocol):
    def __call__(self, t: Translator) -> Outgoing: ...


@dataclass
class Turn:
    services: Services
    member: Member
    origin: Address
    t: Translator
    notice: str | None = None
    refused: bool = False
    # True when this event is the first the bot ever got from this person.
    is_new: bool = False

    @property
    def now(self) -> float:
        return self.services.clock.now()

    async def say(self, *parts: Part, buttons: Sequence[Sequence[Button]] = (), reply_to: str | None = None) -> int:
        """Answer the person where they wrote from."""
        message = compose(*parts, buttons=buttons, reply_to=reply_to)
        [row] = await self.services.outbox.enqueue(
            [Envelope(to=self.origin, message=message, priority=Priority.ANSWER, member_id=self.member.id)]
        )
        return row

    async def refuse(self, refusal: Refusal) -> None:
        """Tell the person why not; for a button press also as its short notice."""
        text = self.t(refusal.reason, **refusal.params)
        self.refused = True
        self.notice = text
        await self.say(text)

    async def wait_for(self, step: str, **data: object) -> None:
        await self.services.conversations.set(self.member.id, Conversation(step, dict(data)), self.now)

    async def stop_waiting(self) -> None:
        await self.services.conversations.clear(self.member.id)

    def button(self, label: str, action: str, subject: int, arg: str = "") -> Button:
        return Button(label, self.services.codec.encode(action, subject, arg))


def compose(*parts: Part, buttons: Sequence[Sequence[Button]] = (), reply_to: str | None = None) -> Outgoing:
    spans = tuple(part if isinstance(part, Span) else Span(part) for part in parts if part)
    return Outgoing(spans=spans, buttons=tuple(tuple(row) for row in buttons if row), reply_to=reply_to)


def bold(text: str) -> Span:
    return Span(text, bold=True)


def italic(text: str) -> Span:
    return Span(text, italic=True)
