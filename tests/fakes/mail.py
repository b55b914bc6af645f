"""Mail for tests, over real SMTP on 127.0.0.1: a sink (aiosmtpd) that plays the relay the bot
sends through and records every mail, refusing chosen recipients with a 4xx or 5xx as a real
relay would; and people who write to the bot's own SMTP listener with aiosmtplib, reply to
its mails (In-Reply-To, References, the original quoted below) and open its links."""

from __future__ import annotations

import asyncio
import html
import itertools
import re
import time
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, localtime, make_msgid
from typing import Any, Callable

import aiohttp
import aiosmtplib
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

LINK = re.compile(r'<a href="([^"]+)"[^>]*>([^<]*)</a>')


@dataclass
class ReceivedMail:
    """One mail as the relay took it: the SMTP envelope and the message, parsed when first
    looked at (a benchmark's thousands of mails are not parsed by the relay)."""

    mail_from: str
    rcpt_to: str
    raw: bytes
    at: float

    @cached_property
    def message(self) -> EmailMessage:
        message = BytesParser(policy=policy.default).parsebytes(self.raw)
        assert isinstance(message, EmailMessage)
        return message

    @cached_property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def message_id(self) -> str:
        return str(self.message.get("Message-ID", "")).strip()

    def header(self, name: str) -> str:
        return str(self.message.get(name, ""))

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content().replace("\r\n", "\n") if part is not None else ""

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content().replace("\r\n", "\n") if part is not None else ""

    @property
    def links(self) -> dict[str, str]:
        """The buttons' links by label, as drawn in the HTML part."""
        return {html.unescape(label): html.unescape(url) for url, label in LINK.findall(self.html)
                if "/email/press/" in url}

    def labels(self) -> list[str]:
        return list(self.links)


class MailSink:
    """The relay: takes every mail over SMTP, records it, and refuses chosen recipients."""

    def __init__(self, login: tuple[str, str] | None = None) -> None:
        self.login = login
        self.mails: list[ReceivedMail] = []
        self.refused: list[tuple[str, str]] = []  # (recipient, answer)
        self.logins: list[str] = []
        self._refusals: dict[str, tuple[str, int | None]] = {}
        self._data_failures: dict[str, int] = {}
        self._changed = asyncio.Condition()
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    async def __aenter__(self) -> "MailSink":
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()

    def _protocol(self) -> SMTP:
        if self.login is None:
            return SMTP(self, hostname="relay.test", enable_SMTPUTF8=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # AUTH without TLS: fine on 127.0.0.1 in tests
            return SMTP(self, hostname="relay.test", enable_SMTPUTF8=True, auth_required=True,
                        auth_require_tls=False, authenticator=self._authenticate)

    def refuse(self, recipient: str, answer: str, times: int | None = None) -> None:
        """Answer `answer` ("550 5.1.1 User unknown") to RCPT TO this recipient, `times` times
        (None: always)."""
        self._refusals[recipient.casefold()] = (answer, times)

    def fail_after_data(self, recipient: str, times: int = 1) -> None:
        """Take the mail for this recipient, then answer 451 as if the relay failed while
        storing it: the sender cannot tell whether it went, and sends it again."""
        self._data_failures[recipient.casefold()] = times

    # --- aiosmtpd hooks ------------------------------------------------------------------------

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      data: Any) -> AuthResult:
        if isinstance(data, LoginPassword) and self.login is not None:
            user, password = data.login.decode(), data.password.decode()
            if (user, password) == self.login:
                self.logins.append(user)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        refusal = self._refusals.get(address.casefold())
        if refusal is not None:
            answer, times = refusal
            if times is not None:
                if times <= 1:
                    del self._refusals[address.casefold()]
                else:
                    self._refusals[address.casefold()] = (answer, times - 1)
            self.refused.append((address, answer))
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        async with self._changed:
            for recipient in envelope.rcpt_tos:
                self.mails.append(ReceivedMail(envelope.mail_from, recipient.casefold(), raw, time.monotonic()))
            self._changed.notify_all()
        for recipient in envelope.rcpt_tos:
            if self._data_failures.get(recipient.casefold(), 0) > 0:
                self._data_failures[recipient.casefold()] -= 1
                return "451 4.3.0 Temporary failure while storing the message"
        return "250 OK: queued"

    # --- waiting ---------------------------------------------------------------------------------

    def to(self, address: str) -> list[ReceivedMail]:
        return [mail for mail in self.mails if mail.rcpt_to == address.casefold()]

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        async def satisfied() -> Any:
            async with self._changed:
                while not (result := predicate()):
                    await self._changed.wait()
                return result

        return await asyncio.wait_for(satisfied(), timeout)


