"""Sending through the relay with aiosmtplib, over a few kept-open connections.

What the relay answers becomes the core's delivery result: a refused connection, a timeout
or a 4xx is temporary (RetryLater, the delivery engine backs off); a 5xx for the recipient is
permanent (Undeliverable: the address is marked unreachable). A 5xx about the bot itself
(its login, its sender address, the message) says nothing about the member, so it is retried
and logged as the operator's problem rather than blamed on the address.
"""

from __future__ import annotations

import asyncio
import logging
import time
from email.message import EmailMessage

import aiosmtplib

from adapters.email.settings import EmailSettings
from bot.ports import DeliveryResult, RetryLater, Sent, Undeliverable

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 20.0
IDLE_REUSE_SECONDS = 60.0  # relays drop idle connections; an older one is replaced, not tried
MAX_IDLE_CONNECTIONS = 8


class Relay:
    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []

    async def deliver(self, mail: EmailMessage, recipient: str, message_id: str) -> DeliveryResult:
        """One mail to one recipient; a kept connection that turns out closed is replaced once."""
        for attempt in range(2):
            client, reused = await self._client()
            if isinstance(client, RetryLater):
                return client
            try:
                await client.send_message(mail, sender=self.settings.address, recipients=[recipient])
            except ValueError as error:  # aiosmtplib refuses an address no SMTP command line can carry
                await self._keep(client)
                return Undeliverable(f"not an address a mail can be sent to: {error}")
            except aiosmtplib.SMTPServerDisconnected as error:
                await _close(client)
                if reused and attempt == 0:
                    continue
                return RetryLater(f"the relay closed the connection: {error}")
            except aiosmtplib.SMTPRecipientsRefused as error:
                await _close(client)
                return _recipient_refused(error)
            except aiosmtplib.SMTPResponseException as error:
                await _close(client)
                return _refused(error)
            except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as error:
                await _close(client)
                return RetryLater(f"sending failed: {type(error).__name__}: {error}")
            await self._keep(client)
            return Sent(message_id)
        return RetryLater("the relay keeps closing the connection")

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        await asyncio.gather(*(_close(client) for client, _ in idle))

    async def _client(self) -> tuple[aiosmtplib.SMTP | RetryLater, bool]:
        now = time.monotonic()
        while self._idle:
            client, since = self._idle.pop()
            if now - since < IDLE_REUSE_SECONDS and client.is_connected:
                return client, True
            await _close(client)
        try:
            return await connect(self.settings), False
        except aiosmtplib.SMTPAuthenticationError as error:
            log.error("the relay %s refused the login of %s: %s", self.settings.outbound_host,
                      self.settings.outbound_user, error.message)
            return RetryLater(f"the relay refused the login ({error.code})"), False
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as error:
            return RetryLater(f"cannot reach the relay {self.settings.outbound_host}:{self.settings.outbound_port}: "
                              f"{error}"), False

    async def _keep(self, client: aiosmtplib.SMTP) -> None:
        if len(self._idle) >= MAX_IDLE_CONNECTIONS:
            await _close(client)
            return
        self._idle.append((client, time.monotonic()))


async def connect(settings: EmailSettings) -> aiosmtplib.SMTP:
    """A connection to the relay, greeted (EHLO), encrypted as configured and logged in."""
    client = aiosmtplib.SMTP(
        hostname=settings.outbound_host, port=settings.outbound_port, timeout=CONNECT_TIMEOUT,
        use_tls=settings.outbound_tls == "tls", start_tls=settings.outbound_tls == "starttls",
        local_hostname=settings.domain,
    )
    await client.connect()
    try:
        if settings.outbound_user:
            await client.login(settings.outbound_user, settings.outbound_password)
    except BaseException:
        await _close(client)
        raise
    return client


def _recipient_refused(error: aiosmtplib.SMTPRecipientsRefused) -> DeliveryResult:
    refusal = error.recipients[0] if error.recipients else None
    code = refusal.code if refusal else 451
    message = refusal.message if refusal else str(error)
    if 500 <= code < 600:
        return Undeliverable(f"the relay refused the address: {code} {message}")
    return RetryLater(f"the relay refused the address for now: {code} {message}")


def _refused(error: aiosmtplib.SMTPResponseException) -> DeliveryResult:
    if 400 <= error.code < 500:
        return RetryLater(f"the relay answered {error.code} {error.message}")
    # A permanent refusal of the bot's sender, login or message: nothing about the member.
    log.error("the relay refused a mail (%s %s): check [email] outbound_* and the sender address", error.code,
              error.message)
    return RetryLater(f"the relay refused the mail: {error.code} {error.message}")


async def _close(client: aiosmtplib.SMTP) -> None:
    try:
        if client.is_connected:
            await asyncio.wait_for(client.quit(), timeout=2)
    except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError):
        client.close()


async def check_relay(settings: EmailSettings) -> str | None:
    """None when the relay greets, encrypts and logs in as configured; else one line."""
    where = f"{settings.outbound_host}:{settings.outbound_port}"
    try:
        client = await connect(settings)
    except aiosmtplib.SMTPAuthenticationError as error:
        return f"the relay {where} refused the login of {settings.outbound_user!r} ({error.code} {error.message})"
    except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPTimeoutError) as error:
        return f"cannot reach the relay at {where} ({error})"
    except aiosmtplib.SMTPException as error:
        return f"the relay {where} did not accept the connection: {error}"
    except (OSError, asyncio.TimeoutError) as error:
        return f"cannot reach the relay at {where} ({error or type(error).__name__})"
    await _close(client)
    return None
