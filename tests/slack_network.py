"""The real app on Slack: slack-bolt and slack_sdk against the local fake Slack, in HTTP mode
(events and interactivity signed and POSTed to /slack/events) or in Socket Mode."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Mapping

from adapters.slack import SlackAdapter, SlackSettings
from bot.app import App
from bot.config import CommunitySettings, FacilitatorSettings, Settings
from bot.domain.members import Identity, Member, Role
from tests.fakes.slack_api import FakeSlack, SlackUser
from tests.telegram_network import free_port
from tests.storage_backend import storage_url

FACILITATOR = "UFATOU001"


def slack_settings_for(api: FakeSlack, channel: str = "", socket_mode: bool = False) -> SlackSettings:
    return SlackSettings(
        bot_token=api.token, signing_secret=api.signing_secret, base_url=api.base_url,
        app_token=api.app_token if socket_mode else "", host="127.0.0.1", port=free_port(),
        facilitator_channel=channel,
    )


def slack_settings(tmp_path: Path, api: FakeSlack, channel: str = "", socket_mode: bool = False,
                   reply_window: float = 21 * 86400, facilitators: Mapping[str, frozenset[str]] | None = None,
                   **platforms: object) -> Settings:
    return Settings(
        community=CommunitySettings(name="Test Network", languages=("en", "fr"), reply_window=reply_window),
        storage_path=tmp_path / "slack.db",
        storage_url=storage_url(tmp_path / "slack.db"),
        facilitators=FacilitatorSettings(by_platform=facilitators or {"slack": frozenset({FACILITATOR})}),
        platforms={"slack": slack_settings_for(api, channel, socket_mode), **platforms},
    )


def slack_adapter(app: App) -> SlackAdapter:
    return next(adapter for adapter in app.adapters if isinstance(adapter, SlackAdapter))


async def start_app(settings: Settings, api: FakeSlack) -> App:
    app = await App.build(settings)
    await app.start()
    api.events_url = slack_adapter(app).events_url or ""
    return app


async def join(user: SlackUser, name: str = "", organization: str = "", country: str = "",
               first_words: str = "hello") -> None:
    """A person joins by writing to the bot (a facilitator known from the configuration says
    "start"): their Slack name is offered, they answer in the chat, and the question that
    follows a press opens as a modal."""
    await user.says(first_words)
    await user.receives("What is your name")
    await user.says(name or user.name)
    await user.receives("Which organization")
    if organization:
        await user.says(organization)
        await user.receives("Which country")
        if country:
            await user.says(country)
            await user.receives("Which topics")
            await user.presses("Skip")
        else:
            await user.presses("Skip")
            await user.submits("social protection", titled="Topics")  # the press opened a modal
    else:
        await user.presses("Skip")
        if country:
            await user.submits(country, titled="Country")  # the press opened a modal
            await user.receives("Which topics")
            await user.presses("Skip")
        else:
            # Skip inside the modal: the next question replaces it in the same modal.
            await user.presses_in_modal("Skip", titled="Country")
            await user.submits("child poverty", titled="Topics")
    await user.receives("Which language")
    await user.presses("English")
    # The press opened the next question as a modal: skipped there, the one after replaces it.
    await user.presses_in_modal("Skip", titled="What I offer")
    await user.presses_in_modal("Skip", titled="What I look for")
    await user.presses("No", on=await user.receives("find you in the directory"))
    await user.receives("you are in")


async def enrol(app: App, platform: str, user_id: str, chat_id: str, name: str, organization: str = "",
                country: str = "") -> Member:
    """A member who joined earlier (or a facilitator from the configuration, completed), for
    stories that are not about joining: written to the database as an import would."""
    now = app.clock.now()
    async with app.database.transaction():
        member = await app.members.find_by_identity(platform, user_id)
        if member is None:
            member = await app.members.create(Identity(platform, user_id, chat_id, last_seen_at=now), name,
                                              Role.MEMBER, now)
        member = replace(member, name=name, organization=organization, country=country, language="en")
        await app.members.save(member)
        await app.members.touch(platform, user_id, chat_id, now)
    return member
