"""A broadcast to 3,000 members through the local fake Bot API, which enforces Telegram's
30 messages a second (and refuses bursts to one chat).

    .venv/bin/python bench/broadcast.py [--platform telegram|slack|whatsapp|email] [--members 3000] [--searches 20]

Prints the achieved rate as a fraction of the ceiling (target at least 0.9), the 429s
received, lost and duplicated messages, peak memory, and the median time for a member's
/search to be answered while the broadcast runs (target under 1 second).
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

from adapters.telegram import TelegramSettings  # noqa: E402
from bot.app import App  # noqa: E402
from bot.config import CommunitySettings, FacilitatorSettings, Settings  # noqa: E402
from bot.domain.discussions import State  # noqa: E402
from bot.domain.members import Identity, Role  # noqa: E402
from bot.services.archive import ArchivedReply  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

CEILING = 30.0
QUESTION = "Question #1 from"
SEARCHER = 90_000


async def prepare(app: App, members: int) -> tuple[int, int]:
    now = app.clock.now()
    async with app.database.transaction():
        asker = await app.members.create(Identity("telegram", "80000", "80000"), "Asker", Role.MEMBER, now)
        for number in range(members):
            user = str(100_000 + number)
            await app.members.create(Identity("telegram", user, user, last_seen_at=now), f"Member {number}",
                                          Role.MEMBER, now)
        await app.members.create(Identity("telegram", str(SEARCHER), str(SEARCHER)), "Searcher", Role.MEMBER, now)
        discussion = await app.discussions.create(asker.id, "How do cash transfers reach remote areas?", "en",
                                                       False, now)
        for number, title in enumerate(("Cash transfers and nutrition", "Refugee children in school"), start=100):
            await app.archive.add(ArchivedReply(discussion.id, title, title, "", "nutrition school cash", "en", now))
    return asker.id, discussion.id


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


async def measure_searches(api: FakeTelegram, count: int, stop: asyncio.Event) -> list[float]:
    searcher = api.user(SEARCHER, "Searcher")
    times = []
    for _ in range(count):
        if stop.is_set():
            break
        started = time.monotonic()
        await searcher.send("/search nutrition")
        await searcher.receives("What the network has discussed", timeout=30)
        times.append(time.monotonic() - started)
        await asyncio.sleep(1.5)
    return times


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--searches", type=int, default=20)
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    directory = Path(tempfile.mkdtemp(prefix="broadcast-bench-"))
    async with FakeTelegram(per_second=int(CEILING)) as api:
        settings = Settings(
            community=CommunitySettings(name="Bench Network", languages=("en",)),
            storage_path=directory / "bench.db",
            facilitators=FacilitatorSettings(),
            platforms={"telegram": TelegramSettings(token=api.token, base_url=api.base_url)},
        )
        app = await App.build(settings)
        asker_id, discussion_id = await prepare(app, arguments.members)
        await app.start()
        audience = await approve_and_broadcast(app, asker_id, discussion_id)
        stop = asyncio.Event()
        searching = asyncio.create_task(measure_searches(api, arguments.searches, stop))
        deadline = time.monotonic() + audience / CEILING * 3 + 60
        while time.monotonic() < deadline:
            received = sum(1 for messages in api.chats.values() for m in messages if m.text.startswith(QUESTION))
            if received >= audience:
                break
            await asyncio.sleep(0.2)
        stop.set()
        search_times = await searching
        await asyncio.sleep(1.0)  # anything still in flight lands before counting
        await app.stop()

    sends = [r for r in api.requests if r.method == "sendMessage" and not r.refused
             and str(r.params.get("text", "")).startswith("<b>" + QUESTION)]
    first, last = sends[0].at, sends[-1].at
    rate = (len(sends) - 1) / (last - first) if len(sends) > 1 else 0.0
    per_chat = Counter(chat for chat, messages in api.chats.items() for m in messages if m.text.startswith(QUESTION))
    lost = audience - len(per_chat)
    duplicated = sum(n - 1 for n in per_chat.values() if n > 1)
    too_many = sum(1 for r in api.requests if r.refused and r.refused.startswith("Too Many Requests"))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"members:                 {audience:,}")
    print(f"broadcast time:          {last - first:.1f} s")
    print(f"achieved rate:           {rate:.2f} msg/s = {rate / CEILING:.3f} of the {CEILING:.0f}/s ceiling "
          f"(target >= 0.9: {'PASS' if rate / CEILING >= 0.9 else 'FAIL'})")
    print(f"429s received:           {too_many}")
    print(f"lost messages:           {lost}")
    print(f"duplicated messages:     {duplicated}")
    print(f"peak memory (RSS):       {peak_mb:.0f} MB (bot and fake API server in one process)")
    if search_times:
        median = statistics.median(search_times)
        print(f"/search during it:       median {median * 1000:.0f} ms, max {max(search_times) * 1000:.0f} ms over "
              f"{len(search_times)} searches (target median < 1 s: {'PASS' if median < 1 else 'FAIL'})")


PLATFORMS = ("telegram", "slack", "whatsapp", "email")


if __name__ == "__main__":
    # `--platform slack` (whatsapp, email) runs that platform's broadcast against its own fake.
    chooser = argparse.ArgumentParser(add_help=False)
    chooser.add_argument("--platform", choices=PLATFORMS, default="telegram")
    chosen, rest = chooser.parse_known_args()
    if chosen.platform == "telegram":
        asyncio.run(main(rest))
    else:
        import runpy

        sys.argv = [f"bench/broadcast_{chosen.platform}.py", *rest]
        runpy.run_path(str(Path(__file__).with_name(f"broadcast_{chosen.platform}.py")), run_name="__main__")
