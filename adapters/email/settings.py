"""The [email] section: the network's address, how mail comes in (the bot's own SMTP listener,
or an IMAP mailbox it reads), the relay it sends through, and the small web server that
serves the links in its mails."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from email.headerregistry import Address as MailAddress
from email.errors import HeaderParseError

from bot.settings_reader import ConfigError, Section

if TYPE_CHECKING:
    from adapters.email.adapter import EmailAdapter
    from bot.ports import PlatformContext

INBOUND = ("smtp", "imap")
OUTBOUND_TLS = ("none", "starttls", "tls")
IMAP_TLS = ("tls", "none")
DEFAULT_OUTBOUND_PORTS = {"none": 25, "starttls": 587, "tls": 465}
DEFAULT_IMAP_PORTS = {"tls": 993, "none": 143}


@dataclass(frozen=True)
class EmailSettings:
    address: str
    display_name: str = ""
    inbound: str = "smtp"
    smtp_listen_host: str = "127.0.0.1"
    smtp_listen_port: int = 2525
    imap_host: str = ""
    imap_port: int = 993
    imap_user: str = ""
    imap_password: str = ""
    imap_folder: str = "INBOX"
    imap_tls: str = "tls"
    # Seconds between two looks at the mailbox when the server has no IDLE.
    imap_poll_seconds: float = 60.0
    outbound_host: str = "localhost"
    outbound_port: int = 587
    outbound_user: str = ""
    outbound_password: str = ""
    outbound_tls: str = "starttls"
    messages_per_second: float = 10.0
    link_host: str = "127.0.0.1"
    link_port: int = 8025
    # The address people's browsers reach the link server at (behind a proxy, the public one).
    public_url: str = ""
    # Signs the links in mails; kept across restarts so that links in old mails still work.
    link_secret: str = ""
    link_max_age: float = 14 * 86400.0
    # Hard bounces (other than "no such mailbox") before an address counts as unreachable.
    hard_bounces_before_unreachable: int = 3

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    @property
    def links_base(self) -> str:
        return (self.public_url or f"http://{self.link_host}:{self.link_port}").rstrip("/")


class EmailPlugin:
    name = "email"

    def read_settings(self, section: Section) -> EmailSettings:
        address = normalise_address(section.string("address", required=True))
        if not _looks_like_address(address):
            raise ConfigError("email.address", f"{address!r} is not an email address like \"network@example.org\"")
        inbound = section.choice("inbound", INBOUND, default="smtp")
        outbound_tls = section.choice("outbound_tls", OUTBOUND_TLS, default="starttls")
        imap_tls = section.choice("imap_tls", IMAP_TLS, default="tls")
        imap = inbound == "imap"
        settings = EmailSettings(
            address=address,
            display_name=section.string("display_name"),
            inbound=inbound,
            smtp_listen_host=section.string("smtp_listen_host", default="127.0.0.1"),
            smtp_listen_port=section.port("smtp_listen_port", default=2525, allow_zero=True),
            imap_host=section.string("imap_host", required=imap),
            imap_port=section.port("imap_port", default=DEFAULT_IMAP_PORTS[imap_tls]),
            imap_user=section.string("imap_user", required=imap),
            imap_password=section.secret("imap_password", required=imap),
            imap_folder=section.string("imap_folder", default="INBOX") or "INBOX",
            imap_tls=imap_tls,
            imap_poll_seconds=section.duration("imap_poll", default="60s"),
            outbound_host=section.string("outbound_host", required=True),
            outbound_port=section.port("outbound_port", default=DEFAULT_OUTBOUND_PORTS[outbound_tls]),
            outbound_user=section.string("outbound_user"),
            outbound_password=section.secret("outbound_password"),
            outbound_tls=outbound_tls,
            messages_per_second=section.positive_number("messages_per_second", default=10.0),
            link_host=section.string("link_host", default="127.0.0.1"),
            link_port=section.port("link_port", default=8025, allow_zero=True),
            public_url=section.url("public_url"),
            link_secret=section.secret("link_secret", required=True),
            link_max_age=section.duration("link_max_age", default="14d"),
            hard_bounces_before_unreachable=section.positive_int("hard_bounces_before_unreachable", default=3),
        )
        if settings.outbound_user and not settings.outbound_password:
            raise ConfigError("email.outbound_password", "missing: outbound_user is set, so the relay needs a password")
        if len(settings.link_secret) < 16:
            raise ConfigError("email.link_secret", "use at least 16 characters: it signs the links in the bot's mails")
        return settings

    def build(self, settings: EmailSettings, context: "PlatformContext") -> "EmailAdapter":
        from adapters.email.adapter import EmailAdapter

        return EmailAdapter(settings, context)

    async def check_online(self, settings: EmailSettings) -> str | None:
        from adapters.email.inbound import check_mailbox
        from adapters.email.outbound import check_relay

        problems = [problem for problem in (await check_relay(settings),) if problem]
        if settings.inbound == "imap":
            problem = await check_mailbox(settings)
            if problem:
                problems.append(problem)
        return "; ".join(problems) or None

    def normalise_user_id(self, raw: str) -> str:
        return normalise_address(raw)

    def facilitators_room(self, settings: EmailSettings) -> None:
        return None  # every facilitator gets their own copy of a card


def normalise_address(raw: str) -> str:
    """How an address is kept and compared: "Fatou@Example.ORG " -> "fatou@example.org"."""
    return raw.strip().casefold()


def _looks_like_address(text: str) -> bool:
    if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", text):
        return False
    try:
        MailAddress(addr_spec=text)
    except (HeaderParseError, ValueError, IndexError):
        return False
    return True

