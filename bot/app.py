"""The composition root: storage, the core, the delivery engine and the platforms' adapters,
wired together. With bot/cli.py, the only module of bot/ that knows the concrete parts."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.ports import Adapter, Address
from bot.services.buttons import ButtonCodec
from bot.services.community import Community
from bot.services.deadlines import Deadlines
from bot.services.delivery import Delivery
from bot.services.language import LanguageDetector
from bot.services.progress import BroadcastProgress
from bot.services.turn import Services
from bot.texts.catalog import Texts
from storage.conversations import SqliteConversationStore, SqliteInboundLog, SqliteSecrets
from storage.archive import SqliteArchive
from storage.database import Database
from storage.discussions import SqliteDiscussionStore
from storage.drafts import SqliteDraftStore
from storage.members import SqliteMemberStore
from storage.outbox import SqliteOutbox

if TYPE_CHECKING:
    from adapters.telegram import TelegramSettings

log = logging.getLogger(__name__)

PROGRESS_EVERY = 3.0  # seconds between updates of a long broadcast's count on the cards
DIGESTS_EVERY = 300.0  # seconds between looks for digests that are due


@dataclass
class App:
    settings: Settings
    database: Database
    community: Community
    delivery: Delivery
    deadlines: Deadlines
    adapters: list[Adapter] = field(default_factory=list)

    @classmethod
    async def build(cls, settings: Settings, clock: Clock | None = None,
                    extra_adapters: Sequence[Adapter] = ()) -> "App":
        clock = clock or SystemClock()
        database = await Database.open(settings.storage_path)
        members = SqliteMemberStore(database)
        outbox = SqliteOutbox(database)
        # Pacing is about the platforms' real seconds, whatever clock the deadlines follow.
        delivery = Delivery(
            outbox, SystemClock(), members,
            max_attempts=settings.delivery.max_attempts,
            messages_per_second=dict(settings.delivery.messages_per_second),
            per_chat_interval=dict(settings.delivery.per_chat_interval),
        )
        rooms = {}
        if settings.telegram and settings.telegram.facilitator_chat_id:
            chat = settings.telegram.facilitator_chat_id
            rooms["telegram"] = Address("telegram", "", chat)
        deadlines = Deadlines(clock, settings.community.reminder_before)
        services = Services(
            members=members,
            discussions=SqliteDiscussionStore(database),
            conversations=SqliteConversationStore(database),
            outbox=outbox,
            inbound=SqliteInboundLog(database),
            database=database,
            texts=Texts(settings.community.languages, settings.community.default_language),
            community=settings.community,
            facilitators=settings.facilitators,
            codec=ButtonCodec(await SqliteSecrets(database).secret("buttons")),
            clock=clock,
            waker=delivery,
            detector=LanguageDetector(),
            drafts=SqliteDraftStore(database),
            archive=SqliteArchive(database),
            deadlines=deadlines,
            rooms=rooms,
        )
        community = Community(services)
        deadlines.connect(community.deadline_reached, community.reminder_due)
        progress = BroadcastProgress(services)
        services.broadcasts = progress
        deadlines.every(PROGRESS_EVERY, progress.report, "broadcast-progress")
        deadlines.every(DIGESTS_EVERY, community.send_digests, "digests", now_too=True)
        adapters = [*_platform_adapters(settings), *extra_adapters]
        for adapter in adapters:
            delivery.add(adapter)
        return cls(settings, database, community, delivery, deadlines, adapters)

    @property
    def web_address(self) -> str | None:
        """The web chat's address, once it is listening."""
        return next((getattr(adapter, "url") for adapter in self.adapters if adapter.platform == "webchat"), None)

    async def seed_demo(self) -> None:
        from bot.demo import seed

        await seed(self.community.services)

    async def start(self) -> None:
        self.deadlines.start()
        await self.community.prepare()
        for adapter in self.adapters:
            await adapter.start(self.community)
            log.info("%s is running", adapter.platform)
        await self.delivery.start()

    async def stop(self) -> None:
        """Stop receiving first, then stop sending (unsent rows stay queued), then close."""
        for adapter in reversed(self.adapters):
            try:
                await asyncio.wait_for(adapter.stop(), timeout=5)
            except Exception:
                log.exception("%s did not stop cleanly", adapter.platform)
        self.deadlines.stop()
        await self.delivery.stop(timeout=3)
        await self.database.close()


def telegram_settings(settings: Settings) -> "TelegramSettings":
    from adapters.telegram import TelegramSettings

    config = settings.telegram
    assert config is not None
    return TelegramSettings(
        token=config.token, base_url=config.base_url, mode=config.mode, webhook_url=config.webhook_url,
        host=config.host, port=config.port, secret_token=config.secret_token,
        facilitator_chat_id=config.facilitator_chat_id, languages=list(settings.community.languages),
    )


def _platform_adapters(settings: Settings) -> list[Adapter]:
    adapters: list[Adapter] = []
    if settings.telegram is not None:
        from adapters.telegram import TelegramAdapter

        adapters.append(TelegramAdapter(telegram_settings(settings)))
    if settings.webchat is not None:
        from adapters.webchat import WebChatAdapter, WebChatSettings

        web = settings.webchat
        adapters.append(WebChatAdapter(WebChatSettings(host=web.host, port=web.port, secret=web.secret, demo=web.demo)))
    return adapters
