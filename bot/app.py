"""The composition root: storage, the core's features, the delivery engine and the platforms'
adapters, wired together. With bot/cli.py, the only module of bot/ that knows the concrete
parts; each feature receives here exactly what it uses."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from adapters import registry
from bot import config as configuration
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.domain.practices import fold
from bot.ports import Adapter, PlatformContext, PlatformPlugin, Polled
from bot.services.asking import Asking
from bot.services.audit import Audit
from bot.services.broadcast import Broadcast
from bot.services.buttons import ButtonCodec
from bot.services.cards import Cards
from bot.services.changes import Changes
from bot.services.closing import Closing
from bot.services.community import Community
from bot.services.deadlines import Deadlines
from bot.services.delivery import Delivery
from bot.services.expansion import Expansion
from bot.services.digests import Digests
from bot.services.directory import Directory
from bot.services.dispatch import Dispatcher
from bot.services.event_form import EventForm
from bot.services.events import Events
from bot.services.home import Home
from bot.services.intake import Intake
from bot.services.introductions import Introductions
from bot.services.joining import Joining
from bot.services.language import LanguageDetector
from bot.services.leadership import Leadership
from bot.services.membership import Membership
from bot.services.messaging import Messenger
from bot.services.moderation import Moderation
from bot.services.newsletter import Newsletters
from bot.services.news import NewsDesk
from bot.services.news_form import NewsForm
from bot.services.people import People
from bot.services.pending import Pending
from bot.services.practice_form import PracticeForm
from bot.services.practices import Countries, Practices, Tagging, Taxonomy, status_names
from bot.services.privacy import Privacy
from bot.services.progress import BroadcastProgress
from bot.services.publishing import Publishing
from bot.services.replying import Replying
from bot.services.reports import Reports
from bot.services.roster import Roster
from bot.services.routes import Routes
from bot.services.rules import TooFast
from bot.services.searching import Searching
from bot.services.surveys import Surveys
from bot.services.stemming import Stemming
from bot.services.team import Team
from bot.services.translating import Translating
from bot.services.watch import Watch
from bot.services.workspace import Workspace
from bot.texts.catalog import Texts
from storage.archive import SqliteArchive
from storage.audit import SqliteAuditLog
from storage.conversations import SqliteConversationStore, SqliteInboundLog, SqliteSecrets
from storage.directory import SqliteDirectory, SqliteIntroductions
from storage.discussions import SqliteDiscussionStore
from storage.drafts import SqliteDraftStore
from storage.events import SqliteEventStore
from storage.files import is_out_of_room
from storage.leases import AdvisoryLease
from storage.members import SqliteMemberStore
from storage.news import SqliteNewsStore
from storage.opening import AnyDatabase, open_storage
from storage.outbox import SqliteOutbox
from storage.personal_data import SqlitePersonalData
from storage.practices import SqlitePracticeStore
from storage.programme import SqliteProgramme
from storage.reports import SqliteReportFigures
from storage.roster import SqliteAddedFacilitators
from storage.search_log import SqliteSearchLog
from storage.send_slots import SqlSendSlots
from storage.sign_in import SqliteSignInLinks
from storage.surveys import SqliteSurveyStore
from storage.translations import SqliteTranslations

log = logging.getLogger(__name__)

PROGRESS_EVERY = 3.0  # seconds between updates of a long broadcast's count on the cards
DIGESTS_EVERY = 300.0  # seconds between looks for digests that are due
TIDY_EVERY = 3600.0  # seconds between passes that drop what is kept no longer (old texts, forgotten people)
UNCLAIMED_EVERY = 60.0  # seconds between looks for questions nobody of their language took up
EVENTS_EVERY = 10.0  # seconds between looks for events' reminders and follow-ups that are due
SURVEYS_EVERY = 60.0  # seconds between looks for surveys whose closing date passed
INTRODUCTIONS_EVERY = 3600.0  # seconds between looks for introduction requests nobody answered in time
SHARED_DEADLINES_EVERY = 10.0  # seconds between the leader's looks for other workers' deadlines
ORPHANS_EVERY = 60.0  # seconds between the leader's looks for events a stopped worker kept
FEATURES_EVERY = 3600.0  # seconds between looks for whether the next member's feature is due


def load_settings(path: str | Path, environ: Mapping[str, str] | None = None) -> Settings:
    """The configuration file, each platform's section read by its own adapter."""
    return configuration.load(path, registry(), environ)


