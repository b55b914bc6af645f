"""The real app on WhatsApp: the adapter over HTTP against the local fake Graph API, the fake
posting people's messages to the adapter's webhook."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from adapters.whatsapp import WhatsAppSettings
from bot.app import App
from bot.config import CommunitySettings, DeliveryConfig, FacilitatorSettings, Settings
from bot.domain.members import Identity, Member, Role
from tests.fakes.whatsapp_api import (
    API_VERSION, BROADCAST_TEMPLATE, VERIFY_TOKEN, FakeWhatsApp, WhatsAppPerson,
)
from tests.storage_backend import storage_url

FATOU = "221770000001"  # the facilitator, written "+221 77 000 00 01" in the configuration


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def whatsapp_settings(api: FakeWhatsApp, port: int | None = None, template: bool = True) -> WhatsAppSettings:
    return WhatsAppSettings(
        phone_number_id=api.phone_number_id, access_token=api.access_token, app_secret=api.app_secret,
        verify_token=VERIFY_TOKEN, api_base_url=api.base_url, api_version=API_VERSION, host="127.0.0.1",
        port=port or free_port(), broadcast_template=BROADCAST_TEMPLATE.name if template else "",
        template_language=BROADCAST_TEMPLATE.language,
    )


def network_settings(tmp_path: Path, api: FakeWhatsApp, template: bool = True, reply_window: float = 21 * 86400,
                     others: dict[str, Any] | None = None,
                     facilitators: dict[str, frozenset[str]] | None = None,
                     per_chat_interval: float = 0.0) -> Settings:
    """A network on WhatsApp (and `others`). Messages to one person are not paced at Meta's
    6 seconds (the fake's pair limit of 45 in a burst is not reached), so no test waits."""
    whatsapp = whatsapp_settings(api, template=template)
    api.webhook_url = f"http://127.0.0.1:{whatsapp.port}/whatsapp/webhook"
    return Settings(
        community=CommunitySettings(name="Test Network", languages=("en", "fr"), reply_window=reply_window),
        storage_path=tmp_path / "whatsapp.db",
        storage_url=storage_url(tmp_path / "whatsapp.db"),
        facilitators=FacilitatorSettings(by_platform=facilitators or {"whatsapp": frozenset({FATOU})}),
        platforms={"whatsapp": whatsapp, **(others or {})},
        delivery=DeliveryConfig(per_chat_interval={"whatsapp": per_chat_interval}),
    )


async def start_app(settings: Settings) -> App:
    app = await App.build(settings)
    await app.start()
    return app


async def join(person: WhatsAppPerson, first_words: str = "Hello", name: str = "") -> None:
    """A newcomer's first message starts joining; their WhatsApp name is kept as their name
    unless they write another."""
    await person.says(first_words)
    await person.receives("What is your name")
    await (person.says(name) if name else person.taps("Skip"))
    await person.receives("Which organization")
    await person.taps("Skip")
    await person.receives("Which country")
    await person.taps("Skip")
    await person.receives("Which topics")
    await person.taps("Skip")
    await person.receives("Which language")
    await person.taps("English")
    await person.receives("What can you offer")
    await person.taps("Skip")
    await person.receives("What are you looking for")
    await person.taps("Skip")
    await person.receives("find you in the directory")
    await person.taps("No")
    await person.receives("you are in")
    if not first_words.startswith("/"):
        # The first words were kept as a question: this newcomer did not mean to ask one.
        await person.taps("Cancel", on=await person.receives("Here is your question"))
        await person.receives("Cancelled")


async def enrol_without_writing(app: App, phone: str, name: str) -> Member:
    """A member imported (or joined long ago) who has not written in the last 24 hours."""
    now = app.clock.now()
    async with app.database.transaction():
        return await app.members.create(Identity("whatsapp", phone, phone), name, Role.MEMBER, now)
