"""The core's entry point, `bot.ports.Inbox`: every event from every platform is kept first,
then handled in the background, so an adapter is answered at once (Slack wants an answer
within 3 seconds; Telegram's button spinner should not wait on the database).

Each person's events are handled in order by one worker (a person's messages never overtake
each other); different people's run side by side. An event is marked handled in the same
transaction as its use case's changes, so after a crash the next start handles again, once,
exactly the events whose changes were lost. A flood is refused at the door, before it costs
a row.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
from collections import deque
from typing import Any, Callable, Sequence

from bot.clock import Clock
from bot.ports import (
    Acknowledgement, Address, ButtonPress, DeliveryReport, DeliveryStatus, FormSubmitted, HomeOpened, Incoming,
    IncomingCommand, IncomingText, Notice, PersonCard, Purpose, Sender, TranscriptEntry, Words, Workspace,
)
from bot.services.conversation import InboundLog, UnitOfWork
from bot.services.dispatch import Dispatcher
from bot.services.messaging import Messenger, compose
from bot.services.outbox import Outbox, Waker
from bot.services.people import People
from bot.services.routes import Routes
from bot.services.rules import Attempt, TooFast
from bot.texts.catalog import N_

log = logging.getLogger(__name__)

SORRY = N_("Sorry, something went wrong on our side. Your message is kept; please try again in a moment.")
NO_ROOM = N_("Sorry, I cannot take your message right now. Please send it again in a while.")
Key = tuple[str, str]
REPORT_AGAIN_AFTER = 2.0  # seconds
ORPHANED_AFTER = 60.0  # seconds an event waits unhandled before the leader takes it up


def disk_is_full(error: BaseException) -> bool:
    """The core's own test for "no room to keep this"; the composition root passes storage's,
    which also knows its database's words for it."""
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


