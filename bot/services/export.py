"""The archive as files for the community's website: one page per published consolidated
reply, and an index, in Markdown or HTML, with the bot's own words in the community's
language. In HTML every paragraph finds its own direction, so an Arabic reply with Latin
names in it reads right to left and the names stay whole."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence

from bot.domain.programme import Newsletter
from bot.services.archive import ArchivedReply
from bot.services.newsletter import month_name, sections
from bot.texts.catalog import Translator

FORMATS = ("md", "html")


@dataclass(frozen=True)
class ExportedFile:
    name: str
    content: str


def export(community: str, replies: Sequence[ArchivedReply], format: str, t: Translator) -> list[ExportedFile]:
    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}")
    page = _markdown_page if format == "md" else _html_page
    index = _markdown_index if format == "md" else _html_index
    files = [ExportedFile(file_name(reply, format), page(t, community, reply)) for reply in replies]
    files.append(ExportedFile(f"index.{format}", index(t, community, replies, format)))
    return files


def file_name(reply: ArchivedReply, format: str) -> str:
    slug = re.sub(r"[^\w]+", "-", reply.title.casefold(), flags=re.UNICODE).strip("-")[:60] or "reply"
    return f"{reply.discussion_id:05d}-{slug}.{format}"


def _date(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%d")


def _byline(t: Translator, community: str, reply: ArchivedReply) -> str:
    return t("{community}, consolidated reply #{number}, published {day}", community=community,
             number=reply.discussion_id, day=_date(reply.published_at))


# Without [ ] no link can be made, without * _ ` no emphasis or code; HTML is escaped whole.
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]])")


def markdown_text(text: str) -> str:
    """Member-written text made inert in Markdown: no HTML, no links (javascript: or other),
    no emphasis or headings it did not mean."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def _markdown_page(t: Translator, community: str, reply: ArchivedReply) -> str:
    lines = [f"# {markdown_text(reply.title)}", "", f"*{markdown_text(_byline(t, community, reply))}*", "",
             f"## {t('The question')}", "", markdown_text(reply.question), ""]
    if reply.summary.strip():
        lines += [f"## {t('Key points')}", ""]
        lines += [f"- {markdown_text(line)}" for line in reply.summary.splitlines() if line.strip()] + [""]
    lines += [f"## {t('Contributions')}", "", markdown_text(reply.contributions), ""]
    return "\n".join(lines)


def _markdown_index(t: Translator, community: str, replies: Sequence[ArchivedReply], format: str) -> str:
    lines = [f"# {markdown_text(t('{community}: consolidated replies', community=community))}", ""]
    lines += [f"- {_date(r.published_at)} [{markdown_text(r.title)}]({file_name(r, format)})" for r in replies]
    return "\n".join(lines) + "\n"


def _html_document(title: str, body: str, language: str = "") -> str:
    lang = f' lang="{html.escape(language)}"' if language else ""
    return (f"<!doctype html>\n<html{lang}>\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(title)}</title>\n</head>\n<body dir=\"auto\">\n{body}\n</body>\n</html>\n")


def _paragraphs(text: str) -> str:
    return "\n".join(f"<p dir=\"auto\">{html.escape(block).replace(chr(10), '<br>')}</p>"
                     for block in re.split(r"\n\s*\n", text.strip()) if block.strip())


def _html_page(t: Translator, community: str, reply: ArchivedReply) -> str:
    summary = ""
    if reply.summary.strip():
        items = "".join(f"<li dir=\"auto\">{html.escape(line)}</li>" for line in reply.summary.splitlines()
                        if line.strip())
        summary = f"<h2>{html.escape(t('Key points'))}</h2>\n<ul>{items}</ul>\n"
    body = (f"<h1 dir=\"auto\">{html.escape(reply.title)}</h1>\n"
            f"<p><em>{html.escape(_byline(t, community, reply))}</em></p>\n"
            f"<h2>{html.escape(t('The question'))}</h2>\n{_paragraphs(reply.question)}\n{summary}"
            f"<h2>{html.escape(t('Contributions'))}</h2>\n{_paragraphs(reply.contributions)}")
    return _html_document(reply.title, body, reply.language)


def _html_index(t: Translator, community: str, replies: Sequence[ArchivedReply], format: str) -> str:
    items = "\n".join(
        f'<li dir="auto">{_date(r.published_at)} <a href="{html.escape(file_name(r, format))}">'
        f'{html.escape(r.title)}</a></li>'
        for r in replies
    )
    title = t("{community}: consolidated replies", community=community)
    return _html_document(title, f"<h1>{html.escape(title)}</h1>\n<ul>\n{items}\n</ul>")


def newsletter_page(t: Translator, community: str, newsletter: Newsletter) -> ExportedFile:
    """A sent newsletter as an HTML page, newsletter-YYYY-MM.html: what members received."""
    title = t("{community}: newsletter of {month}", community=community, month=month_name(t, newsletter.month))
    body = [f"<h1 dir=\"auto\">{html.escape(title)}</h1>"]
    if newsletter.intro:
        body.append(_paragraphs(newsletter.intro))
    content = newsletter.content
    for heading, items, timed in sections(t, content):
        if not items:
            continue
        entries = []
        for item in items:
            when = f" <time>{html.escape(t.moment(item.at, 'UTC'))} UTC</time>" if timed else ""
            text = f"<br>{html.escape(item.text)}" if item.text else ""
            entries.append(f"<li dir=\"auto\"><strong>{html.escape(item.title)}</strong>{when}{text}</li>")
        body.append(f"<h2>{html.escape(heading)}</h2>\n<ul>\n" + "\n".join(entries) + "\n</ul>")
    return ExportedFile(f"newsletter-{newsletter.month}.html", _html_document(title, "\n".join(body)))
