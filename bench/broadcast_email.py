"""A broadcast to 3,000 members by email: the bot sends through the local aiosmtpd relay of
the tests (tests/fakes/mail.py), over real SMTP on 127.0.0.1, paced at [email]
messages_per_second.

    .venv/bin/python bench/broadcast_email.py [--members 3000] [--rate 100] [--searches 10]

Prints the achieved rate as a fraction of the configured rate (target at least 0.9), lost and
duplicated mails (both must be 0), refusals by the relay, peak memory, and the median time
for a member's "search" mail to be answered while the broadcast runs.
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

from adapters.email import EmailSettings  # noqa: E402
from bot.app import App  # noqa: E402
from bot.config import CommunitySettings, FacilitatorSettings, Settings  # noqa: E402
from bot.domain.discussions import State  # noqa: E402
from bot.domain.members import Identity, Role  # noqa: E402
from bot.services.archive import ArchivedReply  # noqa: E402
from tests.email_network import free_port  # noqa: E402
from tests.fakes.mail import MailPerson, MailSink  # noqa: E402

NETWORK = "network@bench.test"
SUBJECT = "[Bench Network] #1 Question #1 from"
SEARCHER = "searcher@bench.test"


def member_address(number: int) -> str:
    return f"member{number:05d}@bench.test"


async def prepare(app: App, members: int) -> tuple[int, int]:
    now = app.clock.now()
    async with app.database.transaction():
        asker = await app.members.create(Identity("email", "asker@bench.test", "asker@bench.test"), "Asker",
                                         Role.MEMBER, now)
        for number in range(members):
            address = member_address(number)
            await app.members.create(Identity("email", address, address, last_seen_at=now), f"Member {number}",
                                     Role.MEMBER, now)
        await app.members.create(Identity("email", SEARCHER, SEARCHER), "Searcher", Role.MEMBER, now)
        discussion = await app.discussions.create(asker.id, "How do cash transfers reach remote areas?", "en",
                                                  False, now)
        for title in ("Cash transfers and nutrition", "Refugee children in school"):
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


async def measure_searches(searcher: MailPerson, count: int, stop: asyncio.Event) -> list[float]:
    times = []
    for _ in range(count):
        if stop.is_set():
            break
        started = time.monotonic()
        await searcher.writes("search nutrition")
        await searcher.receives("What the network has discussed", timeout=60)
        times.append(time.monotonic() - started)
        await asyncio.sleep(1.5)
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=100.0, help="[email] messages_per_second")
    parser.add_argument("--searches", type=int, default=10)
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    directory = Path(tempfile.mkdtemp(prefix="broadcast-email-bench-"))
    async with MailSink() as sink:
        email = EmailSettings(
            address=NETWORK, display_name="Bench Network", smtp_listen_host="127.0.0.1", smtp_listen_port=free_port(),
            outbound_host="127.0.0.1", outbound_port=sink.port, outbound_tls="none",
            messages_per_second=arguments.rate, link_host="127.0.0.1", link_port=free_port(),
            link_secret="a-bench-link-secret-0123456789",
        )
        settings = Settings(
            community=CommunitySettings(name="Bench Network", languages=("en",)),
            storage_path=directory / "bench.db",
            facilitators=FacilitatorSettings(),
            platforms={"email": email},
        )
        app = await App.build(settings)
        asker_id, discussion_id = await prepare(app, arguments.members)
        await app.start()
        searcher = MailPerson(sink, SEARCHER, "Searcher", NETWORK, email.smtp_listen_port)
        audience = await approve_and_broadcast(app, asker_id, discussion_id)
        stop = asyncio.Event()
        searching = asyncio.create_task(measure_searches(searcher, arguments.searches, stop))
        deadline = time.monotonic() + audience / arguments.rate * 3 + 60
        received, looked_at = 0, 0
        while time.monotonic() < deadline and received < audience:
            await asyncio.sleep(0.2)
            arrived = sink.mails[looked_at:]
            looked_at += len(arrived)
            received += sum(1 for mail in arrived if mail.subject.startswith(SUBJECT))
        stop.set()
        search_times = await searching
        await asyncio.sleep(1.0)  # anything still in flight lands before counting
        await app.stop()

    broadcast = [mail for mail in sink.mails if mail.subject.startswith(SUBJECT)]
    first, last = broadcast[0].at, broadcast[-1].at
    rate = (len(broadcast) - 1) / (last - first) if len(broadcast) > 1 else 0.0
    per_member = Counter(mail.rcpt_to for mail in broadcast)
    expected = {member_address(number) for number in range(arguments.members)} | {SEARCHER}
    lost = len(expected - set(per_member))
    duplicated = sum(count - 1 for count in per_member.values() if count > 1)
    distinct_ids = len({mail.message_id for mail in broadcast})
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"members:                 {audience:,}")
    print(f"broadcast time:          {last - first:.1f} s")
    print(f"achieved rate:           {rate:.2f} mails/s = {rate / arguments.rate:.3f} of the configured "
          f"{arguments.rate:.0f}/s (target >= 0.9: {'PASS' if rate / arguments.rate >= 0.9 else 'FAIL'})")
    print(f"refused by the relay:    {len(sink.refused)}")
    print(f"lost mails:              {lost}")
    print(f"duplicated mails:        {duplicated}")
    print(f"distinct Message-IDs:    {distinct_ids:,} for {len(broadcast):,} mails")
    print(f"peak memory (RSS):       {peak_mb:.0f} MB (bot and relay in one process)")
    if search_times:
        median = statistics.median(search_times)
        print(f"search during it:        median {median * 1000:.0f} ms, max {max(search_times) * 1000:.0f} ms over "
              f"{len(search_times)} searches (target median < 1 s: {'PASS' if median < 1 else 'FAIL'})")


if __name__ == "__main__":
    asyncio.run(main())
