"""The core's messages as Cloud API requests: pure functions, no I/O.

Every kind of message is drawn as WhatsApp-formatted text (*bold*, _italic_, ```block```).
Its buttons become up to 3 reply buttons, or an interactive list for 4 to 10. A text longer
than a message holds is split at a paragraph, a line, a sentence or a word, never inside a
word when it can be helped and never losing one. An interactive message's body holds only
1,024 characters: a longer text goes first as plain messages, and the buttons follow under a
short reminder of what they answer.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Sequence

from bot.ports import Button, Message, Outgoing, Span

MAX_TEXT = 4096
MAX_INTERACTIVE_BODY = 1024
MAX_CAPTION = 1024
MAX_REPLY_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_LIST_ROWS = 10
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_LIST_BUTTON = 20
MAX_TEMPLATE_PARAMETER = 1000
REMINDER_CHARS = 120
ELLIPSIS = "…"

# The label of the button that opens a list, in the community's default language.
LIST_LABELS = {"en": "Choose", "fr": "Choisir", "es": "Elegir", "pt": "Escolher", "ar": "اختر", "sw": "Chagua",
               "ru": "Выбрать", "de": "Auswählen", "it": "Scegli", "id": "Pilih", "hi": "चुनें", "bn": "বেছে নিন"}

_SENTENCE_END = re.compile(r"[.!?…:;]\s")
Payload = dict[str, Any]


# --- text --------------------------------------------------------------------------------


def render_span(span: Span) -> str:
    """One span as WhatsApp text. Marks hug the words (WhatsApp ignores "* bold *") and are
    applied line by line, since a mark does not reach across a line break."""
    text = span.text
    if span.code:
        return f"```{text}```" if text.strip() else text
    marks = ("*" if span.bold else "") + ("_" if span.italic else "")
    if not marks:
        return text
    return "\n".join(_wrap_line(line, marks) for line in text.split("\n"))


def _wrap_line(line: str, marks: str) -> str:
    words = line.strip()
    if not words:
        return line
    lead = line[: len(line) - len(line.lstrip())]
    trail = line[len(line.rstrip()):]
    return f"{lead}{marks}{words}{marks[::-1]}{trail}"


def render(spans: Sequence[Span], marks: bool = True) -> str:
    """The spans as one text; without `marks`, plain (as the core counted its length)."""
    shown = _with_links(spans)
    if not marks:
        return "".join(span.text for span in shown).strip()
    return "".join(render_span(span) for span in shown).strip()


def split(spans: Sequence[Span], limit: int = MAX_TEXT) -> list[str]:
    """The spans as texts of at most `limit` characters each, cut at the best boundary;
    a span is cut only when it does not fit, and each piece keeps its marks."""
    parts: list[str] = []
    current = ""
    for span in _with_links(spans):
        rest = span.text
        while rest:
            rendered = render_span(replace(span, text=rest))
            if len(current) + len(rendered) <= limit:
                current += rendered
                break
            overhead = len(rendered) - len(rest)
            room = limit - len(current) - overhead
            piece, after = cut(rest, room, hard=not current.strip())
            if piece:
                current += render_span(replace(span, text=piece))
                rest = after
            parts.append(current)
            current = ""
    parts.append(current)
    return [part.strip() for part in parts if part.strip()]


def cut(text: str, room: int, hard: bool = True) -> tuple[str, str]:
    """(piece, rest): the piece at most `room` characters, ending at a paragraph, a line, a
    sentence or a word. With no boundary at all, a long word is cut only when `hard`; else
    the piece is empty and the caller starts a new message first."""
    if len(text) <= room:
        return text, ""
    if room <= 0:
        return ("", text) if not hard else (text[:1], text[1:])
    floor = room // 3
    window = text[: room + 1]
    for boundary in (_paragraphs, _lines, _sentences, _words):
        at = max((i for i in boundary(window) if floor < i <= room and text[:i].strip()), default=None)
        if at is not None:
            return text[:at].rstrip(), text[at:].lstrip()
    if not hard:
        return "", text
    return text[:room], text[room:]


def _paragraphs(text: str) -> list[int]:
    return [match.start() for match in re.finditer(r"\n\s*\n", text)]


def _lines(text: str) -> list[int]:
    return [match.start() for match in re.finditer(r"\n", text)]


def _sentences(text: str) -> list[int]:
    return [match.start() + 1 for match in _SENTENCE_END.finditer(text)]


def _words(text: str) -> list[int]:
    return [match.start() for match in re.finditer(r"\s", text)]


def _with_links(spans: Sequence[Span]) -> list[Span]:
    """WhatsApp links bare addresses by itself: a link is written out after its words."""
    shown = []
    for span in spans:
        if span.link and span.link not in span.text:
            words = span.text.strip()
            span = replace(span, text=f"{span.text} ({span.link})" if words else span.link, link=None)
        shown.append(span)
    return shown


def fit_title(label: str, limit: int) -> str:
    """A title within WhatsApp's limit, cut at a word."""
    label = " ".join(label.split())
    if len(label) <= limit:
        return label
    head = label[: limit - len(ELLIPSIS)]
    at_word = head.rsplit(" ", 1)[0] if " " in head[len(head) // 2:] else head
    return at_word.rstrip(" ,;:.") + ELLIPSIS


def reminder(text: str) -> str:
    """A short body for buttons that follow a long text: its first line, shortened."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return fit_title(first, REMINDER_CHARS) or ELLIPSIS


# --- requests ----------------------------------------------------------------------------


def draw(message: Outgoing, to: str, list_label: str = LIST_LABELS["en"]) -> list[Payload]:
    """The requests that show this message, in the order to send them."""
    spans = message.spans
    buttons = [button for row in message.buttons for button in row]
    reply_to = message.reply_to if isinstance(message, Message) else None
    if not buttons:
        requests = [text_request(to, part) for part in split(spans)] or [text_request(to, ELLIPSIS)]
    else:
        body = render(spans)
        if len(body) > MAX_INTERACTIVE_BODY:
            body = render(spans, marks=False)  # the core fitted the words, the marks added a few
        requests = []
        if len(body) > MAX_INTERACTIVE_BODY:
            requests = [text_request(to, part) for part in split(spans)]
            body = reminder("".join(span.text for span in spans))
        requests.append(interactive_request(to, body or ELLIPSIS, buttons, list_label))
    if reply_to:
        requests[0]["context"] = {"message_id": reply_to}
    return requests


def document_request(to: str, media_id: str, filename: str, caption: str = "") -> Payload:
    document: dict[str, str] = {"id": media_id, "filename": filename}
    if caption:
        document["caption"] = caption
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "document",
            "document": document}


def text_request(to: str, body: str) -> Payload:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
            "text": {"body": body, "preview_url": False}}


def interactive_request(to: str, body: str, buttons: Sequence[Button], list_label: str) -> Payload:
    if len(buttons) <= MAX_REPLY_BUTTONS:
        titles = _unique([fit_title(button.label, MAX_BUTTON_TITLE) for button in buttons], MAX_BUTTON_TITLE)
        action: Payload = {"buttons": [{"type": "reply", "reply": {"id": button.token, "title": title}}
                                       for button, title in zip(buttons, titles)]}
        kind = "button"
    else:
        rows = []
        shown = buttons[:MAX_LIST_ROWS]
        titles = _unique([fit_title(button.label, MAX_ROW_TITLE) for button in shown], MAX_ROW_TITLE)
        for button, title in zip(shown, titles):
            row: Payload = {"id": button.token, "title": title}
            if title != " ".join(button.label.split()):
                row["description"] = fit_title(button.label, MAX_ROW_DESCRIPTION)
            rows.append(row)
        action = {"button": fit_title(list_label, MAX_LIST_BUTTON), "sections": [{"rows": rows}]}
        kind = "list"
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "interactive",
            "interactive": {"type": kind, "body": {"text": body}, "action": action}}


def template_request(to: str, name: str, language: str, preview: str, payload: str) -> Payload:
    """The approved template: its one body parameter is the preview, its quick-reply button
    brings back `payload`."""
    return {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "template",
        "template": {
            "name": name, "language": {"code": language},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": template_text(preview)}]},
                {"type": "button", "sub_type": "quick_reply", "index": "0",
                 "parameters": [{"type": "payload", "payload": payload}]},
            ],
        },
    }


def template_text(text: str) -> str:
    """A template parameter: Meta refuses new lines, tabs and more than four spaces in a row."""
    flat = " ".join(text.split())
    return fit_title(flat, MAX_TEMPLATE_PARAMETER) or ELLIPSIS


def _unique(titles: list[str], limit: int) -> list[str]:
    """WhatsApp refuses two buttons with one title: a repeated one gets a number."""
    seen: dict[str, int] = {}
    unique = []
    for title in titles:
        count = seen.get(title, 0) + 1
        seen[title] = count
        if count > 1:
            suffix = f" ({count})"
            title = fit_title(title, limit - len(suffix)) + suffix
        unique.append(title)
    return unique
