"""Events at scale: 2,000 members register within one minute of an event's announcement, and
the one-hour reminder goes to the 2,000 registrants, on a platform paced like Telegram (30
messages a second for the bot, one a second per chat).

    .venv/bin/python bench/events.py [--members 2000] [--window 60] [--rate 30]

Prints the time from the first press of Register to the last confirmation delivered, the
median and worst wait of a member for their confirmation (with its calendar file),
registrations lost or doubled, and the delay of the one-hour reminders: from the moment they
are due to the last one delivered, against the time the platform's rate needs for them.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import App  # noqa: E402
from bot.config import CommunitySettings, FacilitatorSettings, LimitSettings, Settings  # noqa: E402
from bot.domain.events import Event  # noqa: E402
from bot.domain.members import Identity, Role  # noqa: E402
from bot.ports import Address, ButtonPress, DeliveryResult, Envelope, Message, Sender  # noqa: E402
from tests.clock import ManualClock  # noqa: E402
from tests.memory_platform import CAPABILITIES, MemoryPlatform  # noqa: E402

HOUR = 3600.0
TITLE = "Cash transfers and child poverty"


class TimedPlatform(MemoryPlatform):
    """The in-memory platform, noting when each message reached each person."""

    def __init__(self, rate: float) -> None:
        super().__init__(capabilities=replace(CAPABILITIES, messages_per_second=rate, per_chat_interval=1.0))
        self.arrived: dict[str, list[tuple[float, Envelope]]] = {}

    async def send(self, envelope: Envelope) -> DeliveryResult:
        result = await super().send(envelope)
        self.arrived.setdefault(envelope.to.user_id, []).append((time.monotonic(), envelope))
        return result

    def first(self, user_id: str, containing: str) -> tuple[float, Envelope] | None:
        return next(((at, e) for at, e in self.arrived.get(user_id, []) if containing in e.message.text), None)

    def count(self, containing: str) -> Counter:
        return Counter(user for user, arrivals in self.arrived.items()
                       for _, envelope in arrivals if containing in envelope.message.text)


async def prepare(app: App, members: int) -> tuple[int, list[str]]:
    now = app.clock.now()
    users = []
    async with app.database.transaction():
        organizer = await app.members.create(Identity("memory", "f1", "f1", last_seen_at=now), "Fatou",
                                             Role.FACILITATOR, now)
        for number in range(members):
            user = str(100_000 + number)
            member = await app.members.create(Identity("memory", user, user, last_seen_at=now), f"Member {number}",
                                              Role.MEMBER, now)
            await app.members.save(replace(member, language="en",
                                           timezone=("Africa/Nairobi", "America/Lima", "Asia/Manila")[number % 3]))
            users.append(user)
    return organizer.id, users


async def wait_for(predicate, limit: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.1)
    return predicate()


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--window", type=float, default=60.0, help="seconds over which members press Register")
    parser.add_argument("--rate", type=float, default=30.0, help="the platform's messages per second")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    directory = Path(tempfile.mkdtemp(prefix="events-bench-"))
    platform = TimedPlatform(arguments.rate)
    clock = ManualClock(start=time.time())
    settings = Settings(
        community=CommunitySettings(name="Bench Network", languages=("en",)),
        storage_path=directory / "bench.db",
        facilitators=FacilitatorSettings(by_platform={"memory": frozenset({"f1"})}),
        limits=LimitSettings(burst=1000),
    )
    app = await App.build(settings, clock=clock, extra_adapters=[platform])
    organizer_id, users = await prepare(app, arguments.members)
    await app.start()
    assert app.events is not None
    start = clock.now() + 10 * 86400

    # The announcement, as /event's Publish does it (the form itself is tested end to end).
    async with app.database.transaction():
        event = await app.events.events.create(Event(0, TITLE, start, "Africa/Nairobi", 5400, "en",
                                                     link="https://meet.example.org/cash", created_by=organizer_id,
                                                     created_at=clock.now()))
        await app.events.announce(event, exclude=organizer_id)
    announced_at = time.monotonic()
    (app.waker or app.delivery).wake()

    # Each member presses Register at a random moment of the window, once their copy arrived.
    pressed_at: dict[str, float] = {}

    async def member_registers(user: str, after: float) -> None:
        await asyncio.sleep(after)
        while (arrival := platform.first(user, TITLE)) is None:
            await asyncio.sleep(0.2)
        message = arrival[1].message
        assert isinstance(message, Message)
        token = message.buttons[0][0].token
        pressed_at[user] = time.monotonic()
        inbox = platform.inbox
        assert inbox is not None
        await inbox.handle(ButtonPress(Sender(Address("memory", user, user)), token, None, f"{user}-1"))

    random.seed(7)
    presses = [asyncio.create_task(member_registers(user, random.uniform(0, arguments.window))) for user in users]
    await asyncio.gather(*presses)
    confirmed = lambda: sum(1 for user in users if platform.first(user, "You are registered for"))  # noqa: E731
    await wait_for(lambda: confirmed() == len(users), limit=len(users) * 2 / arguments.rate + 120)
    waits = [platform.first(user, "You are registered for")[0] - pressed_at[user]  # type: ignore[index]
             for user in users if platform.first(user, "You are registered for")]
    last_confirmation = max(at for user in users if (found := platform.first(user, "You are registered for"))
                            for at in (found[0],))
    registered, waiting = await app.events.events.counts(event.id)
    with_calendar = sum(1 for user in users if (found := platform.first(user, "You are registered for"))
                        and isinstance(found[1].message, Message) and found[1].message.document is not None)
    doubled = sum(n - 1 for n in platform.count("You are registered for").values() if n > 1)

    # The one-hour reminder: due now, for every registrant.
    clock.advance(start - HOUR - clock.now())
    due_at = time.monotonic()
    await app.events.send_due()
    queued_at = time.monotonic()
    reminded = lambda: sum(1 for user in users if platform.first(user, "starts in one hour"))  # noqa: E731
    await wait_for(lambda: reminded() == len(users), limit=len(users) * 2 / arguments.rate + 120)
    reminder_arrivals = sorted(found[0] for user in users if (found := platform.first(user, "starts in one hour")))
    reminders_doubled = sum(n - 1 for n in platform.count("starts in one hour").values() if n > 1)
    await app.stop()

    first_press = min(pressed_at.values())
    print(f"members:                          {len(users):,}, pressing Register over {arguments.window:.0f} s "
          f"after the announcement; platform rate {arguments.rate:.0f} msg/s, 1 msg/s per chat")
    print(f"announcement to last press:       {max(pressed_at.values()) - announced_at:.1f} s")
    print(f"first press to last confirmation: {last_confirmation - first_press:.1f} s")
    print(f"confirmation wait per member:     median {statistics.median(waits):.1f} s, "
          f"95th {sorted(waits)[int(len(waits) * 0.95) - 1]:.1f} s, max {max(waits):.1f} s")
    print(f"registrations in the database:    {registered:,} registered, {waiting} waiting "
          f"(lost: {len(users) - registered}, confirmations with the .ics: {with_calendar:,}, doubled: {doubled})")
    print(f"one-hour reminders:               {len(reminder_arrivals):,} delivered; queued in "
          f"{queued_at - due_at:.2f} s; first after {reminder_arrivals[0] - due_at:.1f} s, last after "
          f"{reminder_arrivals[-1] - due_at:.1f} s (the rate alone needs {len(users) / arguments.rate:.1f} s); "
          f"doubled: {reminders_doubled}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
