"""A broadcast to the whole network through the local fake Bot API, which enforces Telegram's
30 messages a second (and refuses bursts to one chat).

    .venv/bin/python bench/broadcast.py [--platform telegram|slack|whatsapp|email] [--members 3000]
                                        [--window SECONDS] [--searches 20]

The members are imported from a CSV file as `facilitator members import` does (timed), then a
question is approved through the real use case. Prints: import time; approval to the first
delivery; the slowest answer to a member's /search sent while the approval is written; the
achieved rate as a fraction of the ceiling and its slowest second over the window (the whole
broadcast when it ends sooner); 429s; peak memory; database and write-ahead log sizes; then the
bot is stopped as SIGTERM stops it and started again on the same database, and the messages
lost or duplicated across that restart are counted.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.telegram import TelegramSettings  # noqa: E402
from bot.app import App  # noqa: E402
from bot.config import CommunitySettings, FacilitatorSettings, Settings  # noqa: E402
from bot.domain.discussions import Discussion  # noqa: E402
from bot.domain.members import Identity, Role  # noqa: E402
from bot.services.archive import ArchivedReply  # noqa: E402
from bot.services.importing import import_members, read_rows  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.member_import import SqliteMemberImport  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

CEILING = 30.0
QUESTION = "Question #1 from"
SEARCHER = 90_000
FACILITATOR = 70_000
FIRST_MEMBER = 100_000


def members_csv(count: int) -> str:
    lines = ["name,organization,country,topics,language,platform,platform_id"]
    lines += [f"Member {n},Org {n % 97},Country {n % 57},cash transfers,en,telegram,{FIRST_MEMBER + n}"
              for n in range(count)]
    lines.append(f"Searcher,Org,Kenya,nutrition,en,telegram,{SEARCHER}")
    return "\n".join(lines) + "\n"


async def import_network(path: Path, members: int) -> float:
    """Seconds to import the members, as `facilitator members import` does."""
    database = await Database.open(path)
    try:
        started = time.monotonic()
        report = await import_members(read_rows(members_csv(members)), SqliteMemberImport(database), time.time())
        elapsed = time.monotonic() - started
        assert report.imported == members + 1 and not report.skipped, report
    finally:
        await database.close()
    return elapsed


async def prepare(app: App) -> tuple[int, int]:
    """The question to approve, and the facilitator who approves it."""
    now = app.clock.now()
    async with app.database.transaction():
        facilitator = await app.members.create(Identity("telegram", str(FACILITATOR), str(FACILITATOR)), "Fatou",
                                               Role.FACILITATOR, now)
        asker = await app.members.create(Identity("telegram", "80000", "80000"), "Asker", Role.MEMBER, now)
        discussion = await app.discussions.create(asker.id, "How do cash transfers reach remote areas?", "en",
                                                  False, now)
        for title in ("Cash transfers and nutrition", "Refugee children in school"):
            published = await app.discussions.create(asker.id, title, "en", False, now)
            await app.archive.add(ArchivedReply(published.id, title, title, "", "nutrition school cash", "en", now))
    return discussion.id, facilitator.id


def rss_mb() -> float:
    """The process's resident memory now (Linux), in megabytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def sample_memory(samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append(rss_mb())
        await asyncio.sleep(0.5)


def question_sends(api: FakeTelegram) -> list:
    return [r for r in api.requests if r.method == "sendMessage" and not r.refused
            and str(r.params.get("text", "")).startswith("<b>" + QUESTION)]


