"""Reading one incoming mail: is it a person writing, a delivery report about a mail the bot
sent, or something automatic that must never be answered (an out-of-office, another robot,
the bot's own mail coming back)? For a person: who, the new words (quoted text and signature
cut by mail-parser-reply), and which of the bot's mails it answers.

Attachments are never opened, executed or inlined: only their names are passed on.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from html.parser import HTMLParser
from typing import Sequence

from mailparser_reply import EmailReplyParser

from adapters.email.composing import Identity

AUTOMATIC_PRECEDENCE = {"bulk", "junk", "list"}
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
MAILBOX = re.compile(r'[^\s<>"@]+@[^\s<>"@]+')  # an address an SMTP command line can carry
REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fwd?|aw|wg|tr|rv|sv|vs|antw)\s*(?:\[\d+\])?\s*[:：]\s*)+", re.IGNORECASE)
STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
MAX_ATTACHMENT_NAME = 120


@dataclass(frozen=True)
class PersonMail:
    address: str  # lower-cased
    name: str
    message_id: str  # the mail's own Message-ID, or a digest of it when it has none
    subject: str  # without "Re:" and "Fwd:"
    text: str  # the new words: quotes and signature cut, attachments listed
    replied_ids: tuple[str, ...]  # In-Reply-To first, then References from the newest

    @property
    def is_reply(self) -> bool:
        return bool(self.replied_ids)


@dataclass(frozen=True)
class Failure:
    """One recipient of a delivery report that the mail did not reach."""

    recipient: str
    status: str  # "5.1.1"
    reason: str

    @property
    def hard(self) -> bool:
        return self.status.startswith("5")

    @property
    def no_such_mailbox(self) -> bool:
        """5.1.x: the address itself is wrong; it will never work."""
        return self.status.startswith("5.1.")


@dataclass(frozen=True)
class Bounce:
    original_message_id: str
    failures: tuple[Failure, ...]


@dataclass(frozen=True)
class Unanswerable:
    """Kept out of the core: automatic mail, loops, mail without a sender."""

    reason: str
    sender: str = ""
    subject: str = ""


def read_mail(raw: bytes, identity: Identity, languages: Sequence[str], envelope_sender: str | None = None
              ) -> PersonMail | Bounce | Unanswerable:
    mail = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(mail, EmailMessage)
    if is_delivery_report(mail):
        return read_bounce(mail, raw, identity)
    message_id = _first_id(_header_text(mail, "Message-ID")) or _digest_id(raw)
    if identity.own_message_id(message_id):
        return Unanswerable("the bot's own mail came back (a loop)")
    address, name = _from(mail)
    if not address:
        return Unanswerable("a mail without a readable From address")
    if address == identity.address:
        return Unanswerable("a mail from the bot's own address (a loop)")
    if envelope_sender is None and "Return-Path" in mail:  # read from a mailbox: the server wrote it down
        envelope_sender = _header_text(mail, "Return-Path").strip()
    automatic = why_automatic(mail, envelope_sender)
    if automatic:
        return Unanswerable(automatic, address, clean_subject(_header_text(mail, "Subject")))
    return PersonMail(
        address=address, name=name, message_id=message_id, subject=clean_subject(_header_text(mail, "Subject")),
        text=_with_attachments(new_words(body_text(mail), languages), attachment_names(mail)),
        replied_ids=_replied_ids(mail),
    )


# --- automatic mail ------------------------------------------------------------------------------


def why_automatic(mail: EmailMessage, envelope_sender: str | None = None) -> str | None:
    """Why a mail was sent by a robot (RFC 3834 and the headers vacation responders use), or
    None for a person's mail."""
    auto_submitted = _header_text(mail, "Auto-Submitted").split(";")[0].strip().casefold()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = _header_text(mail, "Precedence").strip().casefold()
    if precedence in AUTOMATIC_PRECEDENCE:
        return f"Precedence: {precedence}"
    for header in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if header in mail and _header_text(mail, header).strip().casefold() not in ("no", "false", "0"):
            return f"{header} is set"
    if envelope_sender is not None and envelope_sender.strip() in ("", "<>"):
        return "a null return path (MAIL FROM:<>): mail from a robot"
    return None


# --- bounces ----------------------------------------------------------------------------------------


def is_delivery_report(mail: EmailMessage) -> bool:
    return (mail.get_content_type() == "multipart/report"
            and str(mail.get_param("report-type", "")).casefold() == "delivery-status")


def read_bounce(mail: EmailMessage, raw: bytes, identity: Identity) -> Bounce | Unanswerable:
    failures: list[Failure] = []
    original_id = ""
    for part in mail.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            failures += _failures(part.get_payload())
        elif kind == "message/rfc822" and not original_id:
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                original_id = _first_id(_header_text(inner[0], "Message-ID"))
        elif kind in ("text/rfc822-headers", "message/rfc822-headers") and not original_id:
            headers = BytesParser(policy=policy.default).parsebytes(part.get_payload(decode=True) or b"",
                                                                    headersonly=True)
            original_id = _first_id(_header_text(headers, "Message-ID"))
    if not original_id:
        # Some relays quote the original headers as text: any id of the bot's own will do.
        original_id = next((found for found in MESSAGE_ID.findall(raw.decode("utf-8", "replace"))
                            if identity.own_message_id(found)), "")
    if not failures:
        return Unanswerable("a delivery report without a failure (delayed or delivered)")
    if not original_id:
        return Unanswerable("a delivery report that names no mail of the bot's")
    return Bounce(original_id, tuple(failures))


