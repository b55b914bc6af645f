"""Workers sharing one database: the broadcast rate of 1, 2 and 3 `facilitator run` processes on
PostgreSQL and of 1 on SQLite, against the Telegram fake with its ceiling raised to 1,000
messages a second (so the bot, not the platform, is the limit), and the p95 of a member's
/search answered while the broadcast runs.

    .venv/bin/python bench/workers.py [--members 20000] [--searches 15]

PostgreSQL is a throw-away server in a temporary folder (Debian's postgresql package, as the
tests use it); each row starts from an empty database. The members are imported and the
broadcast planned (as approving a question plans it) before the workers start: they write
its rows and send them. The rate is over the whole broadcast, first message to last.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.domain.members import Identity, Role  # noqa: E402
from bot.ports import Message, Priority, Purpose  # noqa: E402
from bot.services.archive import ArchivedReply  # noqa: E402
from bot.services.importing import ImportRow  # noqa: E402
from bot.services.outbox import BroadcastPlan  # noqa: E402
from bot.services.stemming import Stemming  # noqa: E402
from storage.archive import SqliteArchive  # noqa: E402
from storage.discussions import SqliteDiscussionStore  # noqa: E402
from storage.member_import import SqliteMemberImport  # noqa: E402
from storage.members import SqliteMemberStore  # noqa: E402
from storage.opening import open_storage  # noqa: E402
from storage.outbox import SqliteOutbox  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402
from tests.postgres_server import running_server  # noqa: E402
from tests.workers import FACILITATOR, FIRST_MEMBER, QUESTION, start_worker, stop_all  # noqa: E402

CEILING = 1000
SEARCHER = 90_000


async def prepare(path: Path, url: str, members: int) -> None:
    database = await open_storage(path, url)
    try:
        rows = [ImportRow(n + 2, f"Member {n}", "", "", (), "en", "telegram", str(FIRST_MEMBER + n))
                for n in range(members)]
        for start in range(0, len(rows), 5000):
            await SqliteMemberImport(database).apply(rows[start:start + 5000], 0.0)
        people, discussions = SqliteMemberStore(database), SqliteDiscussionStore(database)
        archive = SqliteArchive(database, Stemming(("en",), "en"))
        now = time.time()
        await people.create(Identity("telegram", str(FACILITATOR), str(FACILITATOR)), "Fatou", Role.FACILITATOR, now)
        asker = await people.create(Identity("telegram", str(SEARCHER), str(SEARCHER)), "Searcher", Role.MEMBER, now)
        for title in ("Cash transfers and nutrition", "Refugee children in school", "Nutrition in the first 1,000 days"):
            published = await discussions.create(asker.id, title, "en", False, now)
            await archive.add(ArchivedReply(published.id, title, title, "", "nutrition school cash", "en", now))
        await SqliteOutbox(database).plan_broadcast(BroadcastPlan(
            Purpose.BROADCAST, Priority.BROADCAST, None, {("en", "telegram"): (Message.plain(QUESTION), None)}, "en"))
    finally:
        await database.close()


def config(folder: Path, name: str, path: Path, url: str, api: FakeTelegram) -> Path:
    storage = f'url = "{url}"\n' if url else f'path = "{path}"\n'
    file = folder / f"{name}.toml"
    file.write_text(
        f'[community]\nname = "Bench Network"\nlanguages = ["en"]\n[storage]\n{storage}'
        f'[facilitators]\ntelegram = [{FACILITATOR}]\n'
        f'[telegram]\ntoken = "{api.token}"\nbase_url = "{api.base_url}"\n'
        f'[delivery]\nmessages_per_second = {{ telegram = {CEILING} }}\n[logging]\nlevel = "WARNING"\n',
        encoding="utf-8")
    return file


class Sends:
    """The question's copies the fake accepted, read as they come (not all again each time:
    the fake shares this process, and reading 20,000 requests at every look would slow it)."""

    def __init__(self, api: FakeTelegram) -> None:
        self.api = api
        self.times: list[float] = []
        self._read = 0

    def update(self) -> list[float]:
        requests = self.api.requests
        for request in requests[self._read:]:
            if request.method == "sendMessage" and QUESTION in str(request.params.get("text", "")):
                self.times.append(request.at)
        self._read = len(requests)
        return self.times


async def searches(api: FakeTelegram, done: asyncio.Event, most: int) -> list[float]:
    searcher = api.user(SEARCHER, "Searcher")
    times: list[float] = []
    while not done.is_set() and len(times) < most:
        sent = time.monotonic()
        await searcher.send("/search nutrition")
        await searcher.receives("What the network has discussed", timeout=60)
        times.append(time.monotonic() - sent)
        await asyncio.sleep(1.1)  # Telegram's one message a second to a chat
    return times


async def run(folder: Path, label: str, workers: int, url: str, members: int, most_searches: int) -> str:
    path = folder / f"{label}-{workers}.db"
    await prepare(path, url, members)
    async with FakeTelegram(per_second=CEILING) as api:
        processes = [await start_worker(config(folder, f"{label}-{workers}-{n}", path, url, api),
                                        folder / f"{label}-{workers}-{n}.log") for n in range(workers)]
        done = asyncio.Event()
        sends = Sends(api)
        try:
            deadline = time.monotonic() + 600
            while not sends.update():
                assert time.monotonic() < deadline, "the broadcast never started"
                await asyncio.sleep(0.05)
            searching = asyncio.create_task(searches(api, done, most_searches))
            everyone = members + 2  # the facilitator and the searcher are members too
            while len(sends.update()) < everyone:
                assert time.monotonic() < deadline, f"only {len(sends.times)} of {everyone} sent"
                await asyncio.sleep(0.05)
            done.set()
            latencies = await searching
        finally:
            done.set()
            await stop_all(processes)
        refused = len(api.refused)
    sent = sends.times
    span = max(sent) - min(sent)
    p95 = statistics.quantiles(latencies, n=20)[-1] if len(latencies) >= 2 else (latencies or [float("nan")])[0]
    name = "PostgreSQL" if url else "SQLite"
    return (f"| {name} | {workers} | {len(sent):,} | {span:.1f} s | {len(sent) / span:,.0f} msg/s"
            f" | {p95 * 1000:.0f} ms ({len(latencies)}) | {refused} |")


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--searches", type=int, default=15)
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    arguments = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="workers-bench-"))
    print(f"A broadcast to {arguments.members:,} members through the Telegram fake at a ceiling of"
          f" {CEILING:,} messages a second; /search sent during it.\n")
    print("| storage | workers | sent | broadcast took | rate | /search p95 (searches) | refused |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    if arguments.only != "postgresql":
        print(await run(folder, "sqlite", 1, "", arguments.members, arguments.searches), flush=True)
    if arguments.only != "sqlite":
        with running_server() as server:
            await server.prepare_template()
            for workers in (1, 2, 3):
                url = await server.new_database()
                print(await run(folder, "postgresql", workers, url, arguments.members, arguments.searches), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