class Intake:
    def __init__(self, inbound: InboundLog, dispatcher: Dispatcher, people: People, routes: Routes,
                 messenger: Messenger, outbox: Outbox, waker: Waker, database: UnitOfWork, clock: Clock,
                 max_attempts: int = 8, too_fast: TooFast | None = None,
                 out_of_room: Callable[[BaseException], bool] = disk_is_full) -> None:
        self.inbound = inbound
        self.dispatcher = dispatcher
        self.people = people
        self.routes = routes
        self.messenger = messenger
        self.outbox = outbox
        self.waker = waker
        self.database = database
        self.clock = clock
        self.max_attempts = max_attempts
        self.too_fast = too_fast or TooFast()
        # What the facilitators' dashboard reads (set by the composition root).
        self.workspace: Workspace | None = None
        self.out_of_room = out_of_room
        self._queues: dict[Key, deque[tuple[int, Incoming]]] = {}
        self._workers: dict[Key, asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._running = False
        self._later: set[asyncio.TimerHandle] = set()
        self._reports: set[asyncio.Task[None]] = set()

    # --- Inbox ---------------------------------------------------------------------------------

    async def handle(self, event: Incoming) -> Acknowledgement:
        sender = event.sender
        refusal = self.too_fast.check(Attempt(sender, None))
        if refusal is not None:
            return await self._refuse_flood(sender, refusal.reason)
        kind, body = describe(event)
        address = sender.address
        try:
            row = await self.inbound.record(address.platform, address.user_id, address.chat_id, kind, body,
                                            encode_event(event), self.clock.now(), event.event_id)
        except Exception as error:
            if not self.out_of_room(error):
                raise
            # Nothing new can be kept, so nothing is accepted: the person is told to send it
            # again rather than believe it arrived. What was kept before stays and is handled.
            log.warning("no room on the disk to keep a %s from %s:%s: refused, the person is asked to send it again",
                        kind, address.platform, address.user_id)
            return await self._refuse(sender, NO_ROOM, tell=True)
        if row is None:
            log.info("%s delivered event %s again: it was handled once already", address.platform, event.event_id)
            return Acknowledgement()
        if self._running:
            self._enqueue(row, event)
        return Acknowledgement()

    async def people_on(self, platform: str) -> list[PersonCard]:
        return await self.people.on(platform)

    async def command_list(self, language: str) -> list[tuple[str, str]]:
        t = self.messenger.translator(language)
        return [(command, t(description)) for command, description in self.routes.menu()]

    async def transcript(self, address: Address, limit: int = 200) -> list[TranscriptEntry]:
        return await self.outbox.transcript(address, limit)

    async def wake(self, address: Address) -> None:
        await self.waker.wake_person(address)

    async def words(self, language: str, messages: Sequence[str]) -> Words:
        t = self.messenger.translator(language)
        return Words(t.language, t.right_to_left, tuple(t(message) for message in messages))

    async def report(self, report: DeliveryReport, tries: int = 3) -> None:
        async with self.database.transaction():
            address = await self.outbox.record_report(report, self.clock.now(), self.max_attempts)
            if address is None:
                if tries > 1 and self._running:
                    # The platform may report before the sender has recorded the message as sent.
                    self._later.add(asyncio.get_running_loop().call_later(
                        REPORT_AGAIN_AFTER, self._report_again, report, tries - 1))
                    return
                log.info("%s reported %s for a message the bot does not know: %s", report.platform, report.status,
                         report.message_id[:80])
                return
            if report.status is DeliveryStatus.UNDELIVERABLE:
                log.warning("%s:%s cannot be reached (%s): their queued messages are skipped",
                            address.platform, address.user_id, report.reason)
                await self.outbox.skip_queued_for(address.platform, address.user_id, report.reason)
                await self.people.unreachable(address, report.reason)
        self.waker.wake(report.platform)

    def _report_again(self, report: DeliveryReport, tries: int) -> None:
        now = asyncio.get_running_loop().time()
        self._later = {handle for handle in self._later if handle.when() > now}
        task = asyncio.ensure_future(self.report(report, tries))
        self._reports.add(task)
        task.add_done_callback(self._reports.discard)

    # --- life ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Handle again, in order, what was kept but not handled before the last stop."""
        self._running = True
        pending = await self.inbound.pending()
        if pending:
            log.info("handling %s event(s) kept before the last stop", len(pending))
        for row, text in pending:
            self._enqueue(row, decode_event(text))

    async def take_up_orphans(self) -> None:
        """Events another worker kept but has not handled for a while (it stopped, or died):
        handled here. Each is handled once: handling checks that nobody has yet."""
        queued = {row for queue in self._queues.values() for row, _ in queue}
        for row, text in await self.inbound.pending(received_before=self.clock.now() - ORPHANED_AFTER):
            if row not in queued:
                log.info("handling event %s, which a stopped worker kept", row)
                self._enqueue(row, decode_event(text))

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop handling: what is kept but not handled yet waits for the next start."""
        self._running = False
        for handle in self._later:
            handle.cancel()
        for task in list(self._reports):
            task.cancel()
        for queue in self._queues.values():
            queue.clear()
        workers = list(self._workers.values())
        if workers:
            await asyncio.wait(workers, timeout=timeout)
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def idle(self) -> None:
        """Wait until every kept event has been handled (for tests and tools)."""
        await self._idle.wait()

    # --- the workers ---------------------------------------------------------------------------

    def _enqueue(self, row: int, event: Incoming) -> None:
        address = event.sender.address
        key = (address.platform, address.user_id or address.chat_id)
        self._queues.setdefault(key, deque()).append((row, event))
        self._idle.clear()
        if key not in self._workers:
            self._workers[key] = asyncio.create_task(self._drain(key), name=f"intake-{key[0]}-{key[1]}")

    async def _drain(self, key: Key) -> None:
        queue = self._queues[key]
        try:
            while queue and self._running:
                row, event = queue.popleft()
                await self._handle(row, event)
        finally:
            self._workers.pop(key, None)
            if not queue:
                self._queues.pop(key, None)
            if not self._workers:
                self._idle.set()

    async def _handle(self, row: int, event: Incoming) -> None:
        address = event.sender.address
        try:
            async with self.database.transaction():
                if not await self.inbound.still_unhandled(row):
                    return  # another worker handled it (after this one's start took it up)
                await self.dispatcher.dispatch(event)
                await self.inbound.mark_handled(row, "", self.clock.now())
        except asyncio.CancelledError:
            self.waker.wake()
            raise
        except Exception:
            log.exception("could not handle %s from %s:%s", type(event).__name__, address.platform, address.user_id)
            await self._apologise(row, event)
        if self.messenger.capabilities(address.platform).service_window:
            # Before the senders look: what waited for the person is older than the answer,
            # and goes first (on PostgreSQL a sender does not wait for this transaction).
            await self.waker.wake_person(address)
        self.waker.wake()

    async def _apologise(self, row: int, event: Incoming) -> None:
        text = self.messenger.translator("")(SORRY)
        address = event.sender.address
        interaction = getattr(event, "interaction", None)
        try:
            async with self.database.transaction():
                await self.inbound.mark_handled(row, "failed", self.clock.now())
                if interaction is not None and self.messenger.capabilities(address.platform).can_toast:
                    await self.messenger.say(address, None, Notice(text, interaction, refused=True), Purpose.NOTICE)
                await self.messenger.say(address, None, compose(text))
        except Exception:
            log.exception("could not even apologise to %s:%s", address.platform, address.user_id)

    async def _refuse_flood(self, sender: Sender, reason: str) -> Acknowledgement:
        address = sender.address
        tell = self.too_fast.should_tell(Attempt(sender, None))
        if tell:
            log.warning("%s:%s sends too fast: events refused", address.platform, address.user_id)
        return await self._refuse(sender, reason, tell)

    async def _refuse(self, sender: Sender, reason: str, tell: bool) -> Acknowledgement:
        """Refused at the door: the adapter shows the refusal where it can (a button's toast);
        when `tell`, a person in a private chat also gets it as a message."""
        text = self.messenger.translator("")(reason)
        address = sender.address
        if tell and not sender.in_group:
            try:
                async with self.database.transaction():
                    await self.messenger.say(address, None, compose(text))
            except Exception as error:
                if not self.out_of_room(error):
                    raise
                # With the disk full the answer cannot be queued either; the acknowledgement
                # still carries it to the platforms that can show it.
            else:
                self.waker.wake(address.platform)
        return Acknowledgement(accepted=False, refusal=text)


# --- events as JSON, to handle them again after a restart -------------------------------------


def describe(event: Incoming) -> tuple[str, str]:
    """The event's kind and its words, as kept in the inbound log and shown in transcripts."""
    if isinstance(event, IncomingText):
        return "text", event.text
    if isinstance(event, IncomingCommand):
        return "command", f"/{event.command} {event.args}".rstrip()
    if isinstance(event, FormSubmitted):
        return "form", event.text
    if isinstance(event, HomeOpened):
        return "home", ""
    return "button", event.token


def encode_event(event: Incoming) -> str:
    sender = event.sender
    data: dict[str, Any] = {
        "sender": {"platform": sender.address.platform, "user_id": sender.address.user_id,
                   "chat_id": sender.address.chat_id, "name": sender.name, "in_group": sender.in_group,
                   "locale": sender.locale, "timezone": sender.timezone},
        "event_id": event.event_id,
    }
    if isinstance(event, IncomingText):
        data.update(kind="text", text=event.text, reply_to=event.reply_to)
    elif isinstance(event, IncomingCommand):
        data.update(kind="command", command=event.command, args=event.args)
    elif isinstance(event, FormSubmitted):
        data.update(kind="form", token=event.token, text=event.text, interaction=event.interaction)
    elif isinstance(event, HomeOpened):
        data.update(kind="home")
    else:
        data.update(kind="button", token=event.token, message_id=event.message_id, interaction=event.interaction)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def decode_event(text: str) -> Incoming:
    data = json.loads(text)
    who = data["sender"]
    sender = Sender(Address(who["platform"], who["user_id"], who["chat_id"]), who.get("name", ""),
                    who.get("in_group", False), who.get("locale", ""), who.get("timezone", ""))
    kind, event_id = data["kind"], data.get("event_id")
    if kind == "text":
        return IncomingText(sender, data["text"], data.get("reply_to"), event_id)
    if kind == "command":
        return IncomingCommand(sender, data["command"], data.get("args", ""), event_id)
    if kind == "form":
        return FormSubmitted(sender, data["token"], data["text"], data.get("interaction"), event_id)
    if kind == "home":
        return HomeOpened(sender, event_id)
    return ButtonPress(sender, data["token"], data.get("message_id"), data.get("interaction"), event_id)