def _failures(blocks: object) -> list[Failure]:
    """The per-recipient blocks of a message/delivery-status part that say "failed"."""
    failures = []
    for block in blocks if isinstance(blocks, list) else []:
        if _header_text(block, "Action").strip().casefold() != "failed":
            continue
        recipient = _header_text(block, "Final-Recipient") or _header_text(block, "Original-Recipient")
        recipient = recipient.split(";", 1)[-1].strip().strip("<>").casefold()
        diagnostic = _header_text(block, "Diagnostic-Code").split(";", 1)[-1].strip()
        status_match = STATUS.search(_header_text(block, "Status")) or STATUS.search(diagnostic)
        status = ".".join(status_match.groups()) if status_match else "5.0.0"
        failures.append(Failure(recipient, status, " ".join(diagnostic.split())[:300] or f"status {status}"))
    return failures


# --- a person's words --------------------------------------------------------------------------------


def clean_subject(subject: str) -> str:
    return REPLY_PREFIX.sub("", " ".join(subject.split())).strip()


def body_text(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    try:
        content = body.get_content()
    except (LookupError, ValueError):  # an unknown charset: read what can be read
        content = (body.get_payload(decode=True) or b"").decode("utf-8", "replace")
    if not isinstance(content, str):
        return ""
    return html_to_text(content) if body.get_content_type() == "text/html" else content


def new_words(text: str, languages: Sequence[str]) -> str:
    """What the person wrote this time: quoted mails, "On ... wrote:" and signatures cut."""
    text = text.replace("\r\n", "\n").strip()
    if not text:
        return ""
    replies = EmailReplyParser(languages=list(languages)).read(text).replies
    words = replies[0].body if replies else text
    lines = words.split("\n")
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith(">")):
        lines.pop()  # a quote without an "On ... wrote:" line above it
    return "\n".join(lines).strip()


def attachment_names(mail: EmailMessage) -> list[str]:
    names = []
    for part in mail.iter_attachments():
        name = part.get_filename() or part.get_content_type()
        name = re.sub(r"[\x00-\x1f\x7f]", "", str(name)).strip()[:MAX_ATTACHMENT_NAME]
        names.append(name or "unnamed")
    return names


def _with_attachments(text: str, names: list[str]) -> str:
    listed = "\n".join(f"[attachment: {name}]" for name in names)
    return "\n\n".join(part for part in (text, listed) if part)


def _from(mail: EmailMessage) -> tuple[str, str]:
    try:
        header = mail["From"]
        addresses = getattr(header, "addresses", ()) if header is not None else ()
    except Exception:  # the standard library's address parser raises on some malformed headers
        return "", ""
    if not addresses or not MAILBOX.fullmatch(addresses[0].addr_spec or ""):
        return "", ""  # none, or one no mail could be sent back to (the parser lets '"a <b@c>' through)
    first = addresses[0]
    return first.addr_spec.strip().casefold(), " ".join(first.display_name.split())


def _replied_ids(mail: EmailMessage) -> tuple[str, ...]:
    in_reply_to = MESSAGE_ID.findall(_header_text(mail, "In-Reply-To"))
    references = list(reversed(MESSAGE_ID.findall(_header_text(mail, "References"))))
    ordered: list[str] = []
    for message_id in [*in_reply_to, *references]:
        if message_id not in ordered:
            ordered.append(message_id)
    return tuple(ordered)


def _header_text(message: Message, name: str) -> str:
    """A header's value as text ("" when absent). Python's parser of structured headers raises
    on some malformed values (an empty Message-ID "<>" raises IndexError): such a value is read
    as it came instead, so one odd header never stops a person's mail."""
    try:
        return str(message.get(name, ""))
    except Exception:  # IndexError, HeaderParseError, ValueError...: the standard library's parser gave up
        return next((str(value) for key, value in message.raw_items() if key.lower() == name.lower()), "")


def _first_id(header: str) -> str:
    found = MESSAGE_ID.search(header)
    return found.group(0) if found else ""


def _digest_id(raw: bytes) -> str:
    """A mail without a Message-ID still has to be recognised when it comes twice."""
    return f"<sha256-{hashlib.sha256(raw).hexdigest()[:32]}@no-message-id>"


class _TextOfHtml(HTMLParser):
    """The readable text of an HTML-only mail; quoted mails (blockquote) and styles left out."""

    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "table", "ul", "ol"}
    SKIPPED = {"style", "script", "head", "blockquote", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self._skipping += 1
        elif tag in self.BLOCKS and not self._skipping:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self.BLOCKS and not self._skipping:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _TextOfHtml()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.parts)
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
