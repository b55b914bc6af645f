"""The outbox: every message the bot sends is written here first, one row per recipient.

The core only enqueues; the delivery engine (`bot.services.delivery`) takes rows in priority
order and hands them to each platform's adapter. Storage implements `Outbox`; the row's body
is the message (of any kind) and its template hint, as JSON.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence

from bot.ports import (
    Address, Button, Card, DeliveryReport, Document, Envelope, Field, Message, Notice, Outgoing, Priority, Prompt, Purpose,
    Span, Style, TemplateHint, TranscriptEntry,
)


@dataclass(frozen=True)
class QueuedMessage:
    """A row the delivery engine is about to send. `edit_of_message_id` is set when the row
    edits a message already sent (the platform's id of that message)."""

    id: int
    envelope: Envelope
    attempts: int
    edit_of_message_id: str | None = None

    @property
    def to(self) -> Address:
        return self.envelope.to


@dataclass(frozen=True)
class SentMessage:
    """A message once sent, found again by the platform's id: to recognise a reply made
    with the platform's reply-to."""

    outbox_id: int
    member_id: int | None
    purpose: str
    discussion_id: int | None
    message: Outgoing


@dataclass(frozen=True)
class MessageCopy:
    """One recipient's copy of a message about a discussion, as it reads now (its latest
    edit, sent or still to go)."""

    row: int
    to: Address
    message: Outgoing


@dataclass(frozen=True)
class CardCopy:
    """One facilitator's (or group's) copy of a card: where it went, in which language."""

    row: int
    language: str
    to: Address
    member_id: int | None


@dataclass(frozen=True)
class BroadcastPlan:
    """A message to every member who receives broadcasts at once, but those excluded: one
    composed message per (language, platform); members in another language get the
    default language's."""

    purpose: Purpose
    priority: Priority
    discussion_id: int | None
    messages: Mapping[tuple[str, str], tuple[Outgoing, TemplateHint | None]]
    default_language: str
    exclude: tuple[int, ...] = ()
    platforms: tuple[str, ...] = ()  # the platforms served; () for every one


class Outbox(Protocol):
    async def enqueue(self, envelopes: Sequence[Envelope]) -> list[int]:
        """Write the rows (in the caller's transaction when there is one); returns their ids."""
        ...

    async def enqueue_edit(self, original_id: int, message: Outgoing, keeps_text: bool = False) -> int:
        """Replace the message of row `original_id`: in place while it is still queued,
        else as a new row that edits the sent message. Returns the row that will carry it.
        `keeps_text`: only the buttons change (see Envelope.keeps_text)."""
        ...

    async def enqueue_edits(self, edits: Sequence[tuple[int, Outgoing]], keeps_text: bool = False) -> None:
        """Many edits at once, as `enqueue_edit` does each (a broadcast's copies)."""
        ...

    async def copies(self, discussion_id: int, purposes: Sequence[str]) -> list[MessageCopy]:
        """Every copy of the messages of these purposes about the discussion that was sent or
        is still to go (not those given up), each as it reads now."""
        ...

    async def find_sent(self, recipient: Address, message_id: str) -> SentMessage | None:
        """The row sent to this person (same platform and user) whose message, or one of its
        parts, has this platform id. Platforms such as Telegram number messages per chat, so
        the id alone is not enough."""
        ...

    async def transcript(self, address: Address, limit: int) -> list[TranscriptEntry]: ...

    async def counts(self, discussion_id: int, purpose: str) -> dict[str, int]:
        """Rows by state ("queued", "sent", "skipped", "waiting" for the person to write,
        and "failed:<reason>" per reason)."""
        ...

    async def broadcasting(self) -> list[int]:
        """Discussions with broadcast rows still queued (not those waiting for a person)."""
        ...

    async def confirmations(self, discussion_id: int, purpose: str) -> tuple[int, int]:
        """(delivered, read) as the platforms reported them, for platforms that report."""
        ...

    async def record_report(self, report: DeliveryReport, now: float, max_attempts: int) -> Address | None:
        """Apply a platform's later report to the row that carried the message; its address."""
        ...

    async def skip_queued_for(self, platform: str, user_id: str, reason: str) -> int: ...

    async def audience_keys(self) -> set[tuple[str, str]]:
        """The (language, platform) pairs of the members a broadcast may reach."""
        ...

    async def plan_broadcast(self, plan: BroadcastPlan) -> int:
        """Keep the plan, in the caller's transaction; how many members it is for. Its rows
        are written later, batch by batch (`write_batch`)."""
        ...

    async def unwritten_plans(self) -> list[int]: ...

    async def write_batch(self, plan_id: int, members: int) -> bool:
        """Write the rows of the plan's next members, in a transaction of its own; True when
        the plan is done."""
        ...

    async def settle(self) -> None:
        """Give back the space a large write took in the write-ahead log."""
        ...


# --- the row body: a message of any kind, and its template hint, as JSON -------------------


def encode_body(message: Outgoing, template: TemplateHint | None = None, keeps_text: bool = False) -> str:
    body: dict[str, Any]
    if isinstance(message, Message):
        body = {"spans": _spans(message.spans), "buttons": _rows(message.buttons), "reply_to": message.reply_to}
        if message.title:
            body["title"] = message.title
        if message.document is not None:
            document = message.document
            body["document"] = {"name": document.filename, "type": document.content_type,
                                "data": base64.b64encode(document.data).decode("ascii")}
    elif isinstance(message, Card):
        body = {"kind": "card", "title": message.title, "status": message.status, "more": message.more,
                "fields": [[f.label, f.value] for f in message.fields], "body": _spans(message.body),
                "buttons": _rows(message.buttons)}
    elif isinstance(message, Prompt):
        body = {"kind": "prompt", "question": _spans(message.question), "label": message.label,
                "token": message.token, "prefill": message.prefill, "submit": message.submit,
                "buttons": _rows(message.buttons), "multiline": message.multiline,
                "interaction": message.interaction}
        if message.insert_label:
            body["insert_label"] = message.insert_label
    else:
        body = {"kind": "notice", "text": message.text, "interaction": message.interaction,
                "refused": message.refused}
    if template is not None:
        body["template"] = {"preview": template.preview, "button": _button(template.button)}
    if keeps_text:
        body["keeps_text"] = True
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def body_keeps_text(text: str) -> bool:
    """Whether a row's body is an edit of the buttons alone."""
    return bool(json.loads(text).get("keeps_text"))


def decode_body(text: str) -> tuple[Outgoing, TemplateHint | None]:
    data = json.loads(text)
    kind = data.get("kind", "message")
    message: Outgoing
    if kind == "card":
        message = Card(title=data["title"], status=data.get("status", ""), more=data.get("more", ""),
                       fields=tuple(Field(label, value) for label, value in data["fields"]),
                       body=_decode_spans(data["body"]), buttons=_decode_rows(data["buttons"]))
    elif kind == "prompt":
        message = Prompt(question=_decode_spans(data["question"]), label=data["label"], token=data["token"],
                         prefill=data.get("prefill", ""), submit=data.get("submit", "Send"),
                         buttons=_decode_rows(data["buttons"]), multiline=data.get("multiline", True),
                         interaction=data.get("interaction"), insert_label=data.get("insert_label", ""))
    elif kind == "notice":
        message = Notice(data["text"], data["interaction"], data.get("refused", False))
    else:
        document = data.get("document")
        message = Message(spans=_decode_spans(data["spans"]), buttons=_decode_rows(data["buttons"]),
                          reply_to=data.get("reply_to"), title=data.get("title", ""),
                          document=Document(document["name"], document["type"], base64.b64decode(document["data"]))
                          if document else None)
    template = data.get("template")
    hint = TemplateHint(template["preview"], _decode_button(template["button"])) if template else None
    return message, hint


def decode_message(text: str) -> Outgoing:
    return decode_body(text)[0]


def _spans(spans: Sequence[Span]) -> list[dict[str, Any]]:
    encoded = []
    for span in spans:
        item: dict[str, Any] = {"t": span.text}
        for key, on in (("b", span.bold), ("i", span.italic), ("c", span.code)):
            if on:
                item[key] = True
        if span.link:
            item["l"] = span.link
        encoded.append(item)
    return encoded


def _decode_spans(items: list[dict[str, Any]]) -> tuple[Span, ...]:
    return tuple(Span(text=s["t"], bold=s.get("b", False), italic=s.get("i", False), link=s.get("l"),
                      code=s.get("c", False)) for s in items)


def _button(button: Button) -> list[str]:
    return [button.label, button.token, button.style.value, button.short]


def _decode_button(item: list[str]) -> Button:
    label, token, *rest = item
    style = Style(rest[0]) if rest else Style.DEFAULT
    return Button(label, token, style, rest[1] if len(rest) > 1 else "")


def _rows(rows: Sequence[Sequence[Button]]) -> list[list[list[str]]]:
    return [[_button(button) for button in row] for row in rows]


def _decode_rows(rows: list[list[list[str]]]) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(_decode_button(item) for item in row) for row in rows)


class Waker(Protocol):
    """The delivery engine, as the core sees it: new rows are waiting."""

    def wake(self, platform: str | None = None) -> None: ...

    async def wake_person(self, address: Address) -> None:
        """The person wrote or came back: what waited for them (a closed service window, a
        closed page) goes now."""
        ...
