"""Importing members from a CSV file, for networks that move from a mailing list or another
tool. Each row is checked on its own: a row with an error is reported by its line number and
skipped, the rest are imported; importing the same file twice changes nothing. Imported
members are active at once: they receive broadcasts and can search before ever writing."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Protocol, Sequence

from bot.domain.members import clean_field, clean_topics
from bot.domain.refusal import Refusal

COLUMNS = ("name", "organization", "country", "topics", "language", "platform", "platform_id")
PLATFORMS = ("telegram", "slack", "whatsapp", "email")
BATCH = 2000  # rows per transaction: a 100,000-row file in seconds, each batch short


@dataclass(frozen=True)
class ImportRow:
    line: int
    name: str
    organization: str
    country: str
    topics: tuple[str, ...]
    language: str
    platform: str
    platform_id: str


@dataclass(frozen=True)
class BatchResult:
    imported: int
    updated: int
    unchanged: int


class MemberImport(Protocol):
    async def apply(self, rows: Sequence[ImportRow], now: float) -> BatchResult:
        """Create the members of accounts not known yet, and bring the others' profiles to
        what the rows say (an empty column keeps what the member has), in one transaction."""
        ...


@dataclass
class ImportReport:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


def read_rows(text: str) -> Iterator[ImportRow | tuple[int, str]]:
    """Each data row as an ImportRow, or (line, reason) when it cannot be used."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [column.strip().casefold() for column in (reader.fieldnames or [])]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        yield 1, f"the header row lacks {', '.join(missing)} (expected: {','.join(COLUMNS)})"
        return
    reader.fieldnames = header
    for raw in reader:
        line = reader.line_num
        row = {key: (value or "").strip() for key, value in raw.items() if key}
        checked = check_row(line, row)
        yield checked if isinstance(checked, ImportRow) else (line, checked.reason.format(**checked.params))


def check_row(line: int, row: dict[str, str]) -> ImportRow | Refusal:
    platform = row.get("platform", "").casefold()
    if platform not in PLATFORMS:
        return Refusal("platform must be one of {known}, not {value!r}",
                       {"known": ", ".join(PLATFORMS), "value": row.get("platform", "")})
    platform_id = row.get("platform_id", "")
    if platform == "whatsapp":
        platform_id = platform_id.replace(" ", "").replace("-", "").lstrip("+")
        if not platform_id.isdigit() or not 7 <= len(platform_id) <= 15:
            return Refusal("platform_id must be a phone number in international form, not {value!r}",
                           {"value": row.get("platform_id", "")})
    elif platform == "email":
        platform_id = platform_id.strip().casefold()
        if "@" not in platform_id.strip("@") or " " in platform_id:
            return Refusal("platform_id must be an email address, not {value!r}", {"value": row.get("platform_id", "")})
    elif not platform_id:
        return Refusal("platform_id is empty")
    name = clean_field("name", row.get("name", ""))
    if isinstance(name, Refusal):
        return Refusal("name: {reason}", {"reason": "missing or not made of letters"})
    values: dict[str, str] = {}
    for column in ("organization", "country"):
        if row.get(column):
            cleaned = clean_field(column, row[column])
            if isinstance(cleaned, Refusal):
                return Refusal("{column}: {reason}", {"column": column, "reason": cleaned.reason.format(**cleaned.params)})
            values[column] = cleaned
    topics: tuple[str, ...] = ()
    if row.get("topics"):
        parsed = clean_topics(row["topics"].replace(";", ","))
        if isinstance(parsed, Refusal):
            return Refusal("topics: {reason}", {"reason": parsed.reason.format(**parsed.params)})
        topics = parsed
    language = row.get("language", "").casefold()
    if language and not (2 <= len(language) <= 3 and language.isalpha()):
        return Refusal("language must be a code like en or fr, not {value!r}", {"value": row.get("language", "")})
    return ImportRow(line, name, values.get("organization", ""), values.get("country", ""), topics, language,
                     platform, platform_id)


async def import_members(rows: Iterable[ImportRow | tuple[int, str]], members: MemberImport, now: float,
                         progress: Callable[[int], None] = lambda done: None) -> ImportReport:
    report = ImportReport()
    batch: list[ImportRow] = []
    for row in rows:
        if isinstance(row, tuple):
            report.skipped.append(row)
        else:
            batch.append(row)
        if len(batch) >= BATCH:
            await _apply(batch, members, now, report)
            progress(len(batch))
            batch = []
    if batch:
        await _apply(batch, members, now, report)
        progress(len(batch))
    return report


async def _apply(batch: list[ImportRow], members: MemberImport, now: float, report: ImportReport) -> None:
    result = await members.apply(batch, now)
    report.imported += result.imported
    report.updated += result.updated
    report.unchanged += result.unchanged
