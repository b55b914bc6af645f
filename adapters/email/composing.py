"""The core's messages as mails: a plain-text part and an HTML part for every message, each
button a link, and the headers of a well-behaved list (Message-ID, Reply-To, List-Id,
List-Unsubscribe with one-click, Auto-Submitted) built with the standard `email` package.

Member-written text travels in its own spans and is HTML-escaped like every span; nothing a
member wrote becomes markup.
"""

from __future__ import annotations

import html
import re
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address as MailAddress
from email.message import EmailMessage
from email.utils import format_datetime, localtime
from typing import Callable

from bot.ports import Button, Card, Envelope, Message, Notice, Outgoing, Prompt, Purpose, Span

SUBJECT_CHARS = 90
# Lines up to SMTP's own limit: a long link in List-Unsubscribe must stay one readable token,
# never RFC 2047-encoded (mail clients would not find the address in it).
MAIL_POLICY = policy.default.clone(max_line_length=998)
# What the bot's Message-IDs look like: random, with the discussion's number when there is one,
# so that "#12" and a thread's root lead back to the discussion's messages.
ID_PATTERN = r"<[0-9a-f]{24}(?:\.d(\d+))?@{domain}>"
# Answers to a person are automatic replies (RFC 3834); everything else the bot sends on its own.
REPLIES = (Purpose.ANSWER, Purpose.NOTICE)
LIST_MAIL = (Purpose.BROADCAST, Purpose.REMINDER, Purpose.DIGEST, Purpose.CONSOLIDATED, Purpose.ALERT)
# The words a facilitator may write on the first line of a reply instead of using a link,
# and the buttons they stand for (their English labels, compared without case).
ACTION_WORDS: dict[str, tuple[str, ...]] = {
    "approve": ("approve",),
    "reject": ("reject",),
    "clarify": ("ask to clarify", "clarify"),
    "edit": ("edit",),
    "publish": ("publish",),
}
# The words followed by a text (a reason, a question, the new text), as the mails explain them.
WORDS_WITH_TEXT = {"reject": "REJECT and the reason", "clarify": "CLARIFY and your question",
                   "edit": "EDIT and the new text"}


