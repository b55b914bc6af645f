"""The outbox: every message the bot sends is written here first, one row per recipient.

The core only enqueues; the delivery engine (`bot.services.delivery`) takes rows in priority
order and hands them to each platform's adapter. Storage implements `Outbox`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol, Sequence

from bot.ports import Address, Button, Outgoing, Span, TranscriptEntry


class Priority(IntEnum):
    """Lower goes first: a person waiting for an answer never waits behind a broadcast."""

    ANSWER = 0
    CARD = 1
    BROADCAST = 2


@dataclass(frozen=True)
class Envelope:
    """One message for one recipient."""

    to: Address
    message: Outgoing
    priority: Priority = Priority.ANSWER
    purpose: str = "answer"  # answer, card, broadcast, reminder, digest, consolidated, ...
    member_id: int | None = None
    discussion_id: int | None = None


@dataclass(frozen=True)
class QueuedMessage:
    """A row the delivery engine is about to send. `edit_of_message_id` is set when the row
    edits a message already sent (the platform's id of that message)."""

    id: int
    to: Address
    message: Outgoing
    priority: Priority
    purpose: str
    member_id: int | None
    discussion_id: int | None
    attempts: int
    edit_of_message_id: str | None = None


@dataclass(frozen=True)
class SentMessage:
    """Where a message went, once sent: to recognise a reply made with the platform's reply-to."""

    outbox_id: int
    member_id: int | None
    purpose: str
    discussion_id: int | None


class Outbox(Protocol):
    async def enqueue(self, envelopes: Sequence[Envelope]) -> list[int]:
        """Write the rows (in the caller's transaction when there is one); returns their ids."""
        ...

    async def enqueue_edit(self, original_id: int, message: Outgoing) -> int:
        """Replace the message of row `original_id`: in place while it is still queued,
        else as a new row that edits the sent message. Returns the row that will carry it."""
        ...

    async def find_sent(self, recipient: Address, message_id: str) -> SentMessage | None:
        """The row sent to this person (same platform and user) whose message, or one of its
        parts, has this platform id. Platforms such as Telegram number messages per chat, so
        the id alone is not enough."""
        ...

    async def transcript(self, address: Address, limit: int) -> list[TranscriptEntry]: ...

    async def counts(self, discussion_id: int, purpose: str) -> dict[str, int]:
        """Rows by state ("queued", "sent", "skipped", and "failed:<reason>" per reason)."""
        ...

    async def broadcasting(self) -> list[int]:
        """Discussions with broadcast rows still queued."""
        ...


# --- the row body: an Outgoing as JSON -----------------------------------------------------


def encode_message(message: Outgoing) -> str:
    return json.dumps(
        {
            "spans": [_encode_span(span) for span in message.spans],
            "buttons": [[[button.label, button.token] for button in row] for row in message.buttons],
            "reply_to": message.reply_to,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def decode_message(body: str) -> Outgoing:
    data = json.loads(body)
    return Outgoing(
        spans=tuple(
            Span(text=s["t"], bold=s.get("b", False), italic=s.get("i", False), link=s.get("l"))
            for s in data["spans"]
        ),
        buttons=tuple(tuple(Button(label, token) for label, token in row) for row in data["buttons"]),
        reply_to=data.get("reply_to"),
    )


def _encode_span(span: Span) -> dict[str, Any]:
    encoded: dict[str, Any] = {"t": span.text}
    if span.bold:
        encoded["b"] = True
    if span.italic:
        encoded["i"] = True
    if span.link:
        encoded["l"] = span.link
    return encoded
