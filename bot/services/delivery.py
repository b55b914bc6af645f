"""The delivery engine: one sender per platform takes rows from the outbox in priority order
(answers to a waiting person, then facilitator cards, then broadcasts) and hands them to the
platform's adapter at the pace the platform allows.

Nothing is lost: a row stays queued until the platform confirms it; a crash leaves it queued
for the next start (only a message in flight at the crash may go twice). Retryable failures
come back later with backoff and jitter: a message the platform keeps refusing while it takes
others is given up after `max_attempts`; while the platform takes nothing at all (an outage),
rows wait for it however long that lasts. Permanent failures (blocked, unknown user) mark the
person unreachable on that platform and skip what else waited for them there. A message the
platform only takes within its service window waits, with the rest, until the person writes.
The toast of a button press is no chat message: it is neither paced per chat nor held behind
the chat's other messages.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from typing import Protocol, Sequence

from bot.clock import Clock
from bot.ports import Adapter, Address, Notice, OutsideWindow, Prompt, RetryLater, Sent, Undeliverable
from bot.services.outbox import QueuedMessage
from bot.services.pacing import Pacer

log = logging.getLogger(__name__)

BATCH = 8  # small claims, so a new answer overtakes a long broadcast at the next slot
MAX_IN_FLIGHT = 8  # concurrent requests per platform: latency must not cap the rate
IDLE_WAIT = 5.0
MAX_BACKOFF = 300.0
SHARED_SLOTS = 4  # slots a worker takes at a time from those shared with other workers
# With the pacer's own margin, 0.915 of the ceiling for the workers together: processes on a
# busy machine send a little late now and then, and late sends of several bunch together.
SHARED_SPACING = 1.06
# A worker renews the claims on the rows it holds this often, well within a claim's length
# (storage's CLAIM_FOR, 10 s): a worker that dies loses them within seconds, one alive never.
KEEP_CLAIMS_EVERY = 3.0


class DeliveryQueue(Protocol):
    async def claim(self, platform: str, now: float, limit: int, exclude: Sequence[int] = ()) -> list[QueuedMessage]: ...

    async def mark_sent(self, row_id: int, message_id: str, other_ids: Sequence[str], now: float) -> None: ...

    async def mark_retry(self, row_id: int, reason: str, not_before: float, count_attempt: bool) -> None: ...

    async def mark_failed(self, row_id: int, reason: str) -> None: ...

    async def park(self, row_id: int, reason: str) -> None:
        """Hold the row until the person writes again (then `wake_person` frees it)."""
        ...

    async def skip_queued_for(self, platform: str, user_id: str, reason: str) -> int: ...

    async def next_due(self, platform: str) -> float | None: ...

    async def wake_person(self, platform: str, user_id: str, now: float) -> None: ...

    async def release_claims(self, starting: bool) -> None: ...

    async def keep_claims(self, now: float) -> None:
        """Renew the claims on the rows this worker holds."""
        ...


class SharedSlots(Protocol):
    """Sending slots shared with other workers (one database, several processes)."""

    async def take(self, platform: str, count: int, interval: float, now: float) -> float:
        """The first of `count` slots `interval` apart, after every slot already taken."""
        ...


class Reachability(Protocol):
    async def mark_unreachable(self, address: Address, reason: str) -> None: ...


class Delivery:
    def __init__(self, queue: DeliveryQueue, clock: Clock, reachability: Reachability, max_attempts: int = 8,
                 messages_per_second: dict[str, float] | None = None,
                 per_chat_interval: dict[str, float] | None = None, shared_slots: SharedSlots | None = None,
                 keep_claims_every: float = KEEP_CLAIMS_EVERY) -> None:
        self.queue = queue
        self.keep_claims_every = keep_claims_every
        self._keeping_claims: asyncio.Task | None = None
        # With several workers, the platform's rate is theirs together: slots come from here.
        self.shared_slots = shared_slots
        self.clock = clock
        self.reachability = reachability
        self.max_attempts = max_attempts
        self._rates = messages_per_second or {}
        self._intervals = per_chat_interval or {}
        self._senders: dict[str, _Sender] = {}

    def add(self, adapter: Adapter) -> None:
        capabilities = adapter.capabilities
        pacer = Pacer(
            self._rates.get(adapter.platform, capabilities.messages_per_second),
            self._intervals.get(adapter.platform, capabilities.per_chat_interval),
            group_interval=capabilities.group_interval,
        )
        self._senders[adapter.platform] = _Sender(self, adapter, pacer)

    async def start(self) -> None:
        await self.queue.release_claims(starting=True)
        for sender in self._senders.values():
            sender.start()
        self._keeping_claims = asyncio.create_task(self._keep_claims(), name="delivery-claims")

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop taking rows; wait a little for those in flight; the rest stay queued."""
        await asyncio.gather(*(sender.stop(timeout) for sender in self._senders.values()))
        if self._keeping_claims is not None:
            self._keeping_claims.cancel()
            await asyncio.gather(self._keeping_claims, return_exceptions=True)
            self._keeping_claims = None

    async def _keep_claims(self) -> None:
        while True:
            await asyncio.sleep(self.keep_claims_every)
            try:
                await self.queue.keep_claims(self.clock.now())
            except Exception as error:  # the database down for a moment: the next round renews them
                log.warning("could not renew this worker's claims (%s); it tries again", error)

    async def give_up_claims(self) -> None:
        """After `stop`, once nothing else of this worker writes any more: the rows it had
        claimed but not sent go to another worker at once, not when the claims run out."""
        try:
            await self.queue.release_claims(starting=False)
        except Exception:
            log.warning("could not give up this worker's claims; they run out by themselves", exc_info=True)

    def wake(self, platform: str | None = None) -> None:
        for name, sender in self._senders.items():
            if platform is None or name == platform:
                sender.wake()

    async def wake_person(self, address: Address) -> None:
        await self.queue.wake_person(address.platform, address.user_id, self.clock.now())
        self.wake(address.platform)

    def backoff(self, attempts: int) -> float:
        base = min(MAX_BACKOFF, 2.0 ** max(0, attempts - 1))
        return base * random.uniform(0.75, 1.25)


