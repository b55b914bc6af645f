"""A broadcast to 3,000 WhatsApp members through the local fake Graph API, which enforces
80 messages a second (130429 beyond), the pair rate to one person (131056) and the 24-hour
window (131047). A third of the members have not written in 24 hours: they get the approved
template instead of the question. The fake posts status callbacks (sent, delivered) to the
bot's webhook while the broadcast runs, as Meta does.

    .venv/bin/python bench/broadcast_whatsapp.py [--members 3000] [--outside 0.333] [--searches 10]

Prints the achieved rate as a fraction of the 80/s ceiling (target at least 0.9), lost and
duplicated messages (both 0), the share sent as templates, the refusals received, the
deliveries recorded from status callbacks, and the time for a member's /search to be
answered while the broadcast runs.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.whatsapp import WhatsAppAdapter  # noqa: E402
from bot.app import App  # noqa: E402
from bot.config import CommunitySettings, FacilitatorSettings, Settings  # noqa: E402
from bot.domain.discussions import State  # noqa: E402
from bot.domain.members import Identity, Role  # noqa: E402
from bot.services.archive import ArchivedReply  # noqa: E402
from tests.fakes.whatsapp_api import FakeWhatsApp  # noqa: E402
from tests.whatsapp_network import whatsapp_settings  # noqa: E402

CEILING = 80.0
QUESTION = "Question #1 from"
ASKER = "254700000000"
SEARCHER = "254799999999"


def phone(number: int) -> str:
    return f"25471{number:07d}"


async def prepare(app: App, api: FakeWhatsApp, adapter: WhatsAppAdapter, members: int,
                  outside: float) -> tuple[int, int, set[str]]:
    """Members who joined earlier; those inside the window wrote to the bot an hour ago."""
    now = app.clock.now()
    outside_every = round(1 / outside) if outside > 0 else 0
    inside_window = set()
    async with app.database.transaction():
        asker = await app.members.create(Identity("whatsapp", ASKER, ASKER), "Asker", Role.MEMBER, now)
        for number in range(members):
            user = phone(number)
            await app.members.create(Identity("whatsapp", user, user, last_seen_at=now), f"Member {number}",
                                     Role.MEMBER, now)
            if not outside_every or number % outside_every:
                inside_window.add(user)
        discussion = await app.discussions.create(asker.id, "How do cash transfers reach remote areas?", "en",
                                                  False, now)
        for title in ("Cash transfers and nutrition", "Refugee children in school"):
            await app.archive.add(ArchivedReply(discussion.id, title, title, "", "nutrition school cash", "en", now))
    for user in inside_window:
        wrote_at = time.time() - 3600
        api.last_inbound[user] = wrote_at
        adapter.windows.wrote(user, wrote_at)  # as the webhook does when they write
    return asker.id, discussion.id, inside_window


async def approve_and_broadcast(app: App, asker_id: int, discussion_id: int) -> int:
    async with app.database.transaction():
        discussion = await app.discussions.get(discussion_id)
        assert discussion is not None
        approved = replace(discussion, state=State.APPROVED, approved_at=app.clock.now(),
                           deadline_at=app.clock.now() + 86400, version=discussion.version + 1)
        await app.discussions.save(approved, discussion.version)
        asker = await app.members.get(asker_id)
        assert asker is not None
        audience = await app.broadcast.share(approved, asker)
    app.delivery.wake()
    return audience


async def enrol_searcher(app: App) -> None:
    """A member who joins after the broadcast went out: their searches are timed, and the
    pacing of their own chat does not stretch the broadcast's figures."""
    async with app.database.transaction():
        await app.members.create(Identity("whatsapp", SEARCHER, SEARCHER), "Searcher", Role.MEMBER, app.clock.now())


async def measure_searches(api: FakeWhatsApp, count: int, stop: asyncio.Event) -> list[float]:
    searcher = api.person(SEARCHER, "Searcher")
    times = []
    for _ in range(count):
        if stop.is_set():
            break
        started = time.monotonic()
        await searcher.says("/search nutrition")
        await searcher.receives("What the network has discussed", timeout=30)
        times.append(time.monotonic() - started)
        await asyncio.sleep(6.5)  # Meta's pair rate: one message to a person every 6 seconds
    return times


