"""Several `facilitator run` workers on one PostgreSQL database, against the Telegram fake:
a network to broadcast to, the workers as real processes, and what the fake saw."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from pathlib import Path

from bot.services.importing import ImportRow
from bot.ports import Message, Priority, Purpose
from bot.services.outbox import BroadcastPlan
from storage.member_import import SqliteMemberImport
from storage.outbox import SqliteOutbox
from storage.postgres import PostgresDatabase
from tests.fakes.telegram_api import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Question #1: shared with all"
FIRST_MEMBER = 100_000
FACILITATOR = 70_000


async def plan_broadcast(url: str, members: int) -> None:
    """A network of `members` Telegram members, and a broadcast to all of them planned (as
    approving a question plans it): the workers write its rows and send them."""
    database = await PostgresDatabase.open(url)
    try:
        rows = [ImportRow(n + 2, f"Member {n}", "", "", (), "en", "telegram", str(FIRST_MEMBER + n))
                for n in range(members)]
        await SqliteMemberImport(database).apply(rows, 0.0)
        await SqliteOutbox(database).plan_broadcast(BroadcastPlan(
            Purpose.BROADCAST, Priority.BROADCAST, None, {("en", "telegram"): (Message.plain(QUESTION), None)}, "en"))
    finally:
        await database.close()


def worker_config(folder: Path, url: str, api: FakeTelegram, extra: str = "", name: str = "worker") -> Path:
    path = folder / f"{name}.toml"
    path.write_text(
        f'[community]\nname = "Workers Network"\n[storage]\nurl = "{url}"\n'
        f'[facilitators]\ntelegram = [{FACILITATOR}]\n'
        f'[telegram]\ntoken = "{api.token}"\nbase_url = "{api.base_url}"\n{extra}', encoding="utf-8")
    return path


async def start_worker(config: Path, log: Path) -> asyncio.subprocess.Process:
    with open(log, "ab") as output:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", "--config", str(config), cwd=ROOT,
            stdout=output, stderr=output, env=dict(os.environ))


def received(api: FakeTelegram, text: str = QUESTION) -> Counter:
    return Counter(chat for chat, messages in api.chats.items() for message in messages if text in message.text)


def busiest_second(api: FakeTelegram) -> int:
    """The most messages the fake accepted within any one second."""
    times = sorted(request.at for request in api.requests
                   if request.method == "sendMessage" and not request.refused)
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


async def stop_all(workers: list[asyncio.subprocess.Process]) -> None:
    for worker in workers:
        if worker.returncode is None:
            worker.terminate()
    await asyncio.gather(*(asyncio.wait_for(worker.wait(), 15) for worker in workers), return_exceptions=True)
    for worker in workers:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()


async def wait_for(condition, timeout: float, what: str, api: FakeTelegram | None = None) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}" + (
            f"; the fake has: {[(chat, [m.text[:60] for m in messages]) for chat, messages in api.chats.items()]}"
            if api else "")
        await asyncio.sleep(0.1)


def leader_of(logs: list[Path]) -> int | None:
    """The worker whose log says it leads last (and not that it stopped leading)."""
    for index, log in enumerate(logs):
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        if text.rfind("this worker leads") > text.rfind("this worker no longer leads"):
            return index
    return None
