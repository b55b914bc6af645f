"""`facilitator archive import FILE`: consolidated replies from another archive (JSON Lines,
one reply a line) become published discussions, searchable at once. A line with an error is
reported by its number and skipped, the rest imported; the same ids again change nothing."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Protocol

from bot.services.archive import ArchivedReply

_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ImportingArchive(Protocol):
    async def import_reply(self, reply: ArchivedReply, source_id: str, now: float) -> int | None:
        """The new reply's number, or None when one with that source id is there already."""
        ...


@dataclass(frozen=True)
class ImportedLine:
    source_id: str
    reply: ArchivedReply


@dataclass
class ImportReport:
    imported: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)


def read_line(text: str, default_language: str, now: float) -> ImportedLine | str:
    """One line of the file as a reply to import, or the reason it cannot be."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return f"bad JSON ({error.msg} at column {error.colno})"
    if not isinstance(data, dict):
        return "bad JSON (expected an object: {\"title\": ..., \"body\": ...})"
    title, body = data.get("title"), data.get("body")
    if not isinstance(title, str) or not title.strip():
        return "missing title"
    if not isinstance(body, str) or not body.strip():
        return "missing body"
    optional = {name: data.get(name) for name in ("question", "summary", "language", "published")}
    for name, value in optional.items():
        if value is not None and not isinstance(value, str):
            return f"{name} must be text"
    language = (optional["language"] or default_language).strip().lower()
    if not _LANGUAGE.match(language):
        return f"bad language {language!r} (expected a code such as en, fr, es)"
    published = _date(optional["published"], now)
    if published is None:
        return f"bad date {optional['published']!r} (expected YYYY-MM-DD)"
    tags = data.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)):
        return "tags must be a list of words"
    source = data.get("id")
    if isinstance(source, bool) or (source is not None and not isinstance(source, (str, int))):
        return "id must be text or a number"
    if source is None or not str(source).strip():
        # Without an id, the reply's own words identify it: importing the file again still changes nothing.
        source = "sha256:" + hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()[:24]
    reply = ArchivedReply(0, " ".join(title.split()), (optional["question"] or title).strip(),
                          (optional["summary"] or "").strip(), body.strip(), language, published)
    return ImportedLine(str(source).strip(), reply)


async def import_archive(lines: Iterable[str], archive: ImportingArchive, default_language: str, now: float,
                         progress: Callable[[int], Any] = lambda done: None) -> ImportReport:
    report = ImportReport()
    for number, text in enumerate(lines, start=1):
        progress(1)
        if not text.strip():
            continue
        line = read_line(text, default_language, now)
        if isinstance(line, str):
            report.errors.append((number, line))
            continue
        if await archive.import_reply(line.reply, line.source_id, now) is None:
            report.unchanged += 1
        else:
            report.imported += 1
    return report


def _date(text: str | None, now: float) -> float | None:
    if text is None or not text.strip():
        return now
    if not _DATE.match(text.strip()):
        return None
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None
