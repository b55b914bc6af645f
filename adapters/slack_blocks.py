"""The core's messages as Slack Block Kit, and Slack's text back as plain text.

Every text is escaped for mrkdwn (`&`, `<`, `>`), so a member who writes `<!channel>` or a
link in Slack's own syntax shows it as typed and notifies nobody. Long texts become several
sections of at most 3,000 characters, cut at a paragraph, a sentence or a space; more than 50
blocks become several messages, the buttons under the last. Each message carries a plain
`text` for notifications and for clients that show no blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

from bot.ports import Button, Card, Outgoing, Prompt, Rows, Span, Style

MAX_SECTION = 3000  # characters of one section's text
MAX_BLOCKS = 50  # blocks of one message
MAX_VIEW_BLOCKS = 100  # blocks of a modal or of the App Home
MAX_FALLBACK = 3000  # the notification text: its beginning is enough
MAX_BUTTON_TEXT = 75
MAX_BUTTONS_PER_ROW = 25  # elements of one actions block
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_CONTEXT_TEXT = 2000
MAX_TITLE = 24  # a modal's title and submit label
MAX_LABEL = 2000
MAX_INPUT = 3000  # a text input's initial value and length
PRESS = "press:"  # action ids of the core's buttons: press:<row>:<column>
PROMPT_CALLBACK = "facilitator-prompt"
ANSWER_BLOCK, ANSWER_ACTION = "answer", "text"
ELLIPSIS = "…"

Block = dict[str, Any]
_SENTENCE_END = re.compile(r"[.!?؟。！？]['\"”’)\]]*\s")
_CONTROL = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")


@dataclass(frozen=True)
class Part:
    """One Slack message: its blocks and the plain text shown in notifications."""

    blocks: list[Block]
    text: str


# --- mrkdwn ----------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Slack's three control characters; `&` first so the others are not escaped twice."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(spans: Sequence[Span]) -> str:
    return "".join(_render(span) for span in spans)


def _render(span: Span) -> str:
    text = escape(span.text)
    if span.code:
        # A code block shows the text as it is, ready to copy; backticks inside would end it.
        return f"```{text.replace('```', 'ˋˋˋ')}```" if text.strip() else text
    if span.link:
        target = escape(span.link).replace("|", "%7C")
        text = f"<{target}|{text}>" if text.strip() else f"<{target}>"
    if span.italic:
        text = _wrap(text, "_")
    if span.bold:
        text = _wrap(text, "*")
    return text


def _wrap(text: str, marker: str) -> str:
    """Slack styles only a run that starts and ends next to a visible character and does not
    cross a line: each line is wrapped on its own, around its visible part."""
    lines = []
    for line in text.split("\n"):
        core = line.strip()
        if not core:
            lines.append(line)
            continue
        lead = line[: len(line) - len(line.lstrip())]
        trail = line[len(line.rstrip()):]
        lines.append(f"{lead}{marker}{core}{marker}{trail}")
    return "\n".join(lines)


def plain_text(slack_text: str) -> str:
    """A text as Slack sends it (escaped, with <links|labels> and <@mentions>) as the person
    saw it."""

    def shown(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if label:
            return label
        if target.startswith("!"):
            return "@" + target[1:].split("^")[0]
        if target.startswith("mailto:"):
            return target[len("mailto:"):]
        return target

    text = _CONTROL.sub(shown, slack_text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# --- splitting ---------------------------------------------------------------------------------


def sections(spans: Sequence[Span], limit: int = MAX_SECTION) -> list[str]:
    """The spans as mrkdwn texts of at most `limit` characters each, cut where a reader
    expects a break; escaping can lengthen a piece, which is then cut again smaller."""
    return [text for text in _sections(tuple(spans), limit, limit) if text.strip()]


def _sections(spans: tuple[Span, ...], limit: int, budget: int) -> list[str]:
    whole = "".join(span.text for span in spans)
    out: list[str] = []
    for start, end in split_points(whole, budget):
        piece = _slice(spans, start, end)
        rendered = mrkdwn(piece)
        if len(rendered) <= limit:
            out.append(rendered)
        elif budget > 200:
            out.extend(_sections(tuple(piece), limit, budget // 2))
        else:  # a link longer than a section: nothing better to do than cut it
            out.append(rendered[:limit])
    return out


def split_points(text: str, limit: int) -> list[tuple[int, int]]:
    """(start, end) ranges of the text, each at most `limit` characters long."""
    ranges, start = [], 0
    while start < len(text):
        end = min(len(text), start + limit)
        if end < len(text):
            end = _boundary(text, start, end)
        ranges.append((start, end))
        start = end
        while start < len(text) and text[start] in " \n":
            start += 1  # a part does not begin with the space or blank line it was cut at
    return ranges


def _boundary(text: str, start: int, end: int) -> int:
    window = text[start:end]
    floor = len(window) // 3  # never cut so early that parts become tiny
    paragraph = window.rfind("\n\n")
    if paragraph > floor:
        return start + paragraph + 2
    sentences = [match.end() for match in _SENTENCE_END.finditer(window)]
    if sentences and sentences[-1] > floor:
        return start + sentences[-1]
    line = window.rfind("\n")
    if line > floor:
        return start + line + 1
    space = window.rfind(" ")
    if space > 0:
        return start + space + 1
    return end  # one word longer than a section


def _slice(spans: tuple[Span, ...], start: int, end: int) -> list[Span]:
    out, position = [], 0
    for span in spans:
        span_start, span_end = position, position + len(span.text)
        position = span_end
        low, high = max(start, span_start), min(end, span_end)
        if low < high:
            out.append(Span(span.text[low - span_start:high - span_start], span.bold, span.italic, span.link,
                            span.code))
    return out


def cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = text[: max(limit - len(ELLIPSIS), 0)]
    at_word = head.rsplit(" ", 1)[0] if " " in head[len(head) // 2:] else head
    return at_word.rstrip(" ,;:.") + ELLIPSIS


# --- blocks ------------------------------------------------------------------------------------


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _text_blocks(spans: Sequence[Span]) -> list[Block]:
    return [_section(text) for text in sections(spans)]


def button(row: int, column: int, pressed: Button) -> Block:
    element: Block = {"type": "button", "action_id": f"{PRESS}{row}:{column}",
                      "text": _plain(cut(pressed.label, MAX_BUTTON_TEXT)), "value": pressed.token}
    if pressed.style is Style.PRIMARY:
        element["style"] = "primary"
    elif pressed.style is Style.DANGER:
        element["style"] = "danger"
    return element


def actions(rows: Rows) -> list[Block]:
    blocks = []
    for number, row in enumerate(rows):
        elements = [button(number, column, pressed) for column, pressed in enumerate(row)]
        for start in range(0, len(elements), MAX_BUTTONS_PER_ROW):
            blocks.append({"type": "actions", "elements": elements[start:start + MAX_BUTTONS_PER_ROW]})
    return blocks


def _card_blocks(card: Card) -> list[Block]:
    blocks = _text_blocks((Span(card.title, bold=True),))
    if card.status:
        if len(escape(card.status)) <= MAX_CONTEXT_TEXT:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(card.status)}]})
        else:
            blocks += _text_blocks((Span(card.status, italic=True),))
    fields = [f"*{escape(field.label)}*\n{escape(field.value)}" for field in card.fields]
    if fields and all(len(text) <= MAX_FIELD_TEXT for text in fields):
        for start in range(0, len(fields), MAX_FIELDS):
            blocks.append({"type": "section",
                           "fields": [{"type": "mrkdwn", "text": text} for text in fields[start:start + MAX_FIELDS]]})
    elif fields:
        lines: list[Span] = []
        for field in card.fields:
            lines += [Span(f"{field.label}: ", bold=True), Span(field.value + "\n")]
        blocks += _text_blocks(lines)
    return blocks + _text_blocks(card.body)


def body_blocks(message: Outgoing) -> list[Block]:
    """The message's text as blocks, without its buttons."""
    if isinstance(message, Card):
        return _card_blocks(message)
    return _text_blocks(message.spans)