def broadcast_messages(api: FakeWhatsApp) -> list:  # type: ignore[type-arg]
    return sorted((m for m in api.accepted() if m.kind == "template" or QUESTION in m.plain), key=lambda m: m.at)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--outside", type=float, default=1 / 3, help="share of members outside the 24-hour window")
    parser.add_argument("--searches", type=int, default=6)
    parser.add_argument("--no-statuses", action="store_true", help="the fake sends no status callbacks")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    directory = Path(tempfile.mkdtemp(prefix="whatsapp-bench-"))
    statuses = () if arguments.no_statuses else ("sent", "delivered")
    async with FakeWhatsApp(per_second=int(CEILING), statuses=statuses) as api:
        platform = whatsapp_settings(api)
        api.webhook_url = f"http://127.0.0.1:{platform.port}/whatsapp/webhook"
        settings = Settings(
            community=CommunitySettings(name="Bench Network", languages=("en",)),
            storage_path=directory / "bench.db",
            facilitators=FacilitatorSettings(),
            platforms={"whatsapp": platform},
        )
        app = await App.build(settings)
        try:
            adapter = app.adapters[0]
            assert isinstance(adapter, WhatsAppAdapter)
            asker_id, discussion_id, inside = await prepare(app, api, adapter, arguments.members, arguments.outside)
            await app.start()
            audience = await approve_and_broadcast(app, asker_id, discussion_id)
            await enrol_searcher(app)
            stop = asyncio.Event()
            searching = asyncio.create_task(measure_searches(api, arguments.searches, stop))
            deadline = time.monotonic() + audience / CEILING * 3 + 60
            while time.monotonic() < deadline and len(broadcast_messages(api)) < audience:
                await asyncio.sleep(0.2)
            stop.set()
            search_times = await searching
            await asyncio.sleep(1.0)  # anything still in flight lands before counting
            await api.callbacks_done(timeout=60)
            delivered, _ = await app.delivery.queue.confirmations(discussion_id, "broadcast")  # type: ignore[attr-defined]
        finally:
            await app.stop()

    sends = broadcast_messages(api)
    first, last = sends[0].at, sends[-1].at
    rate = (len(sends) - 1) / (last - first) if len(sends) > 1 else 0.0
    per_person = Counter(m.to for m in sends)
    lost = audience - len(per_person)
    duplicated = sum(n - 1 for n in per_person.values() if n > 1)
    templates = [m for m in sends if m.kind == "template"]
    wrong_kind = sum(1 for m in sends if (m.to in inside) == (m.kind == "template"))
    refusals = Counter(r.code for r in api.refused)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"members:                 {audience:,} ({audience - len(inside):,} outside the 24-hour window)")
    print(f"broadcast time:          {last - first:.1f} s")
    print(f"achieved rate:           {rate:.2f} msg/s = {rate / CEILING:.3f} of the {CEILING:.0f}/s ceiling "
          f"(target >= 0.9: {'PASS' if rate / CEILING >= 0.9 else 'FAIL'})")
    print(f"lost messages:           {lost}")
    print(f"duplicated messages:     {duplicated}")
    print(f"sent as templates:       {len(templates):,} = {len(templates) / max(audience, 1):.3f} of the broadcast "
          f"({wrong_kind} sent the wrong way for their window)")
    print(f"refusals from the API:   130429 throughput: {refusals.get(130429, 0)}, 131056 pair: "
          f"{refusals.get(131056, 0)}, 131047 window: {refusals.get(131047, 0)}, other: "
          f"{sum(refusals.values()) - refusals.get(130429, 0) - refusals.get(131056, 0) - refusals.get(131047, 0)}")
    print(f"delivered (callbacks):   {delivered:,} of {audience:,} recorded on the outbox")
    print(f"peak memory (RSS):       {peak_mb:.0f} MB (bot and fake API server in one process)")
    if search_times:
        median = statistics.median(search_times)
        print(f"/search during it:       median {median * 1000:.0f} ms, max {max(search_times) * 1000:.0f} ms over "
              f"{len(search_times)} searches (target median < 1 s: {'PASS' if median < 1 else 'FAIL'})")


if __name__ == "__main__":
    asyncio.run(main())
