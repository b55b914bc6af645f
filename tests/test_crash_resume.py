"""Crash safety: SIGKILL the bot in the middle of a broadcast, start it again, and the
broadcast finishes by itself: nobody skipped, only messages in flight at the kill twice.
SIGTERM stops it within 10 seconds, leaving what was not sent queued."""

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

from bot.domain.members import Identity, Role
from bot.ports import Address, Envelope, Message, Priority, Purpose
from bot.services.delivery import MAX_IN_FLIGHT
from storage.members import SqliteMemberStore
from storage.opening import open_storage
from storage.outbox import SqliteOutbox
from tests.fakes.telegram_api import FakeTelegram
from tests.storage_backend import rows, storage_toml, storage_url

ROOT = Path(__file__).resolve().parent.parent
MEMBERS = 150


async def prepare(path: Path) -> None:
    database = await open_storage(path, storage_url(path))
    members, outbox = SqliteMemberStore(database), SqliteOutbox(database)
    for number in range(MEMBERS):
        user = str(10_000 + number)
        await members.create(Identity("telegram", user, user), f"Member {number}", Role.MEMBER, 0.0)
    await outbox.enqueue([
        Envelope(Address("telegram", str(10_000 + n), str(10_000 + n)), Message.plain("Question #1: shared with all"),
                 Purpose.BROADCAST, Priority.BROADCAST) for n in range(MEMBERS)
    ])
    await database.close()


def config(tmp_path: Path, api: FakeTelegram) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[community]\nname = "Crash Network"\n{storage_toml(tmp_path / "crash.db")}'
        f'[telegram]\ntoken = "{api.token}"\nbase_url = "{api.base_url}"\n', encoding="utf-8")
    return path


async def start_bot(config_path: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--config", str(config_path), cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, env=dict(os.environ))


def delivered(api: FakeTelegram) -> Counter:
    return Counter(chat for chat, messages in api.chats.items() for message in messages
                   if "Question #1" in message.text)


async def wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_broadcast_killed_midway_finishes_after_a_restart(tmp_path):
    async with FakeTelegram() as api:
        await prepare(tmp_path / "crash.db")
        config_path = config(tmp_path, api)
        first = await start_bot(config_path)
        await wait_for(lambda: sum(delivered(api).values()) >= 40, timeout=30)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        at_kill = sum(delivered(api).values())
        assert at_kill < MEMBERS

        second = await start_bot(config_path)
        await wait_for(lambda: len(delivered(api)) == MEMBERS, timeout=60)
        second.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        await asyncio.wait_for(second.wait(), timeout=10)
        assert time.monotonic() - stopping < 10 and second.returncode == 0

        counts = delivered(api)
        assert set(counts) == {10_000 + n for n in range(MEMBERS)}  # nobody skipped
        assert sum(counts.values()) - MEMBERS <= MAX_IN_FLIGHT  # only messages in flight at the kill twice
        # The new process cannot know what the killed one sent in its last second: Telegram may
        # ask it once to slow down, and it does. The killed one's long poll may still be open at
        # Telegram, which then refuses the new one's first getUpdates. Nothing else is refused.
        refused = [(r.method, r.refused or "") for r in api.refused]
        slow_down = [r for r in refused if r[1].startswith("Too Many Requests")]
        poll_taken = [r for r in refused if r[0] == "getUpdates" and r[1].startswith("Conflict")]
        assert len(slow_down) <= 2 and len(poll_taken) <= 2 and len(slow_down) + len(poll_taken) == len(refused), refused
        assert rows(tmp_path / "crash.db", "SELECT count(*) FROM outbox WHERE state != 'sent'") == [(0,)]


async def test_sigterm_leaves_what_was_not_sent_queued(tmp_path):
    async with FakeTelegram() as api:
        await prepare(tmp_path / "crash.db")
        bot = await start_bot(config(tmp_path, api))
        await wait_for(lambda: sum(delivered(api).values()) >= 20, timeout=30)
        bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), timeout=10)
        sent = sum(delivered(api).values())
        [(queued,)] = rows(tmp_path / "crash.db", "SELECT count(*) FROM outbox WHERE state = 'queued'")
        [(recorded,)] = rows(tmp_path / "crash.db", "SELECT count(*) FROM outbox WHERE state = 'sent'")
        assert recorded == sent and queued == MEMBERS - sent