def fallback(message: Outgoing) -> str:
    return escape(cut(message.text, MAX_FALLBACK)) or " "


def message_parts(message: Outgoing) -> list[Part]:
    """The message as one Slack message, or several when it has more than 50 blocks; the
    buttons are under the last one."""
    body, buttons = body_blocks(message), actions(message.buttons)
    chunks: list[list[Block]] = []
    while len(body) + len(buttons) > MAX_BLOCKS:
        chunks.append(body[:MAX_BLOCKS])
        body = body[MAX_BLOCKS:]
    chunks.append(body + buttons)
    if len(chunks) == 1:
        return [Part(chunks[0], fallback(message))]
    return [Part(chunk, escape(cut(_visible(chunk), MAX_FALLBACK)) or " ") for chunk in chunks]


def _visible(blocks: list[Block]) -> str:
    texts = []
    for block in blocks:
        if "text" in block:
            texts.append(plain_text(block["text"]["text"]).replace("*", "").replace("_", ""))
    return "\n".join(texts)


# --- views ---------------------------------------------------------------------------------------


def modal(prompt: Prompt, metadata: str) -> Block:
    """A form with one text box for the prompt; its other answers (Skip...) as buttons."""
    element: Block = {"type": "plain_text_input", "action_id": ANSWER_ACTION, "multiline": prompt.multiline,
                      "max_length": MAX_INPUT}
    if prompt.prefill:
        element["initial_value"] = prompt.prefill
    blocks = _text_blocks(prompt.question)[: MAX_VIEW_BLOCKS - 1 - len(prompt.buttons)]
    blocks.append({"type": "input", "block_id": ANSWER_BLOCK, "label": _plain(cut(prompt.label, MAX_LABEL) or " "),
                   "element": element})
    blocks += actions(prompt.buttons)
    return {"type": "modal", "callback_id": PROMPT_CALLBACK, "title": _plain(cut(prompt.label, MAX_TITLE) or " "),
            "submit": _plain(cut(prompt.submit, MAX_TITLE) or "OK"), "private_metadata": metadata,
            "blocks": blocks}


def fits_a_form(prompt: Prompt) -> bool:
    """A text box holds at most 3,000 characters: a longer text to edit is asked in the chat."""
    return len(prompt.prefill) <= MAX_INPUT


def home_view(message: Outgoing) -> Block:
    buttons = actions(message.buttons)
    body = body_blocks(message)[: MAX_VIEW_BLOCKS - len(buttons)]
    return {"type": "home", "blocks": body + buttons}