async def check_online(settings: Settings) -> list[str]:
    """One line per enabled platform whose API does not answer as it should."""
    plugins = registry()
    problems = []
    for name, platform_settings in settings.platforms.items():
        problem = await plugins[name].check_online(platform_settings)
        if problem:
            problems.append(f"{name}: {problem}")
    return problems


@dataclass
class App:
    settings: Settings
    clock: Clock
    database: AnyDatabase
    intake: Intake
    delivery: Delivery
    deadlines: Deadlines
    people: People
    moderation: Moderation
    closing: Closing
    digests: Digests
    members: SqliteMemberStore
    discussions: SqliteDiscussionStore
    archive: SqliteArchive
    cards: Cards
    broadcast: Broadcast
    codec: ButtonCodec
    routes: Routes
    privacy: Privacy
    # Writes the rows of planned broadcasts; the waker the core's use cases call.
    waker: Expansion
    adapters: list[Adapter] = field(default_factory=list)
    introductions: Introductions | None = None
    leadership: Leadership | None = None
    events: Events | None = None
    surveys: Surveys | None = None
    community: Community | None = None

    @classmethod
    async def build(cls, settings: Settings, clock: Clock | None = None, extra_adapters: Sequence[Adapter] = (),
                    plugins: Mapping[str, PlatformPlugin] | None = None) -> "App":
        database = await open_storage(settings.storage_path, settings.storage_url)
        try:
            return await cls._wire(database, settings, clock, extra_adapters, plugins)
        except BaseException:
            # An open connection's thread would keep the process alive after the error.
            await database.close()
            raise

    @classmethod
    async def _wire(cls, database: AnyDatabase, settings: Settings, clock: Clock | None,
                    extra_adapters: Sequence[Adapter], plugins: Mapping[str, PlatformPlugin] | None) -> "App":
        clock = clock or SystemClock()
        plugins = registry() if plugins is None else plugins
        community = settings.community
        context = PlatformContext(community.languages, community.default_language, community.name)
        adapters = [plugins[name].build(platform, context) for name, platform in settings.platforms.items()]
        adapters += extra_adapters
        rooms = {name: room for name, platform in settings.platforms.items()
                 if (room := plugins[name].facilitators_room(platform)) is not None}

        # Members are reached only on the platforms this bot runs (one imported for a platform
        # that is not set up waits for it, and is not counted in an audience).
        members = SqliteMemberStore(database, platforms=[adapter.platform for adapter in adapters
                                                         if adapter.capabilities.reaches_members])
        discussions = SqliteDiscussionStore(database)
        outbox = SqliteOutbox(database)
        archive = SqliteArchive(database, Stemming(community.languages, community.default_language), clock)
        conversations = SqliteConversationStore(database)
        # Pacing is about the platforms' real seconds, whatever clock the deadlines follow.
        shared = database.dialect == "postgresql"  # other workers may use the same database
        delivery = Delivery(
            outbox, SystemClock(), members,
            max_attempts=settings.delivery.max_attempts,
            messages_per_second=dict(settings.delivery.messages_per_second),
            per_chat_interval=dict(settings.delivery.per_chat_interval),
            shared_slots=SqlSendSlots(database) if shared else None,
        )
        messenger = Messenger(outbox, Texts(community.languages, community.default_language))
        for adapter in adapters:
            delivery.add(adapter)
            messenger.add_platform(adapter.platform, adapter.capabilities)
        # What wakes delivery after a use case wakes the writing of the broadcasts it planned.
        waker = Expansion(outbox, delivery)
        codec = ButtonCodec(await SqliteSecrets(database).secret("buttons"))
        leadership = Leadership(AdvisoryLease(database, "leader"))
        deadlines = Deadlines(clock, community.reminder_before, leads=lambda: leadership.leads)
        for adapter in adapters:
            if shared and isinstance(adapter, Polled) and adapter.polls:
                await adapter.poll(False)  # until this worker leads
                leadership.on_change(adapter.poll)

        watch = Watch()
        cards = Cards(members, discussions, messenger, outbox, rooms, community.default_language, watch, clock=clock)
        changes = Changes(discussions, members)
        progress = BroadcastProgress(outbox, discussions, cards, database, waker)
        detector = LanguageDetector(community.languages)
        detector.prepare()
        replying = Replying(discussions, members, messenger, codec, detector, community.languages, watch)
        audit = Audit(SqliteAuditLog(database))
        roster = Roster(settings.facilitators, SqliteAddedFacilitators(database))
        await roster.load()
        translations = SqliteTranslations(database)
        broadcast = Broadcast(members, messenger, codec, translations, watch=progress,
                              to_approver=settings.facilitators.broadcast_to_approver)
        translating = Translating(translations, codec, community.languages, audit, questions=broadcast)
        searching = Searching(archive, SqliteSearchLog(database))
        asking = Asking(discussions, archive, cards, detector, community.languages, community.default_language,
                        settings.limits.waiting_questions)
        joining = Joining(members, community.name, community.languages, ask=asking.draft)
        moderation = Moderation(discussions, members, conversations, cards, changes, broadcast, deadlines, messenger,
                                codec, community.reply_window, database, waker, clock,
                                settings.facilitators.unclaimed_after, audit)
        drafts = SqliteDraftStore(database)
        publishing = Publishing(discussions, members, drafts, archive, cards, changes, broadcast,
                                deadlines, messenger, codec, community.reply_window, translating, audit)
        closing = Closing(discussions, members, cards, changes, publishing, broadcast, messenger, deadlines, codec,
                          database, waker, clock, community.reminder_before, audit)
        digests = Digests(members, discussions, messenger, codec, database, waker, clock)
        home = Home(discussions, codec, community.name)
        cards.offer(moderation.card_actions)
        cards.offer(closing.card_actions)
        cards.offer(translating.card_actions)

        routes = Routes()
        # The order here is the order of /help and of the command menus.
        privacy = Privacy(SqlitePersonalData(database, outbox), messenger, audit, clock, community.name,
                          community.languages, community.default_language, settings.inbound_retention)
        routes.include(joining, asking, searching, home, digests, moderation, Membership(members, routes), privacy,
                       replying, broadcast, closing, publishing, Pending(discussions, members, cards, publishing),
                       translating, audit, Reports(SqliteReportFigures(database)),
                       Team(members, roster, messenger, audit, tuple(adapter.platform for adapter in adapters)))
        workspace = Workspace(members, discussions, drafts, archive, cards, publishing, progress, codec, messenger,
                              SqliteSignInLinks(database), watch, clock, address=lambda: _workspace_address(adapters),
                              platform=lambda: _workspace_platform(adapters))
        routes.include(workspace)
        # Good practices: shared with /practice, browsed with /practices, tags on consolidated replies.
        practice_store = SqlitePracticeStore(database)
        translators = [messenger.translator(language) for language in community.languages]
        taxonomy, countries = Taxonomy(settings.practices.themes, translators), Countries(community.languages)
        practices = Practices(practice_store, members, messenger, cards, codec, audit, taxonomy, countries)
        searching.practices = practices  # a search finds good practices beside consolidated replies
        publishing.tagging = Tagging(practice_store, taxonomy, countries, codec, audit, publishing.contributions_of)
        routes.include(practices, PracticeForm(practices, practice_store, cards, taxonomy, countries, detector,
                                               community.languages, community.default_language,
                                               status_names(translators)), publishing.tagging)
        introductions = Introductions(members, SqliteIntroductions(database), messenger, codec, database, delivery,
                                      clock)
        routes.include(Directory(SqliteDirectory(database)), introductions)
        # Events with registration, reminders and a follow-up; surveys after an event or on their own.
        event_store = SqliteEventStore(database)
        events = Events(event_store, members, messenger, codec, database, waker, clock, audit, community.name)
        digests.sections.append(events)  # a digest reminds its reader of the events coming
        surveys = Surveys(SqliteSurveyStore(database), event_store, members, messenger, codec, database, waker, clock,
                          audit, community.languages)
        events.surveys = surveys
        routes.include(events, EventForm(events, community.languages, community.default_language), surveys)
        # The monthly newsletter and "Know Your Community" features.
        programme = SqliteProgramme(database)
        featuring = Community(programme, members, messenger, cards, codec, database, waker, clock, audit,
                              community.name, settings.programme.feature_every)
        routes.include(Newsletters(programme, messenger, codec, audit, community.name), featuring)
        # News shared by members (approved like a question), facilitators' briefs and alerts.
        news_store = SqliteNewsStore(database)
        news_desk = NewsDesk(news_store, members, members, messenger, cards, codec, audit)
        digests.sections.append(news_desk)
        language_names = {fold(name): code for t in translators for code in community.languages
                          for name in (code, t.language_name(code))}
        routes.include(news_desk, NewsForm(news_desk, news_store, language_names))
        people = People(members, roster, database, clock, community.languages)
        dispatcher = Dispatcher(routes, people, conversations, discussions, outbox, codec, messenger, clock,
                                joining, asking, replying, home)
        intake = Intake(SqliteInboundLog(database), dispatcher, people, routes, messenger, outbox, waker, database,
                        clock, max_attempts=settings.delivery.max_attempts,
                        too_fast=TooFast(settings.limits.messages_per_second, settings.limits.burst),
                        out_of_room=is_out_of_room)
        intake.workspace = workspace

        deadlines.connect(closing.deadline_reached, closing.reminder_due)
        deadlines.every(PROGRESS_EVERY, progress.report, "broadcast-progress")
        deadlines.every(DIGESTS_EVERY, digests.send_due, "digests", now_too=True)
        deadlines.every(UNCLAIMED_EVERY, moderation.share_unclaimed, "unclaimed-questions", now_too=True)
        deadlines.every(TIDY_EVERY, privacy.tidy, "privacy-tidy", now_too=True)
        deadlines.every(EVENTS_EVERY, events.send_due, "events", now_too=True)
        deadlines.every(SURVEYS_EVERY, surveys.close_due, "surveys-closing", now_too=True)
        deadlines.every(INTRODUCTIONS_EVERY, introductions.expire_due, "introductions-expiry", now_too=True)
        deadlines.every(FEATURES_EVERY, featuring.propose_due, "features", now_too=True)
        if shared:
            # Deadlines planned by another worker (which may have died), and events another
            # worker kept but did not handle: the leader takes them up.
            deadlines.every(SHARED_DEADLINES_EVERY, closing.reschedule_open, "deadlines-of-all-workers")
            deadlines.every(ORPHANS_EVERY, intake.take_up_orphans, "events-of-stopped-workers")
        return cls(settings, clock, database, intake, delivery, deadlines, people, moderation, closing, digests, members,
                   discussions,
                   archive, cards, broadcast, codec, routes, privacy, waker, adapters, introductions=introductions,
                   events=events, surveys=surveys, community=featuring, leadership=leadership)

    @property
    def dashboard_address(self) -> str | None:
        return _workspace_address(self.adapters)

    @property
    def web_address(self) -> str | None:
        """The address of the bot's own web pages, once they are served."""
        return next((getattr(adapter, "url") for adapter in self.adapters
                     if hasattr(adapter, "url") and adapter.capabilities.reaches_members), None)

    async def seed_demo(self) -> None:
        from bot.demo import seed

        await seed(self)

    async def start(self) -> None:
        assert self.leadership is not None
        await self.leadership.start()
        self.deadlines.start()
        await self.people.enrol_facilitators()
        await self.closing.reschedule_open()
        await self.intake.start()
        for adapter in self.adapters:
            await adapter.start(self.intake)
            log.info("%s is running", adapter.platform)
        await self.delivery.start()
        await self.waker.start()

    async def stop(self) -> None:
        """Stop sending first (what is being sent is waited for, unsent rows stay queued): a
        send through a platform's closed client would fail. Then receiving, then handling
        (what is kept waits for the next start), then close."""
        await self.waker.stop()
        await self.delivery.stop(timeout=3)
        for adapter in reversed(self.adapters):
            try:
                await asyncio.wait_for(adapter.stop(), timeout=5)
            except Exception:
                log.exception("%s did not stop cleanly", adapter.platform)
        await self.intake.stop(timeout=3)
        await self.deadlines.stop()
        await self.delivery.give_up_claims()
        if self.leadership is not None:
            await self.leadership.stop()
        await self.database.close()


def _workspace(adapters: Sequence[Adapter]) -> Adapter | None:
    """The adapter of the facilitators' workspace: the one that reaches no members."""
    return next((adapter for adapter in adapters if not adapter.capabilities.reaches_members), None)


def _workspace_address(adapters: Sequence[Adapter]) -> str | None:
    adapter = _workspace(adapters)
    return getattr(adapter, "url", None) if adapter is not None else None


def _workspace_platform(adapters: Sequence[Adapter]) -> str | None:
    adapter = _workspace(adapters)
    return adapter.platform if adapter is not None else None
