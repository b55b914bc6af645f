"""How mail reaches the bot: its own SMTP listener (aiosmtpd), to which an organization's mail
server or a provider forwards the network's address, or an IMAP mailbox (aioimaplib) it reads,
with IDLE where the server has it.

Either way a mail is accepted (250, or marked \\Seen) only once the adapter has handed it on,
so a crash in between makes the sender's server or the next look deliver it again, and the
core's event ids make that second delivery count once.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Awaitable, Callable

import aioimaplib
from aiosmtpd.smtp import SMTP, Envelope as SmtpEnvelope, Session

from adapters.email.settings import EmailSettings, normalise_address

log = logging.getLogger(__name__)
# aiosmtpd logs every SMTP command of every connection at INFO.
logging.getLogger("mail.log").setLevel(logging.WARNING)

MAX_MAIL_BYTES = 25 * 1024 * 1024
IMAP_TIMEOUT = 30.0
IDLE_SECONDS = 5 * 60.0  # servers drop an IDLE after 30 minutes; renew well before
RECONNECT_SECONDS = 15.0
MAX_TRIES = 3  # a mail that cannot be taken in after this many tries is set aside for a person

# raw mail, the envelope's sender (None when unknown, "" for the null sender <>)
Receive = Callable[[bytes, "str | None"], Awaitable[None]]


class _Handler:
    """aiosmtpd's hooks: only the network's address is a recipient here."""

    def __init__(self, address: str, receive: Receive) -> None:
        self.address = address
        self.receive = receive

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: SmtpEnvelope, address: str,
                          rcpt_options: list[str]) -> str:
        if normalise_address(address) != self.address:
            log.info("refused mail for %s: this server only takes mail for %s", address[:80], self.address)
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: SmtpEnvelope) -> str:
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw).encode("utf-8", "surrogateescape")
        try:
            await self.receive(raw, envelope.mail_from or "")
        except Exception:
            log.exception("could not take in a mail from %s; the sender's server will try again",
                          (envelope.mail_from or "<>")[:80])
            return "451 4.3.0 Could not take the message now, please try again later"
        return "250 OK: message accepted"


class SmtpListener:
    def __init__(self, settings: EmailSettings, receive: Receive) -> None:
        self.settings = settings
        self.handler = _Handler(settings.address, receive)
        self.port = settings.smtp_listen_port
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        settings = self.settings
        self._server = await loop.create_server(
            lambda: SMTP(self.handler, hostname=settings.domain, ident="facilitator-bot",
                         data_size_limit=MAX_MAIL_BYTES, enable_SMTPUTF8=True, timeout=120),
            host=settings.smtp_listen_host, port=settings.smtp_listen_port,
        )
        sockets = self._server.sockets or ()
        if sockets:
            self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None


class ImapReader:
    """Reads the mailbox: every unseen mail is handed on, then marked seen. Waits with IDLE
    when the server offers it, and looks again at least every `imap_poll` seconds."""

    def __init__(self, settings: EmailSettings, receive: Receive) -> None:
        self.settings = settings
        self.receive = receive
        self._task: asyncio.Task[None] | None = None
        self._client: aioimaplib.IMAP4 | None = None
        self._tries: dict[str, int] = {}

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="email-imap")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        client, self._client = self._client, None
        if client is not None:
            await _logout(client)

    async def _run(self) -> None:
        while True:
            try:
                self._client = await open_mailbox(self.settings)
                while True:
                    await self._read_unseen(self._client)
                    await self._wait_for_mail(self._client)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("reading the mailbox %s failed (%s); trying again in %.0f s", self.settings.imap_host,
                            error or type(error).__name__, RECONNECT_SECONDS)
                client, self._client = self._client, None
                if client is not None:
                    await _logout(client)
                await asyncio.sleep(RECONNECT_SECONDS)

    async def _read_unseen(self, client: aioimaplib.IMAP4) -> None:
        response = await client.uid_search("UNSEEN")
        _check(response, "search")
        uids = [uid for line in response.lines[:1] for uid in _text(line).split() if uid.isdigit()]
        for uid in uids:
            fetched = await client.uid("fetch", uid, "(BODY.PEEK[])")
            _check(fetched, "fetch")
            # aioimaplib gives the message itself as the one bytearray among the status lines.
            raw = next((bytes(line) for line in fetched.lines if isinstance(line, bytearray)), None)
            if raw is None:
                log.warning("the mailbox gave no content for message %s", uid)
                continue
            flags = "(\\Seen)" if await self._take_in(uid, raw) else "(\\Seen \\Flagged)"
            stored = await client.uid("store", uid, f"+FLAGS.SILENT {flags}")
            _check(stored, "store")

    async def _take_in(self, uid: str, raw: bytes) -> bool:
        """True once the mail is handed on. One that keeps failing is set aside (seen and
        flagged, for a person to look at) rather than tried for ever ahead of the others."""
        try:
            await self.receive(raw, None)
        except Exception:
            self._tries[uid] = self._tries.get(uid, 0) + 1
            if self._tries[uid] < MAX_TRIES:
                raise
            log.exception("mail %s of the mailbox could not be taken in after %s tries: it is marked seen and "
                          "flagged for a person to look at", uid, MAX_TRIES)
            return False
        self._tries.pop(uid, None)
        return True

    async def _wait_for_mail(self, client: aioimaplib.IMAP4) -> None:
        if not client.has_capability("IDLE"):
            await asyncio.sleep(self.settings.imap_poll_seconds)
            return
        # IDLE brings new mail at once; looking again at least every `imap_poll` also catches
        # a mail that came in just before the IDLE began.
        wait = min(IDLE_SECONDS, self.settings.imap_poll_seconds)
        idle = await client.idle_start(timeout=wait)
        try:
            await client.wait_server_push(timeout=wait)
        except asyncio.TimeoutError:
            pass
        finally:
            client.idle_done()
            await asyncio.wait_for(idle, timeout=IMAP_TIMEOUT)


async def open_mailbox(settings: EmailSettings) -> aioimaplib.IMAP4:
    """A connection to the mailbox, logged in, with the folder selected."""
    if settings.imap_tls == "tls":
        client: aioimaplib.IMAP4 = aioimaplib.IMAP4_SSL(host=settings.imap_host, port=settings.imap_port,
                                                        timeout=IMAP_TIMEOUT, ssl_context=ssl.create_default_context())
    else:
        client = aioimaplib.IMAP4(host=settings.imap_host, port=settings.imap_port, timeout=IMAP_TIMEOUT)
    try:
        await client.wait_hello_from_server()
        login = await client.login(settings.imap_user, settings.imap_password)
        if login.result != "OK":
            raise MailboxRefused(f"the login of {settings.imap_user!r} was refused")
        selected = await client.select(_quoted(settings.imap_folder))
        if selected.result != "OK":
            raise MailboxRefused(f"there is no folder {settings.imap_folder!r}")
    except BaseException:
        await _logout(client)
        raise
    return client


class MailboxRefused(Exception):
    pass


async def check_mailbox(settings: EmailSettings) -> str | None:
    where = f"{settings.imap_host}:{settings.imap_port}"
    try:
        client = await open_mailbox(settings)
    except MailboxRefused as refusal:
        return f"the mailbox at {where}: {refusal}"
    except (OSError, asyncio.TimeoutError, aioimaplib.Abort, aioimaplib.CommandTimeout) as error:
        return f"cannot reach the mailbox at {where} ({error or type(error).__name__})"
    await _logout(client)
    return None


async def _logout(client: aioimaplib.IMAP4) -> None:
    try:
        await asyncio.wait_for(client.logout(), timeout=3)
    except Exception:  # closing a connection that may already be gone
        pass


def _check(response: aioimaplib.Response, what: str) -> None:
    if response.result != "OK":
        raise MailboxRefused(f"{what} answered {response.result}: {_text(response.lines[-1]) if response.lines else ''}")


def _text(line: bytes | bytearray | str) -> str:
    return line.decode("utf-8", "replace") if isinstance(line, (bytes, bytearray)) else str(line)


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
