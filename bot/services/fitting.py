"""Fitting a message to what a platform can show, when the core composes it: button labels
within the platform's length (the button's short label first), no more buttons than it
takes, and a card within one message (its body shortened, with the card's own word on where
to read the rest), since a card is edited in place and an edit cannot be split. Other long
messages are the adapter's to split: it knows where its messages may break and puts the
buttons under the last part."""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.ports import Button, Capabilities, Card, Message, Notice, Outgoing, Prompt, Rows, Span

log = logging.getLogger(__name__)

ELLIPSIS = "…"


def fit(message: Outgoing, capabilities: Capabilities) -> Outgoing:
    if isinstance(message, Notice):
        return message
    buttons = fit_buttons(message.buttons, capabilities)
    if isinstance(message, Card):
        return _fit_card(replace(message, buttons=buttons), capabilities)
    if isinstance(message, Prompt):
        return replace(message, buttons=buttons)
    message = replace(message, buttons=buttons, reply_to=message.reply_to if capabilities.can_reply_to else None)
    return _fit_document(message, capabilities)


def _fit_document(message: Message, capabilities: Capabilities) -> Message:
    """A platform that cannot take the file gets what it holds in the text (the adapter splits
    a long text), so that the person still has all of it."""
    document = message.document
    if document is None or (capabilities.can_send_documents and len(document.data) <= capabilities.max_document_bytes):
        return message
    content = document.data.decode("utf-8", errors="replace")
    return replace(message, document=None, spans=(*message.spans, Span("\n\n"), Span(content, code=True)))


def fit_label(button: Button, limit: int) -> Button:
    if len(button.label) <= limit:
        return button
    if button.short and len(button.short) <= limit:
        return replace(button, label=button.short)
    return replace(button, label=_cut(button.short or button.label, limit))


def fit_buttons(rows: Rows, capabilities: Capabilities) -> Rows:
    fitted: list[tuple[Button, ...]] = []
    room = capabilities.max_buttons
    for row in rows:
        kept = tuple(fit_label(button, capabilities.max_button_label) for button in row[:room])
        room -= len(kept)
        if kept:
            fitted.append(kept)
    dropped = sum(len(row) for row in rows) - sum(len(row) for row in fitted)
    if dropped:
        # The core lists a message's actions most important first; this is a design slip to fix.
        log.warning("%s button(s) left out: the platform shows at most %s", dropped, capabilities.max_buttons)
    return tuple(fitted)


def _fit_card(card: Card, capabilities: Capabilities) -> Card:
    limit = capabilities.text_with_buttons if card.buttons else capabilities.max_text
    if len(card.text) <= limit:
        return card
    room = limit - (len(card.text) - sum(len(span.text) for span in card.body)) - len(card.more) - 2
    body = _shorten(card.body, max(room, 0))
    if card.more:
        body = (*body, Span("\n" + card.more, italic=True))
    return replace(card, body=body)


def _shorten(spans: tuple[Span, ...], limit: int) -> tuple[Span, ...]:
    """The spans cut to `limit` characters in all, at a word, ending with an ellipsis."""
    if sum(len(span.text) for span in spans) <= limit:
        return spans
    kept: list[Span] = []
    room = max(limit - len(ELLIPSIS), 0)
    for span in spans:
        if len(span.text) <= room:
            kept.append(span)
            room -= len(span.text)
            continue
        if room > 0:
            kept.append(replace(span, text=_cut(span.text, room + len(ELLIPSIS))))
        else:
            kept.append(Span(ELLIPSIS))
        break
    return tuple(kept)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = text[: max(limit - len(ELLIPSIS), 0)]
    at_word = head.rsplit(" ", 1)[0] if " " in head[len(head) // 2:] else head
    return at_word.rstrip(" ,;:.") + ELLIPSIS
