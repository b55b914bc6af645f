"""The real app on Telegram: python-telegram-bot against the local fake Bot API server."""

from __future__ import annotations

import socket
from pathlib import Path

from adapters.telegram import TelegramSettings
from bot.app import App
from bot.config import CommunitySettings, DeliveryConfig, FacilitatorSettings, Settings
from tests.fakes.telegram_api import FakeTelegram, TelegramUser
from tests.storage_backend import storage_url

FACILITATOR_ID = 500


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def telegram_settings(tmp_path: Path, api: FakeTelegram, mode: str = "polling", group: str = "",
                      reply_window: float = 21 * 86400, per_chat_interval: float | None = None) -> Settings:
    """`per_chat_interval` replaces Telegram's one message a second to a chat, for tests that
    count messages rather than pace them (with a fake that allows the burst)."""
    port = free_port()
    delivery = DeliveryConfig() if per_chat_interval is None else DeliveryConfig(
        per_chat_interval={"telegram": per_chat_interval})
    return Settings(
        delivery=delivery,
        community=CommunitySettings(name="Test Network", languages=("en", "fr"), reply_window=reply_window),
        storage_path=tmp_path / "telegram.db",
        storage_url=storage_url(tmp_path / "telegram.db"),
        facilitators=FacilitatorSettings(by_platform={"telegram": frozenset({str(FACILITATOR_ID)})}),
        platforms={"telegram": TelegramSettings(
            token=api.token, base_url=api.base_url, mode=mode,
            webhook_url=f"http://127.0.0.1:{port}/telegram" if mode == "webhook" else "",
            host="127.0.0.1", port=port, secret_token="s3cret-token" if mode == "webhook" else "",
            facilitator_chat_id=group,
        )},
    )


async def start_app(settings: Settings) -> App:
    app = await App.build(settings)
    await app.start()
    return app


# What joining says, in the language a person's app is set to.
JOINING = {
    "en": ("What is your name", "Which organization", "Which country", "Which topics", "Which language", "Skip",
           "English", "you are in"),
    "fr": ("Quel est votre nom", "Avec quelle organisation", "Dans quel pays", "Quels thèmes", "Quelle langue",
           "Passer", "Français", "vous faites partie du réseau"),
}


async def join(user: TelegramUser, name: str, organization: str = "", country: str = "") -> None:
    name_asked, organization_asked, country_asked, topics_asked, language_asked, skip, language, joined = (
        JOINING[user.language_code])
    await user.send("/start")
    await user.receives(name_asked)
    await user.send(name)
    await user.receives(organization_asked)
    await user.send(organization) if organization else await user.press(skip)
    await user.receives(country_asked)
    await user.send(country) if country else await user.press(skip)
    await user.receives(topics_asked)
    await user.press(skip)
    await user.receives(language_asked)
    await user.press(language)
    # What they offer and look for (skipped), then No to the member directory: taken in turn,
    # whatever their wording in the member's language.
    for _ in range(2):
        await user.press(skip, on=await user.receives(""))
    directory = await user.receives("")
    await user.press(directory.labels()[1], on=directory)
    await user.receives(joined)