@dataclass(frozen=True)
class Identity:
    """Who the bot is in its mails."""

    address: str
    display_name: str

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    @property
    def list_id(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", (self.display_name or "network").casefold()).strip("-") or "network"
        return f"{slug}.{self.domain}"

    def new_message_id(self, discussion_id: int | None, row: int | None = None, secret: str = "") -> str:
        """A Message-ID nobody can guess (a reply naming it proves its mail was received). For
        an outbox row it is the same on every try, even after a restart, so a mail the relay
        took before a crash and is sent again is recognised as the same one."""
        about = f".d{discussion_id}" if discussion_id is not None else ""
        if row is None:
            unique = secrets.token_hex(12)
        else:
            unique = hmac.new(secret.encode(), f"row:{row}".encode(), hashlib.sha256).hexdigest()[:24]
        return f"<{unique}{about}@{self.domain}>"

    def thread_root(self, discussion_id: int) -> str:
        """One id that every message about a discussion refers to, so mail clients thread them."""
        return f"<{'0' * 24}.d{discussion_id}@{self.domain}>"

    def own_message_id(self, message_id: str) -> re.Match[str] | None:
        return re.fullmatch(ID_PATTERN.replace("{domain}", re.escape(self.domain)), message_id.strip(),
                            flags=re.IGNORECASE)


LinkFor = Callable[[Button], str]


def compose_mail(envelope: Envelope, identity: Identity, message_id: str, link_for: LinkFor,
                 unsubscribe_url: str) -> EmailMessage:
    message = envelope.message
    mail = EmailMessage(policy=MAIL_POLICY)
    mail["From"] = MailAddress(identity.display_name, addr_spec=identity.address)
    mail["To"] = envelope.to.destination
    mail["Reply-To"] = identity.address
    mail["Subject"] = subject(envelope, identity)
    mail["Date"] = format_datetime(localtime())
    mail["Message-ID"] = message_id
    reply_to = _reply_to(envelope.message)
    if reply_to:
        mail["In-Reply-To"] = reply_to
    references = _references(envelope, identity)
    if references:
        mail["References"] = " ".join(references)
    mail["List-Id"] = f"{identity.display_name or 'Network'} <{identity.list_id}>"
    mail["List-Unsubscribe"] = f"<{unsubscribe_url}>, <mailto:{identity.address}?subject=pause>"
    mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail["Auto-Submitted"] = "auto-replied" if envelope.purpose in REPLIES else "auto-generated"
    # Vacation responders and Exchange's out-of-office stay quiet about automatic mail.
    mail["X-Auto-Response-Suppress"] = "All"
    if envelope.purpose in LIST_MAIL:
        mail["Precedence"] = "list"
    buttons = [button for row in message.buttons for button in row]
    links = [(button, link_for(button)) for button in buttons]
    mail.set_content(plain_text(message, links, identity, unsubscribe_url))
    mail.add_alternative(html_text(message, links, identity, unsubscribe_url), subtype="html")
    if isinstance(message, Message) and message.document is not None:
        document = message.document
        maintype, _, subtype = document.content_type.partition("/")
        mail.add_attachment(document.data, maintype=maintype, subtype=subtype or "octet-stream",
                            filename=document.filename)
    return mail


def subject(envelope: Envelope, identity: Identity) -> str:
    """"[Network] #12 How do we measure..." for what is about a discussion."""
    headline = _headline(envelope.message)
    prefix = f"[{identity.display_name}] " if identity.display_name else ""
    if envelope.discussion_id is not None:
        prefix += f"#{envelope.discussion_id} "
    return _shorten(prefix + headline, SUBJECT_CHARS)


def _headline(message: Outgoing) -> str:
    if isinstance(message, (Card, Message)) and message.title:
        return message.title.strip()
    text = "".join(span.text for span in message.spans).strip()
    return text.split("\n", 1)[0].strip()


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _references(envelope: Envelope, identity: Identity) -> list[str]:
    references = []
    if envelope.discussion_id is not None:
        references.append(identity.thread_root(envelope.discussion_id))
    reply_to = _reply_to(envelope.message)
    if reply_to:
        references.append(reply_to)
    return references


def _reply_to(message: Outgoing) -> str | None:
    """The bot's own mail this one answers, when the core says so."""
    reply_to = message.reply_to if isinstance(message, Message) else None
    return reply_to if reply_to and reply_to.startswith("<") else None


# --- plain text ----------------------------------------------------------------------------------


def plain_text(message: Outgoing, links: list[tuple[Button, str]], identity: Identity, unsubscribe_url: str) -> str:
    parts = [_plain_spans(_spans(message))]
    if isinstance(message, Prompt):
        parts.append("Reply to this email with your answer.")
    if links:
        parts.append("\n".join(f"{button.label}: {url}" for button, url in links))
        words = _reply_words([button for button, _ in links])
        if words:
            parts.append("Or reply to this email with one of these on the first line: " + ", ".join(words) + ".")
    parts.append(f"-- \n{identity.display_name or identity.address}: reply to this email to write to the network.\n"
                 f"Pause these emails: {unsubscribe_url}")
    return "\n\n".join(part for part in parts if part) + "\n"


def _plain_spans(spans: tuple[Span, ...]) -> str:
    out = []
    for span in spans:
        if span.link:
            out.append(f"{span.text} ({span.link})")
        elif span.code:
            out.append("\n" + "\n".join("    " + line for line in span.text.split("\n")) + "\n")
        else:
            out.append(span.text)
    return "".join(out).strip()


def _reply_words(buttons: list[Button]) -> list[str]:
    words = []
    for word, labels in ACTION_WORDS.items():
        if any(button.label.casefold() in labels for button in buttons):
            words.append(WORDS_WITH_TEXT.get(word, word.upper()))
    return words


# --- HTML ------------------------------------------------------------------------------------------

BUTTON_STYLE = ("display:inline-block;margin:0 .5em .5em 0;padding:.55em 1.1em;border-radius:6px;"
                "text-decoration:none;font-weight:600;")
BUTTON_COLOURS = {"primary": "background:#1d5fa8;color:#ffffff;", "danger": "background:#b3261e;color:#ffffff;",
                  "default": "background:#e8edf3;color:#1d3557;"}


def html_text(message: Outgoing, links: list[tuple[Button, str]], identity: Identity, unsubscribe_url: str) -> str:
    body = [f'<div style="font-size:15px;line-height:1.5">{_html_spans(_spans(message))}</div>']
    if isinstance(message, Prompt):
        body.append("<p>Reply to this email with your answer.</p>")
    if links:
        anchors = "".join(
            f'<a href="{html.escape(url, quote=True)}" style="{BUTTON_STYLE}{BUTTON_COLOURS[button.style.value]}">'
            f"{html.escape(button.label)}</a>" for button, url in links
        )
        body.append(f'<p style="margin-top:1.2em">{anchors}</p>')
        words = _reply_words([button for button, _ in links])
        if words:
            body.append("<p style=\"color:#555;font-size:13px\">Or reply to this email with one of these on the "
                        f"first line: {html.escape(', '.join(words))}.</p>")
    name = html.escape(identity.display_name or identity.address)
    body.append(
        '<p style="color:#777;font-size:12px;border-top:1px solid #ddd;padding-top:.8em;margin-top:2em">'
        f"{name}: reply to this email to write to the network. "
        f'<a href="{html.escape(unsubscribe_url, quote=True)}" style="color:#777">Pause these emails</a></p>'
    )
    return ("<!doctype html><html><head><meta charset=\"utf-8\"></head>"
            "<body style=\"font-family:Arial,Helvetica,sans-serif;color:#222;max-width:640px\">"
            + "".join(body) + "</body></html>\n")


def _html_spans(spans: tuple[Span, ...]) -> str:
    out = []
    for span in spans:
        text = html.escape(span.text)
        if span.code:
            out.append(f'<pre style="background:#f4f4f4;padding:.6em;white-space:pre-wrap">{text}</pre>')
            continue
        text = text.replace("\n", "<br>\n")
        if span.bold:
            text = f"<strong>{text}</strong>"
        if span.italic:
            text = f"<em>{text}</em>"
        if span.link and re.match(r"^(https?://|mailto:)", span.link):
            text = f'<a href="{html.escape(span.link, quote=True)}">{text}</a>'
        out.append(text)
    return "".join(out)


def _spans(message: Outgoing) -> tuple[Span, ...]:
    """Every kind of message as styled text: a card's title, status, fields and body; a
    prompt's question and the text to change; a notice's words."""
    if isinstance(message, (Card, Prompt, Notice, Message)):
        return message.spans
    raise TypeError(f"cannot draw {type(message).__name__} as a mail")