class _Sender:
    def __init__(self, delivery: Delivery, adapter: Adapter, pacer: Pacer) -> None:
        self.delivery = delivery
        self.adapter = adapter
        self.pacer = pacer
        self.platform = adapter.platform
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task | None = None
        self._in_flight: dict[int, asyncio.Task] = {}
        self._busy_chats: set[str] = set()  # one message at a time per chat keeps their order
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        # Rows that failed since the platform last took a message: two or more, and nothing
        # taken in between, and it is the platform that is down rather than those messages.
        self._failed_since_delivery: set[int] = set()
        self._leased_slots: deque[float] = deque()

    def start(self) -> None:
        self._stopping = False
        self._loop_task = asyncio.create_task(self._run(), name=f"delivery-{self.platform}")

    def wake(self) -> None:
        self._wakeup.set()

    async def stop(self, timeout: float) -> None:
        self._stopping = True
        self._wakeup.set()
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
        if self._in_flight:
            await asyncio.wait(list(self._in_flight.values()), timeout=timeout)
            for task in self._in_flight.values():
                task.cancel()

    async def _run(self) -> None:
        clock, queue = self.delivery.clock, self.delivery.queue
        while not self._stopping:
            try:
                self._wakeup.clear()
                now = clock.now()
                rows = await queue.claim(self.platform, now, BATCH, exclude=list(self._in_flight))
                if not rows:
                    await self._idle()
                    continue
                dispatched = 0
                for row in rows:
                    if self._stopping or self._wakeup.is_set() and row.envelope.priority > 0:
                        break  # something new arrived: claim again, it may come first
                    dispatched += await self._dispatch(row)
                if not dispatched:
                    # Everything due waits for a message in flight to the same person.
                    try:
                        await asyncio.wait_for(self._wakeup.wait(), timeout=0.05)
                    except TimeoutError:
                        pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the %s sender hit an error; it carries on", self.platform)
                await asyncio.sleep(1.0)

    async def _idle(self) -> None:
        due = await self.delivery.queue.next_due(self.platform)
        now = self.delivery.clock.now()
        wait = IDLE_WAIT if due is None else max(0.0, min(IDLE_WAIT, due - now))
        if self._in_flight and wait > 0.05:
            wait = min(wait, 0.05)  # rows in flight may free others (an edit waiting for its original)
        try:
            await asyncio.wait_for(self._wakeup.wait(), timeout=wait)
        except TimeoutError:
            pass

    async def _dispatch(self, row: QueuedMessage) -> bool:
        """Start sending the row, unless its chat must wait; True when it started."""
        if self._answers_a_press(row):
            await self._slots.acquire()
            self._in_flight[row.id] = asyncio.create_task(self._send(row, chat=None))
            return True
        clock = self.delivery.clock
        now = clock.now()
        chat = row.to.destination
        if row.to.is_group:
            self.pacer.mark_group(chat)
        if chat in self._busy_chats:
            return False  # the next claim takes it, once the message before it has gone
        ready = self.pacer.chat_ready_at(chat, now)
        if ready > now:
            await self.delivery.queue.mark_retry(row.id, "paced for this chat", ready, count_attempt=False)
            return False
        slot = await self._next_slot(now)
        if slot > now:
            await asyncio.sleep(slot - now)
        await self._slots.acquire()
        self.pacer.take(chat, clock.now())
        self._busy_chats.add(chat)
        task = asyncio.create_task(self._send(row, chat))
        self._in_flight[row.id] = task
        return True

    async def _next_slot(self, now: float) -> float:
        shared = self.delivery.shared_slots
        if shared is None:
            return self.pacer.next_slot(now)
        # A little more room between slots than one worker alone needs: slots that several
        # processes keep, each a little late now and then, must not bunch past the ceiling.
        interval = self.pacer.interval * SHARED_SPACING
        # A slot half gone is not used late: together with the others' it would be a burst.
        while self._leased_slots and self._leased_slots[0] < now - interval / 2:
            self._leased_slots.popleft()
        if not self._leased_slots:
            start = await shared.take(self.platform, SHARED_SLOTS, interval, now)
            self._leased_slots.extend(start + index * interval for index in range(SHARED_SLOTS))
        return max(self._leased_slots.popleft(), self.pacer.next_slot(now))

    def _answers_a_press(self, row: QueuedMessage) -> bool:
        """A toast, or a form opened with a press's trigger (Slack's dies after 3 seconds): no
        chat message, so neither paced per chat nor held behind the chat's messages."""
        message = row.envelope.message
        if isinstance(message, Notice):
            return True
        return isinstance(message, Prompt) and bool(message.interaction) and self.adapter.capabilities.can_open_forms

    async def _send(self, row: QueuedMessage, chat: str | None) -> None:
        delivery, queue, clock = self.delivery, self.delivery.queue, self.delivery.clock
        try:
            try:
                if row.edit_of_message_id and self.adapter.capabilities.can_edit:
                    result = await self.adapter.edit(row.envelope, row.edit_of_message_id)
                else:
                    result = await self.adapter.send(row.envelope)
            except Exception as error:
                log.exception("%s adapter failed on outbox row %s", self.platform, row.id)
                result = RetryLater(f"adapter error: {type(error).__name__}")
            now = clock.now()
            if isinstance(result, Sent):
                self._failed_since_delivery.clear()
                await queue.mark_sent(row.id, result.message_id, result.other_ids, now)
            elif isinstance(result, OutsideWindow):
                log.info("%s:%s is outside the service window: outbox row %s waits for them to write",
                         self.platform, row.to.user_id, row.id)
                await queue.park(row.id, result.reason)
            elif isinstance(result, Undeliverable):
                log.warning("%s:%s cannot be reached (%s): their queued messages are skipped",
                            self.platform, row.to.user_id, result.reason)
                await queue.mark_failed(row.id, result.reason)
                await queue.skip_queued_for(self.platform, row.to.user_id, result.reason)
                await delivery.reachability.mark_unreachable(row.to, result.reason)
            else:
                await self._retry(row, result, now)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not record the outcome of outbox row %s; it stays queued", row.id)
        finally:
            self._in_flight.pop(row.id, None)
            if chat is not None:
                self._busy_chats.discard(chat)
            self._slots.release()
            self._wakeup.set()

    async def _retry(self, row: QueuedMessage, result: RetryLater, now: float) -> None:
        delivery = self.delivery
        if result.after_seconds > 0 and result.attempt_counts:
            # The platform said "too many" (not merely "nobody is there"): slow down.
            self.pacer.penalise(row.to.destination, now, result.after_seconds)
            if delivery.shared_slots is not None:
                # The pause is everyone's: the rate the platform complained of is theirs together.
                self._leased_slots.clear()
                await delivery.shared_slots.take(self.platform, 0, 0.0, now + min(result.after_seconds, 1.0))
        attempts = row.attempts + (1 if result.attempt_counts else 0)
        if result.attempt_counts:
            self._failed_since_delivery.add(row.id)
        if result.attempt_counts and attempts >= delivery.max_attempts:
            if len(self._failed_since_delivery) < 2:
                log.warning("giving up outbox row %s to %s:%s after %s attempts: %s",
                            row.id, self.platform, row.to.user_id, attempts, result.reason)
                await delivery.queue.mark_failed(row.id, result.reason)
                return
            # Every message fails and none has gone through since: the platform is down (an
            # outage, refused connections, a long flood wait), not this message. It waits for
            # the platform at the longest backoff rather than being given up.
            log.info("outbox row %s to %s:%s used its %s attempts while %s takes nothing: it waits (%s)",
                     row.id, self.platform, row.to.user_id, delivery.max_attempts, self.platform, result.reason)
        wait = max(result.after_seconds, delivery.backoff(attempts) if result.attempt_counts else 0.0)
        await delivery.queue.mark_retry(row.id, result.reason, now + wait, result.attempt_counts)
