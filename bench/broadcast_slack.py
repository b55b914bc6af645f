"""A broadcast to 3,000 Slack members through the local fake Slack, which allows each channel
one message a second after a burst of three (and answers more with 429 and Retry-After).

    .venv/bin/python bench/broadcast_slack.py [--members 3000] [--interactions 40]

Each member has their own DM channel, so the ceiling is the Slack adapter's declared rate
(20 messages a second for the whole bot). Prints the achieved rate as a fraction of it, the
429s received, messages lost and duplicated (both must be 0), peak memory, and, while the
broadcast runs, the p95 time for Slack's requests (button presses and `/facilitator search`)
to be acknowledged (target under 1 second; Slack gives up after 3) and the median time for a
search to be answered.
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

from adapters.slack import SlackAdapter  # noqa: E402
from bot.app import App  # noqa: E402
from bot.config import CommunitySettings, FacilitatorSettings, Settings  # noqa: E402
from bot.domain.discussions import State  # noqa: E402
from bot.domain.members import Identity, Role  # noqa: E402
from bot.services.archive import ArchivedReply  # noqa: E402
from tests.fakes.slack_api import FakeSlack, SlackUser  # noqa: E402
from tests.slack_network import slack_settings_for  # noqa: E402

CEILING = SlackAdapter.capabilities.messages_per_second
QUESTION = "Question #1 from"
SEARCHER = "USEARCHER"


def user_id(number: int) -> str:
    return f"UM{number:07d}"


async def prepare(app: App, api: FakeSlack, members: int) -> tuple[int, int]:
    now = app.clock.now()
    async with app.database.transaction():
        asker = await app.members.create(Identity("slack", "UASKER001", "DASKER001"), "Asker", Role.MEMBER, now)
        # The searcher first: they get the question early and interact while the rest is sent.
        searcher = api.user(SEARCHER, "Searcher")
        await app.members.create(Identity("slack", searcher.id, searcher.dm), "Searcher", Role.MEMBER, now)
        for number in range(members):
            person = api.user(user_id(number), f"Member {number}")
            await app.members.create(Identity("slack", person.id, person.dm, last_seen_at=now), f"Member {number}",
                                     Role.MEMBER, now)
        discussion = await app.discussions.create(asker.id, "How do cash transfers reach remote areas?", "en",
                                                  False, now)
        for title in ("Cash transfers and nutrition", "Refugee children in school"):
            await app.archive.add(ArchivedReply(discussion.id, title, title, "", "nutrition school cash", "en", now))
    api.user("UASKER001", "Asker")
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


async def interact(searcher: SlackUser, count: int, stop: asyncio.Event) -> list[float]:
    """While the broadcast runs: a search by slash command, then a press of Reply (which
    opens a modal), and so on; returns how long each search took to be answered."""
    answered = []
    question = await searcher.receives(QUESTION, timeout=600)
    for number in range(count):
        if stop.is_set():
            break
        if number % 2:
            await searcher.presses("Reply", on=question)
        else:
            started = time.monotonic()
            await searcher.command("search nutrition")
            await searcher.receives("What the network has discussed", timeout=30)
            answered.append(time.monotonic() - started)
        await asyncio.sleep(1.0)
    return answered


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--interactions", type=int, default=40)
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    directory = Path(tempfile.mkdtemp(prefix="broadcast-slack-bench-"))
    async with FakeSlack() as api:
        settings = Settings(
            community=CommunitySettings(name="Bench Network", languages=("en",)),
            storage_path=directory / "bench.db",
            facilitators=FacilitatorSettings(),
            platforms={"slack": slack_settings_for(api)},
        )
        app = await App.build(settings)
        asker_id, discussion_id = await prepare(app, api, arguments.members)
        await app.start()
        api.events_url = next(a for a in app.adapters if isinstance(a, SlackAdapter)).events_url or ""
        audience = await approve_and_broadcast(app, asker_id, discussion_id)
        stop = asyncio.Event()
        searcher = SlackUser(api, SEARCHER, "Searcher")
        interacting = asyncio.create_task(interact(searcher, arguments.interactions, stop))
        deadline = time.monotonic() + audience / CEILING * 3 + 60
        while time.monotonic() < deadline:
            received = sum(1 for messages in api.messages.values() for m in messages if QUESTION in m.visible)
            if received >= audience:
                break
            await asyncio.sleep(0.2)
        stop.set()
        search_times = await interacting
        await asyncio.sleep(1.0)  # anything still in flight lands before counting
        await app.stop()

    posts = [r for r in api.calls("chat.postMessage") if not r.refused and QUESTION in str(r.params.get("text", ""))]
    first, last = posts[0].at, posts[-1].at
    rate = (len(posts) - 1) / (last - first) if len(posts) > 1 else 0.0
    per_channel = Counter(channel for channel, messages in api.messages.items() for m in messages
                          if QUESTION in m.visible)
    lost = audience - len(per_channel)
    duplicated = sum(n - 1 for n in per_channel.values() if n > 1)
    too_many = sum(1 for r in api.refused if r.refused == "ratelimited")
    other_refusals = Counter(r.refused for r in api.refused if r.refused != "ratelimited")
    acks = [d.seconds for d in api.deliveries]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"members:                 {audience:,}")
    print(f"broadcast time:          {last - first:.1f} s")
    print(f"achieved rate:           {rate:.2f} msg/s = {rate / CEILING:.3f} of the adapter's {CEILING:.0f}/s "
          f"(target >= 0.9: {'PASS' if rate / CEILING >= 0.9 else 'FAIL'})")
    print(f"429s received:           {too_many}")
    print(f"other refusals:          {dict(other_refusals) or 0}")
    print(f"lost messages:           {lost} ({'PASS' if lost == 0 else 'FAIL'})")
    print(f"duplicated messages:     {duplicated} ({'PASS' if duplicated == 0 else 'FAIL'})")
    print(f"peak memory (RSS):       {peak_mb:.0f} MB (bot and fake Slack in one process)")
    if acks:
        print(f"ack time during it:      p95 {p95(acks) * 1000:.0f} ms, max {max(acks) * 1000:.0f} ms over "
              f"{len(acks)} requests (target p95 < 1 s: {'PASS' if p95(acks) < 1 else 'FAIL'})")
    if search_times:
        print(f"search answered in:      median {statistics.median(search_times) * 1000:.0f} ms over "
              f"{len(search_times)} searches")


if __name__ == "__main__":
    asyncio.run(main())