@dataclass
class MailPerson:
    """Someone with a mailbox at the sink, who writes to the bot's SMTP listener."""

    sink: MailSink
    address: str
    name: str
    bot_address: str
    bot_port: int
    seen: int = 0
    written: list[str] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    @property
    def mails(self) -> list[ReceivedMail]:
        return self.sink.to(self.address)

    async def receives(self, containing: str, timeout: float = 10.0) -> ReceivedMail:
        """The next mail (after those already taken) whose subject or text contains the words."""
        def found() -> ReceivedMail | None:
            mails = self.mails
            for index in range(self.seen, len(mails)):
                if containing in mails[index].subject or containing in mails[index].text:
                    self.seen = index + 1
                    return mails[index]
            return None

        try:
            return await self.sink.wait_until(found, timeout)
        except TimeoutError:
            got = [f"{m.subject!r}: {m.text[:120]!r}" for m in self.mails]
            raise AssertionError(f"{self.address} never received {containing!r}; got {got}") from None

    def compose(self, subject: str, body: str, headers: dict[str, str] | None = None,
                attachments: dict[str, bytes] | None = None) -> EmailMessage:
        message = EmailMessage()
        message["From"] = f"{self.name} <{self.address}>" if self.name else self.address
        message["To"] = self.bot_address
        message["Subject"] = subject
        message["Date"] = format_datetime(localtime())
        message["Message-ID"] = make_msgid(f"m{next(self._ids)}", domain=self.address.rpartition("@")[2])
        for name, value in (headers or {}).items():
            message[name] = value
        message.set_content(body)
        for filename, content in (attachments or {}).items():
            message.add_attachment(content, maintype="application", subtype="octet-stream", filename=filename)
        return message

    async def send(self, message: EmailMessage, mail_from: str | None = None) -> str:
        await send_to_bot(message, self.bot_port, mail_from if mail_from is not None else self.address,
                          self.bot_address)
        self.written.append(str(message["Message-ID"]))
        return str(message["Message-ID"])

    async def writes(self, subject: str, body: str = "", **extra: Any) -> str:
        """A new mail to the network's address; its Message-ID."""
        return await self.send(self.compose(subject, body, **extra))

    async def replies(self, to: ReceivedMail, body: str, subject: str | None = None, quote: bool = True,
                      **extra: Any) -> str:
        """A reply as a mail client writes it: "Re:", In-Reply-To, References, the original quoted."""
        if quote:
            quoted = "\n".join("> " + line for line in to.text.splitlines())
            body = f"{body}\n\nOn Mon, 3 Jun 2024 at 10:00, {to.header('From')} wrote:\n{quoted}\n"
        headers = {"In-Reply-To": to.message_id,
                   "References": " ".join(part for part in (to.header("References"), to.message_id) if part)}
        headers.update(extra.pop("headers", {}))
        return await self.send(self.compose(subject or f"Re: {to.subject}", body, headers=headers, **extra))

    async def opens(self, url: str) -> tuple[int, str]:
        """GET a link, as a browser (or a mail scanner) does."""
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return response.status, await response.text()

    async def confirms(self, url: str, data: dict[str, str] | None = None) -> tuple[int, str]:
        """POST the link's form, as the person pressing the page's button."""
        async with aiohttp.ClientSession() as session, session.post(url, data=data or {}) as response:
            return response.status, await response.text()


async def send_to_bot(message: EmailMessage, port: int, mail_from: str, bot_address: str) -> None:
    """Hand a mail to the bot's SMTP listener, as the organization's mail server would."""
    await aiosmtplib.send(message, hostname="127.0.0.1", port=port, sender=mail_from, recipients=[bot_address],
                          start_tls=False, timeout=10)


def delivery_report(original: ReceivedMail, status: str, diagnostic: str, reporting: str = "relay.test",
                    action: str = "failed") -> bytes:
    """A delivery status notification (RFC 3464) about a mail the bot sent, as a relay writes it:
    the explanation, the per-recipient status, and the original's headers."""
    original_headers = "".join(f"{name}: {value}\r\n" for name, value in original.message.items()
                               if name in ("From", "To", "Subject", "Message-ID", "Date"))
    report = (
        f"From: Mail Delivery System <MAILER-DAEMON@{reporting}>\r\n"
        f"To: {original.mail_from}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {make_msgid('dsn', domain=reporting)}\r\n"
        f"Date: {format_datetime(localtime())}\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="REPORT"\r\n\r\n'
        "--REPORT\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"Your message to {original.rcpt_to} could not be delivered.\r\n{diagnostic}\r\n\r\n"
        "--REPORT\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; {reporting}\r\n\r\n"
        f"Final-Recipient: rfc822; {original.rcpt_to}\r\nAction: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {diagnostic}\r\n\r\n"
        "--REPORT\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"{original_headers}\r\n"
        "--REPORT--\r\n"
    )
    return report.encode("utf-8")


async def send_raw_to_bot(raw: bytes, port: int, mail_from: str, bot_address: str) -> None:
    """Hand raw bytes to the bot's listener (a relay's bounce comes with the null sender "")."""
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=10) as client:
        await client.sendmail(mail_from, [bot_address], raw)
