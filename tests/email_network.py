"""The real app on email: the adapter's own SMTP listener takes people's mail, the fake relay
(tests/fakes/mail.py) takes the bot's, and the links are served on 127.0.0.1. Telegram can
run beside it, on the fake Bot API."""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

from adapters.email import EmailAdapter, EmailSettings
from adapters.telegram import TelegramSettings
from bot.app import App
from bot.config import CommunitySettings, FacilitatorSettings, Settings
from tests.fakes.mail import MailPerson, MailSink, ReceivedMail
from tests.fakes.telegram_api import FakeTelegram
from tests.storage_backend import storage_url

NETWORK = "network@cpn.test"
FATOU = "fatou@cpn.test"  # the facilitator
LINK_SECRET = "a-link-secret-for-tests-only"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def email_settings(sink: MailSink, **overrides: Any) -> EmailSettings:
    link_port = free_port()
    settings = EmailSettings(
        address=NETWORK, display_name="Test Network", inbound="smtp", smtp_listen_host="127.0.0.1",
        smtp_listen_port=free_port(), outbound_host="127.0.0.1", outbound_port=sink.port, outbound_tls="none",
        messages_per_second=200.0, link_host="127.0.0.1", link_port=link_port,
        public_url=f"http://127.0.0.1:{link_port}", link_secret=LINK_SECRET,
    )
    return replace(settings, **overrides)


def network_settings(tmp_path: Path, sink: MailSink, telegram: FakeTelegram | None = None,
                     telegram_facilitators: frozenset[str] = frozenset(), **email: Any) -> Settings:
    platforms: dict[str, Any] = {"email": email_settings(sink, **email)}
    facilitators = {"email": frozenset({FATOU})}
    if telegram is not None:
        platforms["telegram"] = TelegramSettings(token=telegram.token, base_url=telegram.base_url)
        facilitators["telegram"] = telegram_facilitators
    return Settings(
        community=CommunitySettings(name="Test Network", languages=("en", "fr")),
        storage_path=tmp_path / "email.db",
        storage_url=storage_url(tmp_path / "email.db"),
        facilitators=FacilitatorSettings(by_platform=facilitators),
        platforms=platforms,
    )


async def start_app(settings: Settings) -> App:
    app = await App.build(settings)
    await app.start()
    return app


def email_adapter(app: App) -> EmailAdapter:
    return next(adapter for adapter in app.adapters if isinstance(adapter, EmailAdapter))


def person(sink: MailSink, settings: Settings, address: str, name: str = "") -> MailPerson:
    email: EmailSettings = settings.platform("email")
    return MailPerson(sink, address, name, email.address, email.smtp_listen_port)


async def join_by_email(member: MailPerson, subject: str, body: str = "", organization: str = "") -> ReceivedMail:
    """A newcomer's first mail, then the profile questions answered by replying; returns the
    last mail of joining ("you are in")."""
    await member.writes(subject, body)
    await member.replies(await member.receives("What is your name"), member.name)
    await member.replies(await member.receives("Which organization"), organization or "Skip")
    await member.replies(await member.receives("Which country"), "Skip")
    await member.replies(await member.receives("Which topics"), "Skip")
    await member.replies(await member.receives("Which language"), "English")
    await member.replies(await member.receives("What can you offer"), "Skip")
    await member.replies(await member.receives("What are you looking for"), "Skip")
    await member.replies(await member.receives("find you in the directory"), "No")
    return await member.receives("you are in")