async def search_during(api: FakeTelegram, started: asyncio.Event, count: int = 5) -> list[float]:
    """/search from one member, sent while the approval is being written."""
    searcher = api.user(SEARCHER, "Searcher")
    await started.wait()
    times = []
    for _ in range(count):
        sent = time.monotonic()
        await searcher.send("/search nutrition")
        await searcher.receives("What the network has discussed", timeout=60)
        times.append(time.monotonic() - sent)
        await asyncio.sleep(1.1)  # Telegram's one message a second to a chat paces the answers, not the bot
    return times


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--window", type=float, default=120.0, help="seconds of broadcast to measure the rate over")
    parser.add_argument("--searches", type=int, default=5)
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    directory = Path(tempfile.mkdtemp(prefix="broadcast-bench-"))
    path = directory / "bench.db"
    # In a process of its own, as `facilitator members import` runs: its memory is not the bot's.
    importing = await asyncio.create_subprocess_exec(sys.executable, __file__, "--import-only", str(path),
                                                     str(arguments.members), stdout=asyncio.subprocess.PIPE)
    output, _ = await importing.communicate()
    assert importing.returncode == 0, "the import failed"
    import_seconds = float(output.decode().strip())
    async with FakeTelegram(per_second=int(CEILING)) as api:
        settings = Settings(
            community=CommunitySettings(name="Bench Network", languages=("en",)),
            storage_path=path,
            facilitators=FacilitatorSettings(by_platform={"telegram": frozenset({str(FACILITATOR)})}),
            platforms={"telegram": TelegramSettings(token=api.token, base_url=api.base_url)},
        )
        app = await App.build(settings)
        discussion_id, facilitator_id = await prepare(app)
        await app.start()
        started = asyncio.Event()
        probing = asyncio.create_task(search_during(api, started, arguments.searches))
        memory: list[float] = []
        sampled = asyncio.Event()
        sampling = asyncio.create_task(sample_memory(memory, sampled))
        approved_at = time.monotonic()
        async with app.database.transaction():
            discussion = await app.discussions.get(discussion_id)
            assert discussion is not None
            approved = discussion.approve(facilitator_id, app.clock.now(), app.settings.community.reply_window)
            assert isinstance(approved, Discussion), approved
            await app.discussions.save(approved, discussion.version)
            asker = await app.members.get(discussion.asker_id)
            assert asker is not None
            audience = await app.broadcast.share(approved, asker)
        answered_at = time.monotonic()
        started.set()
        app.waker.wake()
        while not question_sends(api):
            await asyncio.sleep(0.01)
        first_delivery = question_sends(api)[0].at - approved_at
        search_times = await probing
        after_approval = (path.stat().st_size, Path(f"{path}-wal").stat().st_size)
        deadline = time.monotonic() + arguments.window
        while time.monotonic() < deadline and len(question_sends(api)) < audience:
            await asyncio.sleep(0.2)
        sampled.set()
        await sampling
        # Stopped as SIGTERM stops it, then started again on the same database.
        await app.stop()
        in_window = question_sends(api)
        app = await App.build(settings)
        await app.start()
        resume_until = time.monotonic() + min(30.0, arguments.window / 4)
        while time.monotonic() < resume_until and len(question_sends(api)) < audience:
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # anything still in flight lands before counting
        await app.stop()
        sizes = (path.stat().st_size, Path(f"{path}-wal").stat().st_size if Path(f"{path}-wal").exists() else 0)

    sends = in_window
    first, last = sends[0].at, sends[-1].at
    rate = (len(sends) - 1) / (last - first) if len(sends) > 1 else 0.0
    seconds = Counter(int(r.at - first) for r in sends)
    full_seconds = [seconds.get(second, 0) for second in range(int(last - first))]
    slowest = min(full_seconds) if full_seconds else 0
    per_chat = Counter(r.params.get("chat_id") for r in question_sends(api))
    duplicated = sum(n - 1 for n in per_chat.values() if n > 1)
    lost = await _lost(path, per_chat)
    too_many = sum(1 for r in api.requests if r.refused and r.refused.startswith("Too Many Requests"))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mb = 1024 * 1024
    print(f"members:                      {audience:,}")
    print(f"members import:               {import_seconds:.1f} s (target < 20 s at 100,000)")
    print(f"approve -> use case answered: {(answered_at - approved_at) * 1000:.0f} ms")
    print(f"approve -> first delivery:    {first_delivery:.2f} s (target < 1 s: {'PASS' if first_delivery < 1 else 'FAIL'})")
    if search_times:
        print(f"/search during the approval:  worst {max(search_times) * 1000:.0f} ms, median "
              f"{statistics.median(search_times) * 1000:.0f} ms over {len(search_times)}")
    print(f"achieved rate:                {rate:.2f} msg/s = {rate / CEILING:.3f} of the {CEILING:.0f}/s ceiling over "
          f"{last - first:.0f} s (target >= 0.95: {'PASS' if rate / CEILING >= 0.95 else 'FAIL'})")
    print(f"slowest whole second:         {slowest} messages")
    print(f"429s received:                {too_many}")
    print(f"memory during the broadcast:  {max(memory):.0f} MB at most (bot and fake API server in one process;"
          f" {peak_mb:.0f} MB peak of the whole run; the import ran in a process of its own)")
    print(f"database after approval:      {after_approval[0] / mb:.1f} MB, write-ahead log {after_approval[1] / mb:.1f} MB")
    print(f"database at the end:          {sizes[0] / mb:.1f} MB, write-ahead log {sizes[1] / mb:.1f} MB")
    print(f"across a stop and a restart:  {lost} lost, {duplicated} duplicated ({len(per_chat):,} delivered)")


async def _lost(path: Path, delivered: Counter) -> int:
    """Rows the database says were sent that the platform never received."""
    database = await Database.open(path)
    try:
        rows = await database.fetch_all("SELECT user_id FROM outbox WHERE purpose = 'broadcast' AND state = 'sent'")
    finally:
        await database.close()
    return sum(1 for row in rows if row[0] not in delivered)


PLATFORMS = ("telegram", "slack", "whatsapp", "email")


if __name__ == "__main__" and sys.argv[1:2] == ["--import-only"]:
    print(asyncio.run(import_network(Path(sys.argv[2]), int(sys.argv[3]))))
elif __name__ == "__main__":
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
