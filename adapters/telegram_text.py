"""The core's messages as Telegram HTML, split into parts of at most 4,096 characters.

The visible text is split first (at a paragraph, else a sentence, else a space) and each part
is rendered on its own, so a part never ends inside a word, a tag or an entity, and every
member-written span is escaped.
"""

from __future__ import annotations

import html
import re

from bot.ports import Span

MAX_TEXT = 4096
_SENTENCE_END = re.compile(r"[.!?؟。！？]['\"”’)\]]*\s")


def utf16_length(text: str) -> int:
    """Telegram counts text length in UTF-16 code units (an emoji may count twice)."""
    return len(text.encode("utf-16-le")) // 2


def render_parts(spans: tuple[Span, ...], limit: int = MAX_TEXT) -> list[str]:
    full = "".join(span.text for span in spans)
    return [render(_slice(spans, start, end)) for start, end in split_points(full, limit)]


def render(spans: list[Span] | tuple[Span, ...]) -> str:
    out = []
    for span in spans:
        text = html.escape(span.text, quote=False)
        if span.code:
            text = f"<pre>{text}</pre>"
        if span.link:
            text = f'<a href="{html.escape(span.link, quote=True)}">{text}</a>'
        if span.italic:
            text = f"<i>{text}</i>"
        if span.bold:
            text = f"<b>{text}</b>"
        out.append(text)
    return "".join(out)


def split_points(text: str, limit: int = MAX_TEXT) -> list[tuple[int, int]]:
    """(start, end) ranges of the text, each at most `limit` UTF-16 units long."""
    ranges, start = [], 0
    while start < len(text):
        end = _fits(text, start, limit)
        if end < len(text):
            end = _boundary(text, start, end)
        ranges.append((start, end))
        start = end
        while start < len(text) and text[start] in " \n":
            start += 1  # a part does not begin with the space or blank line it was cut at
    return ranges or [(0, 0)]


def _fits(text: str, start: int, limit: int) -> int:
    """The furthest end such that text[start:end] fits in `limit` UTF-16 units."""
    end = min(len(text), start + limit)
    while utf16_length(text[start:end]) > limit:
        end -= max(1, (utf16_length(text[start:end]) - limit) // 2)
    return end


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
    return end  # one word longer than a message: nothing else to do


def _slice(spans: tuple[Span, ...], start: int, end: int) -> list[Span]:
    out, position = [], 0
    for span in spans:
        span_start, span_end = position, position + len(span.text)
        position = span_end
        low, high = max(start, span_start), min(end, span_end)
        if low < high:
            piece = span.text[low - span_start:high - span_start]
            if low == start:
                piece = piece.lstrip(" \n") if not out else piece
            out.append(Span(piece, span.bold, span.italic, span.link, span.code))
    while out and not out[-1].text.strip():
        out.pop()
    if out:
        out[-1] = Span(out[-1].text.rstrip(), out[-1].bold, out[-1].italic, out[-1].link, out[-1].code)
    return [span for span in out if span.text]
